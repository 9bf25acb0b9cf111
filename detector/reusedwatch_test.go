package detector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// The watches of a reused release id (reusedwatch.go): the id shop-4.2.0
// is deployed again with version 4.3.0.

const reusedID = "shop-4.2.0"

func (s *scenario) releaseVersion(at time.Time, version, ring, event string) {
	s.d.Release(signals.ReleaseEvent{Time: at, Release: reusedID, Service: "shop", Version: version, Ring: ring, Event: event})
}

// errorRates emits error_rate samples of the old version 4.2.0 (1 %) and,
// from newFrom on, of the new version 4.3.0 (newRate), every 30 seconds,
// with calm posts, advancing the detector every minute.
func (s *scenario) errorRates(from, to, newFrom time.Time, newRate float64) {
	for m := from; m.Before(to); m = m.Add(30 * time.Second) {
		s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: "4.2.0", Name: "error_rate", Value: 0.01 + 0.001*s.rng.NormFloat64()})
		if !m.Before(newFrom) {
			s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: "4.3.0", Name: "error_rate", Value: newRate + 0.001*s.rng.NormFloat64()})
		}
		if m.Second() == 30 {
			s.emit(m.Add(-30*time.Second), m.Add(30*time.Second), calm)
		}
	}
}

func (s *scenario) openWatch(t *testing.T, ring string) WatchStatus {
	t.Helper()
	for _, w := range s.d.OpenWatches() {
		if w.Ring == ring {
			return w
		}
	}
	t.Fatalf("no open watch on %s: %+v", ring, s.d.OpenWatches())
	return WatchStatus{}
}

// ownBaseline is where the baseline of a ring started at begins: the
// configured baseline before it, or the service's first post.
func ownBaseline(s *scenario, at time.Time) time.Time {
	return maxTime(at.Add(-s.d.cfg.Baseline), s.d.services["shop"].posts.first.Truncate(s.d.cfg.Bucket))
}

// versionVerdicts are the verdicts of ring for version.
func (s *scenario) versionVerdicts(ring, version string) []signals.Verdict {
	var out []signals.Verdict
	for _, v := range s.verdictsOf(ring) {
		if v.Version == version {
			out = append(out, v)
		}
	}
	return out
}

// checkReplaced checks the old version's final verdict on ring: at the
// reuse, saying so, acting on nothing, and no promotion.
func checkReplaced(t *testing.T, s *scenario, ring string, at time.Time) {
	t.Helper()
	old := s.versionVerdicts(ring, "4.2.0")
	if len(old) == 0 {
		t.Fatalf("no verdict of 4.2.0 on %s", ring)
	}
	last := old[len(old)-1]
	why := strings.Join(last.Reasons, " | ")
	if !last.Time.Equal(at) || !strings.Contains(why, "replaced by version 4.3.0 under the same release id "+reusedID) || last.Action != signals.ActionNone {
		t.Fatalf("last 4.2.0 verdict on %s: %s %s/%s %q, want a final verdict at the reuse %s saying it was replaced, no action", ring, last.Time, last.Decision, last.Action, why, at)
	}
	if strings.Contains(why, "moved on") {
		t.Fatalf("the old version's watch on %s was closed as a promotion: %q", ring, why)
	}
	for _, v := range old {
		if v.Time.After(at) {
			t.Fatalf("a verdict of 4.2.0 on %s after it was replaced: %s %v", ring, v.Time, v.Reasons)
		}
	}
}

// checkOpening checks that the new version's first verdict on ring is a
// wait at its start, so the gate does not answer from 4.2.0's verdict.
func checkOpening(t *testing.T, s *scenario, ring string, at time.Time) {
	t.Helper()
	vs := s.versionVerdicts(ring, "4.3.0")
	if len(vs) == 0 {
		t.Fatalf("no verdict of 4.3.0 on %s", ring)
	}
	if v := vs[0]; !v.Time.Equal(at) || v.Decision != signals.DecisionWait || v.Action != signals.ActionNone ||
		!strings.Contains(strings.Join(v.Reasons, " "), "now names version 4.3.0 (before: 4.2.0)") {
		t.Fatalf("first 4.3.0 verdict on %s: %s %s/%s %v, want wait at %s naming both versions", ring, v.Time, v.Decision, v.Action, v.Reasons, at)
	}
	// The gate keeps the latest verdict of (release, ring): at the reuse the
	// new version's comes after the old one's.
	all := s.verdictsOf(ring)
	for i, v := range all {
		if v.Version == "4.3.0" {
			for _, o := range all[i:] {
				if o.Version != "4.3.0" {
					t.Fatalf("a 4.2.0 verdict on %s after the first 4.3.0 one: %s %v", ring, o.Time, o.Reasons)
				}
			}
			break
		}
	}
}

// The reused id starts on the ring where the old version soaks: the old
// soak ends, and the new version is watched — its error-rate regression
// halts it. Before, the start was dropped as a duplicate: 4.3.0 was never
// judged, and its samples were the old version's "other cohort".
func TestReusedReleaseIDOnTheSameRingIsWatched(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.releaseVersion(start, "4.2.0", "H3", signals.EventStarted)
	s.errorRates(start, start.Add(3*time.Hour), start.Add(99*time.Hour), 0)
	s.releaseVersion(start.Add(3*time.Hour), "4.2.0", "H3", signals.EventCompleted)
	reuse := start.Add(5 * time.Hour)
	s.errorRates(start.Add(3*time.Hour), reuse, reuse, 0)
	if w := s.openWatch(t, "H3"); !w.Soaking || w.Version != "4.2.0" {
		t.Fatalf("before the reuse: %+v, want 4.2.0 soaking", w)
	}
	if _, ok := s.firstHalt(); ok {
		t.Fatalf("halted the calm old version: %+v", s.last())
	}

	s.releaseVersion(reuse, "4.3.0", "H3", signals.EventStarted)
	s.errorRates(reuse, reuse.Add(time.Hour), reuse, 0.03)

	checkReplaced(t, s, "H3", reuse)
	checkOpening(t, s, "H3", reuse)
	v, ok := s.firstHalt()
	if !ok || v.Version != "4.3.0" || v.Ring != "H3" || !hasFailed(v, "error_rate") {
		t.Fatalf("the new version's error-rate regression was not halted: first halt %+v (found %v); 4.3.0 verdicts: %+v", v, ok, s.versionVerdicts("H3", "4.3.0"))
	}
	if d := v.Time.Sub(reuse); d > 30*time.Minute {
		t.Errorf("halted %s after the new version started", d)
	}
	w := s.d.watches[watchKey{reusedID, "H3"}]
	if w.ev.Version != "4.3.0" || w.soaking || !w.start.Equal(reuse) {
		t.Fatalf("the watch of H3: version %s soaking %v start %s, want a fresh 4.3.0 watch from %s", w.ev.Version, w.soaking, w.start, reuse)
	}
	if w.base == nil || !w.base.from.Equal(ownBaseline(s, reuse)) {
		t.Fatalf("the new watch's baseline: %+v, want its own, from %s", w.base, ownBaseline(s, reuse))
	}
}

// The reused id starts on another ring while the old version soaks: the
// soak ends as replaced, not as a promotion; the new version's watch takes
// nothing of the old one's (its own baseline); later rings of the new
// version open with a wait verdict of their own and are promoted as usual.
func TestReusedReleaseIDOnAnotherRingIsNoPromotion(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.releaseVersion(start, "4.2.0", "H3", signals.EventStarted)
	s.emit(start, start.Add(3*time.Hour), calm)
	s.releaseVersion(start.Add(3*time.Hour), "4.2.0", "H3", signals.EventCompleted)
	reuse := start.Add(5 * time.Hour)
	s.emit(start.Add(3*time.Hour), reuse, calm)

	s.releaseVersion(reuse, "4.3.0", "H2", signals.EventStarted)
	s.emit(reuse, reuse.Add(90*time.Minute), calm)

	checkReplaced(t, s, "H3", reuse)
	checkOpening(t, s, "H2", reuse)
	if ws := s.d.OpenWatches(); len(ws) != 1 || ws[0].Ring != "H2" || ws[0].Version != "4.3.0" || !ws[0].Start.Equal(reuse) {
		t.Fatalf("open watches after the reuse: %+v, want 4.3.0 on H2 only", ws)
	}
	h2 := s.d.watches[watchKey{reusedID, "H2"}]
	if h2.base == nil || !h2.base.from.Equal(ownBaseline(s, reuse)) || h2.base.minutes != reuse.Sub(ownBaseline(s, reuse)).Minutes() {
		t.Fatalf("the new watch's baseline: %+v, want its own from %s (not the old H3 watch's)", h2.base, ownBaseline(s, reuse))
	}
	if d := s.versionVerdicts("H2", "4.3.0"); d[len(d)-1].Decision != signals.DecisionPass {
		t.Fatalf("calm new version on H2: %+v", d[len(d)-1])
	}

	// The new version moves on to H3, where the old version's verdicts are.
	promo := reuse.Add(90 * time.Minute)
	s.releaseVersion(promo, "4.3.0", "H3", signals.EventPromoted)
	s.emit(promo, promo.Add(10*time.Minute), calm)
	h2v := s.versionVerdicts("H2", "4.3.0")
	if last := h2v[len(h2v)-1]; !last.Time.Equal(promo) || !strings.Contains(strings.Join(last.Reasons, " "), "moved on to H3") {
		t.Fatalf("H2 of 4.3.0 at its promotion: %s %v", last.Time, last.Reasons)
	}
	checkOpening(t, s, "H3", promo)
	if w := s.openWatch(t, "H3"); w.Version != "4.3.0" || w.Soaking || !w.Start.Equal(promo) {
		t.Fatalf("H3 after the new version's promotion: %+v", w)
	}
}

// Events of the old version that come late (stamped before the reuse)
// change no watch of the new one; an event naming no version is the
// current version's.
func TestReusedReleaseIDLateEventsOfTheOldVersion(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.releaseVersion(start, "4.2.0", "H2", signals.EventStarted)
	s.emit(start, start.Add(2*time.Hour), calm)
	reuse := start.Add(2 * time.Hour)
	s.releaseVersion(reuse, "4.3.0", "H2", signals.EventStarted)
	s.emit(reuse, reuse.Add(10*time.Minute), calm)
	before := reuse.Add(-time.Minute)
	for _, ev := range []string{signals.EventCompleted, signals.EventPromoted, signals.EventRolledBack} {
		ring := "H2"
		if ev == signals.EventPromoted {
			ring = "H3"
		}
		s.releaseVersion(before, "4.2.0", ring, ev)
		if ws := s.d.OpenWatches(); len(ws) != 1 || ws[0].Version != "4.3.0" || ws[0].Ring != "H2" || ws[0].Soaking {
			t.Fatalf("after a late %s of 4.2.0: %+v, want 4.3.0 on H2 only, not soaking", ev, ws)
		}
	}
	checkReplaced(t, s, "H2", reuse)
	s.releaseVersion(reuse.Add(20*time.Minute), "", "H2", signals.EventHalted)
	if ws := s.d.OpenWatches(); len(ws) != 0 {
		t.Fatalf("a halt naming no version left %+v open", ws)
	}
}

// The old version fails when it is replaced: its final verdict acts on
// nothing (a halt of the id would stop the new version's rollout), but
// says what it found.
func TestReplacedWatchTakesNoAction(t *testing.T) {
	// error_rate not critical and many evaluations needed: the old
	// version fails without acting until the reuse.
	s := newScenario(t, Config{Critical: []string{"crash"}, Consecutive: 1000})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.releaseVersion(start, "4.2.0", "H2", signals.EventStarted)
	for m := start; m.Before(start.Add(time.Hour)); m = m.Add(30 * time.Second) {
		s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: "4.1.0", Name: "error_rate", Value: 0.01 + 0.001*s.rng.NormFloat64()})
		s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: "4.2.0", Name: "error_rate", Value: 0.05 + 0.001*s.rng.NormFloat64()})
		if m.Second() == 30 {
			s.emit(m.Add(-30*time.Second), m.Add(30*time.Second), calm)
		}
	}
	// error_rate alone fails: the score is marginal, held for a review
	// after Consecutive evaluations.
	if d := s.last(); d.Decision != signals.DecisionMarginal || d.Action != signals.ActionNone {
		t.Fatalf("before the reuse: %s/%s %v, want marginal, not acting yet", d.Decision, d.Action, d.Reasons)
	}
	s.d.cfg.Consecutive = 2 // the final evaluation would ask for a review
	reuse := start.Add(time.Hour)
	s.releaseVersion(reuse, "4.3.0", "H2", signals.EventStarted)
	s.advance(reuse.Add(time.Minute))
	checkReplaced(t, s, "H2", reuse)
	old := s.versionVerdicts("H2", "4.2.0")
	last := old[len(old)-1]
	if last.Decision != signals.DecisionMarginal || !strings.Contains(strings.Join(last.Reasons, " "), "no review_required: the release id now names version 4.3.0") {
		t.Fatalf("final 4.2.0 verdict: %s/%s %v, want marginal without the review, saying why", last.Decision, last.Action, last.Reasons)
	}
	for _, a := range s.out.Anomalies {
		if a.Signal == "error_rate" {
			return // what it found is still said
		}
	}
	t.Fatal("no error_rate anomaly of the old version")
}

// A restart between the old version's soak and the reuse: the restored
// soak watch is replaced by the replayed start of the new version, and its
// final verdict survives the rebuild.
func TestReusedReleaseIDAfterRestart(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.d.ReleaseAt(signals.ReleaseEvent{Time: start, Release: reusedID, Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted}, 1)
	s.emit(start, start.Add(3*time.Hour), calm)
	s.d.ReleaseAt(signals.ReleaseEvent{Time: start.Add(3 * time.Hour), Release: reusedID, Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventCompleted}, 2)
	saved := start.Add(4 * time.Hour)
	s.emit(start.Add(3*time.Hour), saved, calm)
	d2 := restarted(t, s.d, s.d.cfg)
	// The replay: the posts of the last hours, and the release events
	// after the snapshot's position.
	reuse := saved.Add(10 * time.Minute)
	s2 := &scenario{rng: s.rng, d: d2}
	replay := func(from, to time.Time) {
		for m := from; m.Before(to); m = m.Add(10 * time.Second) {
			s2.n++
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4}
			d2.Post(signals.Post{Time: m, Source: "test", ID: fmt.Sprint("r", s2.n), Service: "shop", Text: fmt.Sprint("replayed ", s2.n), Enrichment: &e})
		}
	}
	replay(saved.Add(-3*time.Hour), reuse)
	if !d2.ReleaseAt(signals.ReleaseEvent{Time: reuse, Release: reusedID, Service: "shop", Version: "4.3.0", Ring: "H3", Event: signals.EventStarted}, 3) {
		t.Fatal("the reuse was skipped")
	}
	replay(reuse, reuse.Add(20*time.Minute))
	now := reuse.Add(20 * time.Minute)
	d2.Rebuilt(now)
	s2.advance(now)
	checkReplaced(t, s2, "H3", reuse)
	if w := s2.openWatch(t, "H3"); w.Version != "4.3.0" || w.Soaking {
		t.Fatalf("after the restart: %+v, want 4.3.0 watched on H3", w)
	}
	if vs := s2.versionVerdicts("H3", "4.3.0"); len(vs) == 0 {
		t.Fatal("no verdict of 4.3.0 after the rebuild")
	}
	// And the new watch is saved and restored as such.
	d3 := restarted(t, d2, s.d.cfg)
	if ws := d3.OpenWatches(); len(ws) != 1 || ws[0].Version != "4.3.0" || !ws[0].Start.Equal(reuse) {
		t.Fatalf("restored: %+v", ws)
	}
}

// Only a start replaces: a completion naming the version spelt otherwise
// turns the watch into its soak as any completion does; it does not end
// the release's watch with none to follow.
func TestOtherVersionOnlyReplacesOnAStart(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.emit(t0, start, calm)
	s.releaseVersion(start, "4.2.0", "H3", signals.EventStarted)
	s.emit(start, start.Add(3*time.Hour), calm)
	s.releaseVersion(start.Add(3*time.Hour), "v4.2.0", "H3", signals.EventCompleted)
	s.emit(start.Add(3*time.Hour), start.Add(4*time.Hour), calm)
	if w := s.openWatch(t, "H3"); w.Version != "4.2.0" || !w.Soaking {
		t.Fatalf("after a completion naming v4.2.0: %+v, want 4.2.0 soaking", w)
	}
	for _, v := range s.out.Verdicts {
		if strings.Contains(strings.Join(v.Reasons, " "), "replaced by") {
			t.Fatalf("a completion replaced the watch: %v", v.Reasons)
		}
	}
}

// A start-up replay without saved watches that holds the old version's
// start and the reuse: the old watch, re-opened by the replay, judged
// nothing, so its final verdict is dropped like the rest of what it said;
// the new version is watched.
func TestReusedReleaseIDInAReplayWithoutSnapshot(t *testing.T) {
	cfg := Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	d := New(cfg, nil)
	s := &scenario{d: d}
	start := t0.Add(6 * time.Hour)
	reuse := start.Add(3 * time.Hour)
	n := 0
	replay := func(from, to time.Time) {
		for m := from; m.Before(to); m = m.Add(10 * time.Second) {
			n++
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4}
			d.Post(signals.Post{Time: m, Source: "test", ID: fmt.Sprint("r", n), Service: "shop", Text: fmt.Sprint("replayed ", n), Enrichment: &e})
		}
	}
	replay(t0, start)
	d.ReleaseAt(signals.ReleaseEvent{Time: start, Release: reusedID, Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted}, 1)
	replay(start, reuse)
	d.ReleaseAt(signals.ReleaseEvent{Time: reuse, Release: reusedID, Service: "shop", Version: "4.3.0", Ring: "H3", Event: signals.EventStarted}, 2)
	now := reuse.Add(20 * time.Minute)
	replay(reuse, now)
	d.Rebuilt(now)
	s.advance(now)
	if vs := s.versionVerdicts("H3", "4.2.0"); len(vs) != 0 {
		t.Fatalf("the re-opened old watch judged nothing, yet said %+v", vs)
	}
	if w := s.openWatch(t, "H3"); w.Version != "4.3.0" || !w.Start.Equal(reuse) {
		t.Fatalf("after the replay: %+v, want 4.3.0 watched from %s", w, reuse)
	}
}

// restarted is a new detector with cfg that restored d's snapshot of the
// service "shop", as a process does after a restart.
func restarted(t *testing.T, d *Detector, cfg Config) *Detector {
	t.Helper()
	data, err := d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	r := New(cfg, nil)
	if err := r.RestoreService("shop", data); err != nil {
		t.Fatal(err)
	}
	return r
}
