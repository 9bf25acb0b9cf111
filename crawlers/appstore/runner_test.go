package appstore_test

import (
	"testing"
	"time"

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
	srv := crawlertest.Serve(t, routes{page("us", 1): {"us/01.http", "us/03.http"}, page("us", 2): {"us/02.http"}})
	spec := crawlertest.Spec(t, `
name: appstore-shop
type: appstore
service: shop
interval: 10m
timeout: 2s
options: {base_url: "`+srv.URL+`", app_id: "`+appID+`"}
`)
	reg := crawlers.NewRegistry().Add(appstore.Type, appstore.Constructor)
	clock := crawlertest.NewClock(now)

	run := func() {
		t.Helper()
		inst := crawlertest.Build(t, reg, spec, crawlers.Deps{Now: clock.Now})
		crawlertest.RunThrough(t, b, inst, clock.Now, func(_ int, d time.Duration, cancel func()) {
			if d >= spec.Interval {
				cancel()
			}
		})
	}

	run()
	crawlertest.ComparePosts(t, crawlertest.CollectPosts(t, b.JS, 5, 5*time.Second), crawlertest.ReadWant(t, "us/want.jsonl"), now)
	run()
	posts := crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	crawlertest.ComparePosts(t, posts[5:], crawlertest.ReadWant(t, "us/want-03.jsonl"), now)
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 6 {
		t.Errorf("stream holds %d posts, want 6: nothing missed, nothing repeated", n)
	}
}
