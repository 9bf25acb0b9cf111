package bluesky_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/bluesky"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestPollThroughRunner runs the poller in the real runner against the
// embedded bus: one session for every poll, a burst paged at once, an
// expired token refreshed in passing, nothing published twice.
func TestPollThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	p := newPDS(t)
	p.add(mkPost(didKim, "3lbiiiiiii001", 50, 0, "shopapp one"))
	spec := crawlertest.Spec(t, p.specText("    limit: 2\n"))
	reg := crawlers.NewRegistry().Add(bluesky.Type, bluesky.Constructor)
	inst := crawlertest.Build(t, reg, spec, p.deps())
	if inst.Poller == nil {
		t.Fatal("stream: false did not build a Poller")
	}
	r := crawlertest.RunThrough(t, b, inst, clock, func(n int, _ time.Duration, cancel func()) {
		switch n {
		case 1: // after the first poll: a burst of three, and the token expires
			p.add(mkPost(didLee, "3lbiiiiiii002", 51, 0, "shopapp two"),
				mkPost(didLee, "3lbiiiiiii003", 52, 0, "shopapp three"),
				mkPost(didKim, "3lbiiiiiii004", 53, 0, "shopapp four"))
			p.expireAccess()
		case 2:
			cancel()
		}
	})
	posts := crawlertest.CollectPosts(t, b.JS, 4, 5*time.Second)
	ids := crawlertest.IDs(posts)
	slices.Sort(ids)
	if got := strings.Join(ids, " "); !strings.Contains(got, "3lbiiiiiii001") || !strings.Contains(got, "3lbiiiiiii004") {
		t.Errorf("published %s, want the four posts", got)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 4 {
		t.Errorf("stream holds %d posts, want 4", n)
	}
	if waits, want := r.Waits(), []time.Duration{time.Minute, time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v (the burst's second page at once)", waits, want)
	}
	if creates, refreshes := p.counts(); creates != 1 || refreshes != 1 {
		t.Errorf("%d createSession, %d refreshSession; want 1 and 1", creates, refreshes)
	}
	e, err := kv.Get(context.Background(), "sky")
	if err != nil || !strings.Contains(string(e.Value()), `"newest":"2026-11-24T09:53:00Z"`) || strings.Contains(string(e.Value()), "walk") {
		t.Errorf("stored cursor %v (err %v), want newest 09:53 and no walk", e, err)
	}
}
