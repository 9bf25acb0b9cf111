package detector

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// relEvent is a release event of shop (or another service) at t0+at.
func relEvent(at time.Duration, service, release, version, event string) signals.ReleaseEvent {
	return signals.ReleaseEvent{Type: signals.TypeRelease, Time: t0.Add(at), Release: release, Service: service, Version: version, Ring: "H2", Event: event}
}

// relSample is a "requests" sample of shop at t0+at.
func relSample(at time.Duration, version, release string) signals.MetricSample {
	return signals.MetricSample{Type: signals.TypeMetric, Time: t0.Add(at), Service: "shop", Version: version, Release: release, Ring: "H2", Name: "requests", Value: 100}
}

// storedVersions are the versions shop's "requests" samples were kept
// under (the cohort: watch.isCanary), in time order.
func storedVersions(d *Detector) []string {
	out := []string{}
	if s := d.services["shop"]; s != nil {
		for _, x := range s.metrics["requests"] {
			out = append(out, x.version)
		}
	}
	return out
}

// A metric sample naming a release is counted in that release's version's
// cohort (the version it is stored under decides: watch.isCanary), held a
// while for a release event that comes after it, and otherwise set aside
// with its reason — never counted in the old cohort for want of a release.
func TestSampleRelease(t *testing.T) {
	started := relEvent(0, "shop", "r123", "4.2.0", signals.EventStarted)
	type step struct {
		ev      *signals.ReleaseEvent
		m       *signals.MetricSample
		advance time.Duration // Advance(t0+advance) when > 0
		held    int           // after an advance: the samples still waiting
	}
	ev := func(e signals.ReleaseEvent) step { return step{ev: &e} }
	m := func(x signals.MetricSample) step { return step{m: &x} }
	adv := func(at time.Duration, held int) step { return step{advance: at, held: held} }
	tests := []struct {
		name              string
		steps             []step
		versions          []string
		unknown, mismatch int
		note              string
	}{
		{name: "release only, as INTERFACES.md sketches it",
			steps:    []step{ev(started), m(relSample(time.Minute, "", "r123")), adv(2*time.Minute, 0)},
			versions: []string{"4.2.0"}},
		{name: "version only, as before",
			steps:    []step{ev(started), m(relSample(time.Minute, "4.2.0", "")), adv(2*time.Minute, 0)},
			versions: []string{"4.2.0"}},
		{name: "neither: the old cohort, as before",
			steps:    []step{ev(started), m(relSample(time.Minute, "", "")), adv(2*time.Minute, 0)},
			versions: []string{""}},
		{name: "both, agreeing",
			steps:    []step{ev(started), m(relSample(time.Minute, "4.2.0", "r123")), adv(2*time.Minute, 0)},
			versions: []string{"4.2.0"}},
		{name: "both, disagreeing: set aside",
			steps:    []step{ev(started), m(relSample(time.Minute, "4.1.0", "r123")), m(relSample(time.Minute, "", "")), adv(2*time.Minute, 0)},
			versions: []string{""}, mismatch: 1,
			note: `service shop: 1 metric sample(s) naming release "r123" set aside (release_mismatch): the sample says version "4.1.0", the release's events "4.2.0"`},
		{name: "unknown release: held for the grace, then set aside; the rest of the batch counts",
			steps: []step{ev(started), adv(time.Minute, 0),
				m(relSample(time.Minute, "", "r999")), m(relSample(time.Minute, "", "r999")), m(relSample(time.Minute, "", "r123")),
				adv(5*time.Minute, 2), adv(6*time.Minute, 0)},
			versions: []string{"4.2.0"}, unknown: 2,
			note: `service shop: 2 metric sample(s) naming release "r999" set aside (unknown_release): no release event of service shop named it within 5m0s`},
		{name: "unknown release with an agreeing-looking version: still set aside",
			steps:    []step{adv(time.Minute, 0), m(relSample(time.Minute, "4.2.0", "r999")), adv(7*time.Minute, 0)},
			versions: []string{}, unknown: 1, note: "(unknown_release)"},
		{name: "a sample before its started event is held, then counted in the new cohort",
			steps: []step{adv(-time.Minute, 0), m(relSample(-30*time.Second, "", "r123")), m(relSample(-20*time.Second, "", "r123")),
				adv(0, 2), ev(started), adv(2*time.Minute, 0)},
			versions: []string{"4.2.0", "4.2.0"}},
		{name: "held before the first Advance (a replay): the grace runs from the sample's time",
			steps:    []step{m(relSample(-30*time.Second, "", "r123")), adv(time.Minute, 1), adv(4*time.Minute, 1), adv(5*time.Minute, 0)},
			versions: []string{}, unknown: 1, note: "within 5m0s"},
		{name: "held before the first Advance, older than the grace: set aside at the first",
			steps:    []step{m(relSample(-time.Hour, "", "r123")), adv(time.Minute, 0)},
			versions: []string{}, unknown: 1, note: "within 5m0s"},
		{name: "a release of another service is unknown to this one",
			steps:    []step{ev(relEvent(0, "cart", "r123", "4.2.0", signals.EventStarted)), adv(time.Minute, 0), m(relSample(time.Minute, "", "r123")), adv(10*time.Minute, 0)},
			versions: []string{}, unknown: 1, note: "no release event of service shop named it"},
		{name: "a release whose events name no version cannot be told from the old cohort",
			steps:    []step{ev(relEvent(0, "shop", "r7", "", signals.EventStarted)), m(relSample(time.Minute, "", "r7")), adv(2*time.Minute, 0)},
			versions: []string{}, unknown: 1, note: "its release events name no version"},
		{name: "an older release still running is the old cohort",
			steps: []step{ev(relEvent(-48*time.Hour, "shop", "r122", "4.1.0", signals.EventStarted)),
				ev(relEvent(-47*time.Hour, "shop", "r122", "", signals.EventCompleted)), ev(started),
				m(relSample(time.Minute, "", "r122")), m(relSample(time.Minute, "", "r123")), adv(2*time.Minute, 0)},
			versions: []string{"4.1.0", "4.2.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(defaultConfig(t), nil)
			for i, s := range tc.steps {
				switch {
				case s.ev != nil:
					d.Release(*s.ev)
				case s.m != nil:
					d.Metric(*s.m)
				default:
					d.Advance(t0.Add(s.advance))
					if got := d.cohorts.n; got != s.held {
						t.Fatalf("step %d: %d samples held, want %d", i, got, s.held)
					}
				}
			}
			if got := storedVersions(d); fmt.Sprint(got) != fmt.Sprint(tc.versions) {
				t.Errorf("samples counted under versions %q, want %q", got, tc.versions)
			}
			st := d.Stats()
			if st.UnknownReleases != tc.unknown || st.ReleaseMismatches != tc.mismatch {
				t.Errorf("set aside: %d unknown release, %d mismatch; want %d, %d", st.UnknownReleases, st.ReleaseMismatches, tc.unknown, tc.mismatch)
			}
			notes := d.SetAsideNotes()
			if tc.note == "" && len(notes) > 0 || tc.note != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.note)) {
				t.Errorf("notes %q, want one saying %q", notes, tc.note)
			}
			if again := d.SetAsideNotes(); again != nil {
				t.Errorf("notes given twice: %q", again)
			}
		})
	}
}

// The releases a detector knew are known after a restart: from the
// service's snapshot (also a release whose watch is long closed), and
// from the restored watches of a snapshot made before releases were saved.
func TestSampleReleaseAfterRestart(t *testing.T) {
	for _, old := range []bool{false, true} {
		d := New(defaultConfig(t), nil)
		d.Release(relEvent(-48*time.Hour, "shop", "r122", "4.1.0", signals.EventStarted))
		d.Release(relEvent(-47*time.Hour, "shop", "r122", "", signals.EventCompleted))
		d.Release(relEvent(0, "shop", "r123", "4.2.0", signals.EventStarted))
		d.Metric(relSample(-time.Minute, "", ""))
		d.Advance(t0.Add(time.Minute))
		if old {
			d.cohorts = releaseCohorts{} // a snapshot of the release before this one
		}
		d2 := restarted(t, d, defaultConfig(t))
		d2.Advance(t0.Add(time.Minute))
		d2.Metric(relSample(time.Minute, "", "r123"))
		d2.Metric(relSample(time.Minute, "", "r122"))
		d2.Advance(t0.Add(10 * time.Minute))
		want, unknown := "[4.2.0 4.1.0]", 0
		if old {
			want, unknown = "[4.2.0]", 1 // r122 closed before: only the open watch's release is known
		}
		if got := fmt.Sprint(storedVersions(d2)); got != want || d2.Stats().UnknownReleases != unknown {
			t.Errorf("old snapshot %v: after the restart counted under %s with %d unknown, want %s with %d", old, got, d2.Stats().UnknownReleases, want, unknown)
		}
	}
}

// What is held and remembered is bounded: beyond maxHeldSamples the
// sample that waited longest is set aside, and a service remembers its
// last maxReleasesPerService releases.
func TestSampleReleaseBounds(t *testing.T) {
	d := New(defaultConfig(t), nil)
	d.Advance(t0)
	for i := range maxHeldSamples + 3 {
		d.Metric(relSample(time.Duration(i)*time.Millisecond, "", fmt.Sprint("r", i%100)))
	}
	if d.cohorts.n != maxHeldSamples || d.Stats().UnknownReleases != 3 {
		t.Fatalf("%d held, %d set aside; want %d and 3", d.cohorts.n, d.Stats().UnknownReleases, maxHeldSamples)
	}
	if h := d.cohorts.held["shop"]; len(h) != maxHeldSamples || h[0].m.Time != t0.Add(3*time.Millisecond) || h[len(h)-1].m.Time != t0.Add((maxHeldSamples+2)*time.Millisecond) {
		t.Fatalf("held from %s to %s, want the newest %d", h[0].m.Time, h[len(h)-1].m.Time, maxHeldSamples)
	}
	if notes := d.SetAsideNotes(); len(notes) != 3 || !strings.Contains(notes[0], `"r0"`) || !strings.Contains(notes[0], "its oldest of the 20000 samples waiting") {
		t.Fatalf("notes %q", notes)
	}
	d.Advance(t0.Add(releaseGrace))
	notes := d.SetAsideNotes()
	if d.cohorts.n != 0 || len(d.cohorts.held) != 0 || len(notes) != maxSetAsideNotes+1 || !strings.HasPrefix(notes[len(notes)-1], "and 10000 more metric sample(s)") {
		t.Fatalf("%d held after the grace, %d notes (last %q)", d.cohorts.n, len(notes), notes[len(notes)-1])
	}
	for i := range maxReleasesPerService + 10 {
		d.Release(relEvent(time.Duration(i)*time.Minute, "shop", fmt.Sprint("rel", i), fmt.Sprint("v", i), signals.EventStarted))
	}
	rv := d.cohorts.services["shop"]
	if len(rv.by) != maxReleasesPerService || len(rv.order) != maxReleasesPerService || rv.order[0] != "rel10" {
		t.Fatalf("remembers %d releases (order %d, oldest %s), want the last %d", len(rv.by), len(rv.order), rv.order[0], maxReleasesPerService)
	}
	// A release that has a new event (promoted, completed) is forgotten
	// after the ones that started since: rel10 goes on, rel11 goes first.
	d.Release(relEvent(300*time.Minute, "shop", "rel10", "v10", signals.EventPromoted))
	d.Release(relEvent(301*time.Minute, "shop", "rel-new", "vnew", signals.EventStarted))
	if _, ok := rv.by["rel10"]; !ok {
		t.Errorf("rel10, promoted after %d newer releases started, was forgotten", maxReleasesPerService-1)
	}
	if _, ok := rv.by["rel11"]; ok || len(rv.by) != maxReleasesPerService || len(rv.order) != maxReleasesPerService {
		t.Errorf("after one more release: rel11 kept or %d/%d remembered, want rel11 forgotten and %d", len(rv.by), len(rv.order), maxReleasesPerService)
	}
}

// BenchmarkMetricRelease is BenchmarkMetric for a sample naming its
// release instead of its version (the lookup of the release's version).
func BenchmarkMetricRelease(b *testing.B) {
	d := benchDetector(b)
	d.Release(signals.ReleaseEvent{Time: t0, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H2", Event: signals.EventStarted})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d.Metric(signals.MetricSample{Time: t0.Add(time.Duration(i) * time.Second), Service: "shop", Release: "shop-4.2.0", Name: "error_rate", Value: 0.01})
	}
}

// A start-up rebuild replays a day of samples before the first Advance.
// Those naming a release no replayed event named, and older than the
// grace, could not have been waiting for an event still to come (it would
// have been stored within the grace, and replayed): they are set aside at
// the first Advance, not held five more minutes — holding them filled the
// queue, and a new release's first samples replayed after them, or pushed
// in the five minutes after the restart, were set aside at once. The
// replayed samples of the last minutes still wait their grace.
func TestSampleReleaseRebuild(t *testing.T) {
	now := t0.Add(24 * time.Hour)
	d := New(defaultConfig(t), nil)
	// A producer naming a release nobody started, all day: more than the
	// queue holds.
	old := maxHeldSamples + 100
	for i := range old {
		d.Metric(relSample(time.Duration(i)*(20*time.Hour)/time.Duration(old), "", "bogus"))
	}
	// Then, minutes before the restart, the first samples of r124, whose
	// started event was stored just after them (replayed too), and of r125,
	// whose started event comes after the restart.
	d.Metric(relSample(24*time.Hour-3*time.Minute, "", "r124"))
	d.Release(relEvent(24*time.Hour-2*time.Minute, "shop", "r124", "4.3.0", signals.EventStarted))
	d.Metric(relSample(24*time.Hour-time.Minute, "", "r125"))
	d.Advance(now)
	if got := d.Stats().UnknownReleases; got != old {
		t.Errorf("first Advance after the rebuild: %d set aside as unknown, want the %d stale ones", got, old)
	}
	if d.cohorts.n != 1 || len(d.cohorts.held["shop"]) != 1 {
		t.Errorf("%d samples held after the first Advance, want r125's one", d.cohorts.n)
	}
	d.Metric(relSample(24*time.Hour+10*time.Second, "", "r125"))
	d.Release(signals.ReleaseEvent{Type: signals.TypeRelease, Time: now.Add(time.Minute), Release: "r125", Service: "shop", Version: "4.3.1", Ring: "H1", Event: signals.EventStarted})
	var counted []string
	for _, v := range storedVersions(d) {
		if v != "" {
			counted = append(counted, v)
		}
	}
	if fmt.Sprint(counted) != "[4.3.0 4.3.1 4.3.1]" {
		t.Errorf("counted under %q, want r124's sample and r125's two", counted)
	}
}

// One service's producer naming releases nobody started fills the queue
// with its own samples only: when it is full, the service holding the most
// gives up its oldest, so another service's sample, held a moment before
// its started event, still waits for it.
func TestSampleReleaseHeldPerService(t *testing.T) {
	d := New(defaultConfig(t), nil)
	d.Advance(t0)
	cart := signals.MetricSample{Type: signals.TypeMetric, Time: t0, Service: "cart", Release: "c9", Ring: "H2", Name: "requests", Value: 100}
	d.Metric(cart)
	for i := range 2 * maxHeldSamples {
		d.Metric(relSample(time.Duration(i)*time.Millisecond, "", "bogus"))
	}
	if n := d.cohorts.n; n != maxHeldSamples {
		t.Fatalf("%d held, want %d", n, maxHeldSamples)
	}
	d.Release(signals.ReleaseEvent{Type: signals.TypeRelease, Time: t0.Add(time.Minute), Release: "c9", Service: "cart", Version: "2.0.0", Ring: "H2", Event: signals.EventStarted})
	if s := d.services["cart"]; s == nil || len(s.metrics["requests"]) != 1 || s.metrics["requests"][0].version != "2.0.0" {
		t.Errorf("cart's held sample was not counted under 2.0.0 when its release started")
	}
	// 2×maxHeldSamples of shop and one of cart came; shop's newest
	// maxHeldSamples-1 still wait.
	if got, want := d.Stats().UnknownReleases, maxHeldSamples+1; got != want || d.cohorts.n != maxHeldSamples-1 {
		t.Errorf("%d set aside, %d held; want shop's %d oldest set aside", got, d.cohorts.n, want)
	}
}

// BenchmarkMetricUnknownRelease is a flood of samples naming a release
// nobody started, the queue full: each one sets aside the oldest held.
func BenchmarkMetricUnknownRelease(b *testing.B) {
	d := benchDetector(b)
	d.Advance(t0)
	for i := range maxHeldSamples {
		d.Metric(signals.MetricSample{Time: t0.Add(time.Duration(i) * time.Millisecond), Service: fmt.Sprint("svc", i%20), Release: "nope", Name: "requests", Value: 1})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Metric(signals.MetricSample{Time: t0.Add(time.Duration(i) * time.Millisecond), Service: "shop", Release: "nope", Name: "requests", Value: 1})
	}
}

// A release id a deploy system reuses for another version (re-deployed
// after a rollback, an id per environment) still names the old version's
// pods: a sample naming only the id is not counted in the new version
// while both may run, one naming its version too is counted in it, and a
// late sample from before the reuse is the old version's.
func TestSampleReleaseReused(t *testing.T) {
	// r1 was 4.1.0 (rolled out two days ago), reused for 4.2.0 at t0.
	history := []signals.ReleaseEvent{
		relEvent(-48*time.Hour, "shop", "r1", "4.1.0", signals.EventStarted),
		relEvent(-47*time.Hour, "shop", "r1", "4.1.0", signals.EventCompleted),
		relEvent(0, "shop", "r1", "4.2.0", signals.EventStarted),
	}
	type step struct {
		ev *signals.ReleaseEvent
		m  *signals.MetricSample
	}
	ev := func(e signals.ReleaseEvent) step { return step{ev: &e} }
	m := func(x signals.MetricSample) step { return step{m: &x} }
	tests := []struct {
		name                      string
		steps                     []step
		versions                  []string
		reused, mismatch, unknown int
		note                      string
	}{
		{name: "only the reused id: set aside while both versions may name it",
			steps:    []step{m(relSample(time.Minute, "", "r1")), m(relSample(2*time.Minute, "", "r1"))},
			versions: []string{}, reused: 2,
			note: `service shop: 2 metric sample(s) naming release "r1" set aside (reused_release): the release id was reused for version "4.2.0" (was "4.1.0") at 2026-`},
		{name: "the id and the new version",
			steps:    []step{m(relSample(time.Minute, "4.2.0", "r1"))},
			versions: []string{"4.2.0"}},
		{name: "the id and the old version: an old pod, the old cohort",
			steps:    []step{m(relSample(time.Minute, "4.1.0", "r1"))},
			versions: []string{"4.1.0"}},
		{name: "the id and a version it never stood for",
			steps:    []step{m(relSample(time.Minute, "3.9.0", "r1"))},
			versions: []string{}, mismatch: 1, note: `the sample says version "3.9.0", the release's events "4.2.0"`},
		{name: "a late sample from before the reuse: the old version's",
			steps:    []step{m(relSample(-time.Hour, "", "r1"))},
			versions: []string{"4.1.0"}},
		{name: "once the new version completed, every pod runs it",
			steps: []step{ev(relEvent(2*time.Hour, "shop", "r1", "4.2.0", signals.EventCompleted)),
				m(relSample(time.Hour, "", "r1")), m(relSample(3*time.Hour, "", "r1"))},
			versions: []string{"4.2.0"}, reused: 1, note: "(reused_release)"},
		{name: "rolled back after it completed: ambiguous again",
			steps: []step{ev(relEvent(2*time.Hour, "shop", "r1", "4.2.0", signals.EventCompleted)),
				ev(relEvent(4*time.Hour, "shop", "r1", "4.2.0", signals.EventRolledBack)),
				m(relSample(5*time.Hour, "", "r1"))},
			versions: []string{}, reused: 1, note: "(reused_release)"},
		{name: "a late event of the old generation does not bring it back",
			steps: []step{ev(relEvent(-47*time.Hour, "shop", "r1", "4.1.0", signals.EventCompleted)),
				m(relSample(time.Minute, "4.2.0", "r1")), m(relSample(time.Minute, "", "r1"))},
			versions: []string{"4.2.0"}, reused: 1, note: "(reused_release)"},
		{name: "the old version deployed again under the id: a third generation",
			steps: []step{ev(relEvent(3*time.Hour, "shop", "r1", "4.1.0", signals.EventStarted)),
				m(relSample(2*time.Hour, "4.2.0", "r1")), m(relSample(4*time.Hour, "", "r1"))},
			versions: []string{"4.2.0"}, reused: 1, note: `reused for version "4.1.0" (was "4.2.0")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(defaultConfig(t), nil)
			for _, e := range history {
				d.Release(e)
			}
			for _, s := range tc.steps {
				if s.ev != nil {
					d.Release(*s.ev)
				} else {
					d.Metric(*s.m)
				}
			}
			d.Advance(t0.Add(6 * time.Hour))
			if got := storedVersions(d); fmt.Sprint(got) != fmt.Sprint(tc.versions) {
				t.Errorf("samples counted under versions %q, want %q", got, tc.versions)
			}
			st := d.Stats()
			if st.ReusedReleases != tc.reused || st.ReleaseMismatches != tc.mismatch || st.UnknownReleases != tc.unknown {
				t.Errorf("set aside: %d reused, %d mismatch, %d unknown; want %d, %d, %d", st.ReusedReleases, st.ReleaseMismatches, st.UnknownReleases, tc.reused, tc.mismatch, tc.unknown)
			}
			notes := d.SetAsideNotes()
			if tc.note == "" && len(notes) > 0 || tc.note != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.note)) {
				t.Errorf("notes %q, want one saying %q", notes, tc.note)
			}
		})
	}
	// Re-deploying the same id with the same version is no reuse: its
	// samples are that version's whichever pod sends them.
	d := New(defaultConfig(t), nil)
	d.Release(relEvent(0, "shop", "r2", "4.2.0", signals.EventStarted))
	d.Release(relEvent(time.Hour, "shop", "r2", "4.2.0", signals.EventRolledBack))
	d.Release(relEvent(3*time.Hour, "shop", "r2", "4.2.0", signals.EventStarted))
	d.Metric(relSample(4*time.Hour, "", "r2"))
	if got := fmt.Sprint(storedVersions(d)); got != "[4.2.0]" || d.Stats().ReusedReleases != 0 {
		t.Errorf("same id, same version re-deployed: counted under %s, %d set aside; want [4.2.0], none", got, d.Stats().ReusedReleases)
	}
	// An id is remembered with its last maxGenerations versions.
	for i := range 10 { // 4.2.0, then 5.0 … 5.9
		d.Release(relEvent(time.Duration(10+i)*time.Hour, "shop", "r2", fmt.Sprint("5.", i), signals.EventStarted))
	}
	if g := d.cohorts.services["shop"].by["r2"].gens; len(g) != maxGenerations || g[0].version != "5.2" || g[len(g)-1].version != "5.9" {
		t.Errorf("generations %+v, want the last %d", g, maxGenerations)
	}
}

// A reused id's generations survive a restart; a snapshot written before
// ids had generations (Release and Version only: main's format until
// now) still loads, the id standing for its saved version.
func TestSampleReleaseReusedAfterRestart(t *testing.T) {
	d := New(defaultConfig(t), nil)
	d.Release(relEvent(-48*time.Hour, "shop", "r1", "4.1.0", signals.EventStarted))
	d.Release(relEvent(-47*time.Hour, "shop", "r1", "4.1.0", signals.EventCompleted))
	d.Release(relEvent(0, "shop", "r1", "4.2.0", signals.EventStarted))
	d.Metric(relSample(-time.Minute, "", ""))
	d.Advance(t0.Add(time.Minute))
	data, err := d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	d2 := New(defaultConfig(t), nil)
	if err := d2.RestoreService("shop", data); err != nil {
		t.Fatal(err)
	}
	d2.Advance(t0.Add(time.Minute))
	d2.Metric(relSample(2*time.Minute, "", "r1"))
	d2.Metric(relSample(2*time.Minute, "4.1.0", "r1"))
	d2.Metric(relSample(-time.Hour, "", "r1"))
	if got := fmt.Sprint(storedVersions(d2)); got != "[4.1.0 4.1.0]" || d2.Stats().ReusedReleases != 1 {
		t.Errorf("after the restart counted under %q with %d reused set aside; want [4.1.0 4.1.0] and 1", got, d2.Stats().ReusedReleases)
	}

	// The snapshot as main wrote it: releases by id and version only.
	type previousRelease struct{ Release, Version string }
	type previous struct {
		Version   int
		AsOf      time.Time
		HourWidth time.Duration
		Releases  []previousRelease
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(previous{Version: snapshotVersion, AsOf: t0, HourWidth: time.Hour,
		Releases: []previousRelease{{"r0", "4.0.0"}, {"r1", "4.2.0"}}}); err != nil {
		t.Fatal(err)
	}
	d3 := New(defaultConfig(t), nil)
	if err := d3.RestoreService("shop", buf.Bytes()); err != nil {
		t.Fatalf("a snapshot of the previous format: %v", err)
	}
	d3.Metric(relSample(time.Minute, "", "r1"))
	d3.Metric(relSample(time.Minute, "", "r0"))
	d3.Metric(relSample(time.Minute, "4.1.0", "r1"))
	if got := fmt.Sprint(storedVersions(d3)); got != "[4.2.0 4.0.0]" || d3.Stats().ReleaseMismatches != 1 {
		t.Errorf("from the previous format: counted under %q, %d mismatches; want [4.2.0 4.0.0], 1", got, d3.Stats().ReleaseMismatches)
	}
	// And the previous release reads this one's snapshot as its own.
	var back previous
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&back); err != nil || fmt.Sprint(back.Releases) != "[{r1 4.2.0}]" {
		t.Errorf("the previous release reads releases %v (%v), want [{r1 4.2.0}]", back.Releases, err)
	}
}

// After a restart the rebuild replays the samples the process before had
// already set aside: they are not counted (nor noted) again. Samples held
// when it stopped, and those stored while it was down, are counted once.
// A held sample waits its grace from when the broker stored it, not from
// its own time: one from a client clock six minutes behind still meets its
// release event that comes after the restart, as it would have without
// the restart.
func TestSampleReleaseCountedOnceOverRestart(t *testing.T) {
	behind := func(at time.Duration, release string) signals.MetricSample {
		return relSample(at-6*time.Minute, "", release) // the client's clock is 6 minutes behind
	}
	started := relEvent(0, "shop", "r1", "4.2.0", signals.EventStarted)
	type in struct {
		stored time.Duration // when the broker stored it
		m      signals.MetricSample
	}
	before := []in{ // what the first process read
		{10 * time.Second, relSample(10*time.Second, "4.1.0", "r1")},                           // mismatch, set aside at once
		{20 * time.Second, relSample(20*time.Second, "", "bogus")},                             // unknown, set aside at 5m20s
		{6*time.Minute + 30*time.Second, relSample(6*time.Minute+30*time.Second, "", "bogus")}, // held when it stopped
	}
	down := []in{ // stored while no process ran
		{8 * time.Minute, relSample(8*time.Minute, "4.1.0", "r1")},
		{8*time.Minute + 10*time.Second, behind(8*time.Minute+10*time.Second, "r9")},
	}

	d1 := New(defaultConfig(t), nil)
	d1.Release(started)
	d1.Metric(relSample(0, "", "")) // the old cohort
	d1.Advance(t0)
	for i, x := range before {
		d1.Metric(x.m)
		d1.Advance(t0.Add(x.stored + time.Second))
		if i == 1 {
			d1.Advance(t0.Add(6 * time.Minute))
		}
	}
	d1.Advance(t0.Add(7 * time.Minute)) // the last tick; then saved and stopped
	if st := d1.Stats(); st.ReleaseMismatches != 1 || st.UnknownReleases != 1 || d1.cohorts.n != 1 {
		t.Fatalf("before the restart: %d mismatch, %d unknown, %d held; want 1, 1, 1", st.ReleaseMismatches, st.UnknownReleases, d1.cohorts.n)
	}
	d2 := restarted(t, d1, defaultConfig(t))
	d2.StoredAt(t0)
	d2.ReleaseAt(started, 1)
	for _, x := range append(before, down...) {
		d2.StoredAt(t0.Add(x.stored))
		d2.Metric(x.m)
	}
	d2.Advance(t0.Add(9 * time.Minute)) // the first tick after the restart
	d2.Release(relEvent(9*time.Minute+30*time.Second, "shop", "r9", "4.3.0", signals.EventStarted))
	d2.Advance(t0.Add(12 * time.Minute))
	st := d2.Stats()
	if st.ReleaseMismatches != 1 || st.UnknownReleases != 1 {
		t.Errorf("after the restart: %d mismatch, %d unknown set aside; want 1 (stored while down) and 1 (held when it stopped)", st.ReleaseMismatches, st.UnknownReleases)
	}
	notes := d2.SetAsideNotes()
	if len(notes) != 2 || !strings.Contains(notes[0], `1 metric sample(s) naming release "bogus"`) || !strings.Contains(notes[1], `1 metric sample(s) naming release "r1"`) {
		t.Errorf("notes after the restart %q, want one of each", notes)
	}
	var counted []string
	for _, v := range storedVersions(d2) {
		if v == "4.3.0" {
			counted = append(counted, v)
		}
	}
	if len(counted) != 1 {
		t.Errorf("the sample from a clock 6 minutes behind, stored a minute before the restart, was not counted when its release started after it")
	}
}
