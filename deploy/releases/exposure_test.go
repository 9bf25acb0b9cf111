package releases

import (
	"errors"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/signals"
)

// A phased release's days: each new share is recorded (the release stays
// where it is), a repeat is a duplicate, another ring's is refused, and a
// promotion starts the new ring without a reported share.
func TestExposureEvents(t *testing.T) {
	r := build(t, StatusWatching) // on H2
	exp := func(ring string, minute int, share float64) signals.ReleaseEvent {
		e := ev(signals.EventExposure, ring, minute)
		e.Exposure = share
		return e
	}
	for i, share := range []float64{0.01, 0.02, 0.05} {
		got, dup, err := r.apply(exp("", 10+i, share), ordered())
		if err != nil || dup || got.Exposure != share || got.Ring != "H2" || got.Version != "4.2.0" {
			t.Fatalf("exposure %g: %+v dup %v err %v", share, got, dup, err)
		}
		if r.Status != StatusWatching || r.Ring != "H2" || r.Exposure != share {
			t.Fatalf("after exposure %g: %s on %s at %g", share, r.Status, r.Ring, r.Exposure)
		}
	}
	if got, dup, err := r.apply(exp("H2", 20, 0.05), ordered()); err != nil || !dup || got.Exposure != 0.05 {
		t.Errorf("repeated exposure: %+v dup %v err %v, want a duplicate", got, dup, err)
	}
	if _, _, err := r.apply(exp("H3", 21, 0.1), ordered()); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "current ring H2") {
		t.Errorf("exposure of another ring: %v, want 409", err)
	}
	n := len(r.Events)
	if kept := r.Events[n-1]; kept.Exposure != 0.05 {
		t.Errorf("kept event %+v lost its exposure", kept)
	}
	if _, _, err := r.apply(ev(signals.EventPromoted, "H3", 30), ordered()); err != nil || r.Exposure != 0 {
		t.Errorf("promotion: %v, exposure %g (want 0: not reported for H3)", err, r.Exposure)
	}
	p := ev(signals.EventExposure, "", 31)
	p.Exposure = 0.5
	if _, _, err := r.apply(p, ordered()); err != nil || r.Exposure != 0.5 {
		t.Errorf("exposure of H3: %v, %g", err, r.Exposure)
	}
	// A halted (paused) rollout keeps its day; exposure is still recorded.
	h := build(t, StatusHalted)
	if _, _, err := h.apply(exp("H2", 40, 0.2), ordered()); err != nil || h.Status != StatusHalted || h.Exposure != 0.2 {
		t.Errorf("exposure of a halted release: %v, %s %g", err, h.Status, h.Exposure)
	}
}

func TestEventRequestExposure(t *testing.T) {
	for _, tc := range []struct {
		q   EventRequest
		err string
	}{
		{EventRequest{Event: "exposure", Exposure: 0.2}, ""},
		{EventRequest{Event: "promoted", Ring: "H3", Exposure: 0.01}, ""},
		{EventRequest{Event: "exposure"}, "exposure: required for exposure"},
		{EventRequest{Event: "exposure", Exposure: 2}, "outside (0, 1]"},
		{EventRequest{Event: "completed", Exposure: 1}, "goes with started, promoted or exposure"},
	} {
		err := tc.q.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrInvalid)) {
			t.Errorf("%+v: %v, want %q", tc.q, err, tc.err)
		}
	}
}
