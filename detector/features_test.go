package detector

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// post adds one post with the given enrichment at t.
func (s *scenario) post(t time.Time, e signals.Enrichment) {
	s.n++
	s.d.Post(signals.Post{Time: t, Source: "test", ID: fmt.Sprint(s.n), Service: "shop", Text: fmt.Sprint("post ", s.n), Enrichment: &e})
}

// background emits chatter with tokens, a little of it negative.
func (s *scenario) background(from, to time.Time, perMin int) {
	words := [][]string{{"love", "shop", "app"}, {"shipping", "fast", "today"}, {"browsing", "sale", "shoes"}, {"order", "arrived", "box"}}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		for i := 0; i < perMin; i++ {
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4, Tokens: words[(s.n+i)%len(words)]}
			if (s.n+i)%10 == 0 {
				e.Sentiment = -0.4
			}
			s.post(m.Add(time.Duration(i)*time.Second), e)
		}
		s.advance(m.Add(time.Minute))
	}
}

func TestH2ReleaseComplaintsHaltWithFewPosts(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.background(t0, start, 5)
	s.release(start, "H2", signals.EventStarted)
	for m := start; m.Before(start.Add(40 * time.Minute)); m = m.Add(time.Minute) {
		s.background(m, m.Add(time.Minute), 5)
		if m.Sub(start)%(4*time.Minute) == 0 {
			// No category: only the complaints naming the version can see it.
			s.post(m.Add(30*time.Second), signals.Enrichment{Lang: "en", Sentiment: -0.7, Versions: []string{"4.2.0"}, MentionsUpdate: true, Tokens: []string{"login", "broken", "update"}})
		}
	}
	v, ok := s.firstHalt()
	if !ok {
		t.Fatalf("no halt; last verdict %+v", s.last())
	}
	if v.Ring != "H2" || !hasFailed(v, "release_complaints") {
		t.Errorf("halt %+v should come from release_complaints on H2", v)
	}
}

func TestHappyLaunchWithFeatureBuzzPasses(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.background(t0, start, 5)
	s.release(start, "H3", signals.EventStarted)
	for m := start; m.Before(start.Add(2*time.Hour + time.Minute)); m = m.Add(time.Minute) {
		s.background(m, m.Add(time.Minute), 5)
		for i := 0; i < 15; i++ {
			s.post(m.Add(time.Duration(i)*3*time.Second), signals.Enrichment{Lang: "en", Sentiment: 0.8, Features: []string{"dark_mode"}, MentionsUpdate: true, Tokens: []string{"dark", "mode", "gorgeous"}})
		}
	}
	if v, ok := s.firstHalt(); ok {
		t.Fatalf("happy launch halted: %+v", v)
	}
	if s.last().Decision != signals.DecisionPass {
		t.Fatalf("final %s: %v", s.last().Decision, s.last().Reasons)
	}
}

func TestFeatureComplaintsSwitchFlagOff(t *testing.T) {
	s := newScenario(t, Config{})
	s.d.SetFeatureFlags(func(service, feature string) bool { return service == "shop" && feature == "checkout" })
	start := t0.Add(6 * time.Hour)
	s.background(t0, start, 5)
	s.release(start, "H3", signals.EventStarted)
	for m := start; m.Before(start.Add(20 * time.Minute)); m = m.Add(time.Minute) {
		s.background(m, m.Add(time.Minute), 5)
		for i := 0; i < 6; i++ {
			s.post(m.Add(time.Duration(i)*5*time.Second), signals.Enrichment{Lang: "en", Sentiment: -0.7, Categories: []string{"payment"}, Features: []string{"checkout"}, Tokens: []string{"checkout", "spinner", "stuck"}})
		}
	}
	var flag *signals.Verdict
	for i, v := range s.out.Verdicts {
		if v.Action == signals.ActionFlagOff {
			flag = &s.out.Verdicts[i]
			break
		}
		if v.Action == signals.ActionHalt {
			t.Fatalf("halted before switching the flag: %+v", v)
		}
	}
	if flag == nil || flag.Feature != "checkout" {
		t.Fatalf("no flag_off verdict for checkout; verdicts %+v", s.out.Verdicts)
	}
	// Complaints went on after the switch: the ring is then halted.
	if _, ok := s.firstHalt(); !ok {
		t.Error("complaints continued after the flag switch but the ring was not halted")
	}
	if !slices.Contains(flag.Keywords, "spinner") {
		t.Errorf("keywords %v should name the emerging term \"spinner\"", flag.Keywords)
	}
}

func TestDryRunSignalNotCounted(t *testing.T) {
	s := newScenario(t, Config{DryRun: []string{"complaint_volume", "negative_share", "complaint_categories", "release_complaints"}})
	start := t0.Add(6 * time.Hour)
	s.background(t0, start, 5)
	s.release(start, "H3", signals.EventStarted)
	// Until the end of the minimum watch, whose verdict is always given.
	s.chatter(start, start.Add(2*time.Hour+time.Minute), 10, 0.8, 0.1, "crash")
	if v, ok := s.firstHalt(); ok {
		t.Fatalf("dry-run signals halted: %+v", v)
	}
	for _, r := range s.last().Signals {
		if r.Name == "complaint_volume" && (!r.DryRun || r.Outcome != signals.OutcomeFail) {
			t.Fatalf("complaint_volume should be computed and reported as a dry-run failure: %+v", r)
		}
	}
}

func TestSeasonalFactorLearnsTheMondaySurge(t *testing.T) {
	s := newScenario(t, Config{})
	sv := s.d.service("shop")
	// Two weeks: 2 posts an hour, 20 an hour on Mondays 09:00–12:00.
	monday := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
	for h := 0; h < 14*24; h++ {
		at := monday.Add(time.Duration(h) * time.Hour)
		n := 2
		if at.Weekday() == time.Monday && at.Hour() >= 9 && at.Hour() < 12 {
			n = 20
		}
		for i := 0; i < n; i++ {
			b := sv.hours.at(at.Add(time.Duration(i) * time.Minute))
			b.posts++
			if sv.hours.first.IsZero() {
				sv.hours.first = at
			}
		}
	}
	third := monday.Add(14 * 24 * time.Hour)
	f, weeks := s.d.seasonalRatio(sv, third.Add(3*time.Hour), third.Add(9*time.Hour), third.Add(9*time.Hour), third.Add(10*time.Hour))
	if weeks != 2 || f < 5 {
		t.Fatalf("factor %.2f from %d weeks, want ≥5 from 2", f, weeks)
	}
	f, _ = s.d.seasonalRatio(sv, third.Add(-4*24*time.Hour), third.Add(-4*24*time.Hour+6*time.Hour), third.Add(-4*24*time.Hour+6*time.Hour), third.Add(-4*24*time.Hour+7*time.Hour))
	if f < 0.5 || f > 2 {
		t.Fatalf("an ordinary Thursday hour: factor %.2f, want about 1", f)
	}
}

func TestG2(t *testing.T) {
	if g := g2(10, 10, 100, 100); g > 1e-9 {
		t.Fatalf("same rates: G²=%g", g)
	}
	if g := g2(30, 5, 100, 1000); g < g2Fail {
		t.Fatalf("30/100 vs 5/1000: G²=%g, want a clear break-out", g)
	}
}

func hasFailed(v signals.Verdict, name string) bool {
	for _, r := range v.Signals {
		if r.Name == name && r.Outcome == signals.OutcomeFail {
			return true
		}
	}
	return false
}

func TestOlderVersionIsTheBaselineCohort(t *testing.T) {
	s := newScenario(t, Config{})
	s.release(t0, "H1", signals.EventStarted)
	for i := 0; i < 10; i++ {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Version: "4.1.9", Name: "error_rate", Value: 0.01 + 0.001*float64(i%3)})
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Version: "4.2.0", Name: "error_rate", Value: 0.05 + 0.002*float64(i%3)})
		s.advance(at.Add(time.Minute))
	}
	if _, ok := s.firstHalt(); !ok {
		t.Fatalf("the old version's samples were not used as the baseline: %+v", s.last())
	}
}
