package releases

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/signals"
)

var rings = []string{"H1", "H2", "H3"}

func ordered() Policy {
	return Policy{Order: func(r string) int { return slices.Index(rings, r) }, MayResume: true, By: "sre"}
}

// historyTo gives a release in each status (on H2 once started).
var historyTo = map[string][]signals.ReleaseEvent{
	StatusPending:      nil,
	StatusWatching:     {ev("started", "H2", 1)},
	StatusPromoted:     {ev("started", "H1", 1), ev("promoted", "H2", 2)},
	StatusHalted:       {ev("started", "H2", 1), ev("halted", "", 2)},
	StatusCompleted:    {ev("started", "H2", 1), ev("completed", "", 2)},
	StatusRolledBack:   {ev("started", "H2", 1), ev("rolled_back", "", 2)},
	StatusFixedForward: {ev("started", "H2", 1), ev("fixed_forward", "", 2)},
}

// ringFor is the ring each event is tried with from a status: a ring the
// transition could go to, so a 409 comes from the table, not the ring.
func ringFor(status, event string) string {
	switch event {
	case signals.EventStarted:
		switch status {
		case StatusPending:
			return "H1"
		case StatusHalted:
			return "H2"
		}
		return "H3"
	case signals.EventPromoted:
		return "H3"
	}
	return ""
}

func build(t *testing.T, status string) Release {
	t.Helper()
	r := Release{ID: "shop-4.2.0", Service: "shop", Version: "4.2.0", Status: StatusPending}
	for _, h := range historyTo[status] {
		if _, _, err := r.apply(h, ordered()); err != nil {
			t.Fatalf("history to %s: %s: %v", status, h.Event, err)
		}
	}
	if r.Status != status {
		t.Fatalf("history to %s gives %s", status, r.Status)
	}
	return r
}

// TestLifecycleTable checks every cell of the table in docs/lifecycle.md
// against apply: the docs and the code cannot drift apart.
func TestLifecycleTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/lifecycle.md")
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	cells := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "|") || strings.HasPrefix(line, "|---") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "| "), "|")
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		if strings.HasPrefix(cols[0], "status") {
			events = cols[1:]
			continue
		}
		status := cols[0]
		if _, ok := historyTo[status]; !ok {
			t.Fatalf("docs/lifecycle.md: unknown status row %q", status)
		}
		for i, cell := range cols[1:] {
			event := events[i]
			want, _, _ := strings.Cut(cell, " ")
			r := build(t, status)
			e := ev(event, ringFor(status, event), 10)
			if event == signals.EventExposure {
				e.Exposure = 0.05
			}
			_, dup, err := r.apply(e, ordered())
			cells++
			switch {
			case want == "200":
				if err != nil || !dup {
					t.Errorf("%s + %s(%s): err %v dup %v, docs say a repeat (200, no change)", status, event, e.Ring, err, dup)
				}
			case want == "409":
				if !errors.Is(err, ErrConflict) {
					t.Errorf("%s + %s(%s): err %v (status %s), docs say 409", status, event, e.Ring, err, r.Status)
				}
			case err != nil || dup:
				t.Errorf("%s + %s(%s): err %v dup %v, docs say %s", status, event, e.Ring, err, dup, want)
			case r.Status != want:
				t.Errorf("%s + %s(%s): status %s, docs say %s", status, event, e.Ring, r.Status, want)
			}
			if strings.Contains(cell, "resume") && err == nil && len(r.Resumes) != 1 {
				t.Errorf("%s + %s: resume not recorded: %+v", status, event, r.Resumes)
			}
		}
	}
	if cells != len(historyTo)*7 {
		t.Fatalf("checked %d cells of docs/lifecycle.md, want %d", cells, len(historyTo)*6)
	}
}

func TestLifecycleRules(t *testing.T) {
	// Resuming needs MayResume.
	r := build(t, StatusHalted)
	if _, _, err := r.apply(ev("started", "H2", 10), Policy{Order: ordered().Order}); !errors.Is(err, ErrForbidden) {
		t.Errorf("resume without sre-admin: %v, want ErrForbidden", err)
	}
	if _, _, err := r.apply(ev("promoted", "H3", 10), Policy{Order: ordered().Order}); !errors.Is(err, ErrForbidden) {
		t.Errorf("promote after halt without sre-admin: %v, want ErrForbidden", err)
	}
	// Rings never go backwards, with or without a configured order.
	for _, p := range []Policy{ordered(), {MayResume: true}} {
		r := build(t, StatusPromoted) // H1 then H2
		if _, _, err := r.apply(ev("promoted", "H1", 10), p); !errors.Is(err, ErrConflict) {
			t.Errorf("promote back to H1 (order %v): %v, want ErrConflict", p.Order != nil, err)
		}
		r = build(t, StatusHalted)
		if _, _, err := r.apply(ev("started", "H1", 10), p); !errors.Is(err, ErrConflict) && p.Order != nil {
			t.Errorf("restart a halted H2 release on H1: %v, want ErrConflict", err)
		}
	}
	// Halted on another ring than the current one.
	r = build(t, StatusPromoted)
	if _, _, err := r.apply(ev("halted", "H3", 10), ordered()); !errors.Is(err, ErrConflict) {
		t.Errorf("halt on a ring the release is not on: %v", err)
	}
	// The resume is recorded with who did it.
	r = build(t, StatusHalted)
	if _, _, err := r.apply(ev("promoted", "H3", 10), ordered()); err != nil {
		t.Fatal(err)
	}
	if len(r.Resumes) != 1 || r.Resumes[0].By != "sre" || r.Resumes[0].Ring != "H3" || r.Resumes[0].Event != "promoted" {
		t.Errorf("resumes %+v", r.Resumes)
	}
}
