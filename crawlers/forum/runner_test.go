package forum_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/forum"
	"github.com/aftershock/aftershock/internal/bus"
)

// TestThroughRunner runs the forum source in the real runner against the
// embedded bus: it reads both pages at once, the board answers 503 and comes
// back with two new rows, then Aftershock restarts and reads nothing twice.
func TestThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	board := gnuBoard(t)
	s := spec(t, board.URL+gnuURL, gnuOptions)
	s.Interval = time.Minute
	reg := crawlers.NewRegistry().Add(forum.Type, forum.Constructor)

	// run builds the instance and runs it; on the n-th wait it calls
	// script(n), which may end the run.
	run := func(script func(n int, cancel func())) []time.Duration {
		t.Helper()
		inst := crawlertest.Build(t, reg, s, crawlers.Deps{Now: clock})
		return crawlertest.RunThrough(t, b, inst, clock, func(n int, _ time.Duration, cancel func()) { script(n, cancel) }).Waits()
	}

	waits := run(func(n int, cancel func()) {
		switch n {
		case 1: // both pages read: the board goes down
			board.route(gnuPage1, "status/503.http")
		case 2: // back, with two new rows
			board.route(gnuPage1, "gnuboard/list-1b.http")
		case 3:
			cancel()
		}
	})
	if want := []time.Duration{time.Minute, time.Second, time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	posts := crawlertest.CollectPosts(t, b.JS, 11, 5*time.Second)
	crawlertest.ComparePosts(t, posts, readWant(t, board.URL, "gnuboard/want-1.jsonl", "gnuboard/want-2.jsonl", "gnuboard/want-1b.jsonl"), now)
	if got, want := board.uris(), []string{gnuPage1, gnuPage2, gnuPage1, gnuPage1}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}

	// Restart: a new runner and source on the same bucket find nothing new
	// and read page 1 alone.
	before := len(board.uris())
	run(func(n int, cancel func()) { cancel() })
	if got := board.uris()[before:]; !slices.Equal(got, []string{gnuPage1}) {
		t.Errorf("restarted run requested %q, want page 1 alone", got)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 11 {
		t.Errorf("stream holds %d posts, want 11: nothing missed, nothing repeated", n)
	}
}
