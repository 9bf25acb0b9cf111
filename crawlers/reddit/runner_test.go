package reddit_test

import (
	"testing"
	"time"

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
	srv := crawlertest.Serve(t, routes{tokenPath: {"token/01.http"}, "/search": {"search/01.http", "search/02.http", "search/03.http"}})
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
	clock := crawlertest.NewClock(now)

	// run builds the instance and runs it until its first wait of a full
	// interval, and returns the waits.
	run := func() []time.Duration {
		t.Helper()
		inst := crawlertest.Build(t, reg, spec, crawlers.Deps{Now: clock.Now})
		return crawlertest.RunThrough(t, b, inst, clock.Now, func(_ int, d time.Duration, cancel func()) {
			if d >= spec.Interval {
				cancel()
			}
		}).Waits()
	}

	waits := run()
	if len(waits) != 1 || waits[0] != time.Minute {
		t.Errorf("waits %v, want [1m0s]: page 2 at once, then the interval", waits)
	}
	crawlertest.ComparePosts(t, crawlertest.CollectPosts(t, b.JS, 5, 5*time.Second), crawlertest.ReadWant(t, "search/want.jsonl"), now)

	run()
	posts := crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	crawlertest.ComparePosts(t, posts[5:], crawlertest.ReadWant(t, "search/want-03.jsonl"), now)
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 6 {
		t.Errorf("stream holds %d posts, want 6: nothing missed, nothing repeated", n)
	}
	if n := srv.Count(tokenPath); n != 2 {
		t.Errorf("%d token requests, want one per process", n)
	}
}
