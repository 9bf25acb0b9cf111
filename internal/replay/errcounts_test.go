package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// counts adds a "requests" and an "errors" sample a minute in [from, to)
// for one cohort (version "" is the old one): reqs requests a minute,
// each an error with the ratio at that minute (ratio(m)), Poisson counts.
func (s *recording) counts(rng *rand.Rand, from, to float64, version, ring string, reqs float64, ratio func(m float64) float64) {
	cohort := ""
	if version != "" {
		cohort = fmt.Sprintf(`"version":%q,"ring":%q,`, version, ring)
	}
	for m := from; m < to; m++ {
		n := poisson(rng, reqs)
		x := poisson(rng, float64(n)*ratio(m))
		t := ts(at(m).Add(40 * time.Second))
		s.lines = append(s.lines,
			fmt.Sprintf(`{"type":"metric","time":%q,"service":"shop",%s"name":"requests","value":%d}`, t, cohort, n),
			fmt.Sprintf(`{"type":"metric","time":%q,"service":"shop",%s"name":"errors","value":%d}`, t, cohort, x))
	}
}

func poisson(r *rand.Rand, lambda float64) int {
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// TestErrorCountsEndToEnd: through `aftershock replay`, with the default
// configuration, the new version's error counts (the JSON push's count
// form, as two samples) halt H2 on their own when its errors triple
// against the old cohort running beside it — and do not when a burst of
// errors hits both cohorts at once (a dependency failing for six minutes).
func TestErrorCountsEndToEnd(t *testing.T) {
	const onset = 150
	for _, tc := range []struct {
		name         string
		new, old     func(m float64) float64
		halt         bool
		reasonPrefix string
	}{
		{name: "x3 in the new version", halt: true,
			new: func(m float64) float64 {
				if m >= onset {
					return 0.03
				}
				return 0.01
			},
			old: func(float64) float64 { return 0.01 }},
		{name: "burst in both cohorts",
			new: burst(onset, 0.01), old: burst(onset, 0.01)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			var rec recording
			rec.chatter(0, 240, 3, "mastodon")
			rec.release(120, "started", "H2")
			rec.counts(rng, 0, 240, "", "H2", 2000, tc.old)
			rec.counts(rng, 121, 240, "4.2.0", "H2", 100, tc.new)
			r := run(t, rec.input(), Options{})
			halts := r.halts()
			if (len(halts) > 0) != tc.halt {
				t.Fatalf("halts %d, want %v: %v", len(halts), tc.halt, r.decisions())
			}
			if !tc.halt {
				for _, v := range r.verdicts {
					if v["decision"] == "fail" || v["decision"] == "marginal" || strings.Contains(reasons(v), "errors: ") {
						t.Fatalf("the burst in both cohorts failed the ring: %v", r.decisions())
					}
				}
				if last := r.verdicts[len(r.verdicts)-1]; last["decision"] != "pass" {
					t.Fatalf("H2 does not pass after the burst: %v", r.decisions())
				}
				return
			}
			h := halts[0]
			why := reasons(h)
			if !strings.Contains(why, "a critical signal failed") || !strings.Contains(why, "errors: ") || !strings.Contains(why, "requests of the new version") || !strings.Contains(why, "in the old cohort") {
				t.Fatalf("the halt does not say it is the error counts: %s", why)
			}
			ht, _ := time.Parse(time.RFC3339, h["time"].(string))
			if d := ht.Sub(at(onset)); d < 0 || d > 30*time.Minute {
				t.Fatalf("halted %s after the onset, want within 30m: %s", d, why)
			}
			t.Logf("halted %s after the onset: %s", ht.Sub(at(onset)), why)
		})
	}
}

// burst is ratio, ×20 for six minutes from minute from.
func burst(from, ratio float64) func(float64) float64 {
	return func(m float64) float64 {
		if m >= from && m < from+6 {
			return 20 * ratio
		}
		return ratio
	}
}
