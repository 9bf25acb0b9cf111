package detector

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Exposure: how much of the release's own voice a ring should have.
//
// Store reviews carry the app version they were written on, so the
// reviews of the new version are the release's own voice (they count in
// release_complaints, see reviewsWatchedVersion). How many of them to
// expect depends on how many users have the new version: the phase of a
// store rollout — the App Store's phased release goes 1, 2, 5, 10, 20, 50,
// 100 % over seven days, a Play staged rollout has its userFraction. The
// store notifiers report it as exposure release events (the daemon reads
// the stores, see deploy/storephase); a deploy system may send them too.
//
// For a watch of a service with store reviews, the expectation of the
// release_complaints chart in each bucket is raised to at least
//
//	e_text + max(exposure × r_neg × m × f, o_neg × p_new)
//
// where e_text is the chart's own expectation from the baseline (rate of
// complaints naming a release), r_neg the baseline rate of negative store
// reviews of any version per minute, m × f the bucket's minutes times the
// hour-of-week factor, o_neg the odds of a store review being negative in
// the baseline (negative over other reviews) and p_new the bucket's other
// (not negative) reviews of the new version. In words: if the new version
// is no worse than the old one, its users write their share (the
// exposure) of the negative reviews; and for every other review of the new
// version there are as many negative ones as the app's reviews usually
// have. The second term covers more users on the new version than the
// phase says (App Store users can update by hand at any phase); it is
// taken from the reviews that are not complaints, so a wave of complaints
// does not raise its own expectation. A rise over both is the new
// version's. The chart's threshold is re-read from the false-alarm
// budget for the raised rate whenever the exposure changes (thresholds),
// so the budget holds at 50 % exposure as it did at 1 %.
//
// The ring's exposure (ringWeights: a ring under 5 % weighs the release's
// own voice most) follows the reported exposure too. Without a report the
// exposure term is left out (a ring's configured exposure says whom it
// reaches in the end, not how far a store rollout has got) and the
// configured exposure weighs the groups as before. Services without store
// reviews in the baseline are judged exactly as before.

// maxExposureChanges bounds a watch's exposure history (a phased release
// has seven days; a staged rollout a handful of steps).
const maxExposureChanges = 64

type exposureChange struct {
	at    time.Time
	share float64
}

// phase is a watch's exposure: its reported changes, the review baseline
// and the exposure the release chart's threshold is tuned for.
type phase struct {
	changes []exposureChange
	base    *reviewBaseline
	tuned   float64
}

type reviewBaseline struct {
	ok      bool // the service had store reviews in the baseline
	negRate float64
	negOdds float64
}

// countReview counts a store review (a post with its app version) in the
// service's review series: posts = reviews, negative = negative reviews,
// release/releaseNeg = reviews of a watched version. Copies of recent
// texts count as reviews, not as complaints.
func (d *Detector) countReview(p signals.Post, neg, repeat bool) {
	if p.AppVersion == "" {
		return
	}
	if d.reviews == nil {
		d.reviews = map[string]*series{}
	}
	rs := d.reviews[p.Service]
	if rs == nil {
		rs = newSeries(d.cfg.Bucket, d.span)
		d.reviews[p.Service] = rs
	}
	b := rs.at(p.Time)
	if b == nil {
		return
	}
	if rs.first.IsZero() || p.Time.Before(rs.first) {
		rs.first = p.Time
	}
	b.posts++
	if repeat {
		return
	}
	if neg {
		b.negative++
	}
	if d.reviewsWatchedVersion(p) {
		b.release++
		if neg {
			b.releaseNeg++
		}
	}
}

// setExposure records a reported exposure of a watch from ev (an exposure
// event, or a start or promotion that carries one).
func (d *Detector) setExposure(w *watch, ev signals.ReleaseEvent) {
	if ev.Exposure <= 0 || ev.Exposure > 1 || w.closed {
		return
	}
	p := &w.phase
	if n := len(p.changes); n > 0 && ev.Time.Before(p.changes[n-1].at) {
		return // out of order: the newer report stands
	}
	p.changes = append(p.changes, exposureChange{at: ev.Time, share: ev.Exposure})
	if len(p.changes) > maxExposureChanges {
		p.changes = p.changes[len(p.changes)-maxExposureChanges:]
	}
	w.ring.Exposure = ev.Exposure
}

// exposureEvent applies an exposure event to the release's open watches
// of its ring (every open watch of the release when it names none).
func (d *Detector) exposureEvent(ev signals.ReleaseEvent) {
	for _, k := range d.order {
		if w := d.watches[k]; k.release == ev.Release && (ev.Ring == "" || k.ring == ev.Ring) {
			d.setExposure(w, ev)
		}
	}
}

// exposureAt is the watch's reported exposure at t: the last report at or
// before t, else the first report (the phase began before it was
// reported); 0 without a report.
func (w *watch) exposureAt(t time.Time) float64 {
	ch := w.phase.changes
	if len(ch) == 0 {
		return 0
	}
	e := ch[0].share
	for _, c := range ch {
		if c.at.After(t) {
			break
		}
		e = c.share
	}
	return e
}

// reviewExpectation raises the release chart's expectation eRel of the
// bucket at t (mf: its minutes times the hour-of-week factor) to what the
// exposure predicts for the new version's store reviews, and retunes the
// chart's threshold when the exposure changed. Called by fold with the
// watch's baseline in place.
func (d *Detector) reviewExpectation(w *watch, t time.Time, mf, eRel float64) float64 {
	rb := d.reviewBase(w)
	if !rb.ok {
		return eRel
	}
	e := w.exposureAt(t)
	if e != w.phase.tuned {
		d.retuneRelease(w, e*rb.negRate)
		w.phase.tuned = e
	}
	var other float64 // reviews of the new version that are not complaints
	if rs := d.reviews[w.ev.Service]; rs != nil {
		b, _ := rs.sum(t, t.Add(d.cfg.Bucket))
		other = float64(b.release - b.releaseNeg)
	}
	reviews := max(e*rb.negRate*mf, rb.negOdds*other)
	return max(eRel, w.base.relRate*mf+reviews)
}

// reviewBase is the service's store reviews in the watch's baseline hours
// (computed once, with the watch's baseline).
func (d *Detector) reviewBase(w *watch) reviewBaseline {
	if w.phase.base != nil {
		return *w.phase.base
	}
	rb := reviewBaseline{}
	if rs := d.reviews[w.ev.Service]; rs != nil && w.base != nil && w.base.ok && w.base.minutes > 0 {
		sum, _ := rs.sum(w.base.from, w.base.to())
		if sum.posts > 0 {
			rb.ok = true
			rb.negRate = (float64(sum.negative) + 0.5) / w.base.minutes
			rb.negOdds = (float64(sum.negative) + 0.5) / (float64(sum.posts-sum.negative) + 0.5)
		}
	}
	w.phase.base = &rb
	return rb
}

// retuneRelease sets the release chart's thresholds for its baseline rate
// plus extra per minute, with the same false-alarm budget as every chart
// (thresholds, read on a copy of the baseline).
func (d *Detector) retuneRelease(w *watch, extra float64) {
	b := *w.base
	b.relRate += extra
	tmp := watch{base: &b}
	d.thresholds(&tmp)
	c, t := &w.charts[chRelease], &tmp.charts[chRelease]
	c.h, c.hSoak, c.minX = t.h, t.hSoak, t.minX
}

// exposureNote says, for a failing release chart (c, alarm since its
// from), what the new version's store reviews were expected at: the
// reported store exposure over the alarm (each change in it), or that no
// exposure was reported. "" for a service without store reviews in the
// baseline, whose chart the reviews do not move.
func (d *Detector) exposureNote(w *watch, c *chart, until time.Time) string {
	j := c.alarm()
	if j < 0 || w.phase.base == nil || !w.phase.base.ok {
		return ""
	}
	if len(w.phase.changes) == 0 {
		return "; judged with no store exposure reported (expected from the new version's other reviews only)"
	}
	from := c.from[j]
	e := w.exposureAt(from)
	note := fmt.Sprintf("; judged at a store exposure of %s", percent(e))
	for _, ch := range w.phase.changes {
		if ch.at.After(from) && ch.at.Before(until) && ch.share != e {
			e = ch.share
			note += fmt.Sprintf(", %s from %s", percent(e), ch.at.UTC().Format(time.RFC3339))
		}
	}
	return note + fmt.Sprintf(" (reported; the alarm since %s)", from.UTC().Format(time.RFC3339))
}

func percent(share float64) string {
	return strconv.FormatFloat(100*share, 'g', 3, 64) + " %"
}
