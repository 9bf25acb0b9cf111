package feed_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/all"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestThroughRunner runs the feed source in the real runner against the
// embedded bus: the site dies mid-run and comes back with new items, then
// Aftershock restarts and picks up exactly the one item that is new.
func TestThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	srv := serveSteps(t, "rss/01.http")
	spec := crawlertest.Spec(t, `
name: community
type: feed
service: shop
interval: 1m
timeout: 2s
options: {url: "`+srv.URL+`/latest.rss"}
`)

	// run builds the instance from the default registry and runs it; on the
	// n-th wait it calls script(n), which may end the run.
	run := func(script func(n int, cancel func())) []time.Duration {
		t.Helper()
		inst := crawlertest.Build(t, all.DefaultRegistry(), spec, crawlers.Deps{Now: clock})
		return crawlertest.RunThrough(t, b, inst, clock, func(n int, _ time.Duration, cancel func()) { script(n, cancel) }).Waits()
	}

	waits := run(func(n int, cancel func()) {
		switch n {
		case 1: // after the first poll: the site dies
			srv.setSteps(stepDie)
		case 3: // after two failures: it is back, with two new items
			srv.setSteps("rss/02.http")
		case 4:
			cancel()
		}
	})
	if want := []time.Duration{time.Minute, time.Second, 2 * time.Second, time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	posts := crawlertest.CollectPosts(t, b.JS, 5, 5*time.Second)
	want := append(crawlertest.ReadWant(t, "rss/want.jsonl"), crawlertest.ReadWant(t, "rss/want-02.jsonl")...)
	crawlertest.ComparePosts(t, posts, want, now)

	// Restart: a new runner and source on the same bucket.
	srv.setSteps("rss/03.http")
	before := len(srv.Requests())
	run(func(n int, cancel func()) { cancel() })
	reqs := srv.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Header.Get("If-None-Match") != `"latest-v2"` {
		t.Errorf("restarted run sent %d requests; want one conditional GET with the stored ETag", len(reqs))
	}
	posts = crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	if got := posts[5].ID; got != "forum.example.com-topic-1006" {
		t.Errorf("sixth post %q, want the one new item", got)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 6 {
		t.Errorf("stream holds %d posts, want 6: nothing missed, nothing repeated", n)
	}
}
