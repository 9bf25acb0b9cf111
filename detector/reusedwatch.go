package detector

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Watches of a reused release id. Watches are kept by release id and ring,
// but a deploy system may reuse an id for another version (a re-deploy
// after a rollback, an id per environment; releaseInfo). A release event
// naming the id with a version other than the one the id stands for, at or
// after that version's first event, is a new generation of the id (the
// same rule the samples that name the id follow, releasecohort.go). When
// it is a start (started or promoted: a reused id's rollout starts so):
//
//   - the open watches of the old version end at the event with a final
//     verdict that says so ("replaced by version 4.3.0 under the same
//     release id …") and takes no action: a halt, a flag switch-off or a
//     review of the old version would reach the deploy system as one of
//     the release id, whose rollout is now the new version's. A soak of
//     the old version is ended this way, never as a promotion, and its
//     evidence and baseline are not carried to the new version's ring;
//   - a start (started or promoted) then opens a fresh watch of the new
//     version on its ring, with its own baseline (a start of a new
//     release), even on the ring the old version was watched on — before,
//     that start was dropped as a duplicate and the new version was never
//     judged;
//   - every watch opened for a release id that named other versions before
//     gives a first verdict, wait, at its start (opening): the gate keeps
//     the latest verdict per release id and ring, and would otherwise
//     answer for the new version from the old version's verdict on that
//     ring until the new watch's first evaluation;
//   - a late event of an earlier version (before the current version's
//     first event) changes no watch: a late rolled_back of the old version
//     does not close the new version's watches.
//
// Another event naming another version (a completed, an exposure) acts on
// the open watches as any event of the release does: a version spelt
// differently ("v4.2.0") must not end a watch with none to follow. An
// event that names no version belongs to the id's current version.

// Generations of a release event against its release id (releaseInfo).
const (
	genSame = iota // the version the id stands for, or no version named
	genNew         // another version, at or after the current one began
	genLate        // another version, before the current one began
)

// generation tells how ev stands to the version its release id stands for.
func (r *releaseInfo) generation(ev signals.ReleaseEvent) int {
	cur := r.gens[len(r.gens)-1]
	switch {
	case ev.Version == "" || cur.version == "" || ev.Version == cur.version:
		return genSame
	case !ev.Time.Before(cur.from):
		return genNew
	default:
		return genLate
	}
}

// info is what is remembered of a service's release id, nil when nothing.
func (c *releaseCohorts) info(service, release string) *releaseInfo {
	if rv := c.services[service]; rv != nil {
		return rv.by[release]
	}
	return nil
}

// otherVersions lists the versions ev's release id stood for other than
// ev's, oldest first.
func (c *releaseCohorts) otherVersions(ev signals.ReleaseEvent) []string {
	r := c.info(ev.Service, ev.Release)
	if r == nil || ev.Version == "" {
		return nil
	}
	var out []string
	for _, g := range r.gens {
		if g.version != "" && g.version != ev.Version && !slices.Contains(out, g.version) {
			out = append(out, g.version)
		}
	}
	return out
}

// generation tells how a release event stands to the version its id's
// watches judge: by the id's remembered generations, or, when the id is
// not remembered (beyond max_services), by its open watches' version.
func (d *Detector) generation(ev signals.ReleaseEvent) int {
	if ev.Release == "" || ev.Version == "" {
		return genSame
	}
	if r := d.cohorts.info(ev.Service, ev.Release); r != nil {
		return r.generation(ev)
	}
	for _, k := range d.order {
		w := d.watches[k]
		if k.release != ev.Release || w.closed || w.ev.Service != ev.Service || w.ev.Version == "" || w.ev.Version == ev.Version {
			continue
		}
		if ev.Time.Before(w.start) {
			return genLate
		}
		return genNew
	}
	return genSame
}

// replace ends the open watches of ev's release that judge another
// version than ev's, with a final verdict that takes no action, and
// returns the versions they judged.
func (d *Detector) replace(ev signals.ReleaseEvent) []string {
	var was []string
	for _, k := range d.order {
		w := d.watches[k]
		if k.release != ev.Release || w.closed || w.ev.Service != ev.Service || w.ev.Version == ev.Version {
			continue
		}
		w.replacedBy = ev.Version
		if d.cohorts.now.IsZero() && (w.re == nil || !w.re.restored) {
			// In a start-up replay (no Advance yet): Rebuilt drops what
			// this re-opened watch says, as it does for those still open.
			if d.replacedReopened == nil {
				d.replacedReopened = map[versionKey]bool{}
			}
			d.replacedReopened[versionKey{k, w.ev.Version}] = true
		}
		what := "watch"
		if w.soaking {
			what = "soak watch"
		}
		d.finish(w, ev.Time, fmt.Sprintf("replaced by version %s under the same release id %s at %s: the %s of version %s on %s ends here",
			ev.Version, ev.Release, ev.Time.UTC().Format(time.RFC3339), what, w.ev.Version, w.ring.Name))
		if !slices.Contains(was, w.ev.Version) {
			was = append(was, w.ev.Version)
		}
	}
	return was
}

// opening gives the first verdict of a watch whose release id named other
// versions before: wait, at the watch's start, naming its version, so the
// gate does not answer for it from an earlier version's verdict on the
// ring.
func (d *Detector) opening(w *watch, earlier []string) {
	var others []string
	for _, v := range earlier {
		if v != w.ev.Version && !slices.Contains(others, v) {
			others = append(others, v)
		}
	}
	if len(others) == 0 {
		return
	}
	d.pending.Verdicts = append(d.pending.Verdicts, signals.Verdict{
		Type: signals.TypeVerdict, Time: w.start, Release: w.ev.Release, Service: w.ev.Service, Version: w.ev.Version,
		Ring: w.ring.Name, Decision: signals.DecisionWait, Action: signals.ActionNone,
		Reasons: []string{fmt.Sprintf("release id %s now names version %s (before: %s): the watch of version %s on %s starts at %s; no verdict of this version yet",
			w.ev.Release, w.ev.Version, strings.Join(others, ", "), w.ev.Version, w.ring.Name, w.start.UTC().Format(time.RFC3339))},
		Team: w.ev.Team, Authors: w.ev.Authors,
	})
}
