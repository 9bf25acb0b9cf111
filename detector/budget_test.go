package detector

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestBudgetHoldsJointly runs a service's whole set of count charts
// together on in-control counts — posts at their baseline rate, each a
// complaint with the baseline share (the share chart judges them as in
// fold; until 2026-12-07 this test left it out: its threshold was NaN for a
// baseline without phiShare), each
// complaint naming the release or falling in a category by its baseline
// share (so the charts are correlated as in life: every category and
// release complaint is also a complaint) — with the thresholds the budget
// gives, and counts the halts: alarms of the charts that halt on their own
// (critical signals). They must stay within the budget (the first
// derivation divided the budget among the charts instead of multiplying
// it and halted eight times as often as allowed here), and not waste most
// of it. The budget is one day here so a short run sees enough halts.
// Since 2026-12-07 the error-count chart of the default pair (errors
// among requests, errcounts.go) runs with them: requests of a 5 % canary
// and the old cohort, errors overdispersed by a gamma factor shared by
// both cohorts and one of each; it is one more halting chart, so every
// threshold is set for k + 1 charts.
func TestBudgetHoldsJointly(t *testing.T) {
	cfg := Config{FalseHaltEvery: 24 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	d := New(cfg, nil)
	const negRate = 0.5 // complaints per minute
	relShare := 0.1
	catShare := [8]float64{0.1, 0.05, 0.03, 0.06, 0.06, 0.15, 0.02, 0.08}
	const postRate, negShare = 3.0, negRate / 3.0 // posts per minute, each a complaint with this share
	w := &watch{base: &baseline{ok: true, phi: 1, phiShare: 1, negRate: negRate, negShare: negShare, relRate: negRate * relShare}}
	for i := range catShare {
		w.base.catRate[i] = negRate * catShare[i]
	}
	// The error counts: 2,000 requests a minute, 1 % errors, a 5 % canary;
	// the dispersion as its baseline would give it (shared gamma of shape
	// 20 on 100 errors per 5-minute block: 1 + 20/20 + …, about 2).
	const reqs, errRatio, canary = 2000.0, 0.01, 0.05
	w.ring.Exposure = canary
	w.counts = []countWatch{{base: &countBase{ok: true, p: errRatio, reqRate: reqs, phi: 2}}}
	d.countThreshold(w, &w.counts[0], canary)
	d.thresholds(w)
	if got := d.budgetCharts(w); got != d.haltingCharts()+1 {
		t.Fatalf("%d halting charts with the error counts, want %d", got, d.haltingCharts()+1)
	}
	halting := chartSignals()
	r := rand.New(rand.NewPCG(11, 90))
	const days = 200
	halts, countHalts := 0, 0
	var per [nCharts]int
	for m := 0; m < days*24*60; m++ {
		n := poisson(r, postRate)
		x := 0
		for range n {
			if r.Float64() < negShare {
				x++
			}
		}
		var rel, cats [8]float64
		for range x {
			if r.Float64() < relShare {
				rel[0]++
			}
			for i, p := range catShare {
				if r.Float64() < p {
					cats[i]++
				}
			}
		}
		tm := t0.Add(time.Duration(m) * time.Minute)
		common := gammaVariate(r, 20) / 20
		draw := func(n float64) float64 {
			return float64(poissonLarge(r, n*errRatio*common*gammaVariate(r, 50)/50))
		}
		w.counts[0].addBucket(tm, counts{x: draw(reqs * canary), n: reqs * canary, y: draw(reqs * (1 - canary)), m: reqs * (1 - canary)}, errRatio)
		w.charts[chComplaints].add(tm, float64(x), negRate)
		w.charts[chShare].addShare(tm, float64(x), float64(n), negShare)
		w.charts[chRelease].add(tm, rel[0], negRate*relShare)
		for i := range catShare {
			w.charts[chCategory0+i].add(tm, cats[i], w.base.catRate[i])
		}
		halted := false
		for i := range w.charts {
			name := halting[i]
			crit := d.cfg.critical(name) || i >= chCategory0 && d.cfg.critical("complaint_categories")
			if crit && w.charts[i].alarm() >= 0 {
				halted = true
				per[i]++
			}
		}
		if w.counts[0].c.alarm() >= 0 {
			halted = true
			countHalts++
		}
		if halted {
			halts++
			for i := range w.charts {
				w.charts[i].reset()
			}
			w.counts[0].c.reset()
		}
	}
	budget := float64(days) // one a day
	for i := range w.charts {
		t.Logf("%-18s h %.2f rate %.3f halts %d", halting[i], w.charts[i].h, []float64{negRate, negRate, negRate * relShare, w.base.catRate[0], w.base.catRate[1], w.base.catRate[2], w.base.catRate[3], w.base.catRate[4], w.base.catRate[5], w.base.catRate[6], w.base.catRate[7]}[i], per[i])
	}
	t.Logf("%-18s h %.2f rate %.3f halts %d", "errors", w.counts[0].c.h, errRatio*reqs*canary, countHalts)
	t.Logf("%d halts in %d days of in-control counts over %d halting charts; budget %.0f", halts, days, d.budgetCharts(w), budget)
	if float64(halts) > 1.2*budget {
		t.Errorf("%d false halts in %d days, the budget allows %.0f", halts, days, budget)
	}
	if float64(halts) < 0.25*budget {
		t.Errorf("%d false halts in %d days where the budget allows %.0f: the thresholds waste most of it", halts, days, budget)
	}
}

// TestShareChartBudget runs the share chart (Bernoulli CUSUMs of the
// complaint odds, addShare) on in-control posts — a Poisson number of posts
// a minute, each a complaint with the baseline share — at the threshold
// the Poisson table gives for its expected complaints, and checks its
// false alarms stay within that run length: both are likelihood-ratio
// charts, so the table carries over.
func TestShareChartBudget(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 1999))
	for _, tc := range []struct{ posts, share float64 }{{3, 0.16}, {0.5, 0.2}, {10, 0.05}} {
		const arlMinutes, minutes = 2000.0, 400000
		rate := tc.posts * tc.share
		c := chart{h: cusumThreshold(rate*arlMinutes, rate), minX: minCountEvidence}
		alarms := 0
		for m := 0; m < minutes; m++ {
			n := poisson(r, tc.posts)
			x := 0
			for range n {
				if r.Float64() < tc.share {
					x++
				}
			}
			c.addShare(t0, float64(x), float64(n), tc.share)
			if c.alarm() >= 0 {
				alarms++
				c.reset()
			}
		}
		budget := minutes / arlMinutes
		t.Logf("%g posts/min, share %g: %d alarms, budget %.0f (h %.2f)", tc.posts, tc.share, alarms, budget, c.h)
		if float64(alarms) > 1.2*budget {
			t.Errorf("%g posts/min, share %g: %d alarms in %d minutes, the run length allows %.0f", tc.posts, tc.share, alarms, minutes, budget)
		}
	}
}

// A baseline without estimated dispersions (restored from a snapshot
// written before they existed, or built by hand) gets the thresholds of
// φ = 1 — not NaN, with which a chart never alarms.
func TestThresholdsWithoutDispersion(t *testing.T) {
	cfg := defaultConfig(t)
	d := New(cfg, nil)
	w := &watch{base: &baseline{ok: true, negRate: 0.5, negShare: 0.15, relRate: 0.05}}
	d.thresholds(w)
	one := &watch{base: &baseline{ok: true, phi: 1, phiShare: 1, negRate: 0.5, negShare: 0.15, relRate: 0.05}}
	d.thresholds(one)
	for i, name := range chartSignals() {
		if h := w.charts[i].h; !(h > 0) || h != one.charts[i].h {
			t.Errorf("%s: h %v without dispersions, %v with φ = 1", name, h, one.charts[i].h)
		}
	}
}
