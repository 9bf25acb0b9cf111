package detector

import (
	"testing"
	"time"
)

// TestSnapshotRestoreCountsNothingTwice restores a snapshot into a fresh
// detector, replays the last hours of posts as the pipeline does on start-up,
// and expects the same long-term state as a detector that never stopped.
func TestSnapshotRestoreCountsNothingTwice(t *testing.T) {
	live := newScenario(t, Config{})
	live.background(t0, t0.Add(10*time.Hour), 3)
	snap, err := live.d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}

	restored := newScenario(t, Config{})
	if err := restored.d.RestoreService("shop", snap); err != nil {
		t.Fatal(err)
	}
	// Replay the last 8 hours (the stream replay on start-up), then both go on.
	restored.background(t0.Add(2*time.Hour), t0.Add(10*time.Hour), 3)
	live.background(t0.Add(10*time.Hour), t0.Add(11*time.Hour), 3)
	restored.background(t0.Add(10*time.Hour), t0.Add(11*time.Hour), 3)

	a, b := live.d.services["shop"], restored.d.services["shop"]
	if got, want := b.hours.postsBetween(t0, t0.Add(11*time.Hour)), a.hours.postsBetween(t0, t0.Add(11*time.Hour)); got != want {
		t.Fatalf("hourly history after restore: %.0f posts, want %.0f", got, want)
	}
	if d := b.terms.total - a.terms.total; d > 1e-6 || d < -1e-6 {
		t.Fatalf("term total %f, want %f", b.terms.total, a.terms.total)
	}
	lw, _ := a.posts.sum(t0.Add(5*time.Hour), t0.Add(11*time.Hour))
	rw, _ := b.posts.sum(t0.Add(5*time.Hour), t0.Add(11*time.Hour))
	if lw != rw {
		t.Fatalf("minute buckets differ after replay: %+v vs %+v", rw, lw)
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	s := newScenario(t, Config{})
	if err := s.d.RestoreService("shop", []byte("not a snapshot")); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := s.d.MarshalService("nobody"); err == nil {
		t.Fatal("unknown service snapshotted")
	}
}
