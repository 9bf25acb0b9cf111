package detector

import (
	"math"
	"math/rand/v2"
	"os"
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
	r := rand.New(rand.NewPCG(11, 90))
	const days = 200
	halts, countHalts := 0, 0
	var per [nCharts]int
	posts := inControl{postRate: postRate, negShare: negShare, relShare: relShare, catShare: catShare}
	for m := 0; m < days*24*60; m++ {
		n, x, rel, cats := posts.minute(r)
		tm := t0.Add(time.Duration(m) * time.Minute)
		common := gammaVariate(r, 20) / 20
		draw := func(n float64) float64 {
			return float64(poissonLarge(r, n*errRatio*common*gammaVariate(r, 50)/50))
		}
		w.counts[0].addBucket(tm, counts{x: draw(reqs * canary), n: reqs * canary, y: draw(reqs * (1 - canary)), m: reqs * (1 - canary)}, errRatio)
		foldSocial(w, tm, n, x, rel, cats)
		halted := socialHalts(d, w, &per)
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
	halting := chartSignals()
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

// TestBudgetHoldsWithEstimatedBaseline is TestBudgetHoldsJointly with the
// baseline as the detector has it: not the true rates but estimates from
// six hours of in-control posts before each ring (baseline.estimate), a
// fresh draw for each week of watching. A chart set for a rate or share
// that came out low by chance alarms far more often than its budget says
// (Jones, Champ & Rigdon 2004, on the run length of a CUSUM with estimated
// parameters), and the alarms gather in the unlucky baselines, so the
// budget must hold with the estimates, not only with the truth.
//
// CI runs it with a one-week budget, where the whole set holds (255 halts
// where 300 are allowed on 2026-12-07) although the share chart alone
// takes 54 where its ninth allows 33. With a longer budget the estimates'
// errors weigh more (the charts integrate longer): with
//
//	AFTERSHOCK_ESTIMATED_BUDGET=720h go test ./detector -run TestBudgetHoldsWithEstimatedBaseline -v
//
// it failed on 2026-12-07: 576 halts where 280 are allowed (every
// category chart 1.4–2.8 times its share, the share chart 2.3 times), while
// each chart alone with a known rate stays within its run length at every
// budget up to 90 days. So the budget is not yet what it says for real,
// estimated baselines: see docs/judge.md §3, "Estimated baselines".
func TestBudgetHoldsWithEstimatedBaseline(t *testing.T) {
	budgetEvery := week
	if v := os.Getenv("AFTERSHOCK_ESTIMATED_BUDGET"); v != "" {
		var err error
		if budgetEvery, err = time.ParseDuration(v); err != nil || budgetEvery < 24*time.Hour {
			t.Fatalf("AFTERSHOCK_ESTIMATED_BUDGET=%q: want a duration of at least 24h (%v)", v, err)
		}
	}
	cfg := Config{FalseHaltEvery: budgetEvery}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	d := New(cfg, nil)
	const postRate, negShare, relShare = 3.0, 1.0 / 6, 0.1
	catShare := [8]float64{0.1, 0.05, 0.03, 0.06, 0.06, 0.15, 0.02, 0.08}
	r := rand.New(rand.NewPCG(17, 4))
	posts := inControl{postRate: postRate, negShare: negShare, relShare: relShare, catShare: catShare}
	// AFTERSHOCK_ESTIMATED_BASELINE (a duration, default 6h: the
	// detector's `baseline`) tries a longer one.
	baselineMinutes := 360
	if v := os.Getenv("AFTERSHOCK_ESTIMATED_BASELINE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour {
			t.Fatalf("AFTERSHOCK_ESTIMATED_BASELINE=%q: want a duration of at least 1h (%v)", v, err)
		}
		baselineMinutes = int(d.Minutes())
	}
	weeks := int(math.Round(300 * budgetEvery.Hours() / week.Hours()))
	halts := 0
	var per [nCharts]int
	for wk := range weeks {
		var sum bucket
		for range baselineMinutes {
			n, x, rel, cats := posts.minute(r)
			sum.posts += int32(n)
			sum.negative += int32(x)
			sum.releaseNeg += int32(rel)
			for i := range cats {
				sum.categories[i] += int32(cats[i])
			}
		}
		w := &watch{base: &baseline{ok: true, phi: 1, phiShare: 1}}
		w.base.estimate(sum, float64(baselineMinutes))
		d.thresholds(w)
		for m := range week / time.Minute {
			n, x, rel, cats := posts.minute(r)
			foldSocial(w, t0.Add(time.Duration(wk)*week+m*time.Minute), n, x, rel, cats)
			halted := socialHalts(d, w, &per)
			if halted {
				halts++
				for i := range w.charts {
					w.charts[i].reset()
				}
			}
		}
	}
	budget := float64(weeks) * week.Hours() / budgetEvery.Hours()
	k := d.haltingCharts()
	halting := chartSignals()
	for i := range per {
		t.Logf("%-18s halts %3d (its share of the budget %.0f)", halting[i], per[i], budget/float64(k))
	}
	t.Logf("%d halts in %d weeks, each judged against its own estimated baseline (%d minutes), over %d halting charts; budget (one per %s) %.0f", halts, weeks, baselineMinutes, k, budgetEvery, budget)
	if float64(halts) > 1.2*budget {
		t.Errorf("%d false halts in %d weeks with estimated baselines, the budget allows %.0f", halts, weeks, budget)
	}
}

// inControl draws a minute of posts as a service has them normally: a
// Poisson number, each a complaint with negShare, each complaint naming
// the release with relShare and in each category with its share.
type inControl struct {
	postRate, negShare, relShare float64
	catShare                     [8]float64
}

func (p inControl) minute(r *rand.Rand) (n, x int, rel float64, cats [8]float64) {
	n = poisson(r, p.postRate)
	for range n {
		if r.Float64() < p.negShare {
			x++
		}
	}
	for range x {
		if r.Float64() < p.relShare {
			rel++
		}
		for i, s := range p.catShare {
			if r.Float64() < s {
				cats[i]++
			}
		}
	}
	return n, x, rel, cats
}

// foldSocial feeds one minute's counts to the social charts of w against
// its baseline, as fold does without the seasonal and talk terms.
func foldSocial(w *watch, tm time.Time, n, x int, rel float64, cats [8]float64) {
	w.charts[chComplaints].add(tm, float64(x), w.base.negRate)
	w.charts[chShare].addShare(tm, float64(x), float64(n), w.base.negShare)
	w.charts[chRelease].add(tm, rel, w.base.relRate)
	for i := range cats {
		w.charts[chCategory0+i].add(tm, cats[i], w.base.catRate[i])
	}
}

// socialHalts reports whether a chart that halts on its own (a critical
// signal's) alarms, counting each in per.
func socialHalts(d *Detector, w *watch, per *[nCharts]int) bool {
	halting := chartSignals()
	halted := false
	for i := range w.charts {
		crit := d.cfg.critical(halting[i]) || i >= chCategory0 && d.cfg.critical("complaint_categories")
		if crit && w.charts[i].alarm() >= 0 {
			halted = true
			per[i]++
		}
	}
	return halted
}
