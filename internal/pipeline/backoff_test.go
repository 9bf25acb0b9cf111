package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

func TestBackoff(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	var b backoff
	if !b.due(t0) {
		t.Fatal("a first attempt waits")
	}
	at := t0
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		if got := b.failed(at); got != want {
			t.Fatalf("failure %d: wait %s, want %s", i+1, got, want)
		}
		if b.due(at.Add(want - time.Millisecond)) {
			t.Fatalf("failure %d: due before its wait", i+1)
		}
		at = at.Add(want)
		if !b.due(at) {
			t.Fatalf("failure %d: not due after its wait", i+1)
		}
	}
	b.succeeded()
	if !b.due(at) || b.failed(at) != time.Second {
		t.Fatal("a success does not start the backoff over")
	}
}

// TestPublishBackoffKeepsReading: the broker refuses every output of the
// detector (its VERDICTS, ANOMALIES and ROLLUPS streams are gone) for half
// an hour of event time, while posts keep coming and an incident begins.
// The pipeline goes on reading the streams (without a backoff, every tick's
// failing attempt held the loop for about a second and the posts of the
// half hour took minutes to read), keeps what it could not publish, and
// publishes it once the streams are back: the halt once, every minute's
// rollup once.
func TestPublishBackoffKeepsReading(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	h3 := t0.Add(3 * time.Hour)
	onset := h3.Add(3 * time.Hour)
	cfg := detector.Config{Baseline: 2 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	w := &world{rng: rand.New(rand.NewPCG(7, 8))}
	w.chatter(t0, onset, 6, 0.1, 0)
	w.chatter(onset, onset.Add(time.Hour), 6, 0.1, 3)
	w.event(h3, "H3", signals.EventStarted)
	clock := &simClock{now: t0}

	pr := startProcess(t, t.TempDir(), cfg, clock, time.Time{})
	defer pr.stop(t)
	w.live(t, pr, clock, t0, onset, 30*time.Minute)
	if _, ok := firstHalt(verdicts(t, pr.b)); ok {
		t.Fatal("halted before the incident")
	}

	ctx := context.Background()
	outputs := []jetstream.StreamConfig{
		{Name: bus.StreamVerdicts, Subjects: []string{"verdicts.>"}},
		{Name: bus.StreamAnomalies, Subjects: []string{"anomalies.>"}},
		{Name: bus.StreamRollups, Subjects: []string{"rollups.>"}},
	}
	for _, sc := range outputs {
		if err := pr.b.JS.DeleteStream(ctx, sc.Name); err != nil {
			t.Fatal(err)
		}
	}
	refused := time.Now()
	// live waits (at most 30 s) for each 5-minute step's posts to be read
	// before it moves the clock: the incident's half hour, 9 posts a minute.
	end := onset.Add(30 * time.Minute)
	w.live(t, pr, clock, onset, end, 5*time.Minute)
	pr.waitFor(t, "output held back", func() bool { return pr.gauge("aftershock_detector_unpublished") > 0 })
	failures := pr.gauge("aftershock_detector_publish_failures_total")
	elapsed := time.Since(refused).Seconds()
	// Attempts at 0, 1, 3, 7, 15 s, then every 30 s; one more may be in
	// flight.
	if bound := 2 + math.Log2(1+elapsed) + elapsed/30; failures < 1 || failures > bound {
		t.Fatalf("%v failed attempts in %.1fs of refusals, want 1 to %.1f", failures, elapsed, bound)
	}

	for _, sc := range outputs {
		sc.Storage, sc.MaxAge = jetstream.FileStorage, 30*24*time.Hour
		if _, err := pr.b.JS.CreateOrUpdateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	// The clock stays where it is: what comes out now was judged while
	// the broker refused.
	pr.waitFor(t, "the held output to go out", func() bool {
		return pr.gauge("aftershock_detector_unpublished") == 0
	})
	vs := verdicts(t, pr.b)
	seen := map[string]bool{}
	halts := 0
	for _, v := range vs {
		k := fmt.Sprint(v.Ring, v.Time, v.Decision, v.Action)
		if seen[k] {
			t.Errorf("verdict published twice: %s", k)
		}
		seen[k] = true
		if v.Action == signals.ActionHalt {
			halts++
			if v.Ring != "H3" || v.Time.Before(onset) || v.Time.After(end) {
				t.Errorf("halt of %s at %s, want H3 within the refused half hour from %s", v.Ring, v.Time.Format("15:04"), onset.Format("15:04"))
			}
		}
	}
	if halts != 1 {
		t.Fatalf("%d halts published after the broker came back, want 1:%s", halts, show(vs))
	}
	// Every minute of the refused half hour (but the last, still open) has
	// its rollup, once, with all its posts.
	posts := map[time.Time]int{}
	for _, p := range w.posts {
		if !p.Time.Before(onset) && p.Time.Before(end.Add(-rollupWait)) {
			posts[p.Time.Truncate(time.Minute)]++
		}
	}
	rolled := map[time.Time]int{}
	for _, v := range stored(t, pr.b, bus.StreamRollups) {
		r := v.(*signals.Rollup)
		if _, ok := rolled[r.Time]; ok {
			t.Errorf("rollup of %s published twice", r.Time.Format("15:04"))
		}
		rolled[r.Time] = r.Posts
	}
	for m, n := range posts {
		if rolled[m] != n {
			t.Errorf("rollup of %s: %d posts, want %d", m.Format("15:04"), rolled[m], n)
		}
	}
	t.Logf("%v failed attempts in %.1fs of refusals; %d verdicts, %d rollups after the recovery", failures, elapsed, len(vs), len(rolled))
}

// rollupWait is how long after its minute a rollup goes out (the
// detector's rollupDelay, and the minute itself).
const rollupWait = 3 * time.Minute
