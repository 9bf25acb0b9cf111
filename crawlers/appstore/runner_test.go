package appstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/appstore"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestThroughRunner runs the source in the real runner against the
// embedded bus: the first run reads two pages at once (More), and a
// restarted runner publishes only the one review that is new.
func TestThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	srv := serve(t, routes{page("us", 1): {"us/01.http", "us/03.http"}, page("us", 2): {"us/02.http"}})
	spec := crawlertest.Spec(t, `
name: appstore-shop
type: appstore
service: shop
interval: 10m
timeout: 2s
options: {base_url: "`+srv.URL+`", app_id: "`+appID+`"}
`)
	reg := crawlers.NewRegistry().Add(appstore.Type, appstore.Constructor)
	clock := newClock()

	run := func() {
		t.Helper()
		insts, err := reg.Build([]crawlers.Spec{spec}, crawlers.Deps{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		sleep := func(ctx context.Context, d time.Duration) error {
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
	}

	run()
	comparePosts(t, crawlertest.CollectPosts(t, b.JS, 5, 5*time.Second), readWant(t, "us/want.jsonl"), now)
	run()
	posts := crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	comparePosts(t, posts[5:], readWant(t, "us/want-03.jsonl"), now)
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 6 {
		t.Errorf("stream holds %d posts, want 6: nothing missed, nothing repeated", n)
	}
}
