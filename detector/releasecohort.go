package detector

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Samples that name a release. A metric sample may name its cohort by the
// release id of the release events (signals.MetricSample.Release, the
// push's {"release":"r123",…} of INTERFACES.md §8) instead of, or beside,
// the version. The detector tells the cohorts apart by version
// (watch.isCanary), so it resolves the release to the version that
// release's events named, for the sample's service:
//
//   - a known release with a version: the sample is that version's (and
//     is counted exactly as if it had named the version);
//   - a version given beside the release that disagrees with the
//     release's: set aside (Stats.ReleaseMismatches, reason
//     release_mismatch) — which of the two is wrong cannot be told, and
//     counted in either cohort it could be in the wrong one;
//   - a release not known yet: held, because the release events and the
//     samples come over separate streams and a new version's first samples
//     may come a little before its "started" event. A release event naming
//     it within releaseGrace (of the detector's clock, Advance) lets the
//     held samples through in their order, as samples that came late; after
//     that they are set aside (Stats.UnknownReleases, reason
//     unknown_release), as is a sample of a release whose events name no
//     version. Nothing is ever counted in the old cohort for want of a
//     release.
//
// At most maxHeldSamples wait; beyond, the service holding the most sets
// aside the one of its that waited longest (makeRoom). Samples held before the first Advance (those a start-up rebuild
// replays) wait from their own time, not from the end of the rebuild.
//
// The releases seen are remembered per service (the last
// maxReleasesPerService by their latest event), saved in the service's snapshot and learnt again
// from restored watches, so samples naming a release that started before a
// restart — or an older release whose version still serves as the old
// cohort — are resolved after it.

// releaseGrace is how long a sample naming a release nobody announced yet
// is held for its release event.
const releaseGrace = 5 * time.Minute

// Bounds on what is held and remembered.
const (
	maxHeldSamples        = 20000 // samples waiting for their release, over all services
	maxReleasesPerService = 256
	maxSetAsideNotes      = 50 // distinct (service, release, reason) notes between two SetAsideNotes
)

// Set-aside reasons of samples naming a release (aftershock_detector_set_aside_total).
const (
	ReasonUnknownRelease  = "unknown_release"
	ReasonReleaseMismatch = "release_mismatch"
)

// releaseCohorts is what the detector knows of releases for resolving
// samples, and the samples waiting for theirs.
type releaseCohorts struct {
	services map[string]*releaseVersions
	held     map[string][]heldSample // by service, in the order they came
	n        int                     // samples held over all services
	now      time.Time               // the last Advance
	notes    map[noteKey]*setAsideNote
	dropped  int // notes beyond maxSetAsideNotes
}

// releaseVersions are one service's releases: id → version ("" when its
// events named none), in order of their latest event, oldest first.
type releaseVersions struct {
	by    map[string]string
	order []string
}

type heldSample struct {
	m     signals.MetricSample
	since time.Time // the detector's clock when it was held (zero: not advanced yet)
}

type noteKey struct{ service, release, reason string }

type setAsideNote struct {
	n      int
	detail string
}

// releaseSnapshot is one remembered release in a service's snapshot.
type releaseSnapshot struct {
	Release, Version string
}

// learnRelease remembers the version of ev's release and lets the samples
// held for it through.
func (d *Detector) learnRelease(ev signals.ReleaseEvent) {
	if ev.Release == "" || ev.Service == "" {
		return
	}
	c := &d.cohorts
	c.learn(ev.Service, ev.Release, ev.Version, d.cfg.MaxServices)
	hs := c.held[ev.Service]
	if len(hs) == 0 {
		return
	}
	var ready []signals.MetricSample
	kept := hs[:0]
	for _, h := range hs {
		if h.m.Release == ev.Release {
			ready = append(ready, h.m)
			continue
		}
		kept = append(kept, h)
	}
	clear(hs[len(kept):])
	c.setHeld(ev.Service, kept)
	c.n -= len(ready)
	for _, m := range ready {
		d.Metric(m)
	}
}

func (c *releaseCohorts) learn(service, release, version string, maxServices int) {
	rv := c.services[service]
	if rv == nil {
		if c.services == nil {
			c.services = map[string]*releaseVersions{}
		}
		if maxServices > 0 && len(c.services) >= maxServices {
			return
		}
		rv = &releaseVersions{by: map[string]string{}}
		c.services[service] = rv
	}
	if old, ok := rv.by[release]; ok {
		if version != "" && version != old {
			rv.by[release] = version // the latest event's word
		}
		// the newest event's release is forgotten last
		if i := slices.Index(rv.order, release); i >= 0 && i < len(rv.order)-1 {
			rv.order = append(slices.Delete(rv.order, i, i+1), release)
		}
		return
	}
	rv.by[release] = version
	rv.order = append(rv.order, release)
	if len(rv.order) > maxReleasesPerService {
		delete(rv.by, rv.order[0])
		rv.order = append(rv.order[:0], rv.order[1:]...)
	}
}

// resolveRelease gives the sample the version of the release it names. It
// reports false when the sample is held or set aside instead.
func (d *Detector) resolveRelease(m *signals.MetricSample) bool {
	c := &d.cohorts
	version, known := "", false
	if rv := c.services[m.Service]; rv != nil {
		version, known = rv.by[m.Release]
	}
	switch {
	case !known:
		if c.n >= maxHeldSamples {
			d.makeRoom(m.Service)
		}
		if c.held == nil {
			c.held = map[string][]heldSample{}
		}
		c.held[m.Service] = append(c.held[m.Service], heldSample{m: *m, since: c.now})
		c.n++
		return false
	case version == "":
		d.stats.UnknownReleases++
		c.note(m.Service, m.Release, ReasonUnknownRelease, "its release events name no version, so its samples cannot be told from the old cohort's")
		return false
	case m.Version != "" && m.Version != version:
		d.stats.ReleaseMismatches++
		c.note(m.Service, m.Release, ReasonReleaseMismatch, fmt.Sprintf("the sample says version %q, the release's events %q", m.Version, version))
		return false
	}
	m.Version = version
	return true
}

// makeRoom sets aside one held sample when the queue is full: the oldest of
// the service holding the most (service, the one whose sample comes, when
// it holds as many). So a producer flooding the queue with samples naming
// no release, or a rebuild replaying a day of them, pushes out its own
// oldest — the least likely to see their release event — not a new
// release's first samples, nor another service's.
func (d *Detector) makeRoom(service string) {
	c := &d.cohorts
	most, size := service, len(c.held[service])
	for s, hs := range c.held {
		// On a tie the coming sample's service gives, else the first by name.
		if len(hs) > size || len(hs) == size && most != service && s < most {
			most, size = s, len(hs)
		}
	}
	hs := c.held[most]
	if len(hs) == 0 {
		return
	}
	o := hs[0]
	hs[0] = heldSample{}
	c.setHeld(most, hs[1:])
	c.n--
	d.stats.UnknownReleases++
	c.note(o.m.Service, o.m.Release, ReasonUnknownRelease, fmt.Sprintf("no release event of service %s named it while it was its oldest of the %d samples waiting for theirs", o.m.Service, maxHeldSamples))
}

// setHeld sets a service's held samples, forgetting it when none is left.
func (c *releaseCohorts) setHeld(service string, hs []heldSample) {
	if len(hs) == 0 {
		delete(c.held, service)
		return
	}
	c.held[service] = hs
}

// expireHeld sets aside the held samples whose release was not announced
// within releaseGrace; Advance calls it first.
func (d *Detector) expireHeld(now time.Time) {
	c := &d.cohorts
	c.now = now
	if c.n == 0 {
		return
	}
	services := make([]string, 0, len(c.held))
	for s := range c.held {
		services = append(services, s)
	}
	sort.Strings(services) // the same notes kept, run after run
	for _, s := range services {
		d.expireService(s, now)
	}
}

func (d *Detector) expireService(service string, now time.Time) {
	c := &d.cohorts
	hs := c.held[service]
	kept := hs[:0]
	for _, h := range hs {
		if h.since.IsZero() {
			// Held before the first Advance (a start-up rebuild, a replay):
			// the grace runs from the sample's time. A release event stored
			// within the grace after it was replayed too, so one older
			// than the grace waits for nothing.
			h.since = minTime(h.m.Time, now)
		}
		if now.Sub(h.since) < releaseGrace {
			kept = append(kept, h)
			continue
		}
		d.stats.UnknownReleases++
		c.n--
		c.note(h.m.Service, h.m.Release, ReasonUnknownRelease, fmt.Sprintf("no release event of service %s named it within %s", h.m.Service, releaseGrace))
	}
	clear(hs[len(kept):])
	c.setHeld(service, kept)
}

func (c *releaseCohorts) note(service, release, reason, detail string) {
	k := noteKey{service, release, reason}
	if n := c.notes[k]; n != nil {
		n.n++
		return
	}
	if len(c.notes) >= maxSetAsideNotes {
		c.dropped++
		return
	}
	if c.notes == nil {
		c.notes = map[noteKey]*setAsideNote{}
	}
	c.notes[k] = &setAsideNote{n: 1, detail: detail}
}

// SetAsideNotes returns, one line each, the metric samples set aside since
// the last call for the release they name (unknown, or disagreeing with
// their version), sorted, and forgets them; for the log.
func (d *Detector) SetAsideNotes() []string {
	c := &d.cohorts
	if len(c.notes) == 0 && c.dropped == 0 {
		return nil
	}
	out := make([]string, 0, len(c.notes)+1)
	for k, n := range c.notes {
		out = append(out, fmt.Sprintf("service %s: %d metric sample(s) naming release %q set aside (%s): %s", k.service, n.n, k.release, k.reason, n.detail))
	}
	sort.Strings(out)
	if c.dropped > 0 {
		out = append(out, fmt.Sprintf("and %d more metric sample(s) naming other releases set aside", c.dropped))
	}
	clear(c.notes)
	c.dropped = 0
	return out
}

// releaseSnapshots are a service's remembered releases, oldest first.
func (c *releaseCohorts) snapshot(service string) []releaseSnapshot {
	rv := c.services[service]
	if rv == nil {
		return nil
	}
	out := make([]releaseSnapshot, 0, len(rv.order))
	for _, r := range rv.order {
		out = append(out, releaseSnapshot{Release: r, Version: rv.by[r]})
	}
	return out
}

// restoreReleases remembers a service's releases from its snapshot: the
// remembered ones, then those of its restored watches (a snapshot made
// before releases were remembered has only these).
func (d *Detector) restoreReleases(service string, rs []releaseSnapshot, ws []watchSnapshot) {
	for _, r := range rs {
		d.cohorts.learn(service, r.Release, r.Version, d.cfg.MaxServices)
	}
	for _, w := range ws {
		if w.Event.Service == service && w.Event.Release != "" {
			d.cohorts.learn(service, w.Event.Release, w.Event.Version, d.cfg.MaxServices)
		}
	}
}

// HeldNotes returns, one line per service and release, the metric samples
// still held for a release event that has not come, sorted: what a replay
// whose input ends within their grace would otherwise drop without a word.
func (d *Detector) HeldNotes() []string {
	type key struct{ service, release string }
	n := map[key]int{}
	for service, hs := range d.cohorts.held {
		for _, h := range hs {
			n[key{service, h.m.Release}]++
		}
	}
	out := make([]string, 0, len(n))
	for k, c := range n {
		out = append(out, fmt.Sprintf("service %s: %d metric sample(s) naming release %q still waited for its release event; not counted", k.service, c, k.release))
	}
	sort.Strings(out)
	return out
}
