package x_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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
		insts, err := reg.Build([]crawlers.Spec{spec}, crawlers.Deps{Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var mu sync.Mutex
		var waits []time.Duration
		sleep := func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			waits = append(waits, d)
			n := len(waits)
			mu.Unlock()
			script(n, cancel)
			return ctx.Err()
		}
		metrics := crawlers.NewMetrics(prometheus.NewRegistry())
		r := crawlers.NewRunner(b.JS, kv, nil, metrics,
			crawlers.WithClock(clock), crawlers.WithSleep(sleep),
			crawlers.WithJitter(func(d time.Duration) time.Duration { return d }))
		if err := r.Run(ctx, insts[0]); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() == context.DeadlineExceeded {
			t.Fatal("run did not end within 20s")
		}
		mu.Lock()
		defer mu.Unlock()
		var m dto.Metric
		if err := metrics.Posts.WithLabelValues(spec.Name, crawlers.ResultDuplicate).Write(&m); err != nil {
			t.Fatal(err)
		}
		return waits, m.GetCounter().GetValue()
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
	for _, r := range srv.requests() {
		tokens = append(tokens, r.URL.Query().Get("next_token"))
	}
	if want := []string{"", "b26v89c19zqg8o3fpds2mh7kvx4nfemxmh6wmijtnzilp", "b26v89c19zqg8o3fpds2mh7kvx4nfemxmh6wmijtnzilp", "b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy8gelo6ssd"}; !slices.Equal(tokens, want) {
		t.Errorf("next_token per request %q, want %q", tokens, want)
	}
	posts := crawlertest.CollectPosts(t, b.JS, 6, 5*time.Second)
	comparePosts(t, posts, readWant(t, "v2/pages/want.jsonl"))
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
	before := len(srv.requests())
	_, dups = run(func(n int, cancel func()) { cancel() })
	reqs := srv.requests()[before:]
	if len(reqs) != 1 || reqs[0].URL.Query().Get("since_id") != idNewest {
		t.Errorf("restarted run sent %d requests; want one with since_id=%s", len(reqs), idNewest)
	}
	posts = crawlertest.CollectPosts(t, b.JS, 7, 5*time.Second)
	comparePosts(t, posts[6:], readWant(t, "v2/new/want.jsonl"))
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 7 || dups != 0 {
		t.Errorf("stream holds %d posts with %v duplicates offered, want 7 and none: nothing missed, nothing repeated", n, dups)
	}
}
