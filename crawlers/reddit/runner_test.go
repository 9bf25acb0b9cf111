package reddit_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/reddit"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestThroughRunner runs the source in the real runner against the
// embedded bus: the first run walks both search pages at once (More), and
// a restarted runner publishes only the one post that is new.
func TestThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	srv := serve(t, routes{tokenPath: {"token/01.http"}, "/search": {"search/01.http", "search/02.http", "search/03.http"}})
	spec := crawlertest.Spec(t, `
name: reddit-shop
type: reddit
service: shop
timeout: 2s
options:
  base_url: "`+srv.URL+`"
  token_url: "`+srv.URL+tokenPath+`"
  client_id: `+clientID+`
  client_secret: `+secret+`
  query: shop app
`)
	reg := crawlers.NewRegistry().Add(reddit.Type, reddit.Constructor)
	clock := newClock()

	// run builds the instance and runs it until its first wait of a full
	// interval, and returns the waits.
	run := func() []time.Duration {
		t.Helper()
		insts, err := reg.Build([]crawlers.Spec{spec}, crawlers.Deps{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var waits []time.Duration
		sleep := func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			if d >= spec.Interval {
				cancel()
			}
			return ctx.Err()
		}
		r := crawlers.NewRunner(b.JS, kv, nil, crawlers.NewMetrics(prometheus.NewRegistry()),
			crawlers.WithClock(clock.Now), crawlers.WithSleep(sleep),
			crawlers.WithJitter(func(d time.Duration) time.Duration { return d }))
		if err := r.Run(ctx, insts[0]); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() == context.DeadlineExceeded {
			t.Fatal("run did not end within 20s")
		}
		return waits
	}

	waits := run()
	if len(waits) != 1 || waits[0] != time.Minute {
		t.Errorf("waits %v, want [1m0s]: page 2 at once, then the interval", waits)
	}
	comparePosts(t, crawlertest.CollectPosts(t, b.JS, 5, 5*time.Second), readWant(t, "search/want.jsonl"), now)

	run()
	posts := crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	comparePosts(t, posts[5:], readWant(t, "search/want-03.jsonl"), now)
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 6 {
		t.Errorf("stream holds %d posts, want 6: nothing missed, nothing repeated", n)
	}
	if n := srv.count(tokenPath); n != 2 {
		t.Errorf("%d token requests, want one per process", n)
	}
}
