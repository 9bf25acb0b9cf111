package detector

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

type scenario struct {
	rng  *rand.Rand
	d    *Detector
	out  Output
	n    int
	ring string
}

func newScenario(t *testing.T, cfg Config) *scenario {
	t.Helper()
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	return &scenario{rng: rand.New(rand.NewPCG(1, 2)), d: New(cfg, nil)}
}

// chatter emits posts from..to at rate per minute, with the given negative
// share and complaint category, advancing the detector every minute.
func (s *scenario) chatter(from, to time.Time, rate, negShare, posSent float64, category string) {
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n := poisson(s.rng, rate)
		for i := 0; i < n; i++ {
			s.n++
			at := m.Add(time.Duration(s.rng.Float64() * float64(time.Minute)))
			e := signals.Enrichment{Lang: "en", Sentiment: posSent}
			if s.rng.Float64() < negShare {
				e.Sentiment = -0.6
				if category != "" {
					e.Categories = []string{category}
				}
			}
			s.d.Post(signals.Post{Time: at, Source: "test", ID: fmt.Sprint(s.n), Service: "shop", Text: fmt.Sprint("post ", s.n), Enrichment: &e})
		}
		s.advance(m.Add(time.Minute))
	}
}

func (s *scenario) advance(now time.Time) {
	o := s.d.Advance(now)
	s.out.Verdicts = append(s.out.Verdicts, o.Verdicts...)
	s.out.Anomalies = append(s.out.Anomalies, o.Anomalies...)
	s.out.Rollups = append(s.out.Rollups, o.Rollups...)
}

func (s *scenario) release(at time.Time, ring, event string) {
	s.d.Release(signals.ReleaseEvent{Time: at, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: ring, Event: event})
}

func (s *scenario) last() signals.Verdict {
	if len(s.out.Verdicts) == 0 {
		return signals.Verdict{}
	}
	return s.out.Verdicts[len(s.out.Verdicts)-1]
}

func (s *scenario) firstHalt() (signals.Verdict, bool) {
	for _, v := range s.out.Verdicts {
		if v.Action == signals.ActionHalt {
			return v, true
		}
	}
	return signals.Verdict{}, false
}

func poisson(r *rand.Rand, lambda float64) int {
	// Knuth; fine for the small rates of tests.
	l, k, p := mathExp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func TestSocialScenarios(t *testing.T) {
	tests := []struct {
		name      string
		baseRate  float64
		baseNeg   float64
		incident  func(s *scenario, start time.Time)
		wantHalt  bool
		wantFinal string
	}{
		{
			name: "complaint spike after H3 halts", baseRate: 5, baseNeg: 0.1,
			incident: func(s *scenario, start time.Time) {
				s.chatter(start, start.Add(5*time.Minute), 5, 0.1, 0.4, "")
				s.chatter(start.Add(5*time.Minute), start.Add(40*time.Minute), 12, 0.7, 0.4, "login")
			},
			wantHalt: true,
		},
		{
			name: "happy launch buzz does not halt", baseRate: 5, baseNeg: 0.1,
			incident: func(s *scenario, start time.Time) {
				s.chatter(start, start.Add(2*time.Hour+time.Minute), 30, 0.08, 0.7, "")
			},
			wantFinal: signals.DecisionPass,
		},
		{
			name: "complaints rise while volume stays flat", baseRate: 8, baseNeg: 0.1,
			incident: func(s *scenario, start time.Time) {
				s.chatter(start, start.Add(40*time.Minute), 8, 0.6, 0.2, "payment")
			},
			wantHalt: true,
		},
		{
			name: "quiet clean release passes at window end", baseRate: 5, baseNeg: 0.15,
			incident: func(s *scenario, start time.Time) {
				s.chatter(start, start.Add(2*time.Hour+time.Minute), 5, 0.15, 0.3, "")
			},
			wantFinal: signals.DecisionPass,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, Config{})
			start := t0.Add(6 * time.Hour)
			s.chatter(t0, start, tc.baseRate, tc.baseNeg, 0.4, "")
			s.release(start, "H3", signals.EventStarted)
			tc.incident(s, start)
			v, halted := s.firstHalt()
			if halted != tc.wantHalt {
				t.Fatalf("halted = %v, want %v; verdicts: %+v", halted, tc.wantHalt, s.out.Verdicts)
			}
			if halted {
				if v.Decision != signals.DecisionFail || v.Score >= 50 {
					t.Errorf("halt verdict decision %s score %.1f, want fail under 50", v.Decision, v.Score)
				}
				if len(v.Examples) == 0 || len(v.Reasons) == 0 {
					t.Errorf("halt verdict explains nothing: %+v", v)
				}
				if len(s.out.Anomalies) == 0 {
					t.Error("no anomaly published with the halt")
				}
			}
			if tc.wantFinal != "" && s.last().Decision != tc.wantFinal {
				t.Errorf("final decision %s, want %s (%v)", s.last().Decision, tc.wantFinal, s.last().Reasons)
			}
		})
	}
}

func TestNoBaselineWaits(t *testing.T) {
	s := newScenario(t, Config{})
	s.release(t0, "H3", signals.EventStarted)
	s.chatter(t0, t0.Add(20*time.Minute), 10, 0.8, -0.5, "crash")
	v := s.last()
	if v.Decision != signals.DecisionWait || v.Action != signals.ActionNone {
		t.Fatalf("verdict %s/%s, want wait/none without a baseline: %v", v.Decision, v.Action, v.Reasons)
	}
}

func TestOneNoisyEvaluationDoesNotHalt(t *testing.T) {
	// No critical signals: the score alone decides, so consecutive applies.
	s := newScenario(t, Config{Consecutive: 3, Critical: []string{}})
	start := t0.Add(6 * time.Hour)
	s.chatter(t0, start, 5, 0.1, 0.4, "")
	s.release(start, "H3", signals.EventStarted)
	s.chatter(start, start.Add(30*time.Minute), 10, 0.8, 0.1, "crash")
	var pending bool
	for _, v := range s.out.Verdicts {
		if v.Decision == signals.DecisionFail && v.Action == signals.ActionNone {
			pending = true
		}
		if v.Action == signals.ActionHalt && !pending {
			t.Fatal("halted before a failure held for consecutive evaluations")
		}
	}
	if _, ok := s.firstHalt(); !ok {
		t.Fatal("sustained failure never halted")
	}
}

func TestErrorRateRegressionIsCriticalInH1(t *testing.T) {
	s := newScenario(t, Config{})
	s.release(t0, "H1", signals.EventStarted)
	for i := 0; i < 10; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "error_rate", Value: 0.01 + 0.001*float64(i%3)})
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Version: "4.2.0", Ring: "H1", Name: "error_rate", Value: 0.05 + 0.002*float64(i%3)})
		s.advance(at.Add(time.Minute))
	}
	v, ok := s.firstHalt()
	if !ok {
		t.Fatalf("no halt; verdicts %+v", s.out.Verdicts)
	}
	if v.Score != 0 || v.Ring != "H1" {
		t.Errorf("critical failure verdict score %.1f ring %s, want 0 and H1", v.Score, v.Ring)
	}
}

func TestHealthyMetricsPassH1(t *testing.T) {
	s := newScenario(t, Config{})
	s.release(t0, "H1", signals.EventStarted)
	for i := 0; i < 70; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "error_rate", Value: 0.01 + 0.001*s.rng.NormFloat64()})
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Version: "4.2.0", Name: "error_rate", Value: 0.01 + 0.001*s.rng.NormFloat64()})
		s.advance(at)
	}
	s.advance(t0.Add(31 * time.Minute))
	if _, ok := s.firstHalt(); ok {
		t.Fatal("halted a healthy H1")
	}
	if s.last().Decision != signals.DecisionPass {
		t.Fatalf("final %s, want pass: %v", s.last().Decision, s.last().Reasons)
	}
}

func TestScore(t *testing.T) {
	r := func(name, group, outcome string, critical, dry bool) signals.SignalResult {
		return signals.SignalResult{Name: name, Group: group, Outcome: outcome, Critical: critical, DryRun: dry, Detail: name}
	}
	w := map[string]float64{GroupSocial: 1, GroupInternal: 1}
	tests := []struct {
		name     string
		in       []signals.SignalResult
		noData   string
		score    float64
		decision string
	}{
		{"all pass", []signals.SignalResult{r("a", GroupSocial, "pass", false, false), r("b", GroupInternal, "pass", false, false)}, "wait", 100, "pass"},
		{"half fail", []signals.SignalResult{r("a", GroupSocial, "fail", false, false), r("b", GroupInternal, "pass", false, false)}, "wait", 50, "marginal"},
		{"critical fails outright", []signals.SignalResult{r("a", GroupSocial, "pass", false, false), r("b", GroupInternal, "fail", true, false)}, "wait", 0, "fail"},
		{"dry run not counted", []signals.SignalResult{r("a", GroupSocial, "fail", false, true), r("b", GroupInternal, "pass", false, false)}, "wait", 100, "pass"},
		{"no data waits", []signals.SignalResult{r("a", GroupSocial, "insufficient_evidence", false, false)}, "wait", 0, "wait"},
		{"no data policy fail", nil, "fail", 0, "fail"},
		{"no data policy pass", nil, "pass", 100, "pass"},
		{"half without evidence cannot pass", []signals.SignalResult{r("a", GroupSocial, "insufficient_evidence", false, false), r("b", GroupInternal, "pass", false, false)}, "wait", 100, "wait"},
		{"most without evidence cannot pass", []signals.SignalResult{r("a", GroupSocial, "insufficient_evidence", false, false), r("c", GroupSocial, "insufficient_evidence", false, false), r("b", GroupInternal, "pass", false, false)}, "pass", 100, "wait"},
		{"a third without evidence may pass", []signals.SignalResult{r("a", GroupSocial, "insufficient_evidence", false, false), r("c", GroupSocial, "pass", false, false), r("b", GroupInternal, "pass", false, false)}, "wait", 100, "pass"},
		{"failing without evidence elsewhere still fails", []signals.SignalResult{r("a", GroupSocial, "insufficient_evidence", false, false), r("b", GroupInternal, "fail", false, false)}, "wait", 0, "fail"},
		{"group weight shared", []signals.SignalResult{r("a", GroupSocial, "fail", false, false), r("c", GroupSocial, "pass", false, false), r("b", GroupInternal, "pass", false, false)}, "wait", 75, "marginal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			score, decision, _ := Score(tc.in, w, 90, 50, tc.noData)
			if score != tc.score || decision != tc.decision {
				t.Fatalf("got %.1f %s, want %.1f %s", score, decision, tc.score, tc.decision)
			}
		})
	}
}

func TestMannWhitney(t *testing.T) {
	p, e := mannWhitneyGreater([]float64{5, 6, 7, 8, 9, 10}, []float64{1, 2, 3, 4, 5, 2})
	if p > 0.01 || e < 0.9 {
		t.Fatalf("clearly greater: p=%g effect=%g", p, e)
	}
	p, _ = mannWhitneyGreater([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 4})
	if p < 0.3 {
		t.Fatalf("equal samples: p=%g", p)
	}
	p, _ = mannWhitneyGreater([]float64{2, 2, 2}, []float64{2, 2, 2})
	if p != 1 {
		t.Fatalf("all ties: p=%g", p)
	}
}

func TestPoissonUpper(t *testing.T) {
	// P(X>=1 | 1) = 1 - e^-1
	if got := poissonUpper(1, 1); abs(got-(1-mathExp(-1))) > 1e-9 {
		t.Fatalf("got %g", got)
	}
	if poissonUpper(0, 3) != 1 || poissonUpper(3, 0) != 0 {
		t.Fatal("edges")
	}
}

func TestConfigErrorsNameFields(t *testing.T) {
	c := Config{Rings: []RingConfig{{Name: "H1", Exposure: 2}, {Name: "H1", NoData: "maybe"}}, PassScore: 40, MarginalScore: 60}
	err := c.Validate("detector")
	for _, want := range []string{"detector.rings[0].exposure", "detector.rings[1].name: duplicate", "detector.rings[1].no_data", "detector.pass_score"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestRollupsPerMinuteAndSource(t *testing.T) {
	s := newScenario(t, Config{})
	neg := signals.Enrichment{Lang: "en", Sentiment: -0.6, Categories: []string{"login"}}
	pos := signals.Enrichment{Lang: "en", Sentiment: 0.5}
	add := func(at time.Time, source string, e signals.Enrichment) {
		s.n++
		s.d.Post(signals.Post{Time: at, Source: source, ID: fmt.Sprint(s.n), Service: "shop", Enrichment: &e})
	}
	add(t0.Add(10*time.Second), "x", neg)
	add(t0.Add(20*time.Second), "x", pos)
	add(t0.Add(30*time.Second), "mastodon", pos)
	add(t0.Add(70*time.Second), "x", pos)
	s.advance(t0.Add(2 * time.Minute)) // too early: minutes stay open for late posts
	if len(s.out.Rollups) != 0 {
		t.Fatalf("rollups emitted before the lateness delay: %+v", s.out.Rollups)
	}
	add(t0.Add(40*time.Second), "x", neg) // late, but in time
	s.advance(t0.Add(4 * time.Minute))
	got := fmt.Sprint(s.out.Rollups)
	if len(s.out.Rollups) != 3 {
		t.Fatalf("rollups %s, want 3 (two sources in minute 0, one in minute 1)", got)
	}
	first, second := s.out.Rollups[0], s.out.Rollups[1]
	if first.Source != "mastodon" || first.Posts != 1 || second.Source != "x" || second.Posts != 3 || second.Negative != 2 || second.Categories["login"] != 2 {
		t.Fatalf("rollups %s", got)
	}
	s.advance(t0.Add(5 * time.Minute))
	if len(s.out.Rollups) != 3 {
		t.Fatalf("a clean minute was emitted again: %s", fmt.Sprint(s.out.Rollups))
	}
}
