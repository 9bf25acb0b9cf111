package play

import (
	"context"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/play/playtest"
)

// Exposure reads the staged rollout's userFraction in an edit it deletes:
// nothing is committed and the live track is unchanged.
func TestExposure(t *testing.T) {
	f, n, _ := setup(t, playtest.TrackInProgress)
	rel := deploy.Release{ID: "shop-4.2.0", Service: "shop", Version: "4.2.0"}
	if got, _, _, err := n.Exposure(context.Background(), rel); err != nil || got != 0.05 {
		t.Fatalf("first read: %g, %v", got, err)
	}
	golden(t, "calls-exposure.txt", f.Calls())
	for _, tc := range []struct {
		from, to string
		want     float64
		detail   string
	}{
		{"", "", 0.05, `release "4.2.0" inProgress at userFraction 0.05`},
		{`"userFraction":0.05`, `"userFraction":0.2`, 0.2, "userFraction 0.2"},
		{`"status":"inProgress"`, `"status":"halted"`, 0.05, "halted at userFraction 0.05"},
		{`"status":"inProgress","userFraction":0.05`, `"status":"completed"`, 1, `"4.2.0" completed`},
	} {
		f.SetProduction(strings.Replace(playtest.TrackInProgress, tc.from, tc.to, 1))
		got, detail, handled, err := n.Exposure(context.Background(), rel)
		if err != nil || !handled || got != tc.want || !strings.Contains(detail, tc.detail) {
			t.Errorf("%s: Exposure = %g, %q, %v, %v; want %g", tc.to, got, detail, handled, err, tc.want)
		}
	}
	for _, c := range f.Calls() {
		if strings.Contains(c.Path, ":commit") || c.Method == "PUT" {
			t.Errorf("Exposure sent %s %s: it must only read", c.Method, c.Path)
		}
	}
	if open := f.Edits(); open != 0 {
		t.Errorf("%d edits left open", open)
	}
	if _, _, handled, _ := n.Exposure(context.Background(), deploy.Release{ID: "web-1", Service: "web"}); handled {
		t.Error("read a service with no app")
	}
	if _, _, _, err := n.Exposure(context.Background(), deploy.Release{ID: "shop-9", Service: "shop", Version: "9.0"}); err == nil {
		t.Error("no error for a version not on the track")
	}
	f.Fail("GET get", "403-permission")
	if _, _, _, err := n.Exposure(context.Background(), rel); err == nil || !strings.Contains(err.Error(), "permission") {
		t.Errorf("403: %v", err)
	}
}
