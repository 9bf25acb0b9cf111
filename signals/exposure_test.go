package signals

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestReleaseEventExposure(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		event    string
		ring     string
		exposure float64
		err      string
	}{
		{EventExposure, "H3", 0.05, ""},
		{EventExposure, "", 1, ""},
		{EventStarted, "H3", 0.01, ""},
		{EventPromoted, "H3", 0.5, ""},
		{EventStarted, "H3", 0, ""},
		{EventExposure, "H3", 0, "needs an \"exposure\""},
		{EventExposure, "H3", 1.5, "outside (0, 1]"},
		{EventExposure, "H3", -0.1, "outside (0, 1]"},
		{EventExposure, "H3", math.NaN(), "outside (0, 1]"},
		{EventHalted, "H3", 0.2, "goes with started, promoted or exposure"},
	} {
		ev := ReleaseEvent{Time: at, Release: "shop-ios-4.2.0", Service: "shop-ios", Ring: tc.ring, Event: tc.event, Exposure: tc.exposure}
		err := ev.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s %s %g: %v, want %q", tc.event, tc.ring, tc.exposure, err, tc.err)
		}
	}
}
