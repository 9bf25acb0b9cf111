package detector

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// The watch lifecycle, no-evidence rules and sequential tests of issue 11.

// stream emits background posts from the given sources from..to at rate
// per minute with negShare negative (category cat when set), and extra
// complaints per minute (category cat, naming the version when
// aboutRelease), advancing the detector every minute.
type stream struct {
	rate, negShare float64
	extra          float64
	cat            string
	aboutRelease   bool
	appVersion     string // extra complaints are store reviews of this app version
	sources        []string
}

func (s *scenario) emit(from, to time.Time, st stream) {
	if len(st.sources) == 0 {
		st.sources = []string{"test"}
	}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n := poisson(s.rng, st.rate)
		k := poisson(s.rng, st.extra)
		for i := 0; i < n+k; i++ {
			s.n++
			at := m.Add(time.Duration(s.rng.Float64() * float64(time.Minute)))
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4}
			if i >= n || s.rng.Float64() < st.negShare {
				e.Sentiment = -0.6
				if st.cat != "" {
					e.Categories = []string{st.cat}
				}
			}
			if i >= n && st.aboutRelease {
				e.Versions, e.MentionsUpdate = []string{"4.2.0"}, true
			}
			src := st.sources[s.n%len(st.sources)]
			p := signals.Post{Time: at, Source: src, ID: fmt.Sprint(s.n), Service: "shop", Text: fmt.Sprint("post ", s.n), Enrichment: &e}
			if i >= n {
				p.AppVersion = st.appVersion
			}
			s.d.Post(p)
		}
		s.advance(m.Add(time.Minute))
	}
}

func (s *scenario) quiet(from, to time.Time) {
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		s.advance(m.Add(time.Minute))
	}
}

func (s *scenario) verdictsOf(ring string) []signals.Verdict {
	var out []signals.Verdict
	for _, v := range s.out.Verdicts {
		if v.Ring == ring {
			out = append(out, v)
		}
	}
	return out
}

var calm = stream{rate: 5, negShare: 0.1}

// The bug of issue 11: a release on H2 followed by two old-cohort
// error_rate samples and nothing else passed with score 100.
func TestEmptyRingNeverPasses(t *testing.T) {
	s := newScenario(t, Config{})
	s.release(t0, "H2", signals.EventStarted)
	for i, at := range []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute)} {
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Version: "4.1.0", Ring: "H2", Name: "error_rate", Value: 0.01 + 0.001*float64(i)})
	}
	s.quiet(t0, t0.Add(3*time.Hour))
	if len(s.out.Verdicts) == 0 {
		t.Fatal("no verdict at all")
	}
	for _, v := range s.out.Verdicts {
		if v.Decision == signals.DecisionPass || v.Action != signals.ActionNone {
			t.Fatalf("a ring with no evidence got %s/%s: %v", v.Decision, v.Action, v.Reasons)
		}
	}
	if d := s.last().Decision; d != signals.DecisionWait {
		t.Fatalf("last decision %s, want wait", d)
	}
}

// Posts stop after a while: the ring waits, says since when, and names
// the silent sources.
func TestSilentSourcesWait(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	st := calm
	st.sources = []string{"mastodon", "reddit"}
	s.emit(t0, start, st)
	s.release(start, "H2", signals.EventStarted)
	s.emit(start, start.Add(90*time.Minute), st)
	if d := s.last().Decision; d != signals.DecisionPass {
		t.Fatalf("before the silence: %s, want pass: %v", d, s.last().Reasons)
	}
	s.quiet(start.Add(90*time.Minute), start.Add(3*time.Hour))
	v := s.last()
	why := strings.Join(v.Reasons, " | ")
	if v.Decision != signals.DecisionWait || !strings.Contains(why, "sources silent since") ||
		!strings.Contains(why, "mastodon") || !strings.Contains(why, "reddit") {
		t.Fatalf("after the silence: %s %v, want wait naming mastodon and reddit", v.Decision, v.Reasons)
	}
	// Not before the silence was far longer than the usual gap.
	for _, v := range s.verdictsOf("H2") {
		if v.Decision == signals.DecisionWait && strings.Contains(strings.Join(v.Reasons, " "), "silent") && v.Time.Before(start.Add(90*time.Minute+30*time.Minute)) {
			t.Errorf("silent after %s already", v.Time.Sub(start.Add(90*time.Minute)))
		}
	}
}

// The configured window is the minimum watch: a ring cannot pass before
// it, and is still watched after it.
func TestWatchContinuesPastWindow(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H2", signals.EventStarted)
	s.emit(start, start.Add(3*time.Hour), calm)
	vs := s.verdictsOf("H2")
	if len(vs) == 0 {
		t.Fatal("no H2 verdicts")
	}
	for _, v := range vs {
		if v.Decision == signals.DecisionPass && v.Time.Before(start.Add(time.Hour)) {
			t.Fatalf("passed at %s, before the minimum watch of 1h", v.Time.Sub(start))
		}
	}
	last := vs[len(vs)-1]
	if last.Decision != signals.DecisionPass || !strings.Contains(strings.Join(last.Reasons, " "), "watching while the ring is live") {
		t.Fatalf("at the end of the minimum watch: %s %v", last.Decision, last.Reasons)
	}
	if w := s.d.watches[watchKey{"shop-4.2.0", "H2"}]; w == nil || w.closed {
		t.Fatal("the H2 watch closed while H2 is live")
	}
}

// An incident that starts 75 minutes into a long H2 (past its 1h window)
// is judged and halted on H2.
func TestLateH2IncidentHalts(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H2", signals.EventStarted)
	s.emit(start, start.Add(75*time.Minute), calm)
	onset := start.Add(75 * time.Minute)
	bad := calm
	bad.extra, bad.cat, bad.aboutRelease = 0.3, "login", true // ~18 an hour naming the version
	s.emit(onset, onset.Add(time.Hour), bad)
	v, ok := s.firstHalt()
	if !ok || v.Ring != "H2" {
		t.Fatalf("late H2 incident not halted on H2: %+v", s.last())
	}
	if d := v.Time.Sub(onset); d > 30*time.Minute {
		t.Errorf("halted %s after onset, want within 30m", d)
	}
	t.Logf("late H2 incident halted %s after onset: %v", v.Time.Sub(onset), v.Reasons)
}

// Promoting H2 to H3 closes H2 with a final verdict at the promotion.
func TestPromotionClosesWithFinalVerdict(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H2", signals.EventStarted)
	s.emit(start, start.Add(90*time.Minute), calm)
	promo := start.Add(90 * time.Minute)
	s.release(promo, "H3", signals.EventPromoted)
	s.emit(promo, promo.Add(30*time.Minute), calm)
	vs := s.verdictsOf("H2")
	last := vs[len(vs)-1]
	if !last.Time.Equal(promo) || !strings.Contains(strings.Join(last.Reasons, " "), "moved on to H3") || last.Decision != signals.DecisionPass {
		t.Fatalf("last H2 verdict %s %s %v, want a final pass at the promotion", last.Time, last.Decision, last.Reasons)
	}
	if len(s.verdictsOf("H3")) == 0 {
		t.Fatal("no H3 verdict")
	}
}

// After completion the last ring soaks: an incident hours later halts it;
// the soak ends with a final verdict.
func TestSoakHalts(t *testing.T) {
	s := newScenario(t, Config{Soak: 12 * time.Hour})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H3", signals.EventStarted)
	s.emit(start, start.Add(3*time.Hour), calm)
	s.release(start.Add(3*time.Hour), "H3", signals.EventCompleted)
	s.emit(start.Add(3*time.Hour), start.Add(8*time.Hour), calm)
	if _, ok := s.firstHalt(); ok {
		t.Fatalf("halted a calm release: %+v", s.last())
	}
	onset := start.Add(8 * time.Hour)
	bad := calm
	bad.extra, bad.cat = 3, "crash"
	s.emit(onset, onset.Add(30*time.Minute), bad)
	v, ok := s.firstHalt()
	if !ok || v.Ring != "H3" {
		t.Fatalf("no halt in the soak: %+v", s.last())
	}
	if d := v.Time.Sub(onset); d > 10*time.Minute {
		t.Errorf("soak halt %s after onset", d)
	}

	// A clean soak ends with a final verdict.
	s2 := newScenario(t, Config{Soak: 2 * time.Hour})
	s2.emit(t0, start, calm)
	s2.release(start, "H3", signals.EventStarted)
	s2.emit(start, start.Add(3*time.Hour), calm)
	s2.release(start.Add(3*time.Hour), "H3", signals.EventCompleted)
	s2.emit(start.Add(3*time.Hour), start.Add(6*time.Hour), calm)
	last := s2.last()
	if !last.Time.Equal(start.Add(5*time.Hour)) || !strings.Contains(strings.Join(last.Reasons, " "), "soak watch") {
		t.Fatalf("soak end: %s %v", last.Time, last.Reasons)
	}
	if w := s2.d.watches[watchKey{"shop-4.2.0", "H3"}]; w != nil && !w.closed {
		t.Fatal("watch still open after the soak")
	}
}

// A ×5 rise of one critical category halts within minutes.
func TestFiveFoldRiseHaltsWithinMinutes(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	base := stream{rate: 10, negShare: 0.1, cat: "crash"} // 1 crash complaint a minute
	s.emit(t0, start, base)
	s.release(start, "H3", signals.EventStarted)
	s.emit(start, start.Add(20*time.Minute), base)
	onset := start.Add(20 * time.Minute)
	bad := base
	bad.extra = 4 // ×5 complaints
	s.emit(onset, onset.Add(30*time.Minute), bad)
	v, ok := s.firstHalt()
	if !ok {
		t.Fatalf("×5 not halted: %v", s.last().Reasons)
	}
	if d := v.Time.Sub(onset); d < 0 || d > 10*time.Minute {
		t.Fatalf("×5 halted %s after onset, want within 10m", d)
	}
	t.Logf("×5 halted %s after onset: %v", v.Time.Sub(onset), v.Reasons)
}

// A ×2 rise that lasts hours still halts.
func TestTwoFoldSustainedHalts(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	base := stream{rate: 10, negShare: 0.1, cat: "login"}
	s.emit(t0, start, base)
	s.release(start, "H3", signals.EventStarted)
	s.emit(start, start.Add(30*time.Minute), base)
	onset := start.Add(30 * time.Minute)
	bad := base
	bad.extra = 1 // ×2 complaints
	s.emit(onset, onset.Add(4*time.Hour), bad)
	v, ok := s.firstHalt()
	if !ok {
		t.Fatalf("×2 for 4 hours not halted: %v", s.last().Reasons)
	}
	if d := v.Time.Sub(onset); d < 0 || d > 90*time.Minute {
		t.Fatalf("×2 halted %s after onset, want within 90m", d)
	}
	t.Logf("×2 halted %s after onset: %v", v.Time.Sub(onset), v.Reasons)
}

// One critical signal halts on its own, even where its group weighs
// little: complaints naming the new version on a wide ring.
func TestCriticalSignalHaltsAlone(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H3", signals.EventStarted)
	bad := calm
	bad.extra, bad.aboutRelease = 0.5, true // no category: only release_complaints can see it
	s.emit(start, start.Add(time.Hour), bad)
	v, ok := s.firstHalt()
	if !ok {
		t.Fatalf("critical release complaints did not halt: %v", s.last().Reasons)
	}
	if !hasFailed(v, "release_complaints") || v.Decision != signals.DecisionFail {
		t.Fatalf("halt %v should name release_complaints", v.Reasons)
	}
	for _, r := range v.Signals {
		if r.Name == "complaint_categories" && r.Outcome == signals.OutcomeFail {
			t.Errorf("categories failed too: %s", r.Detail)
		}
	}

	// The same with release_complaints not critical: the score alone
	// (release weighs 1 of 4 on a wide ring) does not halt yet.
	s2 := newScenario(t, Config{Critical: []string{"error_rate"}})
	s2.emit(t0, start, calm)
	s2.release(start, "H3", signals.EventStarted)
	s2.rng = rand.New(rand.NewPCG(1, 2))
	s2.emit(start, start.Add(20*time.Minute), bad)
	for _, v := range s2.out.Verdicts {
		if v.Action == signals.ActionHalt && hasFailed(v, "release_complaints") && !hasFailed(v, "complaint_volume") {
			t.Fatalf("non-critical release_complaints halted alone: %v", v.Reasons)
		}
	}
}

// The thresholds come from the budget, and a chart run on in-control
// Poisson counts alarms no more often than the budget says.
func TestCUSUMThresholdFromBudget(t *testing.T) {
	prev := 0.0
	for _, n := range []float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e8} {
		h := cusumThreshold(n, 0.5)
		if h < prev {
			t.Fatalf("threshold not increasing: h(%g) = %.2f < %.2f", n, h, prev)
		}
		prev = h
	}
	// Siegmund: log ARL grows about linearly in h, so ×10 in budget adds
	// a roughly constant step.
	if d := cusumThreshold(1e6, 1) - cusumThreshold(1e5, 1); d < 1 || d > 4 {
		t.Errorf("h(1e6) - h(1e5) = %.2f", d)
	}
	// In-control run: ARL of 2,000 expected events, 2 expected per bucket,
	// 400,000 expected events: about 200 alarms at most.
	r := rand.New(rand.NewPCG(7, 7))
	const arl, e, buckets = 2000.0, 2.0, 200000
	c := chart{h: cusumThreshold(arl, e), minX: 1}
	alarms := 0
	for i := 0; i < buckets; i++ {
		c.add(t0, float64(poisson(r, e)), e)
		if c.alarm() >= 0 {
			alarms++
			c.reset()
		}
	}
	want := e * buckets / arl
	if float64(alarms) > 1.3*want || float64(alarms) < 0.1*want {
		t.Fatalf("%d alarms in %d expected events, want about %.0f or fewer (ARL %g)", alarms, int(e*buckets), want, arl)
	}
	t.Logf("%d alarms, budget %.0f", alarms, want)
}

// Two days of calm chatter with a daily rhythm through a long watch and
// its soak: no halt (the cheap in-CI version of the 30-day clean replay).
func TestCleanDaysDoNotHalt(t *testing.T) {
	s := newScenario(t, Config{})
	day := func(m time.Time) float64 { // 2 to 8 posts a minute over the day
		return 5 + 3*mathSin(2*3.14159*float64(m.Hour()*60+m.Minute())/1440)
	}
	start := t0.Add(6 * time.Hour)
	for m := t0; m.Before(start.Add(48 * time.Hour)); m = m.Add(time.Hour) {
		if m.Equal(start) {
			s.release(start, "H2", signals.EventStarted)
		}
		if m.Equal(start.Add(4 * time.Hour)) {
			s.release(m, "H3", signals.EventPromoted)
		}
		if m.Equal(start.Add(8 * time.Hour)) {
			s.release(m, "H3", signals.EventCompleted)
		}
		s.emit(m, m.Add(time.Hour), stream{rate: day(m), negShare: 0.12, cat: "bug"})
	}
	if v, ok := s.firstHalt(); ok {
		t.Fatalf("false halt: %v", v.Reasons)
	}
	if n := len(s.verdictsOf("H3")); n == 0 {
		t.Fatal("no H3 verdicts")
	}
}

// The new version's error rate doubles two hours into a long H2: judged
// on the recent minutes, it halts within them.
func TestLateErrorRateRegressionHalts(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H2", signals.EventStarted)
	onset := start.Add(2 * time.Hour)
	for m := start; m.Before(start.Add(150 * time.Minute)); m = m.Add(30 * time.Second) {
		v := 0.01 + 0.001*s.rng.NormFloat64()
		if !m.Before(onset) {
			v = 0.03 + 0.001*s.rng.NormFloat64()
		}
		s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: "4.1.0", Name: "error_rate", Value: 0.01 + 0.001*s.rng.NormFloat64()})
		s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: "4.2.0", Name: "error_rate", Value: v})
		if m.Second() == 30 {
			s.emit(m.Add(-30*time.Second), m.Add(30*time.Second), calm)
		}
	}
	v, ok := s.firstHalt()
	if !ok || !hasFailed(v, "error_rate") {
		t.Fatalf("late error-rate regression not halted: %v", s.last().Reasons)
	}
	if d := v.Time.Sub(onset); d < 0 || d > 15*time.Minute {
		t.Fatalf("halted %s after onset", d)
	}
	t.Logf("halted %s after onset: %v", v.Time.Sub(onset), v.Reasons)
}

// One text posted by dozens of accounts is one voice: it does not halt;
// as many different complaints do.
func TestCopyPasteWaveIsOneComplaint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		same     bool
		wantHalt bool
	}{{"one text from 40 accounts", true, false}, {"40 different complaints", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, Config{})
			start := t0.Add(6 * time.Hour)
			s.emit(t0, start, calm)
			s.release(start, "H3", signals.EventStarted)
			s.emit(start, start.Add(30*time.Minute), calm)
			wave := start.Add(30 * time.Minute)
			for i := 0; i < 40; i++ {
				text := "this app crashed again and lost my cart!!"
				if !tc.same {
					text = fmt.Sprintf("crash number %d, lost my cart", i)
				}
				e := signals.Enrichment{Lang: "en", Sentiment: -0.7, Categories: []string{"crash"}}
				s.n++
				s.d.Post(signals.Post{Time: wave.Add(time.Duration(i) * 5 * time.Second), Source: "x", ID: fmt.Sprint(s.n), Author: fmt.Sprint("bot", i), Service: "shop", Text: text, Enrichment: &e})
			}
			s.emit(wave, wave.Add(30*time.Minute), calm)
			if _, ok := s.firstHalt(); ok != tc.wantHalt {
				t.Fatalf("halted = %v, want %v: %v", ok, tc.wantHalt, s.last().Reasons)
			}
		})
	}
}

// Store reviews written on the new app version are the release's own
// voice even when their text names no version; reviews of the old version
// are not.
func TestStoreReviewsOfTheNewVersionNameTheRelease(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	for _, tc := range []struct {
		version string
		want    bool
	}{{"4.2", true}, {"v4.2.0", true}, {"4.1.3", false}} {
		t.Run(tc.version, func(t *testing.T) {
			s := newScenario(t, Config{})
			s.emit(t0, start, calm)
			s.release(start, "H3", signals.EventStarted)
			bad := calm
			bad.extra, bad.appVersion = 0.5, tc.version // no category, no version in the text
			s.emit(start, start.Add(time.Hour), bad)
			failed := false
			for _, v := range s.out.Verdicts {
				failed = failed || hasFailed(v, "release_complaints")
			}
			if failed != tc.want {
				t.Fatalf("reviews of %s: release_complaints failed %v, want %v (last: %v)", tc.version, failed, tc.want, s.last().Reasons)
			}
		})
	}
}

func TestNormalVersion(t *testing.T) {
	for in, want := range map[string]string{"4.2.0": "4.2", "v4.2": "4.2", " 4.2.0.0 ": "4.2", "4.20": "4.20", "10.0": "10", "4.10.0": "4.10"} {
		if got := normalVersion(in); got != want {
			t.Errorf("normalVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

// An incident that began in H2 and had not yet reached the bar when the
// release moved on to H3 is not forgotten at the promotion: H3 judges the
// same posts against the same baseline (the hours before H2 started, not
// hours that include the incident), and its charts go on from where H2's
// stopped, so H3 halts about when H2 would have, not a whole detection
// delay after the promotion.
func TestPromotionCarriesEvidence(t *testing.T) {
	s := newScenario(t, Config{Baseline: sixHours})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H2", signals.EventStarted)
	s.emit(start, start.Add(45*time.Minute), calm)
	onset := start.Add(45 * time.Minute)
	bad := calm
	bad.extra = 1 // complaints ×3
	s.emit(onset, onset.Add(15*time.Minute), bad)
	promo := onset.Add(15 * time.Minute)
	h2 := s.d.watches[watchKey{"shop-4.2.0", "H2"}]
	level := h2.charts[chShare].level()
	if _, halted := s.firstHalt(); halted || level < 0.2 {
		t.Fatalf("the test wants H2 short of its bar at the promotion (level %.2f, halted %v)", level, halted)
	}
	s.release(promo, "H3", signals.EventPromoted)
	h3 := s.d.watches[watchKey{"shop-4.2.0", "H3"}]
	if h3.base == nil || !h3.base.from.Equal(h2.base.from) || h3.charts[chShare].level() != level {
		t.Fatalf("H3 did not take over H2's baseline and charts: base %+v, share level %.2f (H2 %.2f)", h3.base, h3.charts[chShare].level(), level)
	}
	s.emit(promo, promo.Add(time.Hour), bad)
	v, ok := s.firstHalt()
	if !ok || v.Ring != "H3" {
		t.Fatalf("incident carried into H3 not halted there: %+v", s.last())
	}
	// Here H3 halts 18 minutes after the promotion; a fresh H3 (its own
	// baseline, charts from zero) halted 33 minutes after it.
	if d := v.Time.Sub(promo); d > 25*time.Minute {
		t.Errorf("halted %s after the promotion (H2's share chart was at %.2f of its bar), want within 25m", d, level)
	}
	t.Logf("H2 at %.2f of its bar at the promotion; H3 halted %s after it, %s after onset: %v", level, v.Time.Sub(promo), v.Time.Sub(onset), v.Reasons)
}

// A post that comes after the charts took its minute (a crawler that polls
// every few minutes) is counted with the next minute they take, not lost;
// the charts take a minute as soon as it ends (lateness 0 by default).
func TestLatePostsCountWhenTheyArrive(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.release(start, "H3", signals.EventStarted)
	s.emit(start, start.Add(10*time.Minute), calm)
	w := s.d.watches[watchKey{"shop-4.2.0", "H3"}]
	now := start.Add(10 * time.Minute)
	if !w.next.Equal(now) {
		t.Fatalf("charts have taken the minutes up to %s at %s, want every minute that ended", w.next, now)
	}
	before, negBefore := w.total.posts, w.charts[chShare].total
	// Three complaints written two to five minutes ago arrive now.
	for i, ago := range []time.Duration{2, 3, 5} {
		e := signals.Enrichment{Lang: "en", Sentiment: -0.7}
		s.d.Post(signals.Post{Time: now.Add(-ago * time.Minute), Source: "feed", ID: fmt.Sprint("late", i), Service: "shop", Text: fmt.Sprint("late complaint ", i), Enrichment: &e})
	}
	s.advance(now.Add(time.Minute))
	if got := w.total.posts - before; got < 3 {
		t.Errorf("posts counted in the next minute: %d more, want the 3 late ones (and that minute's own)", got)
	}
	if got := w.charts[chShare].total - negBefore; got < 3 {
		t.Errorf("complaints counted in the share chart: %.0f more, want at least the 3 late ones", got)
	}
	if w.late != (bucket{}) {
		t.Errorf("late counts left over after the fold: %+v", w.late)
	}
}

// A store review's stars decide whether it is a complaint when they are
// clear; otherwise the recogniser does.
func TestStarsDecideStoreReviews(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name      string
		rating    float64
		recognise *bool
		want      bool
	}{
		{"1 star, text reads happy", 1, &no, true},
		{"2 stars, no enrichment decision", 2, nil, true},
		{"3 stars: the text decides (complaint)", 3, &yes, true},
		{"3 stars: the text decides (none)", 3, &no, false},
		{"4 stars, text reads like a complaint", 4, &yes, false},
		{"5 stars", 5, &yes, false},
		{"no rating: the text decides", 0, &yes, true},
		{"no rating, not a complaint", 0, &no, false},
	} {
		e := &signals.Enrichment{Sentiment: 0.5, Complaint: tc.recognise}
		if got := complaint(signals.Post{Rating: tc.rating, Enrichment: e}); got != tc.want {
			t.Errorf("%s: complaint = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A new service whose H2 had only a short baseline gives H3 a baseline of
// its own (longer, with H2's hours) instead of carrying the short one.
func TestPromotionAfterShortBaselineTakesItsOwn(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(time.Hour) // one hour of history only
	s.emit(t0, start, calm)
	s.release(start, "H2", signals.EventStarted)
	s.emit(start, start.Add(90*time.Minute), calm)
	promo := start.Add(90 * time.Minute)
	s.release(promo, "H3", signals.EventPromoted)
	s.emit(promo, promo.Add(5*time.Minute), calm)
	h2 := s.d.watches[watchKey{"shop-4.2.0", "H2"}]
	h3 := s.d.watches[watchKey{"shop-4.2.0", "H3"}]
	if h2.base == nil || h3.base == nil || !h3.base.ok || h3.base.minutes <= h2.base.minutes {
		t.Fatalf("H3 baseline %+v, want its own, longer than H2's %+v", h3.base, h2.base)
	}
}
