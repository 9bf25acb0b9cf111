package detector

import (
	"bytes"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// countLoad describes generated request and error counts: reqs requests a
// minute over both cohorts, the new version's share of them from newFrom
// on (in ring(t)), the error ratio, the new version's multiple of it
// (mult) and a multiple of both cohorts' (common: a dependency's outage).
// Errors are overdispersed: a gamma factor shared by both cohorts (shape
// 20) and one per cohort (shape 50), as detector/scenarios generates them;
// shapes, when set, are other shapes (common, own).
type countLoad struct {
	reqs, share, ratio float64
	newFrom            time.Time
	ring               func(time.Time) string
	mult, common       func(time.Time) float64
	shapes             [2]float64
}

// genCounts adds a "requests" and an "errors" sample a minute per cohort
// in [from, to).
// judge runs the timeline from t0 to end through d and checks that it
// halted or not, as wanted; it returns the first halt and the whole output.
func (tl *timeline) judge(t *testing.T, d *Detector, end time.Time, wantHalt bool) (signals.Verdict, Output) {
	t.Helper()
	var out Output
	tl.run(d, t0, end, &out)
	h, halted := firstHaltIn(out.Verdicts)
	if halted != wantHalt {
		t.Fatalf("halted %v, want %v:%s", halted, wantHalt, describe(out.Verdicts))
	}
	return h, out
}

func (tl *timeline) genCounts(rng *rand.Rand, from, to time.Time, l countLoad) {
	one := func(time.Time) float64 { return 1 }
	if l.mult == nil {
		l.mult = one
	}
	if l.common == nil {
		l.common = one
	}
	if l.shapes == [2]float64{} {
		l.shapes = [2]float64{20, 50}
	}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		at := m.Add(20 * time.Second)
		share := 0.0
		if !m.Before(l.newFrom) {
			share = l.share
		}
		common := gammaVariate(rng, l.shapes[0]) / l.shapes[0] * l.common(m)
		add := func(version, ring string, reqs, ratio float64) {
			if reqs <= 0 {
				return
			}
			n := float64(poissonLarge(rng, reqs))
			x := float64(poissonLarge(rng, n*min(1, ratio*common*gammaVariate(rng, l.shapes[1])/l.shapes[1])))
			tl.metrics = append(tl.metrics,
				signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: "shop", Version: version, Ring: ring, Name: "requests", Value: n},
				signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: "shop", Version: version, Ring: ring, Name: "errors", Value: x})
		}
		add("", "", l.reqs*(1-share), l.ratio)
		if share > 0 {
			add("4.2.0", l.ring(m), l.reqs*share, l.ratio*l.mult(m))
		}
	}
}

func poissonLarge(r *rand.Rand, lambda float64) int {
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	return poisson(r, lambda)
}

// gammaVariate draws Gamma(shape, 1), shape >= 1 (Marsaglia and Tsang).
func gammaVariate(r *rand.Rand, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if math.Log(r.Float64()) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

func signalOf(v signals.Verdict, name string) (signals.SignalResult, bool) {
	for _, r := range v.Signals {
		if r.Name == name {
			return r, true
		}
	}
	return signals.SignalResult{}, false
}

func step(at time.Time, from, to float64) func(time.Time) float64 {
	return func(t time.Time) float64 {
		if t.Before(at) {
			return from
		}
		return to
	}
}

// TestErrorCountChart: the new version's errors among its requests are
// judged by their own chart, against the old cohort running at the same
// time: a ×3 regression in H2 halts on the error counts alone, a burst of
// errors in both cohorts (a dependency) does not, nor does normal traffic;
// with no other version running the baseline hours' ratio is the
// reference, and the excess halts on its own once it has lasted 10
// minutes — a burst of a few minutes does not (the ring's other metrics
// are normal there, so the score alone does not fail it).
func TestErrorCountChart(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	onset := start.Add(20 * time.Minute)
	h2 := func(time.Time) string { return "H2" }
	h3 := func(time.Time) string { return "H3" }
	for _, tc := range []struct {
		name     string
		ring     string
		load     countLoad
		halt     bool
		within   time.Duration
		detail   string
		outcome  string
		duration time.Duration
		metrics  bool // error_rate and latency_p99 of both cohorts, normal
	}{
		{name: "x3 regression in H2", ring: "H2", halt: true, within: 30 * time.Minute,
			load:   countLoad{reqs: 5000, share: 0.02, ratio: 0.01, ring: h2, mult: step(onset, 1, 3)},
			detail: "requests of the new version"},
		{name: "burst in both cohorts", ring: "H2", outcome: signals.OutcomePass, duration: 3 * time.Hour,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.01, ring: h2, common: func(t time.Time) float64 {
				if !t.Before(onset) && t.Before(onset.Add(8*time.Minute)) {
					return 25
				}
				return 1
			}}},
		{name: "normal traffic", ring: "H2", outcome: signals.OutcomePass, duration: 6 * time.Hour,
			load: countLoad{reqs: 3000, share: 0.05, ratio: 0.008, ring: h2}},
		{name: "x4 with no other version running", ring: "H3", halt: true, within: 20 * time.Minute, metrics: true,
			load:   countLoad{reqs: 800, share: 1, ratio: 0.005, ring: h3, mult: step(onset, 1, 4)},
			detail: "in the baseline hours (no other version running)"},
		{name: "burst with no other version running", ring: "H3", outcome: signals.OutcomePass, duration: 3 * time.Hour, metrics: true,
			load: countLoad{reqs: 800, share: 1, ratio: 0.005, ring: h3, common: func(t time.Time) float64 {
				if !t.Before(onset) && t.Before(onset.Add(5*time.Minute)) {
					return 15
				}
				return 1
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaultConfig(t)
			rng := rand.New(rand.NewPCG(31, 7))
			tl := &timeline{}
			tc.load.newFrom = start
			end := onset.Add(max(tc.within, tc.duration))
			tl.genCounts(rng, t0, end, tc.load)
			if tc.metrics {
				for _, m := range []string{"error_rate", "latency_p99"} {
					tl.genMetrics(rng, t0, end, start, m, 0.01, tc.load.ring, func(time.Time) float64 { return 1 })
				}
				sort.SliceStable(tl.metrics, func(i, j int) bool { return tl.metrics[i].Time.Before(tl.metrics[j].Time) })
			}
			tl.event(start, tc.ring, signals.EventStarted)
			d := New(cfg, nil)
			h, out := tl.judge(t, d, end, tc.halt)
			if tc.halt {
				r, ok := signalOf(h, "errors")
				if !ok || r.Outcome != signals.OutcomeFail || !r.Critical || !strings.Contains(r.Detail, tc.detail) {
					t.Fatalf("the halt is not the error counts' (%+v):%s", r, describe(out.Verdicts))
				}
				if h.Time.Before(onset) || h.Time.Sub(onset) > tc.within {
					t.Fatalf("halted %s after the onset, want within %s: %s", h.Time.Sub(onset), tc.within, r.Detail)
				}
				t.Logf("halted %s after the onset: %s", h.Time.Sub(onset), r.Detail)
				return
			}
			last := out.Verdicts[len(out.Verdicts)-1]
			if r, ok := signalOf(last, "errors"); !ok || r.Outcome != tc.outcome {
				t.Fatalf("errors: %+v, want %s:%s", r, tc.outcome, describe(out.Verdicts))
			}
			for _, v := range out.Verdicts {
				if r, _ := signalOf(v, "errors"); r.Outcome == signals.OutcomeFail {
					t.Logf("failing without halting: %s", r.Detail)
					break
				}
			}
			w := d.watches[watchKey{"shop-4.2.0", tc.ring}]
			t.Logf("highest level %.2f of h %.1f (φ %.2f → %.2f)", w.counts[0].c.level(), w.counts[0].c.h, w.counts[0].base.phi, w.counts[0].dispersion())
		})
	}
}

// A ring whose new version reports requests but whose service sent no
// counts before it has no evidence on its error counts — never a pass on
// nothing — and with errors in must_have_data it cannot pass. A service
// that sends no counts at all has no such signal.
func TestErrorCountsWithoutBaseline(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	for _, must := range []bool{false, true} {
		cfg := Config{}
		if must {
			cfg.MustHaveData = []string{"errors"}
		}
		s := newScenario(t, cfg)
		rng := rand.New(rand.NewPCG(3, 4))
		tl := &timeline{}
		tl.genCounts(rng, start, start.Add(2*time.Hour), countLoad{reqs: 2000, share: 0.05, ratio: 0.01, ring: func(time.Time) string { return "H1" }})
		for _, m := range []string{"error_rate", "latency_p99"} {
			tl.genMetrics(rng, start, start.Add(2*time.Hour), start, m, 0.01, func(time.Time) string { return "H1" }, func(time.Time) float64 { return 1 })
		}
		sort.SliceStable(tl.metrics, func(i, j int) bool { return tl.metrics[i].Time.Before(tl.metrics[j].Time) })
		tl.event(start, "H1", signals.EventStarted)
		var out Output
		tl.run(s.d, start, start.Add(2*time.Hour), &out)
		last := out.Verdicts[len(out.Verdicts)-1]
		r, ok := signalOf(last, "errors")
		if !ok || r.Outcome != signals.OutcomeInsufficient || !strings.Contains(r.Detail, "no requests counts before the ring started") {
			t.Fatalf("must_have_data %v: errors %+v, want no evidence for want of a baseline", must, r)
		}
		if must == (last.Decision == signals.DecisionPass) {
			t.Fatalf("must_have_data %v: %s:%s", must, last.Decision, describe(out.Verdicts))
		}
	}
	s := newScenario(t, Config{})
	s.release(start, "H2", signals.EventStarted)
	s.chatter(t0, start.Add(time.Hour), 5, 0.1, 0.3, "")
	if _, ok := signalOf(s.last(), "errors"); ok {
		t.Fatalf("a service without counts has an errors signal: %+v", s.last().Signals)
	}
}

// Samples of a count pair that are no count are dropped and counted.
func TestBadCountsAreCounted(t *testing.T) {
	d := New(defaultConfig(t), nil)
	for _, v := range []float64{-1, math.NaN(), math.Inf(1), 1e300, 3} {
		d.Metric(signals.MetricSample{Time: t0, Service: "shop", Name: "errors", Value: v})
	}
	d.Metric(signals.MetricSample{Time: t0, Service: "shop", Name: "latency_delta", Value: -1})
	if got := d.Stats().BadCounts; got != 4 {
		t.Fatalf("BadCounts %d, want 4", got)
	}
	if n := len(d.services["shop"].metrics["errors"]); n != 1 {
		t.Fatalf("%d errors samples kept, want 1", n)
	}
}

// The count pairs are checked at start-up.
func TestErrorCountsConfig(t *testing.T) {
	for _, tc := range []struct {
		pairs []CountPair
		want  string
	}{
		{[]CountPair{{Name: "errors", Errors: "errors", Requests: "errors"}}, `error_counts[0].requests: "errors" is also the errors sample`},
		{[]CountPair{{Name: "negative_share", Errors: "e", Requests: "r"}}, `error_counts[0].name: "negative_share" is a social signal's name`},
		{[]CountPair{{Name: "errors", Requests: "r"}}, `error_counts[0].errors: required`},
		{[]CountPair{{Name: "e", Errors: "e", Requests: "r"}, {Name: "e", Errors: "e2", Requests: "r2"}}, `error_counts[1].name: "e" is already error_counts[0].name`},
		{[]CountPair{{Name: "a", Errors: "e", Requests: "r"}, {Name: "b", Errors: "e", Requests: "r2"}}, `error_counts[1].errors: sample "e" is already counted as error_counts[0].errors`},
		{[]CountPair{{Name: "5xx count", Errors: "e", Requests: "r"}}, `error_counts[0].name: "5xx count" is not a metric name`},
		{[]CountPair{{Name: "errors", Errors: "errors", Requests: "requests"}, {Name: "requests", Errors: "e2", Requests: "r2"}}, `error_counts[1].name: "requests" is a sample of error_counts[0]`},
	} {
		cfg := Config{ErrorCounts: tc.pairs}
		if err := cfg.Validate("detector"); err == nil || !strings.Contains(err.Error(), "detector."+tc.want) {
			t.Errorf("%+v: %v, want %q", tc.pairs, err, tc.want)
		}
	}
	cfg := defaultConfig(t)
	if len(cfg.ErrorCounts) != 1 || cfg.ErrorCounts[0] != (CountPair{Name: "errors", Errors: "errors", Requests: "requests"}) || !cfg.critical("errors") {
		t.Fatalf("default error counts %+v, critical %v", cfg.ErrorCounts, cfg.Critical)
	}
	none := Config{ErrorCounts: []CountPair{}}
	if err := none.Validate("detector"); err != nil || len(none.ErrorCounts) != 0 {
		t.Fatalf("error_counts: [] must judge none: %v %+v", err, none.ErrorCounts)
	}
}

// The chart's increments, by hand: the concurrent form is the binomial
// log-likelihood ratio of the new version's share of the bucket's errors,
// the other the Bernoulli one against the baseline ratio.
func TestErrorCountIncrements(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    counts
		p    float64
		want [nRises]float64 // statistic after one bucket
		e    float64
	}{
		{"concurrent", counts{x: 6, n: 100, y: 10, m: 900}, 0.5, incs(6, 16, 0.1), 1.6},
		{"no other cohort", counts{x: 3, n: 200}, 0.01, incs(3, 200, 0.01), 2},
		// A cohort's errors count only with its requests (judged): the
		// new version's 4 errors without requests, judged as 4 of 4
		// requests, halted a clean canary whose requests sample was lost.
		{"the new version's errors without requests are not judged", counts{x: 4, n: 0, y: 5, m: 1000}, 0.01, [nRises]float64{}, 0},
		{"the other cohort's errors without requests: against the baseline", counts{x: 3, n: 200, y: 50}, 0.01, incs(3, 200, 0.01), 2},
		{"more errors than requests count as requests", counts{x: 5, n: 3, y: 10, m: 1000}, 0.01, incs(5, 15, 5.0/1005), 15 * 5.0 / 1005},
		{"no errors anywhere", counts{n: 100, m: 900}, 0.01, [nRises]float64{}, 0},
		{"new version not running", counts{y: 10, m: 1000}, 0.01, [nRises]float64{}, 0},
	} {
		cw := countWatch{base: &countBase{ok: true, p: tc.p}}
		cw.addBucket(t0, tc.b, tc.p)
		for i := range tc.want {
			if math.Abs(cw.c.s[i]-tc.want[i]) > 1e-9 {
				t.Errorf("%s: S(ρ=%g) = %.6f, want %.6f", tc.name, CUSUMRises[i], cw.c.s[i], tc.want[i])
			}
		}
		if math.Abs(cw.c.expected-tc.e) > 1e-9 {
			t.Errorf("%s: expected %.4f, want %.4f", tc.name, cw.c.expected, tc.e)
		}
	}
}

// incs is max(0, x·ln ρ − trials·ln(1 − π + π·ρ)) per design rise.
func incs(x, trials, pi float64) (out [nRises]float64) {
	for i, r := range CUSUMRises {
		out[i] = max(0, x*math.Log(r)-trials*math.Log(1-pi+pi*r))
	}
	return out
}

// A few bursts in the baseline hours do not set the dispersion or the
// error ratio: they are set aside (before, one burst took φ to its ceiling
// of 10 and a chart with h ten times higher saw nothing).
func TestRobustDispersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	var blocks []counts
	var tot counts
	for i := range 72 {
		m := float64(poissonLarge(rng, 5000))
		ratio := 0.01 * gammaVariate(rng, 40) / 40
		if i == 20 || i == 50 {
			ratio *= 15
		}
		c := counts{m: m, y: float64(poissonLarge(rng, m*ratio))}
		blocks = append(blocks, c)
		tot.add(c)
	}
	phi, bursts, kept := robustDispersion(blocks, tot)
	// Gamma(40) on 50 expected errors a block: φ ≈ 1 + 50/40.
	if phi < 1.5 || phi > 3.5 || bursts != 2 || math.Abs(kept.y/kept.m-0.01) > 0.001 {
		t.Fatalf("φ %.2f, bursts %d, ratio %.4f; want φ ≈ 2.25, 2 bursts, ratio ≈ 0.01", phi, bursts, kept.y/kept.m)
	}
}

// TestErrorCountBudget runs one error-count chart on in-control counts —
// requests a minute following no change, errors overdispersed (a gamma
// factor shared by both cohorts and one per cohort), the dispersion and
// ratio estimated from simulated baseline hours as at a ring start — at
// the threshold the budget gives it, and checks its false alarms stay
// within the run length the budget asks for. Both forms: against the
// concurrent old cohort, and against the baseline ratio when the release
// is everywhere (there the whole dispersion is the new version's).
func TestErrorCountBudget(t *testing.T) {
	for _, tc := range []struct {
		name               string
		reqs, share, ratio float64
	}{
		{"2% canary, concurrent", 5000, 0.02, 0.01},
		{"30% of a small service, concurrent", 300, 0.3, 0.02},
		{"everywhere, against the baseline", 600, 1, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(12, 34))
			const arlMinutes, minutes = 2000.0, 400000
			cfg := defaultConfig(t)
			d := New(cfg, nil)
			k := float64(d.haltingCharts() + 1)
			d.cfg.FalseHaltEvery = time.Duration(arlMinutes / k * float64(time.Minute))
			draw := func(reqs, ratio, common float64) (n, x float64) {
				n = float64(poissonLarge(r, reqs))
				return n, float64(poissonLarge(r, n*ratio*common*gammaVariate(r, 50)/50))
			}
			// The baseline hours: the old cohort alone, 6 h in 5-minute blocks.
			var blocks []counts
			var tot counts
			for range 72 {
				var c counts
				for range 5 {
					n, x := draw(tc.reqs, tc.ratio, gammaVariate(r, 20)/20)
					c.m += n
					c.y += x
				}
				blocks = append(blocks, c)
				tot.add(c)
			}
			phi, _, kept := robustDispersion(blocks, tot)
			w := &watch{ring: RingConfig{Exposure: tc.share}, counts: make([]countWatch, 1)}
			cw := &w.counts[0]
			cw.base = &countBase{ok: true, p: min(upper(int32(kept.y))/kept.m, 0.95), reqRate: tot.m / 360, phi: phi}
			d.countThreshold(w, cw, tc.share)
			alarms := 0
			for range minutes {
				common := gammaVariate(r, 20) / 20
				var b counts
				b.n, b.x = draw(tc.reqs*tc.share, tc.ratio, common)
				if tc.share < 1 {
					b.m, b.y = draw(tc.reqs*(1-tc.share), tc.ratio, common)
				}
				cw.addBucket(t0, b, cw.base.p)
				if cw.c.alarm() >= 0 {
					alarms++
					cw.c.reset()
				}
			}
			budget := minutes / arlMinutes
			t.Logf("%d alarms, budget %.0f (h %.2f, φ %.2f → %.2f, p %.4f)", alarms, budget, cw.c.h, phi, cw.dispersion(), cw.base.p)
			if float64(alarms) > 1.2*budget {
				t.Errorf("%d alarms in %d minutes, the run length allows %.0f", alarms, minutes, budget)
			}
		})
	}
}

// A promotion carries the release's error-count chart: the new version's
// errors in H2 are the same version's in H3, judged against the same
// baseline (the old cohort before H2), every bucket counted once; the
// threshold is set again for H3's share of the traffic.
func TestPromotionCarriesErrorCounts(t *testing.T) {
	start, h3 := t0.Add(6*time.Hour), t0.Add(7*time.Hour)
	onset := start.Add(30 * time.Minute)
	rng := rand.New(rand.NewPCG(5, 6))
	tl := &timeline{}
	ring := func(t time.Time) string {
		if t.Before(h3) {
			return "H2"
		}
		return "H3"
	}
	tl.genCounts(rng, t0, h3.Add(time.Hour), countLoad{reqs: 3000, share: 0.02, ratio: 0.01, newFrom: start, ring: ring, mult: step(onset, 1, 2)})
	tl.event(start, "H2", signals.EventStarted)
	tl.event(h3, "H3", signals.EventPromoted)
	d := New(defaultConfig(t), nil)
	var out Output
	tl.run(d, t0, h3, &out)
	h2w := d.watches[watchKey{"shop-4.2.0", "H2"}]
	before := h2w.counts[0]
	if before.c.level() <= 0.05 {
		t.Fatalf("the ×2 rise left no trace in H2's chart (level %.2f)", before.c.level())
	}
	tl.run(d, h3, h3.Add(time.Minute), &out)
	w := d.watches[watchKey{"shop-4.2.0", "H3"}]
	cw := w.counts[0]
	if cw.base == nil || *cw.base != *before.base {
		t.Fatalf("H3's baseline %+v, want H2's %+v", cw.base, before.base)
	}
	if cw.c.s != h2w.counts[0].c.s && cw.c.s[0] < before.c.s[0]*0.5 {
		t.Fatalf("H3's chart %v does not go on from H2's %v", cw.c.s, before.c.s)
	}
	if cw.c.h < before.c.h || cw.share < 0.99 {
		t.Fatalf("H3's threshold %.2f (share %.2f), want at least H2's %.2f for H3's exposure", cw.c.h, cw.share, before.c.h)
	}
	if !cw.next.Equal(h2w.counts[0].next) && !cw.next.After(h3.Add(-time.Minute)) {
		t.Fatalf("H3 folds from %s, H2 had reached %s", cw.next, h2w.counts[0].next)
	}
}

// A restart keeps the error-count chart: the watch restored from the
// snapshot and the replay ends with the chart of the uninterrupted run,
// and halts at the same minute. A snapshot written before the charts
// existed still loads (the chart then starts again from the replay).
func TestRestartKeepsErrorCounts(t *testing.T) {
	cfg := defaultConfig(t)
	start := t0.Add(6 * time.Hour)
	restart := start.Add(40 * time.Minute)
	onset := start.Add(30 * time.Minute)
	end := start.Add(2 * time.Hour)
	rng := rand.New(rand.NewPCG(41, 42))
	tl := &timeline{}
	tl.genCounts(rng, t0, end, countLoad{reqs: 4000, share: 0.02, ratio: 0.01, newFrom: start, ring: func(time.Time) string { return "H2" }, mult: step(onset, 1, 3)})
	tl.event(start, "H2", signals.EventStarted)
	key := watchKey{"shop-4.2.0", "H2"}

	var live Output
	liveD := New(cfg, nil)
	tl.run(liveD, t0, end, &live)
	want, ok := firstHaltIn(live.Verdicts)
	if !ok || !want.Time.After(restart) {
		t.Fatalf("the uninterrupted run must halt after the restart:%s", describe(live.Verdicts))
	}

	old := New(cfg, nil)
	tl.run(old, t0, restart, &Output{})
	snap, err := old.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	saved := old.watches[key].counts[0]
	d, first, _ := tl.restart(t, cfg, snap, restart.Add(-2*time.Hour), restart)
	if got := d.watches[key].counts[0]; got.c.s != saved.c.s || *got.base != *saved.base || got.total != saved.total || !got.next.Equal(saved.next) {
		t.Fatalf("restored chart %+v, saved %+v", got, saved)
	}
	got := first
	tl.run(d, restart, end, &got)
	if h, ok := firstHaltIn(got.Verdicts); !ok || !h.Time.Equal(want.Time) {
		t.Fatalf("after the restart:%s\nuninterrupted halt at %s", describe(got.Verdicts), want.Time)
	}

	// A snapshot without the count charts (the release before them).
	var ss serviceSnapshot
	if err := gob.NewDecoder(bytes.NewReader(snap)).Decode(&ss); err != nil {
		t.Fatal(err)
	}
	for i := range ss.Watches {
		ss.Watches[i].Counts = nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(ss); err != nil {
		t.Fatal(err)
	}
	d2, _, _ := tl.restart(t, cfg, buf.Bytes(), restart.Add(-8*time.Hour), restart)
	if w := d2.watches[key]; w == nil || len(w.counts) != 1 || w.counts[0].base == nil {
		t.Fatalf("a snapshot without count charts: watch %+v", w)
	}
}

// Count samples as real feeds send them. Prometheus returns no series at
// all for increase(errors[1m]) of a version that never had an error; a
// requests sample can be lost (a failed scrape) while its errors arrive;
// StatsD flushes every 10 s; a slow exporter sends a sample every 5
// minutes; increase() extrapolates to fractions. A clean canary must not
// fail on any of these, and a regression must still halt — at 100 % too,
// where the excess must persist: with a sample every 5 minutes the last
// 10 one-minute buckets held 2 with counts, and a ×4 regression failed
// for hours without ever halting (fixed: the last 10 buckets with counts).
func TestErrorCountsIngestShapes(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	onset := start.Add(20 * time.Minute)
	h2 := func(time.Time) string { return "H2" }
	h3 := func(time.Time) string { return "H3" }
	type shape func([]signals.MetricSample) []signals.MetricSample
	noZeroErrors := func(ms []signals.MetricSample) (out []signals.MetricSample) {
		for _, m := range ms {
			if m.Name != "errors" || m.Value != 0 {
				out = append(out, m)
			}
		}
		return out
	}
	lostRequests := func(ms []signals.MetricSample) (out []signals.MetricSample) {
		for _, m := range ms {
			if m.Name == "requests" && m.Version != "" && !m.Time.Before(onset) && m.Time.Before(onset.Add(5*time.Minute)) {
				continue
			}
			out = append(out, m)
		}
		return out
	}
	every5m := func(ms []signals.MetricSample) (out []signals.MetricSample) {
		at := map[string]int{}
		for _, m := range ms {
			block := m.Time.Truncate(5 * time.Minute)
			k := m.Name + "|" + m.Version + "|" + block.String()
			if i, ok := at[k]; ok {
				out[i].Value += m.Value
				continue
			}
			m.Time = block.Add(5*time.Minute - 10*time.Second)
			at[k] = len(out)
			out = append(out, m)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
		return out
	}
	statsd := func(ms []signals.MetricSample) (out []signals.MetricSample) {
		for _, m := range ms {
			for k := range 6 {
				c := m
				c.Value = m.Value / 6 * 1.03
				c.Time = m.Time.Truncate(time.Minute).Add(time.Duration(10*k+5) * time.Second)
				out = append(out, c)
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
		return out
	}
	for _, tc := range []struct {
		name    string
		ring    string
		load    countLoad
		shape   shape
		halt    bool
		within  time.Duration
		metrics bool // error_rate and latency_p99 of both cohorts, normal
	}{
		{name: "requests lost for 5 minutes, clean", ring: "H2", shape: lostRequests,
			load: countLoad{reqs: 5000, share: 0.05, ratio: 0.01, ring: h2}},
		{name: "no errors series while no error, clean", ring: "H2", shape: noZeroErrors,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.002, ring: h2}},
		{name: "no errors series while no error, x5", ring: "H2", shape: noZeroErrors, halt: true, within: time.Hour,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.002, ring: h2, mult: step(onset, 1, 5)}},
		{name: "StatsD every 10 s, fractional, clean", ring: "H2", shape: statsd,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.01, ring: h2}},
		{name: "StatsD every 10 s, fractional, x3", ring: "H2", shape: statsd, halt: true, within: 30 * time.Minute,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.01, ring: h2, mult: step(onset, 1, 3)}},
		{name: "every 5 minutes, clean", ring: "H2", shape: every5m,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.01, ring: h2}},
		{name: "every 5 minutes, x3", ring: "H2", shape: every5m, halt: true, within: 30 * time.Minute,
			load: countLoad{reqs: 5000, share: 0.02, ratio: 0.01, ring: h2, mult: step(onset, 1, 3)}},
		{name: "every 5 minutes, x4 with no other version running", ring: "H3", shape: every5m, halt: true, within: time.Hour, metrics: true,
			load: countLoad{reqs: 800, share: 1, ratio: 0.005, ring: h3, mult: step(onset, 1, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 7))
			tl := &timeline{}
			tc.load.newFrom = start
			end := onset.Add(3 * time.Hour)
			if tc.halt {
				end = onset.Add(tc.within)
			}
			tl.genCounts(rng, t0, end, tc.load)
			tl.metrics = tc.shape(tl.metrics)
			if tc.metrics {
				for _, m := range []string{"error_rate", "latency_p99"} {
					tl.genMetrics(rng, t0, end, start, m, 0.01, tc.load.ring, func(time.Time) float64 { return 1 })
				}
				sort.SliceStable(tl.metrics, func(i, j int) bool { return tl.metrics[i].Time.Before(tl.metrics[j].Time) })
			}
			tl.event(start, tc.ring, signals.EventStarted)
			d := New(defaultConfig(t), nil)
			h, out := tl.judge(t, d, end, tc.halt)
			if tc.halt {
				r, _ := signalOf(h, "errors")
				if r.Outcome != signals.OutcomeFail || !r.Critical {
					t.Fatalf("the halt is not the error counts' (%+v):%s", r, describe(out.Verdicts))
				}
				t.Logf("halted %s after the onset: %s", h.Time.Sub(onset), r.Detail)
				return
			}
			for _, v := range out.Verdicts {
				if r, _ := signalOf(v, "errors"); r.Outcome == signals.OutcomeFail {
					t.Fatalf("a clean canary's errors fail at %s: %s", v.Time.Format("15:04"), r.Detail)
				}
			}
			if r, _ := signalOf(out.Verdicts[len(out.Verdicts)-1], "errors"); r.Outcome != signals.OutcomePass {
				t.Fatalf("errors %+v, want a pass", r)
			}
		})
	}
}

// One absurd count (two samples of 1e308 requests in a bucket) made the
// chart's statistic NaN: it never alarmed again, and a ×5 regression
// passed. Counts above signals.MaxCount are no counts: dropped and
// counted, and the regression halts.
func TestAbsurdCountDoesNotBlindTheChart(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	onset := start.Add(20 * time.Minute)
	rng := rand.New(rand.NewPCG(31, 7))
	tl := &timeline{}
	end := onset.Add(time.Hour)
	tl.genCounts(rng, t0, end, countLoad{reqs: 5000, share: 0.02, ratio: 0.01, newFrom: start,
		ring: func(time.Time) string { return "H2" }, mult: step(onset.Add(5*time.Minute), 1, 5)})
	var ms []signals.MetricSample
	for _, m := range tl.metrics {
		ms = append(ms, m)
		if m.Version != "" && m.Name == "requests" && m.Time.Truncate(time.Minute).Equal(onset) {
			m.Value = 1e308
			ms = append(ms, m, m)
		}
	}
	tl.metrics = ms
	tl.event(start, "H2", signals.EventStarted)
	d := New(defaultConfig(t), nil)
	var out Output
	tl.run(d, t0, end, &out)
	h, halted := firstHaltIn(out.Verdicts)
	if r, _ := signalOf(h, "errors"); !halted || r.Outcome != signals.OutcomeFail || !r.Critical {
		t.Fatalf("halted %v (errors %+v), want a halt on the error counts:%s", halted, r, describe(out.Verdicts))
	}
	if got := d.Stats().BadCounts; got != 2 {
		t.Fatalf("BadCounts %d, want 2", got)
	}
}

// With no other version running and no other signal in evidence (a
// service that sends counts and has no chatter), the error counts alone
// make the score: a dependency's burst of 5 minutes, whose alarm says it
// "halts once 8 of the last 10 minutes with counts are over it", halted
// the release 2 minutes in through the score — at 100 % and in the soak.
// It now asks for a review; a regression that persists still halts, on
// the counts' own critical alarm.
func TestCountsOnlyBurstDoesNotHalt(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	onset := start.Add(20 * time.Minute)
	burst := func(t time.Time) float64 {
		if !t.Before(onset) && t.Before(onset.Add(5*time.Minute)) {
			return 15
		}
		return 1
	}
	for _, tc := range []struct {
		name       string
		soak, halt bool
		load       countLoad
	}{
		{name: "burst at 100 %", load: countLoad{common: burst}},
		{name: "burst in the soak", soak: true, load: countLoad{common: burst}},
		{name: "x4 at 100 %", halt: true, load: countLoad{mult: step(onset, 1, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, 7))
			tl := &timeline{}
			end := onset.Add(2 * time.Hour)
			l := tc.load
			l.reqs, l.share, l.ratio, l.newFrom, l.ring = 800, 1, 0.005, start, func(time.Time) string { return "H3" }
			tl.genCounts(rng, t0, end, l)
			tl.event(start, "H3", signals.EventStarted)
			if tc.soak {
				tl.event(start.Add(time.Minute), "H3", signals.EventCompleted)
			}
			d := New(defaultConfig(t), nil)
			h, out := tl.judge(t, d, end, tc.halt)
			if tc.halt {
				r, _ := signalOf(h, "errors")
				if !r.Critical || h.Time.Sub(onset) < 10*time.Minute || h.Time.Sub(onset) > 20*time.Minute {
					t.Fatalf("halted %s after the onset (errors critical %v), want 10–20 min on the counts' own alarm: %s", h.Time.Sub(onset), r.Critical, r.Detail)
				}
				return
			}
			review := false
			for _, v := range out.Verdicts {
				if v.Action == signals.ActionReviewRequired && strings.Contains(strings.Join(v.Reasons, "; "), "not halting on [errors] alone") {
					review = true
				}
			}
			if !review {
				t.Fatalf("the burst did not ask for a review:%s", describe(out.Verdicts))
			}
		})
	}
}

// A new version whose counts never arrive (its samples lack the version
// label, its exporter is down) while the old cohort's do: the error
// counts have no evidence and say why, and with errors in must_have_data
// the ring cannot pass.
func TestErrorCountsOfTheNewVersionMissing(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	end := start.Add(2 * time.Hour)
	rng := rand.New(rand.NewPCG(5, 6))
	tl := &timeline{}
	tl.genCounts(rng, t0, end, countLoad{reqs: 5000, share: 0.05, ratio: 0.01, newFrom: start, ring: func(time.Time) string { return "H2" }})
	var ms []signals.MetricSample
	for _, m := range tl.metrics {
		if m.Version == "" {
			ms = append(ms, m)
		}
	}
	tl.metrics = ms
	tl.genPosts(rng, t0, end, 5, 0.1, 0, "")
	tl.event(start, "H2", signals.EventStarted)
	cfg := Config{MustHaveData: []string{"errors"}}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	d := New(cfg, nil)
	var out Output
	tl.run(d, t0, end, &out)
	last := out.Verdicts[len(out.Verdicts)-1]
	r, ok := signalOf(last, "errors")
	if !ok || r.Outcome != signals.OutcomeInsufficient || !strings.Contains(r.Detail, `no requests counts of the new version since the ring started, while the old cohort's arrive`) {
		t.Fatalf("errors %+v, want no evidence that says the new version's counts are missing", r)
	}
	if last.Decision == signals.DecisionPass {
		t.Fatalf("passed without the new version's counts:%s", describe(out.Verdicts))
	}
}

// TestBurstBesideAnotherCohortDoesNotHalt: a dependency's burst (×20 for
// 5 minutes) hits both cohorts of a release at 95 % while the old version
// still serves the rest. Each cohort varies on its own too, and on twenty
// times the errors that shows: here the old cohort's few hundred requests
// fail half as often as the new version's in the burst's minutes (as in
// tune monday-surge-s159: 37 errors of the old cohort where 80 were
// expected). Weighed as quiet minutes, a thousand errors a minute make
// that a regression, and the release halted 3 minutes into the burst.
// With the bucket's own dispersion it does not; a ×3 regression that
// starts in the burst and lasts still halts after it, and one without a
// burst halts as before. The errors vary per cohort only (gamma, shape
// 50), the model the weight assumes.
func TestBurstBesideAnotherCohortDoesNotHalt(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	onset := start.Add(40 * time.Minute)
	inBurst := func(t time.Time) bool { return !t.Before(onset) && t.Before(onset.Add(5*time.Minute)) }
	burst := func(t time.Time) float64 {
		if inBurst(t) {
			return 20
		}
		return 1
	}
	wobble := func(t time.Time) float64 {
		if inBurst(t) {
			return 2
		}
		return 1
	}
	for _, tc := range []struct {
		name         string
		halt         bool
		mult, common func(time.Time) float64
		within       time.Duration
	}{
		{name: "burst with the cohorts apart", mult: wobble, common: burst},
		{name: "x3 from the burst on", halt: true, mult: step(onset, 1, 3), common: burst, within: 15 * time.Minute},
		{name: "x3 without a burst", halt: true, mult: step(onset, 1, 3), within: 20 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(5) {
				rng := rand.New(rand.NewPCG(41+seed, 3))
				tl := &timeline{}
				end := onset.Add(time.Hour)
				tl.genCounts(rng, t0, end, countLoad{reqs: 5000, share: 0.95, ratio: 0.01, newFrom: start,
					ring: func(time.Time) string { return "H3" }, mult: tc.mult, common: tc.common, shapes: [2]float64{1e6, 50}})
				tl.event(start, "H3", signals.EventStarted)
				d := New(defaultConfig(t), nil)
				h, _ := tl.judge(t, d, end, tc.halt)
				if r, _ := signalOf(h, "errors"); tc.halt && (!r.Critical || h.Time.Sub(onset) > tc.within) {
					t.Fatalf("seed %d: halted %s after the onset (errors critical %v), want within %s: %s", seed, h.Time.Sub(onset), r.Critical, tc.within, r.Detail)
				}
			}
		})
	}
}
