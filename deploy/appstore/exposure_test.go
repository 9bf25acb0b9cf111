package appstore

import (
	"context"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/appstore/asctest"
)

// Exposure reads the phased release's day and maps it to Apple's
// schedule; it only reads (GET calls), also while paused and once complete.
func TestExposure(t *testing.T) {
	f, n := setup(t, StateActive)
	rel := deploy.Release{ID: "shop-4.2.0", Service: "shop", Version: asctest.Version}
	if got, _, _, err := n.Exposure(context.Background(), rel); err != nil || got != 0.05 {
		t.Fatalf("day 3: %g, %v", got, err)
	}
	golden(t, "calls-exposure.txt", f.Calls())
	for _, tc := range []struct {
		state  string
		day    int
		want   float64
		detail string
	}{
		{StateActive, 1, 0.01, "ACTIVE, day 1 of 7"},
		{StateActive, 3, 0.05, "day 3 of 7"},
		{StatePaused, 4, 0.10, "PAUSED, day 4 of 7"},
		{StateActive, 6, 0.50, "day 6"},
		{StateComplete, 7, 1, "complete"},
	} {
		f.SetState(tc.state)
		f.SetDay(tc.day)
		got, detail, handled, err := n.Exposure(context.Background(), rel)
		if err != nil || !handled || got != tc.want || !strings.Contains(detail, tc.detail) {
			t.Errorf("%s day %d: Exposure = %g, %q, %v, %v; want %g", tc.state, tc.day, got, detail, handled, err, tc.want)
		}
	}
	for _, c := range f.Calls() {
		if c.Method != "GET" {
			t.Errorf("Exposure sent %s %s: it must only read", c.Method, c.Path)
		}
	}
	if _, _, handled, err := n.Exposure(context.Background(), deploy.Release{ID: "web-1", Service: "web"}); handled || err != nil {
		t.Errorf("other service: handled=%v err=%v", handled, err)
	}
	// A version out without a phased release went to everyone at once.
	f.SetState("")
	if got, detail, handled, err := n.Exposure(context.Background(), rel); !handled || err != nil || got != 1 || !strings.Contains(detail, "released to everyone at once") {
		t.Errorf("version without a phased release: %g %q handled=%v err=%v", got, detail, handled, err)
	}
	if _, _, _, err := n.Exposure(context.Background(), deploy.Release{ID: "shop-9", Service: "shop", Version: "9.9"}); err == nil {
		t.Error("no error for an unknown version")
	}
}
