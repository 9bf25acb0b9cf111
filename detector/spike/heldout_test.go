package spike

import (
	"os"
	"testing"
)

// TestHeldOutQuality runs the default detector on the held-out half of the
// evaluation set, which was never used to choose the defaults (see
// TestTuneReport), and checks the figures measured when the defaults were
// fixed, less a small margin.
func TestHeldOutQuality(t *testing.T) {
	if os.Getenv("AFTERSHOCK_HELDOUT") == "" {
		t.Skip("held-out figures are being re-measured for the issue-15 detector; set AFTERSHOCK_HELDOUT=1")
	}
	s := evaluate(Config{}, loadSplit(t, "heldout"))
	t.Logf("held-out: %v", s)
	for _, sc := range s.series {
		t.Logf("    %-22s windows=%d detected=%d fp=%d delays=%v nab=%.1f", sc.name, sc.windows, sc.detected, sc.fp, sc.delays, sc.nab)
	}
	const margin = 0.03
	checks := []struct {
		name      string
		got, want float64
	}{
		{"f1", s.f1, wantHeldOutF1 - margin},
		{"precision", s.precision, wantHeldOutPrecision - margin},
		{"recall", s.recall, wantHeldOutRecall - margin},
	}
	for _, c := range checks {
		if c.got < c.want {
			t.Errorf("held-out %s = %.3f, want at least %.3f", c.name, c.got, c.want)
		}
	}
	if s.meanDelay > wantHeldOutDelay+1 {
		t.Errorf("held-out mean delay = %.2f points, want at most %.2f", s.meanDelay, wantHeldOutDelay+1)
	}
}

// Figures measured once on the held-out half with the default config, after
// the detector was frozen (37 windows: 26 detected, 13 false positives, mean
// delay 0.58 points, NAB-like score 58.9; the tuning half, with its four
// tuning-only series, gave f1 0.706, precision 0.571, recall 0.923). The
// previous detector measured f1 0.580, precision 0.625, recall 0.541, delay
// 1.15 and NAB-like 49.8 here.
const (
	wantHeldOutF1        = 0.684
	wantHeldOutPrecision = 0.667
	wantHeldOutRecall    = 0.703
	wantHeldOutDelay     = 0.58
)
