package spike

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// seriesScore is the window-level result of running a detector on one
// labelled series.
type seriesScore struct {
	name     string
	windows  int
	detected int
	fp       int   // labels outside every window
	delays   []int // per detected window: first label index - anomaly start
	nab      float64
}

type window struct{ lo, hi, start int } // [lo, hi), start = labelled anomaly

func windowsOf(pts []evalPoint) []window {
	var ws []window
	for i := 0; i < len(pts); i++ {
		if !pts[i].window {
			continue
		}
		w := window{lo: i, start: -1}
		for i < len(pts) && pts[i].window {
			if pts[i].start && w.start < 0 {
				w.start = i
			}
			i++
		}
		w.hi = i
		if w.start < 0 {
			w.start = w.lo
		}
		ws = append(ws, w)
	}
	return ws
}

// nabSigmoid is NAB's scaled sigmoid: ~1 at the start of a window, 0 at its
// end, negative after it.
func nabSigmoid(y float64) float64 { return 2/(1+math.Exp(5*y)) - 1 }

// scoreLabels scores labels against the windows of pts.
func scoreLabels(name string, pts []evalPoint, labels []bool) seriesScore {
	ws := windowsOf(pts)
	sc := seriesScore{name: name, windows: len(ws)}
	raw := 0.0
	for _, w := range ws {
		first := -1
		for i := w.lo; i < w.hi; i++ {
			if labels[i] {
				first = i
				break
			}
		}
		if first < 0 {
			raw -= 1
			continue
		}
		sc.detected++
		sc.delays = append(sc.delays, first-w.start)
		raw += nabSigmoid(float64(first-w.hi+1) / float64(w.hi-w.lo))
	}
	for i, l := range labels {
		if l && !pts[i].window {
			sc.fp++
			raw -= 0.11
		}
	}
	null, perfect := -float64(len(ws)), float64(len(ws))
	sc.nab = 100 * (raw - null) / (perfect - null)
	return sc
}

func runDetector(cfg Config, pts []evalPoint) []bool {
	d := New(cfg)
	labels := make([]bool, len(pts))
	for i, p := range pts {
		labels[i] = d.Update(p.t, p.v).Anomaly
	}
	return labels
}

// evalSummary aggregates series scores.
type evalSummary struct {
	windows, detected, fp int
	precision, recall, f1 float64
	meanF1, meanDelay     float64
	nab                   float64
	series                []seriesScore
}

func (s evalSummary) String() string {
	return fmt.Sprintf("windows=%d detected=%d fp=%d precision=%.3f recall=%.3f f1=%.3f mean_series_f1=%.3f mean_delay=%.2f nab=%.1f",
		s.windows, s.detected, s.fp, s.precision, s.recall, s.f1, s.meanF1, s.meanDelay, s.nab)
}

func evaluate(cfg Config, split map[string][]evalPoint) evalSummary {
	var sum evalSummary
	names := make([]string, 0, len(split))
	for n := range split {
		names = append(names, n)
	}
	slices.Sort(names)
	var delays []int
	for _, n := range names {
		pts := split[n]
		sc := scoreLabels(n, pts, runDetector(cfg, pts))
		sum.series = append(sum.series, sc)
		sum.windows += sc.windows
		sum.detected += sc.detected
		sum.fp += sc.fp
		delays = append(delays, sc.delays...)
		sum.nab += sc.nab / float64(len(names))
		p, r := ratio(sc.detected, sc.detected+sc.fp), ratio(sc.detected, sc.windows)
		sum.meanF1 += f1(p, r) / float64(len(names))
	}
	sum.precision = ratio(sum.detected, sum.detected+sum.fp)
	sum.recall = ratio(sum.detected, sum.windows)
	sum.f1 = f1(sum.precision, sum.recall)
	for _, d := range delays {
		sum.meanDelay += float64(d) / float64(len(delays))
	}
	return sum
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// TestTuneReport prints figures on the tuning half for a few configs. It is
// how the defaults were chosen; it never looks at the held-out half.
// Run with AFTERSHOCK_TUNE=1 go test ./detector/spike -run TestTuneReport -v
func TestTuneReport(t *testing.T) {
	if os.Getenv("AFTERSHOCK_TUNE") == "" {
		t.Skip("set AFTERSHOCK_TUNE=1 to print tuning figures")
	}
	tune := loadSplit(t, "tune")
	base := Config{}
	variants := map[string]Config{"default": base}
	for _, spec := range strings.Fields(os.Getenv("AFTERSHOCK_TUNE_VARIANTS")) {
		c := base
		if _, err := fmt.Sscanf(spec, "th=%g,z=%g,w=%d,cd=%d", &c.Threshold, &c.MinZ, &c.Window, &c.Cooldown); err != nil {
			t.Fatalf("variant %q: %v", spec, err)
		}
		variants[spec] = c
	}
	keys := make([]string, 0, len(variants))
	for k := range variants {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := evaluate(variants[k], tune)
		t.Logf("%-32s %v", k, s)
		if os.Getenv("AFTERSHOCK_TUNE_DETAIL") != "" {
			for _, sc := range s.series {
				t.Logf("    %-22s windows=%d detected=%d fp=%d delays=%v nab=%.1f", sc.name, sc.windows, sc.detected, sc.fp, sc.delays, sc.nab)
			}
		}
	}
}
