package x_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/x"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestThroughRunner runs the v2 source in the real runner against the
// embedded bus: a run pages through three pages with a 429 in the middle,
// then Aftershock restarts and asks X only for what is newer than the
// stored since_id, publishing the one new post and no duplicate.
func TestThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	srv := serveSteps(t, x.APIv2, "v2/pages/01.http", "v2/rate-limit-problem/01.http", "v2/pages/02.http", "v2/pages/03.http")
	spec := specFor(t, srv, x.APIv2, "")
	reg := crawlers.NewRegistry().Add(x.Type, x.Constructor)

	// run builds the instance and runs it; on the n-th wait it calls
	// script(n), which may end the run. It returns the waits and the
	// duplicates the runner counted.
	run := func(script func(n int, cancel func())) ([]time.Duration, float64) {
		t.Helper()
		inst := crawlertest.Build(t, reg, spec, crawlers.Deps{Now: clock})
		r := crawlertest.RunThrough(t, b, inst, clock, func(n int, _ time.Duration, cancel func()) { script(n, cancel) })
		return r.Waits(), r.PostCounts(t)[crawlers.ResultDuplicate]
	}

	waits, dups := run(func(n int, cancel func()) {
		if n == 2 {
			cancel()
		}
	})
	// The 429 waits until x-rate-limit-reset (840 s after the clock), then
	// the run goes on with the stored page token; after the last page the
	// runner waits for the interval.
	if want := []time.Duration{840 * time.Second, time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	var tokens []string
	for _, r := range srv.Requests() {
		tokens = append(tokens, r.URL.Query().Get("next_token"))
	}
	if want := []string{"", "b26v89c19zqg8o3fpds2mh7kvx4nfemxmh6wmijtnzilp", "b26v89c19zqg8o3fpds2mh7kvx4nfemxmh6wmijtnzilp", "b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy8gelo6ssd"}; !slices.Equal(tokens, want) {
		t.Errorf("next_token per request %q, want %q", tokens, want)
	}
	posts := crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	crawlertest.ComparePosts(t, posts, crawlertest.ReadWant(t, "v2/pages/want.jsonl"), now)
	if dups != 0 {
		t.Errorf("first run: %v duplicates", dups)
	}
	e, err := kv.Get(context.Background(), spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(e.Value()), `{"since_id":"`+idNewest+`"}`; got != want {
		t.Errorf("stored cursor %s, want %s", got, want)
	}

	// Restart: a new runner and source on the same bucket.
	srv.setSteps("v2/new/01.http")
	before := len(srv.Requests())
	_, dups = run(func(n int, cancel func()) { cancel() })
	reqs := srv.Requests()[before:]
	if len(reqs) != 1 || reqs[0].URL.Query().Get("since_id") != idNewest {
		t.Errorf("restarted run sent %d requests; want one with since_id=%s", len(reqs), idNewest)
	}
	posts = crawlertest.CollectPosts(t, b.JS, 7, 5*time.Second)
	crawlertest.ComparePosts(t, posts[6:], crawlertest.ReadWant(t, "v2/new/want.jsonl"), now)
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 7 || dups != 0 {
		t.Errorf("stream holds %d posts with %v duplicates offered, want 7 and none: nothing missed, nothing repeated", n, dups)
	}
}
