package releases

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func ev(name, ring string, minute int) signals.ReleaseEvent {
	return signals.ReleaseEvent{Release: "shop-4.2.0", Event: name, Ring: ring, Time: t0.Add(time.Duration(minute) * time.Minute)}
}

func TestApplyRules(t *testing.T) {
	tests := []struct {
		name       string
		history    []signals.ReleaseEvent
		next       signals.ReleaseEvent
		wantDup    bool
		wantErr    error
		wantStatus string
		wantRing   string
		wantEvents int
	}{
		{name: "start pending", next: ev("started", "H1", 1), wantStatus: StatusWatching, wantRing: "H1", wantEvents: 1},
		{name: "start needs ring", next: ev("started", "", 1), wantErr: ErrInvalid},
		{name: "promote", history: []signals.ReleaseEvent{ev("started", "H1", 1)}, next: ev("promoted", "H2", 2),
			wantStatus: StatusPromoted, wantRing: "H2", wantEvents: 2},
		{name: "promote to current ring", history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("halted", "H1", 2)},
			next: ev("promoted", "H1", 3), wantErr: ErrConflict},
		{name: "promote needs ring", history: []signals.ReleaseEvent{ev("started", "H1", 1)}, next: ev("promoted", "", 2), wantErr: ErrInvalid},
		{name: "repeat of last event is a duplicate even at another time",
			history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("promoted", "H2", 2)}, next: ev("promoted", "H2", 9),
			wantDup: true, wantStatus: StatusPromoted, wantRing: "H2", wantEvents: 2},
		{name: "exact repeat of an earlier event is a duplicate",
			history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("promoted", "H2", 2)}, next: ev("started", "H1", 1),
			wantDup: true, wantStatus: StatusPromoted, wantRing: "H2", wantEvents: 2},
		{name: "restart after halt on the same ring",
			history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("halted", "H1", 2)}, next: ev("started", "H1", 3),
			wantStatus: StatusWatching, wantRing: "H1", wantEvents: 3},
		{name: "halt takes the current ring", history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("promoted", "H2", 2)},
			next: ev("halted", "", 3), wantStatus: StatusHalted, wantRing: "H2", wantEvents: 3},
		{name: "nothing after completed", history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("completed", "", 2)},
			next: ev("halted", "H1", 3), wantErr: ErrConflict},
		{name: "completed again is a duplicate", history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("completed", "", 2)},
			next: ev("completed", "", 5), wantDup: true, wantStatus: StatusCompleted, wantRing: "H1", wantEvents: 2},
		{name: "nothing after rolled back", history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("rolled_back", "", 2)},
			next: ev("started", "H1", 3), wantErr: ErrConflict},
		{name: "fix forward after halt", history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("halted", "", 2)},
			next: ev("fixed_forward", "", 3), wantStatus: StatusFixedForward, wantRing: "H1", wantEvents: 3},
		{name: "other service", next: signals.ReleaseEvent{Release: "shop-4.2.0", Service: "api", Event: "started", Ring: "H1", Time: t0},
			wantErr: ErrConflict},
		// a start or promotion naming the id with another version is the
		// id reused (docs/lifecycle.md): refused and so logged, not taken
		// for a retry of the last event
		{name: "the last start again with another version", history: []signals.ReleaseEvent{ev("started", "H1", 1)},
			next:    signals.ReleaseEvent{Release: "shop-4.2.0", Version: "4.3.0", Event: "started", Ring: "H1", Time: t0.Add(5 * time.Minute)},
			wantErr: ErrConflict},
		{name: "an earlier promotion again with another version",
			history: []signals.ReleaseEvent{ev("started", "H1", 1), ev("promoted", "H2", 2), ev("promoted", "H3", 3)},
			next:    signals.ReleaseEvent{Release: "shop-4.2.0", Version: "4.3.0", Event: "promoted", Ring: "H2", Time: t0.Add(2 * time.Minute)},
			wantErr: ErrConflict},
		{name: "the last start again with its own version", history: []signals.ReleaseEvent{ev("started", "H1", 1)},
			next:    signals.ReleaseEvent{Release: "shop-4.2.0", Version: "4.2.0", Event: "started", Ring: "H1", Time: t0.Add(5 * time.Minute)},
			wantDup: true, wantStatus: StatusWatching, wantRing: "H1", wantEvents: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Release{ID: "shop-4.2.0", Service: "shop", Version: "4.2.0", Status: StatusPending}
			for _, h := range tt.history {
				if _, dup, err := r.apply(h, Policy{MayResume: true}); err != nil || dup {
					t.Fatalf("history %s/%s: dup %v, err %v", h.Event, h.Ring, dup, err)
				}
			}
			got, dup, err := r.apply(tt.next, Policy{MayResume: true})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if dup != tt.wantDup || r.Status != tt.wantStatus || r.Ring != tt.wantRing || len(r.Events) != tt.wantEvents {
				t.Errorf("dup %v status %q ring %q events %d, want %v %q %q %d",
					dup, r.Status, r.Ring, len(r.Events), tt.wantDup, tt.wantStatus, tt.wantRing, tt.wantEvents)
			}
			if got.Service != "shop" || got.Version != "4.2.0" || got.Type != signals.TypeRelease {
				t.Errorf("recorded event lacks release data: %+v", got)
			}
		})
	}
}

func TestEventsBounded(t *testing.T) {
	r := Release{ID: "shop-4.2.0", Service: "shop", Status: StatusPending}
	for i := range 150 {
		name := []string{"started", "halted"}[i%2]
		if _, _, err := r.apply(ev(name, "H1", i), Policy{MayResume: true}); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if len(r.Events) != MaxEvents {
		t.Fatalf("%d events kept, want %d", len(r.Events), MaxEvents)
	}
	if first, last := r.Events[0].Time, r.Events[MaxEvents-1].Time; !first.Equal(t0.Add(50*time.Minute)) || !last.Equal(t0.Add(149*time.Minute)) {
		t.Errorf("kept events from %s to %s, want the last 100", first, last)
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 129)
	tests := []struct {
		q    StartRequest
		want string // substring of the error; "" means valid
	}{
		{StartRequest{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0"}, ""},
		{StartRequest{Release: "shop.4.2.0_rc-1", Service: "shop", Version: "4.2.0-rc.1+b7", Team: "payments", Authors: []string{"kim", "lee@example.com"}, Ring: "H1"}, ""},
		{StartRequest{Service: "shop", Version: "1"}, "release: required"},
		{StartRequest{Release: "-x", Service: "shop", Version: "1"}, "release: \"-x\" is not a valid id"},
		{StartRequest{Release: "a..b", Service: "shop", Version: "1"}, "release: "},
		{StartRequest{Release: "a.", Service: "shop", Version: "1"}, "release: "},
		{StartRequest{Release: long, Service: "shop", Version: "1"}, "release: "},
		{StartRequest{Release: "x", Service: "shop.eu", Version: "1"}, "service: \"shop.eu\""},
		{StartRequest{Release: "x", Version: "1"}, "service: required"},
		{StartRequest{Release: "x", Service: "shop"}, "version: required"},
		{StartRequest{Release: "x", Service: "shop", Version: "4 2"}, "version: "},
		{StartRequest{Release: "x", Service: "shop", Version: "1", Authors: []string{"kim", "bad name"}}, "authors[1]: "},
		{StartRequest{Release: "x", Service: "shop", Version: "1", Features: make([]string, 65)}, "features: 65 entries"},
		{StartRequest{Release: "x", Service: "shop", Version: "1", Ring: "H 1"}, "ring: "},
		{StartRequest{Release: "x", Service: "shop", Version: "1", Team: "a/b"}, "team: "},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			err := tt.q.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}
