package detector

import (
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// A halt on the new version's store reviews says what they were expected
// at: the reported store exposure over the alarm (each change in it), or
// that none was reported; a service without store reviews says neither.
func TestHaltNamesStoreExposure(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	mix := storeMix{social: 5, socialNeg: 0.05, oldReviews: 0.5, oldNeg: 0.4}
	after := mix
	after.oldReviews = 0.25
	after.newNeg, after.newPos = 0.1, 0.02
	for _, tc := range []struct {
		name     string
		exposure float64 // 0: none reported
		change   float64 // reported 5 minutes in, 0: none
		want     string
	}{
		{"1% exposure", 0.01, 0, "judged at a store exposure of 1 % (reported; the alarm since "},
		{"1% then 2%", 0.01, 0.02, "judged at a store exposure of 1 %, 2 % from " + start.Add(5*time.Minute).Format(time.RFC3339)},
		{"no exposure reported", 0, 0, "judged with no store exposure reported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, Config{})
			s.store(t0, start, mix)
			s.d.Release(signals.ReleaseEvent{Time: start, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted, Exposure: tc.exposure})
			s.store(start, start.Add(5*time.Minute), after)
			if tc.change > 0 {
				s.exposure(start.Add(5*time.Minute), tc.change)
			}
			s.store(start.Add(5*time.Minute), start.Add(6*time.Hour), after)
			halt, ok := s.firstHalt()
			if !ok || !hasFailed(halt, "release_complaints") {
				t.Fatalf("no halt on release_complaints: %v", s.last().Reasons)
			}
			reasons := strings.Join(halt.Reasons, " | ")
			if !strings.Contains(reasons, tc.want) {
				t.Fatalf("halt reasons %q do not say %q", reasons, tc.want)
			}
		})
	}
	t.Run("no store reviews", func(t *testing.T) {
		s := newScenario(t, Config{})
		s.background(t0, start, 5)
		s.release(start, "H3", signals.EventStarted)
		s.background(start, start.Add(30*time.Minute), 5)
		for m := start.Add(30 * time.Minute); m.Before(start.Add(3 * time.Hour)); m = m.Add(time.Minute) {
			s.post(m.Add(30*time.Second), signals.Enrichment{Lang: "en", Sentiment: -0.6, MentionsUpdate: true, Tokens: []string{"update", "broke"}})
			s.background(m, m.Add(time.Minute), 5)
		}
		failed := false
		for _, v := range s.out.Verdicts {
			failed = failed || hasFailed(v, "release_complaints")
			if strings.Contains(strings.Join(v.Reasons, " "), "store exposure") {
				t.Fatalf("a service without store reviews names a store exposure: %v", v.Reasons)
			}
		}
		if !failed {
			t.Fatalf("release_complaints never failed:%s", describe(s.out.Verdicts))
		}
	})
}
