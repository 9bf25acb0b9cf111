package spike

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var kindNames = []string{"spike", "dip", "shift", "variance", "burst"}

// TestDiag prints, for tune seeds only, each window's kind and the labels.
func TestDiag(t *testing.T) {
	if os.Getenv("DIAG") == "" {
		t.Skip()
	}
	only, _ := strconv.Atoi(os.Getenv("DIAG_SEED"))
	for seed := 1; seed <= evalSeeds; seed += 2 {
		if only != 0 && seed != only {
			continue
		}
		name, pts, starts, kinds := generatePlan(seed)
		d := New(Config{})
		zs := make([]float64, len(pts))
		exp := make([]float64, len(pts))
		sel := make([]int, len(pts))
		for i, p := range pts {
			r := d.Update(p.t, p.v)
			zs[i], exp[i], sel[i] = d.lastZ, r.Expected, d.s.Sel
			if r.Anomaly {
				t.Logf("%s label i=%d %s win=%v v=%.2f exp=%.2f z=%.1f score=%.6f sel=%d run=%.1f/%.1f perf=%.2f/%.2f/%.2f", name, i, p.t.Format("Mon 15:04"), p.window, p.v, r.Expected, d.lastZ, r.Score, d.s.Sel, d.s.RunUp, d.s.RunDown, d.s.Models[0].Perf, d.s.Models[1].Perf, d.s.Models[2].Perf)
			}
		}
		for a, s := range starts {
			var b strings.Builder
			for j := s - 2; j < min(len(pts), s+12); j++ {
				fmt.Fprintf(&b, " %.0f/%.0f(%.1f,m%d)", pts[j].v, exp[j], zs[j], sel[j])
			}
			t.Logf("%s anomaly %s at %d (%s) n=%d:%s", name, kindNames[kinds[a]], s, pts[s].t.Format("Mon 15:04"), len(pts), b.String())
		}
	}
}
