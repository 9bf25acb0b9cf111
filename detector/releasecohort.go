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
//   - a release id reused for another version (an event naming the id
//     with a version other than its current one starts a new generation,
//     releaseInfo): a sample naming the id and a version the id ever
//     stood for is counted in that version — the version is what the pod
//     runs, so an old pod's sample is the old cohort's; one naming only
//     the id, from the new generation's first event until it completes,
//     is set aside (Stats.ReusedReleases, reason reused_release): the old
//     version's pods still name the id, and a canary judge compares
//     cohorts that are each one version (Kayenta's canary and baseline
//     are separate server groups) — counting the old pods' samples in the
//     new version would dilute the canary with the baseline. Before the
//     new generation began (a late sample), the id stood for the old
//     version only. A new version's first samples that come before its
//     event are counted in the old version: nothing tells them apart yet;
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
// aside the one of its that waited longest (makeRoom). Samples held before
// the first Advance (those a start-up rebuild replays) wait from when the
// broker stored them (StoredAt; from their own time when not known), not
// from the end of the rebuild; and the rebuild does not count again what
// the process before the restart had set aside when it saved the
// service's snapshot (setAside, serviceSnapshot.SetAsideAsOf).
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
	ReasonReusedRelease   = "reused_release"
)

// releaseCohorts is what the detector knows of releases for resolving
// samples, and the samples waiting for theirs.
type releaseCohorts struct {
	services map[string]*releaseVersions
	// stored is when the broker stored the message being applied
	// (StoredAt); counted, by service, the clock of its restored snapshot:
	// a start-up rebuild does not count again what was set aside by then.
	stored  time.Time
	counted map[string]time.Time
	held    map[string][]heldSample // by service, in the order they came
	n       int                     // samples held over all services
	now     time.Time               // the last Advance
	notes   map[noteKey]*setAsideNote
	dropped int // notes beyond maxSetAsideNotes
}

// releaseVersions are one service's releases: id → what its events
// said, in order of their latest event, oldest first.
type releaseVersions struct {
	by    map[string]*releaseInfo
	order []string
}

// releaseInfo is one release id's versions. A deploy system may reuse an
// id for another version (a re-deploy after a rollback, an id per
// environment): an event naming a version other than the id's current one,
// at or after the current generation began, starts a new generation. The
// old version's pods may still name the id, so from then on a sample
// naming only the id is ambiguous (reused_release) until the new version
// has completed its rollout (every pod then runs it); one that names its
// version too is counted in that version when the id ever had it.
type releaseInfo struct {
	gens []releaseGen // oldest first; the last is the current one
}

// releaseGen is one version a release id stood for.
type releaseGen struct {
	version string    // "" while its events named none
	from    time.Time // its first event (zero for the id's first generation)
	// settled is the generation's completed event: from then on every pod
	// naming the id runs its version (zero: not completed, or rolled
	// back or fixed forward since).
	settled time.Time
}

// maxGenerations bounds the versions remembered per release id.
const maxGenerations = 8

// current is the version the release id's latest generation stands for.
func (r *releaseInfo) current() string { return r.gens[len(r.gens)-1].version }

// apply folds one event of the release into its generations.
func (r *releaseInfo) apply(ev signals.ReleaseEvent) {
	cur := &r.gens[len(r.gens)-1]
	switch r.generation(ev) { // reusedwatch.go: the watches follow the same rule
	case genNew:
		// Another version under the same id: a new generation.
		r.gens = append(r.gens, releaseGen{version: ev.Version, from: ev.Time})
		if len(r.gens) > maxGenerations {
			r.gens = slices.Delete(r.gens, 0, len(r.gens)-maxGenerations)
		}
		return
	case genLate:
		return // an event of an earlier generation, come late
	}
	if cur.version == "" {
		cur.version = ev.Version // the first version its events name
	}
	switch ev.Event {
	case signals.EventCompleted:
		if cur.settled.IsZero() && !ev.Time.Before(cur.from) {
			cur.settled = ev.Time
		}
	case signals.EventRolledBack, signals.EventFixedForward:
		if !ev.Time.Before(cur.from) {
			cur.settled = time.Time{} // the old version's pods may be back
		}
	}
}

// resolve gives the version a sample naming the release (and maybe a
// version) is counted in, or the reason it is set aside and why.
func (r *releaseInfo) resolve(m *signals.MetricSample) (version, reason, detail string) {
	cur := r.current()
	if len(r.gens) == 1 && cur == "" {
		return "", ReasonUnknownRelease, "its release events name no version, so its samples cannot be told from the old cohort's"
	}
	if m.Version != "" {
		for _, g := range r.gens {
			if g.version == m.Version {
				return m.Version, "", ""
			}
		}
		return "", ReasonReleaseMismatch, fmt.Sprintf("the sample says version %q, the release's events %q", m.Version, cur)
	}
	i := len(r.gens) - 1
	for i > 0 && m.Time.Before(r.gens[i].from) {
		i--
	}
	g := r.gens[i]
	if i == 0 || !g.settled.IsZero() && !m.Time.Before(g.settled) {
		return g.version, "", ""
	}
	return "", ReasonReusedRelease, fmt.Sprintf("the release id was reused for version %q (was %q) at %s: the old version's pods and the new one's cannot be told apart until it completes; name the version beside the release",
		g.version, r.gens[i-1].version, g.from.UTC().Format(time.RFC3339))
}

type heldSample struct {
	m     signals.MetricSample
	since time.Time // the detector's clock when it was held (zero: not advanced yet)
	// arrived is when the broker stored it, for one held before the first
	// Advance (a start-up rebuild, StoredAt); zero when not known.
	arrived time.Time
}

type noteKey struct{ service, release, reason string }

type setAsideNote struct {
	n      int
	detail string
}

// releaseSnapshot is one remembered release in a service's snapshot:
// its current version, and (when the id was reused for another version)
// when that generation began and completed, and the earlier ones. A
// snapshot written before ids were told apart by generation has Release
// and Version only, and a process of that release reads these as such.
type releaseSnapshot struct {
	Release, Version string
	From, Settled    time.Time
	Earlier          []genSnapshot
}

// genSnapshot is an earlier generation of a reused release id.
type genSnapshot struct {
	Version       string
	From, Settled time.Time
}

// learnRelease remembers the version of ev's release and lets the samples
// held for it through.
func (d *Detector) learnRelease(ev signals.ReleaseEvent) {
	if ev.Release == "" || ev.Service == "" {
		return
	}
	c := &d.cohorts
	c.learn(ev, d.cfg.MaxServices)
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

// learn folds a release event into what its service's releases stand for.
func (c *releaseCohorts) learn(ev signals.ReleaseEvent, maxServices int) {
	rv := c.releases(ev.Service, maxServices)
	if rv == nil {
		return
	}
	if r := rv.by[ev.Release]; r != nil {
		r.apply(ev)
		// the newest event's release is forgotten last
		if i := slices.Index(rv.order, ev.Release); i >= 0 && i < len(rv.order)-1 {
			rv.order = append(slices.Delete(rv.order, i, i+1), ev.Release)
		}
		return
	}
	rv.add(ev.Release, &releaseInfo{gens: []releaseGen{{version: ev.Version}}})
}

// releases are a service's remembered releases, made on first use (nil
// beyond maxServices).
func (c *releaseCohorts) releases(service string, maxServices int) *releaseVersions {
	rv := c.services[service]
	if rv == nil {
		if c.services == nil {
			c.services = map[string]*releaseVersions{}
		}
		if maxServices > 0 && len(c.services) >= maxServices {
			return nil
		}
		rv = &releaseVersions{by: map[string]*releaseInfo{}}
		c.services[service] = rv
	}
	return rv
}

// add remembers a release not known yet, forgetting the oldest beyond
// maxReleasesPerService.
func (rv *releaseVersions) add(release string, r *releaseInfo) {
	rv.by[release] = r
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
	var r *releaseInfo
	if rv := c.services[m.Service]; rv != nil {
		r = rv.by[m.Release]
	}
	if r == nil {
		if c.n >= maxHeldSamples {
			d.makeRoom(m.Service)
		}
		if c.held == nil {
			c.held = map[string][]heldSample{}
		}
		h := heldSample{m: *m, since: c.now}
		if c.now.IsZero() {
			h.arrived = c.stored
		}
		c.held[m.Service] = append(c.held[m.Service], h)
		c.n++
		return false
	}
	version, reason, detail := r.resolve(m)
	if reason == "" {
		m.Version = version
		return true
	}
	var decided time.Time // live: now, counted
	if c.now.IsZero() {
		decided = c.stored // a rebuild: when the process before decided it
	}
	d.setAside(m.Service, m.Release, reason, detail, decided)
	return false
}

// setAside counts a sample set aside for the release it names, and notes
// why — unless a start-up rebuild replays one the process before the
// restart had set aside (and exported, and logged) by the time its
// snapshot was saved: decided is when that process set it aside (zero:
// not known, or live), and its snapshot's clock (setAsideAsOf) says up to
// when it had.
func (d *Detector) setAside(service, release, reason, detail string, decided time.Time) {
	c := &d.cohorts
	if asOf := c.counted[service]; !decided.IsZero() && !asOf.IsZero() && !decided.After(asOf) {
		return
	}
	switch reason {
	case ReasonUnknownRelease:
		d.stats.UnknownReleases++
	case ReasonReleaseMismatch:
		d.stats.ReleaseMismatches++
	case ReasonReusedRelease:
		d.stats.ReusedReleases++
	}
	c.note(service, release, reason, detail)
}

// expired is when the process before a restart set aside a held sample
// the rebuild replayed, had it waited its whole grace there (zero: not
// known, or held live).
func (h heldSample) expired() time.Time {
	if h.arrived.IsZero() {
		return time.Time{}
	}
	return h.arrived.Add(releaseGrace)
}

// StoredAt tells the detector when the broker stored the stream message
// it is given next, on the detector's clock; the pipeline calls it before
// each message. Before the first Advance (a start-up rebuild, and what
// comes before its first tick) it matters twice: a sample held for its
// release event waits its grace from when it arrived, not from its own
// time (a client clock minutes behind would otherwise have it set aside
// at the first Advance, where live it would have waited), and what the
// process before the restart had set aside by the time its snapshot was
// saved is not counted, noted or logged again. After, it changes nothing.
func (d *Detector) StoredAt(t time.Time) { d.cohorts.stored = t }

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
	d.setAside(o.m.Service, o.m.Release, ReasonUnknownRelease, fmt.Sprintf("no release event of service %s named it while it was its oldest of the %d samples waiting for theirs", o.m.Service, maxHeldSamples), o.expired())
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
			// the grace runs from when the broker stored it (StoredAt),
			// else from the sample's time. A release event stored within
			// the grace after it was replayed too, so one that arrived
			// longer than the grace ago waits for nothing.
			from := h.arrived
			if from.IsZero() {
				from = h.m.Time
			}
			h.since = minTime(from, now)
		}
		if now.Sub(h.since) < releaseGrace {
			kept = append(kept, h)
			continue
		}
		c.n--
		d.setAside(h.m.Service, h.m.Release, ReasonUnknownRelease, fmt.Sprintf("no release event of service %s named it within %s", h.m.Service, releaseGrace), h.expired())
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

// snapshot is a service's remembered releases, oldest first.
func (c *releaseCohorts) snapshot(service string) []releaseSnapshot {
	rv := c.services[service]
	if rv == nil {
		return nil
	}
	out := make([]releaseSnapshot, 0, len(rv.order))
	for _, id := range rv.order {
		gens := rv.by[id].gens
		cur := gens[len(gens)-1]
		rs := releaseSnapshot{Release: id, Version: cur.version, From: cur.from, Settled: cur.settled}
		for _, g := range gens[:len(gens)-1] {
			rs.Earlier = append(rs.Earlier, genSnapshot{Version: g.version, From: g.from, Settled: g.settled})
		}
		out = append(out, rs)
	}
	return out
}

// restoreReleases remembers a service's releases from its snapshot: the
// remembered ones, then those of its restored watches (a snapshot made
// before releases were remembered has only these: the releases of the
// events the start-up replays are learnt again, ReleaseAt, but a closed
// release whose last event is older than that replay stays unknown; its
// samples are set aside, never miscounted — README).
func (d *Detector) restoreReleases(service string, rs []releaseSnapshot, ws []watchSnapshot) {
	c := &d.cohorts
	for _, r := range rs {
		rv := c.releases(service, d.cfg.MaxServices)
		if rv == nil {
			return
		}
		info := &releaseInfo{}
		for _, g := range r.Earlier {
			info.gens = append(info.gens, releaseGen{version: g.Version, from: g.From, settled: g.Settled})
		}
		info.gens = append(info.gens, releaseGen{version: r.Version, from: r.From, settled: r.Settled})
		if len(info.gens) > maxGenerations {
			info.gens = info.gens[len(info.gens)-maxGenerations:]
		}
		if _, ok := rv.by[r.Release]; ok {
			continue // listed twice: the first word stands
		}
		rv.add(r.Release, info)
	}
	for _, w := range ws {
		if w.Event.Service == service && w.Event.Release != "" {
			c.learn(w.Event, d.cfg.MaxServices)
		}
	}
}

// restoreCounted remembers up to when a restored service's set-aside
// samples were counted by the process that saved it.
func (c *releaseCohorts) restoreCounted(service string, asOf time.Time) {
	if asOf.IsZero() {
		return
	}
	if c.counted == nil {
		c.counted = map[string]time.Time{}
	}
	c.counted[service] = asOf
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
