package detector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// The App Store's phased release: the share of users on each of its days.
var phasedDays = []float64{0.01, 0.02, 0.05, 0.10, 0.20, 0.50, 1}

// storeMix is a minute of a mobile app's voice: social chatter without an
// app version, store reviews of the old version, and store reviews of the
// new one (negative and positive, per minute).
type storeMix struct {
	social, socialNeg    float64
	oldReviews, oldNeg   float64
	newNeg, newPos       float64
	newReviewsByExposure float64 // more new-version reviews in proportion to the exposure (× all reviews)
	exposure             func(time.Time) float64
}

func (s *scenario) store(from, to time.Time, m storeMix) {
	post := func(at time.Time, src, version string, neg bool) {
		s.n++
		e := signals.Enrichment{Lang: "en", Sentiment: 0.4}
		if neg {
			e.Sentiment = -0.6
		}
		s.d.Post(signals.Post{Time: at, Source: src, ID: fmt.Sprint(s.n), Service: "shop", Text: fmt.Sprint("post ", s.n), AppVersion: version, Enrichment: &e})
	}
	at := func(m time.Time) time.Time { return m.Add(time.Duration(s.rng.Float64() * float64(time.Minute))) }
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		for range poisson(s.rng, m.social) {
			post(at(t), "mastodon", "", s.rng.Float64() < m.socialNeg)
		}
		old, newShare := m.oldReviews, 0.0
		if m.exposure != nil && m.newReviewsByExposure > 0 {
			newShare = m.exposure(t)
			old = m.oldReviews * (1 - newShare)
		}
		for range poisson(s.rng, old) {
			post(at(t), "appstore", "4.1.0", s.rng.Float64() < m.oldNeg)
		}
		for range poisson(s.rng, m.newReviewsByExposure*newShare) {
			post(at(t), "appstore", "4.2.0", s.rng.Float64() < m.oldNeg)
		}
		for range poisson(s.rng, m.newNeg) {
			post(at(t), "appstore", "4.2", true)
		}
		for range poisson(s.rng, m.newPos) {
			post(at(t), "appstore", "4.2.0", false)
		}
		s.advance(t.Add(time.Minute))
	}
}

func (s *scenario) exposure(at time.Time, share float64) {
	s.d.Release(signals.ReleaseEvent{Time: at, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventExposure, Exposure: share})
}

func releaseFailedAt(s *scenario) (time.Time, bool) {
	for _, v := range s.out.Verdicts {
		if hasFailed(v, "release_complaints") {
			return v.Time, true
		}
	}
	return time.Time{}, false
}

// The same stream of store reviews of the new version: 0.1 negative ones
// a minute, half of what the app's users write in all, more negative than
// reviews usually are (83 % against 40 %). On a phase that reaches half the
// users that is the new version's fair share and must not halt; reported at
// 1 %, or not reported at all, it is a rise on the new version.
func TestExposureSetsWhatTheNewVersionsReviewsMaySay(t *testing.T) {
	start := t0.Add(6 * time.Hour)
	mix := storeMix{social: 5, socialNeg: 0.05, oldReviews: 0.5, oldNeg: 0.4}
	after := mix
	after.oldReviews = 0.25
	after.newNeg, after.newPos = 0.1, 0.02
	for _, tc := range []struct {
		name     string
		exposure float64 // 0: none reported
		halts    bool
	}{
		{"50% exposure", 0.5, false},
		{"1% exposure", 0.01, true},
		{"no exposure reported", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t, Config{})
			s.store(t0, start, mix)
			s.d.Release(signals.ReleaseEvent{Time: start, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted, Exposure: tc.exposure})
			s.store(start, start.Add(12*time.Hour), after)
			at, failed := releaseFailedAt(s)
			_, halted := s.firstHalt()
			if failed != tc.halts || halted != tc.halts {
				t.Fatalf("release_complaints failed %v (at %s), halted %v; want %v (last: %v)", failed, at, halted, tc.halts, s.last().Reasons)
			}
			if !tc.halts {
				if v := s.last(); v.Decision != signals.DecisionPass {
					t.Errorf("at 50%%: last verdict %s, want pass: %v", v.Decision, v.Reasons)
				}
			}
		})
	}
}

// A phased release over its seven days, the exposure reported each day
// (as the store notifiers do). The new version's reviews follow the
// exposure and are as negative as the old version's: no halt over the
// week. The same week with a complaint rise on the new version on day 4
// (10 %) halts on day 4, on release_complaints.
func TestPhasedReleaseExposureRisesDayByDay(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated week")
	}
	start := t0.Add(6 * time.Hour)
	day := func(i int) time.Time { return start.Add(time.Duration(i) * 24 * time.Hour) }
	share := func(at time.Time) float64 {
		i := int(at.Sub(start) / (24 * time.Hour))
		return phasedDays[min(max(i, 0), len(phasedDays)-1)]
	}
	mix := storeMix{social: 5, socialNeg: 0.05, oldReviews: 0.5, oldNeg: 0.4, newReviewsByExposure: 0.5, exposure: share}
	for _, rise := range []bool{false, true} {
		t.Run(fmt.Sprintf("rise=%v", rise), func(t *testing.T) {
			s := newScenario(t, Config{MaxWatch: 8 * 24 * time.Hour})
			s.store(t0, start, storeMix{social: 5, socialNeg: 0.05, oldReviews: 0.5, oldNeg: 0.4})
			s.d.Release(signals.ReleaseEvent{Time: start, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted, Exposure: phasedDays[0]})
			for i := range phasedDays {
				if i > 0 {
					s.exposure(day(i), phasedDays[i])
				}
				m := mix
				if rise && i == 3 {
					// Day 4 (10 %): the new version's users complain five
					// times as much as the app's users usually do.
					s.store(day(i), day(i).Add(2*time.Hour), m)
					m.newNeg = 5 * 0.4 * 0.5 * phasedDays[i]
					s.store(day(i).Add(2*time.Hour), day(i+1), m)
					break
				}
				s.store(day(i), day(i+1), m)
			}
			halt, halted := s.firstHalt()
			if !rise {
				if halted {
					t.Fatalf("a healthy phased release halted on day %d: %v", int(halt.Time.Sub(start)/(24*time.Hour))+1, halt.Reasons)
				}
				if w := s.d.watches[watchKey{"shop-4.2.0", "H3"}]; w == nil || w.ring.Exposure != 1 || len(w.phase.changes) != 7 {
					t.Fatalf("watch after the week: %+v", w)
				}
				return
			}
			rise := day(3).Add(2 * time.Hour)
			if !halted || halt.Time.Before(rise) || !hasFailed(halt, "release_complaints") {
				t.Fatalf("complaint rise on day 4 at %s: halt %v at %s from %v", rise, halted, halt.Time, halt.Reasons)
			}
			t.Logf("halted %s after the rise began: %s", halt.Time.Sub(rise), strings.Join(halt.Reasons, " | "))
		})
	}
}
