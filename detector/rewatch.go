package detector

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// A restart must lose no watch. The open watches of a service — their
// baseline, CUSUM charts and running totals, and the decision already
// given — are part of the service's snapshot (snapshot.go), together with
// the position in the release-event log up to which they are folded. On
// start-up the pipeline restores the snapshots, replays the release events
// after that position (ReleaseAt skips the ones before it), replays the
// posts and metrics of the last hours (the minute buckets), and calls
// Rebuilt: a restored watch goes on folding from the bucket it had reached,
// so nothing is counted twice and no verdict already given is given again.
// A watch that could not be restored says so in its verdicts.

// resume is what a watch knows of the rebuild that brought it back.
type resume struct {
	restored bool      // from a snapshot (else re-opened by a replayed release event)
	asOf     time.Time // the snapshot's newest post: replayed posts up to it are in the watch's totals already
	note     string    // said in the watch's verdicts from the rebuild on, "" when nothing was lost
	// samplesAsOf: replayed metric samples before it are in the watch's
	// summary already (watchsamples.go).
	samplesAsOf time.Time
	samplesLost bool // saved by a release before the samples were: those before the replay are gone
}

// chartSnapshot mirrors chart.
type chartSnapshot struct {
	S, X, E         [nRises]float64
	From            [nRises]time.Time
	Total, Expected float64
	H, MinX, HSoak  float64
	Drift           float64 `json:",omitempty"`
	// Window is the soak's window (nil in a snapshot written before it
	// existed: the window then starts from the charts' excursions).
	Window *windowSnapshot `json:",omitempty"`
}

// windowSnapshot mirrors window, its blocks oldest first.
type windowSnapshot struct {
	L      [nRises]float64
	Last   time.Time
	Blocks []winPointSnapshot
}

type winPointSnapshot struct {
	Block time.Time
	L     [nRises]float64
	X, E  [nRises]float64
	At    [nRises]time.Time
}

// baselineSnapshot mirrors baseline.
type baselineSnapshot struct {
	OK                 bool
	Detail             string
	From               time.Time
	Minutes            float64
	Posts, Negative    int32
	NegRate, RelRate   float64
	CatRate, CatShare  [8]float64
	NegShare, RelShare float64
	Phi, PhiShare      float64
	DayExcess          float64 `json:",omitempty"`
}

// watchSnapshot mirrors watch: everything but caches.
type watchSnapshot struct {
	Event              signals.ReleaseEvent
	Ring               RingConfig
	KnownRing          bool
	Start, MinEnd, End time.Time
	Soaking, MinDone   bool
	LastEval           time.Time
	Fails, Holds       int
	FlaggedOff         []string
	Decision, Action   string
	Failed             []string
	Terms              map[string]int32
	TermTotal          int32
	Features           map[string]int32
	NegPosts           int32
	Base               *baselineSnapshot
	Next               time.Time
	Charts             [nCharts]chartSnapshot
	Total              snapshotBucket
	// Late: posts that came after the charts took their bucket, to be
	// folded with the next one (judge, countLate).
	Late  snapshotBucket
	Note  string
	Phase *phaseSnapshot // reported exposure of a store rollout, nil without one
	// The metric samples folded over the whole watch (watchsamples.go):
	// those before SamplesNext. Zero in a snapshot of a release before
	// this one: the samples the replay holds are then folded from the
	// watch's start.
	SamplesNext time.Time
	Samples     []samplesSnapshot
	// Counts are the error-count charts (errcounts.go), by pair name. Nil
	// in a snapshot of a release before them: the charts then start again
	// from what the replay holds.
	Counts []countSnapshot
}

// countSnapshot mirrors countWatch.
type countSnapshot struct {
	Name        string
	Base        *countBaseSnapshot
	Chart       chartSnapshot
	N, Y, M     [nRises]float64
	Solo        [nRises]int32
	Recent      [recentBuckets][4]float64
	Pos         int32
	Next        time.Time
	Late, Total [4]float64 // x, n, y, m
	Minutes     int32
	Share       float64
}

// countBaseSnapshot mirrors countBase.
type countBaseSnapshot struct {
	OK                                         bool
	Detail                                     string
	Minutes, Errors, Requests, P, ReqRate, Phi float64
	Bursts                                     int32
}

func (c counts) array() [4]float64 { return [4]float64{c.x, c.n, c.y, c.m} }

func countsOf(a [4]float64) counts { return counts{x: a[0], n: a[1], y: a[2], m: a[3]} }

func (d *Detector) countSnapshots(w *watch) []countSnapshot {
	var out []countSnapshot
	for i := range w.counts {
		cw := &w.counts[i]
		cs := countSnapshot{Name: d.cfg.ErrorCounts[i].Name, Chart: cw.c.snapshot(), N: cw.n, Y: cw.y, M: cw.m, Solo: cw.solo, Pos: cw.pos, Next: cw.next,
			Late: cw.late.array(), Total: cw.total.array(), Minutes: cw.minutes, Share: cw.share}
		for j, b := range cw.recent {
			cs.Recent[j] = b.array()
		}
		if b := cw.base; b != nil {
			cs.Base = &countBaseSnapshot{OK: b.ok, Detail: b.detail, Minutes: b.minutes, Errors: b.errors, Requests: b.requests, P: b.p, ReqRate: b.reqRate, Phi: b.phi, Bursts: b.bursts}
		}
		out = append(out, cs)
	}
	return out
}

// restoreCounts puts the saved error-count charts back by pair name; a
// pair no longer configured is dropped, a new one starts empty.
func (d *Detector) restoreCounts(w *watch, css []countSnapshot) {
	if len(css) == 0 || len(d.cfg.ErrorCounts) == 0 {
		return
	}
	w.counts = make([]countWatch, len(d.cfg.ErrorCounts))
	for _, cs := range css {
		i := slices.IndexFunc(d.cfg.ErrorCounts, func(p CountPair) bool { return p.Name == cs.Name })
		if i < 0 {
			continue
		}
		cw := &w.counts[i]
		*cw = countWatch{c: cs.Chart.chart(), n: cs.N, y: cs.Y, m: cs.M, solo: cs.Solo, pos: cs.Pos % recentBuckets, next: cs.Next, late: countsOf(cs.Late), total: countsOf(cs.Total),
			minutes: cs.Minutes, share: cs.Share, asOf: cs.Next}
		for j, a := range cs.Recent {
			cw.recent[j] = countsOf(a)
		}
		if b := cs.Base; b != nil {
			cw.base = &countBase{ok: b.OK, detail: b.Detail, minutes: b.Minutes, errors: b.Errors, requests: b.Requests, p: b.P, reqRate: b.ReqRate, phi: b.Phi, bursts: b.Bursts}
		}
	}
}

// phaseSnapshot mirrors phase (exposure.go).
type phaseSnapshot struct {
	Changes []exposureSnapshot
	Base    *reviewBaselineSnapshot // the reviews of the baseline hours, which a rebuild may no longer have
	Tuned   float64
}

type exposureSnapshot struct {
	At    time.Time
	Share float64
}

type reviewBaselineSnapshot struct {
	OK               bool
	NegRate, NegOdds float64
}

func (p *phase) snapshot() *phaseSnapshot {
	if len(p.changes) == 0 && p.base == nil && p.tuned == 0 {
		return nil
	}
	ps := &phaseSnapshot{Tuned: p.tuned}
	for _, c := range p.changes {
		ps.Changes = append(ps.Changes, exposureSnapshot{At: c.at, Share: c.share})
	}
	if b := p.base; b != nil {
		ps.Base = &reviewBaselineSnapshot{OK: b.ok, NegRate: b.negRate, NegOdds: b.negOdds}
	}
	return ps
}

func (ps *phaseSnapshot) phase() phase {
	if ps == nil {
		return phase{}
	}
	p := phase{tuned: ps.Tuned}
	for _, c := range ps.Changes {
		p.changes = append(p.changes, exposureChange{at: c.At, share: c.Share})
	}
	if b := ps.Base; b != nil {
		p.base = &reviewBaseline{ok: b.OK, negRate: b.NegRate, negOdds: b.NegOdds}
	}
	return p
}

// maxSavedTerms bounds the complaint terms saved with a watch (the
// window keeps up to maxWindowTerms): the most frequent are the ones that
// can emerge; the rarest, seen once or twice, are dropped at a restart.
// It keeps a watch's snapshot under ~15 KB.
const maxSavedTerms = 1000

// topTerms returns counts, or its n most frequent terms when it has more.
func topTerms(counts map[string]int32, n int) map[string]int32 {
	if len(counts) <= n {
		return counts
	}
	type tc struct {
		term string
		n    int32
	}
	all := make([]tc, 0, len(counts))
	for k, v := range counts {
		all = append(all, tc{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n || all[i].n == all[j].n && all[i].term < all[j].term })
	out := make(map[string]int32, n)
	for _, x := range all[:n] {
		out[x.term] = x.n
	}
	return out
}

func (c *chart) snapshot() chartSnapshot {
	cs := chartSnapshot{S: c.s, X: c.x, E: c.e, From: c.from, Total: c.total, Expected: c.expected, H: c.h, MinX: c.minX, HSoak: c.hSoak, Drift: c.drift}
	w := &c.win
	ws := &windowSnapshot{L: w.l, Last: w.last}
	for k := w.n - 1; k >= 0; k-- {
		p := &w.blocks[(w.head-k+winBlocks)%winBlocks]
		ps := winPointSnapshot{Block: p.block, L: p.l, X: p.x, E: p.e}
		for i := range ps.At {
			ps.At[i] = p.from(i)
		}
		ws.Blocks = append(ws.Blocks, ps)
	}
	cs.Window = ws
	return cs
}

func (c chartSnapshot) chart() chart {
	ch := chart{s: c.S, x: c.X, e: c.E, from: c.From, total: c.Total, expected: c.Expected, h: c.H, minX: c.MinX, hSoak: c.HSoak, drift: c.Drift}
	if c.Window == nil || len(c.Window.Blocks) > winBlocks {
		// Written before the window existed: it starts again from the
		// charts' excursions (see window.seed).
		ch.win.seed(&ch)
		return ch
	}
	w := &ch.win
	w.l, w.last = c.Window.L, c.Window.Last
	for _, p := range c.Window.Blocks {
		w.head = (w.head + 1) % winBlocks
		w.n++
		b := &w.blocks[w.head]
		b.block = p.Block
		for i := range p.L {
			b.set(i, p.L[i], p.X[i], p.E[i], p.At[i])
		}
	}
	return ch
}

func setKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func keySet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (w *watch) snapshot() watchSnapshot {
	ws := watchSnapshot{
		Event: w.ev, Ring: w.ring, KnownRing: w.knownRing, Start: w.start, MinEnd: w.minEnd, End: w.end,
		Soaking: w.soaking, MinDone: w.minDone, LastEval: w.lastEval, Fails: w.fails, Holds: w.holds,
		Decision: w.decision, Action: w.action, Terms: topTerms(w.terms.counts, maxSavedTerms), TermTotal: w.terms.total,
		Features: w.features, NegPosts: w.negPosts, Next: w.next,
		Total: snapshotBucket{Posts: w.total.posts, Negative: w.total.negative, Rel: w.total.release, RelNeg: w.total.releaseNeg, Categories: w.total.categories},
		Late:  snapshotBucket{Posts: w.late.posts, Negative: w.late.negative, Rel: w.late.release, RelNeg: w.late.releaseNeg, Categories: w.late.categories},
	}
	if w.flaggedOff != nil {
		ws.FlaggedOff = setKeys(w.flaggedOff)
	}
	ws.Failed = setKeys(w.failed)
	ws.Phase = w.phase.snapshot()
	ws.SamplesNext, ws.Samples = w.samples.next, w.samples.snapshot()
	if w.re != nil {
		ws.Note = w.re.note
	}
	if b := w.base; b != nil {
		ws.Base = &baselineSnapshot{OK: b.ok, Detail: b.detail, From: b.from, Minutes: b.minutes, Posts: b.posts, Negative: b.negative,
			NegRate: b.negRate, RelRate: b.relRate, CatRate: b.catRate, CatShare: b.catShare, NegShare: b.negShare, RelShare: b.relShare, Phi: b.phi, PhiShare: b.phiShare, DayExcess: b.dayExcess}
	}
	for i := range w.charts {
		ws.Charts[i] = w.charts[i].snapshot()
	}
	return ws
}

// restoreWatch rebuilds a watch from its snapshot; asOf is the snapshot's
// newest post time.
func (d *Detector) restoreWatch(ws watchSnapshot, asOf time.Time) (*watch, error) {
	rc, known := d.cfg.ring(ws.Ring.Name)
	if !known || !ws.KnownRing {
		rc, known = ws.Ring, false
	}
	w := &watch{ev: ws.Event, ring: rc, knownRing: known, start: ws.Start, minEnd: ws.MinEnd, end: ws.End,
		soaking: ws.Soaking, minDone: ws.MinDone, lastEval: ws.LastEval, fails: ws.Fails, holds: ws.Holds,
		decision: ws.Decision, action: ws.Action, failed: keySet(ws.Failed),
		terms: windowTerms{counts: ws.Terms, total: ws.TermTotal}, features: ws.Features, negPosts: ws.NegPosts, next: ws.Next,
		total: bucket{posts: ws.Total.Posts, negative: ws.Total.Negative, release: ws.Total.Rel, releaseNeg: ws.Total.RelNeg, categories: ws.Total.Categories},
		late:  bucket{posts: ws.Late.Posts, negative: ws.Late.Negative, release: ws.Late.Rel, releaseNeg: ws.Late.RelNeg, categories: ws.Late.Categories},
		re: &resume{restored: true, asOf: asOf, note: ws.Note, samplesAsOf: ws.SamplesNext,
			samplesLost: ws.SamplesNext.IsZero() && !ws.LastEval.IsZero()}, phase: ws.Phase.phase()}
	var err error
	if w.samples, err = restoreSamples(ws.SamplesNext, ws.Samples); err != nil {
		return nil, fmt.Errorf("watch of %s on %s: %w", ws.Event.Release, ws.Ring.Name, err)
	}
	if ws.FlaggedOff != nil {
		w.flaggedOff = keySet(ws.FlaggedOff)
	}
	if b := ws.Base; b != nil {
		w.base = &baseline{ok: b.OK, detail: b.Detail, from: b.From, minutes: b.Minutes, posts: b.Posts, negative: b.Negative,
			negRate: b.NegRate, relRate: b.RelRate, catRate: b.CatRate, catShare: b.CatShare, negShare: b.NegShare, relShare: b.RelShare, phi: b.Phi, phiShare: b.PhiShare, dayExcess: b.DayExcess}
	}
	for i := range w.charts {
		w.charts[i] = ws.Charts[i].chart()
	}
	d.restoreCounts(w, ws.Counts)
	return w, nil
}

// openWatches returns the snapshots of a service's open watches.
func (d *Detector) openWatches(service string) []watchSnapshot {
	var out []watchSnapshot
	for _, k := range d.order {
		if w := d.watches[k]; !w.closed && w.ev.Service == service {
			ws := w.snapshot()
			ws.Counts = d.countSnapshots(w)
			out = append(out, ws)
		}
	}
	return out
}

// restoreWatches puts a service's restored watches in place.
func (d *Detector) restoreWatches(wss []watchSnapshot, asOf time.Time) error {
	ws := make([]*watch, len(wss))
	for i := range wss {
		var err error
		if ws[i], err = d.restoreWatch(wss[i], asOf); err != nil {
			return err
		}
	}
	for i, w := range ws {
		k := watchKey{wss[i].Event.Release, wss[i].Ring.Name}
		if _, ok := d.watches[k]; !ok {
			d.order = append(d.order, k)
		}
		d.watches[k] = w
	}
	return nil
}

// ReleaseAt applies the release event at position seq of the release-event
// log (the stream sequence; 0 when unknown, then it is applied). An event at
// or before the position its service's restored snapshot was taken at is in
// the restored watches already and is skipped; it reports whether the event
// was applied.
func (d *Detector) ReleaseAt(ev signals.ReleaseEvent, seq uint64) bool {
	s := d.service(ev.Service)
	if s != nil && seq > 0 {
		if seq <= s.releaseSeq {
			d.learnRelease(ev) // its version, for samples naming it (releasecohort.go)
			return false
		}
		s.releaseSeq = seq
	}
	d.Release(ev)
	return true
}

// ReleaseSeq is the position in the release-event log up to which a
// service's state holds the events (0: none known).
func (d *Detector) ReleaseSeq(service string) uint64 {
	if s := d.services[service]; s != nil {
		return s.releaseSeq
	}
	return 0
}

// countedBefore reports whether a replayed post at t was already counted in
// a restored watch's totals before its snapshot was taken.
func (w *watch) countedBefore(t time.Time) bool {
	return w.re != nil && w.re.restored && !t.After(w.re.asOf)
}

// Rebuilt ends a start-up rebuild at now: the snapshots are restored, the
// release events after them and the last hours of posts and metrics are
// replayed. It returns what it says about the watches, one line each (for
// the log); the same is said in the watches' verdicts.
//
//   - A restored watch goes on folding from the bucket it had reached.
//     When the replay holds no posts for some buckets after it (the process
//     was down longer than the replay reaches back), those buckets are
//     skipped, not counted as quiet, and its verdicts say so.
//   - A watch re-opened by a replayed release event without a saved state
//     (no snapshot, or one from before the watches were saved) is judged
//     again from what the replay holds: when the replay reaches back to its
//     ring start it is rebuilt whole; otherwise from the first bucket after
//     a baseline's worth of replayed posts (or now), against that baseline,
//     and cannot pass before a whole window of that evidence; its verdicts
//     say which evidence is missing. Verdicts such a watch
//     produced during the replay (at a replayed promotion, say) judged
//     nothing and are dropped; a re-opened watch whose end passed while the
//     process was down ends without a verdict (its evidence is gone).
//   - Then the restored and re-opened watches are judged bucket by bucket
//     up to now (catchUp), as the live process would have judged them; what
//     that says comes out of the next Advance, with times in the past.
func (d *Detector) Rebuilt(now time.Time) []string {
	var notes []string
	var step []*watch // watches to judge bucket by bucket up to now
	// By version too: a restored watch replaced during the replay by
	// another version under its id (reusedwatch.go) gave its final verdict;
	// a re-opened one replaced so judged nothing.
	reopened := d.replacedReopened
	if reopened == nil {
		reopened = map[versionKey]bool{}
	}
	d.replacedReopened = nil
	reopenedRing := map[watchKey]bool{} // anomalies name no version
	for k := range reopened {
		reopenedRing[k.watchKey] = true
	}
	for _, k := range d.order {
		w := d.watches[k]
		if w.re == nil || !w.re.restored {
			reopened[versionKey{k, w.ev.Version}] = true
			reopenedRing[k] = true
		}
		if w.closed {
			continue
		}
		s := d.services[w.ev.Service]
		var first time.Time
		if s != nil {
			first = s.posts.first.Truncate(d.cfg.Bucket)
		}
		at := now.UTC().Format(time.RFC3339)
		switch {
		case w.re != nil && w.re.restored:
			step = append(step, w)
			var lost []string
			switch from := firstSample(s); {
			case w.re.samplesLost && from.After(w.start):
				lost = append(lost, fmt.Sprintf("metric samples before %s are not available (the watch was saved by an earlier release); its metrics are compared over the watch from then on",
					from.UTC().Format(time.RFC3339)))
			case !w.samples.next.IsZero() && from.After(w.samples.next) && w.samples.next.Before(now):
				lost = append(lost, fmt.Sprintf("metric samples between %s and %s are not available (older than the stream replay)",
					w.samples.next.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339)))
			}
			if !w.ring.Internal && !w.next.IsZero() && !first.IsZero() && first.After(w.next) && w.next.Before(now) {
				gapEnd := minTime(first, now.Truncate(d.cfg.Bucket))
				lost = append(lost, fmt.Sprintf("evidence between %s and %s is not available (older than the stream replay); judged on what came before and after",
					w.next.UTC().Format(time.RFC3339), gapEnd.UTC().Format(time.RFC3339)))
				w.next = gapEnd
				w.decision, w.action = "", "" // say it in a verdict
			}
			if len(lost) == 0 {
				continue // nothing missing
			}
			w.re.note = fmt.Sprintf("watch of %s restarted at %s: %s", w.ring.Name, at, strings.Join(lost, "; "))
		case !w.end.After(now):
			w.closed = true
			notes = append(notes, fmt.Sprintf("watch of %s on %s ended at %s while the process was down; its saved state was not available, so no final verdict",
				w.ev.Release, w.ring.Name, w.end.UTC().Format(time.RFC3339)))
			continue
		default:
			w.re = &resume{}
			if w.ring.Internal {
				w.re.note = fmt.Sprintf("watch of %s re-opened at %s without its saved state: judged on the metrics the replay holds", w.ring.Name, at)
				break
			}
			if !first.IsZero() && !first.After(w.start.Add(-d.cfg.MinBaseline)) {
				// The replay holds the ring's whole story: nothing is missing.
				notes = append(notes, fmt.Sprintf("%s: watch of %s rebuilt whole from the stream replay (no saved state)", w.ev.Release, w.ring.Name))
				continue
			}
			from := now.Truncate(d.cfg.Bucket)
			if !first.IsZero() {
				from = minTime(first.Add(d.cfg.Baseline), from)
			}
			from = maxTime(from, w.start)
			w.re.note = fmt.Sprintf("watch of %s re-opened at %s without its saved state: evidence before %s is not available; judged from then on against the posts before it",
				w.ring.Name, at, from.UTC().Format(time.RFC3339))
			// Like a ring start: no pass before a whole window of evidence.
			w.start, w.next = from, from
			w.minEnd = maxTime(w.minEnd, from.Add(w.ring.Window))
			w.base = nil
			w.total = bucket{}
			w.samples = watchSamples{}
			w.counts = nil
			for i := range w.charts {
				w.charts[i] = chart{}
			}
			step = append(step, w)
		}
		notes = append(notes, fmt.Sprintf("%s: %s", w.ev.Release, w.re.note))
	}

	// What re-opened watches said during the replay judged no evidence.
	keep := d.pending.Verdicts[:0]
	for _, v := range d.pending.Verdicts {
		if !reopened[versionKey{watchKey{v.Release, v.Ring}, v.Version}] {
			keep = append(keep, v)
		}
	}
	d.pending.Verdicts = keep
	keepA := d.pending.Anomalies[:0]
	for _, a := range d.pending.Anomalies {
		if a.Release == "" || !reopenedRing[watchKey{a.Release, a.Ring}] {
			keepA = append(keepA, a)
		}
	}
	d.pending.Anomalies = keepA
	// Judge the replayed buckets as the live process would have, one
	// bucket at a time: an incident while the process was down is halted
	// (late, at the minute it would have been), not missed because it
	// ebbed before the restart. A watch rebuilt whole is judged at now
	// only: what it said before the restart is not said again.
	for _, w := range step {
		d.catchUp(w, now)
	}
	sort.SliceStable(d.pending.Verdicts, func(i, j int) bool { return d.pending.Verdicts[i].Time.Before(d.pending.Verdicts[j].Time) })
	return notes
}

// catchUp evaluates a watch at every bucket between its last evaluation
// (or the end of what it has folded) and now, as Advance would have.
func (d *Detector) catchUp(w *watch, now time.Time) {
	t := w.next.Add(d.cfg.Bucket + d.cfg.Lateness)
	if !w.lastEval.IsZero() {
		t = maxTime(t, w.lastEval.Add(d.cfg.Bucket))
	}
	for ; t.Before(now) && !w.closed; t = t.Add(d.cfg.Bucket) {
		d.advanceWatch(w, t)
	}
}

// annotate adds each watch's rebuild note to its verdicts.
func (d *Detector) annotate(out *Output) {
	for i := range out.Verdicts {
		v := &out.Verdicts[i]
		if w := d.watches[watchKey{v.Release, v.Ring}]; w != nil && w.ev.Version == v.Version && w.re != nil && w.re.note != "" {
			v.Reasons = append(v.Reasons, w.re.note)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// ReplaySpans says how far back a restart must replay the streams: posts
// and metrics for the minute buckets (the baseline and the longest window),
// release events for every watch that can still be open (max_watch, or a
// ring's start plus the longest soak after a completion, with the
// baseline before it). Release events are few; posts are many, which is
// why the open watches are saved rather than rebuilt from the posts.
func (d *Detector) ReplaySpans() (posts, releases time.Duration) {
	soak := d.cfg.Soak
	for _, s := range d.cfg.ServiceSoak {
		soak = max(soak, s)
	}
	return d.span, d.cfg.MaxWatch + soak + d.span
}

// WatchStatus is a read-only view of one open watch.
type WatchStatus struct {
	Release, Service, Ring string
	Version                string    // the version judged (reusedwatch.go)
	Start, End             time.Time // evidence start; end of the watch (max_watch or the soak)
	Soaking                bool
	Folded                 time.Time // the watch's counts hold the buckets before this
	Posts, Complaints      int       // counted since Start
	Decision, Action       string    // the last verdict given
	Note                   string    // what a restart lost, "" when nothing
	// Metric samples counted since Start (every metric, both cohorts; the
	// watch keeps a bounded sample of them) up to SamplesFolded.
	Samples       int
	SamplesFolded time.Time
}

// OpenWatches lists the open watches in opening order.
func (d *Detector) OpenWatches() []WatchStatus {
	var out []WatchStatus
	for _, k := range d.order {
		w := d.watches[k]
		if w.closed {
			continue
		}
		st := WatchStatus{Release: w.ev.Release, Service: w.ev.Service, Version: w.ev.Version, Ring: w.ring.Name, Start: w.start, End: w.end,
			Soaking: w.soaking, Folded: w.next, Posts: int(w.total.posts), Complaints: int(w.total.negative),
			Decision: w.decision, Action: w.action}
		if w.re != nil {
			st.Note = w.re.note
		}
		st.SamplesFolded = w.samples.next
		for _, c := range w.samples.by {
			st.Samples += int(c.canary.n + c.other.n)
		}
		out = append(out, st)
	}
	return out
}

// ChartLevel is a read-only view of one count chart of an open watch: its
// highest statistic over its threshold (1 is the bar) and over the soak's
// halting bar. For diagnostics (the tune months' harness in
// detector/scenarios), not for judging.
type ChartLevel struct {
	Release, Service, Ring, Signal string
	Soaking                        bool
	// Level is the highest chart of the bank over h; SoakLevel, in a
	// soak, the highest window-limited statistic over the soak's bar (what
	// halts in a soak; 0 outside one). The excursion is SoakLevel's in a
	// soak.
	Level, SoakLevel float64
	// Rise is the design rise of the highest chart, Observed and Expected
	// the counts in its current excursion, From its start.
	Rise               float64
	Observed, Expected float64
	From               time.Time
}

// ChartLevels lists the count charts (social charts and error-count
// charts) of every open watch with a baseline, in opening order.
func (d *Detector) ChartLevels() []ChartLevel {
	var out []ChartLevel
	names := chartSignals()
	add := func(w *watch, name string, c *chart) {
		l := ChartLevel{Release: w.ev.Release, Service: w.ev.Service, Ring: w.ring.Name, Signal: name, Soaking: w.soaking}
		best := -1
		for i := range c.s {
			if c.h > 0 && c.s[i]/c.h > l.Level || best < 0 {
				best = i
				if c.h > 0 {
					l.Level = c.s[i] / c.h
				}
			}
		}
		l.Rise, l.Observed, l.Expected, l.From = CUSUMRises[best], c.x[best], c.e[best], c.from[best]
		if w.soaking && c.hSoak > 0 {
			// In a soak: the window-limited statistic over the soak's bar,
			// what halts (chart.strongest), and its excursion.
			l.SoakLevel = 0
			for i := range c.s {
				s, x, e, from := c.windowed(i)
				if r := s / c.soakBar(e); r > l.SoakLevel {
					l.SoakLevel = r
					l.Rise, l.Observed, l.Expected, l.From = CUSUMRises[i], x, e, from
				}
			}
		}
		out = append(out, l)
	}
	for _, k := range d.order {
		w := d.watches[k]
		if w.closed {
			continue
		}
		if w.base != nil && w.base.ok {
			for i := range w.charts {
				add(w, names[i], &w.charts[i])
			}
		}
		for i := range w.counts {
			if cw := &w.counts[i]; cw.base != nil && cw.base.ok {
				add(w, d.cfg.ErrorCounts[i].Name, &cw.c)
			}
		}
	}
	return out
}
