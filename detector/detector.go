// Package detector judges each ring of each release against baselines. It
// is a pure state machine in event time: Post, Metric and Release feed it,
// Advance(now) evaluates the open watch windows and returns verdicts,
// anomalies and rollups. It does no I/O and never reads the wall clock, so
// the daemon, replay, backtest and tests get identical answers.
package detector

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/signals"
)

// Enricher understands a post's text (signals/enrich implements it).
type Enricher interface {
	Enrich(text, langHint string) signals.Enrichment
}

// Output is what an Advance produced.
type Output struct {
	Verdicts  []signals.Verdict
	Anomalies []signals.Anomaly
	Rollups   []signals.Rollup
}

// Stats counts inputs the detector could not use.
type Stats struct {
	LatePosts       int // older than the bucket ring
	DroppedServices int // services beyond max_services
	UnknownRings    int
	RepeatedTexts   int // posts whose text was posted within the hour before: not counted again as complaints
	BadCounts       int // samples of a count pair (error_counts) whose value is no count: negative, NaN or infinite
	// UnknownReleases: metric samples naming a release no release event of
	// their service named within releaseGrace, or one whose events name no
	// version (releasecohort.go).
	UnknownReleases int
	// ReleaseMismatches: metric samples whose version disagrees with the
	// version of the release they name.
	ReleaseMismatches int
	// ReusedReleases: metric samples naming only a release id that was
	// reused for another version while the old version's pods may still
	// name it (releasecohort.go).
	ReusedReleases int
}

type watchKey struct{ release, ring string }

// versionKey is a watch's key and the version it judges (a reused
// release id's versions share the key, reusedwatch.go).
type versionKey struct {
	watchKey
	version string
}

const week = 7 * 24 * time.Hour

type watch struct {
	ev    signals.ReleaseEvent
	ring  RingConfig
	start time.Time
	// minEnd is the end of the configured window: the least watch. The
	// watch goes on while the ring is live, until end (set by a completion
	// — the soak — or by max_watch) or until it is closed.
	minEnd     time.Time
	end        time.Time
	soaking    bool
	minDone    bool // the verdict at the end of the minimum watch is out
	lastEval   time.Time
	fails      int // consecutive failing evaluations
	holds      int // consecutive failing or marginal evaluations
	flaggedOff map[string]bool
	decision   string
	action     string
	failed     map[string]bool // signals that already raised an anomaly
	closed     bool
	knownRing  bool
	terms      windowTerms      // terms of negative posts in the window
	features   map[string]int32 // features named by negative posts in the window
	negPosts   int32

	// Sequential state: the baseline fixed at the ring start, the next
	// bucket to fold into the charts, the charts and the counts folded.
	base *baseline
	next time.Time
	// late holds the counts of posts that came after the charts had
	// folded their bucket; they are folded with the next bucket.
	late       bucket
	charts     [nCharts]chart
	total      bucket
	factorHour time.Time
	factor     float64
	weeks      int

	phase phase   // reported exposure of a store rollout (exposure.go)
	re    *resume // set when the watch came back in a restart (rewatch.go)
	// replacedBy is the version its release id named when a release
	// event replaced the version it judges (replace): its final verdict
	// takes no action.
	replacedBy string

	samples watchSamples // metric samples over the whole watch (watchsamples.go)
	counts  []countWatch // error-count charts, one per Config.ErrorCounts (errcounts.go)
}

// open reports whether t falls in the watch.
func (w *watch) open(t time.Time) bool {
	return !t.Before(w.start) && (w.end.IsZero() || t.Before(w.end))
}

// Detector is not safe for concurrent use; one goroutine owns it.
type Detector struct {
	cfg      Config
	enricher func(service string) Enricher
	services map[string]*service
	watches  map[watchKey]*watch
	order    []watchKey // watches in opening order, for stable output
	pending  Output
	stats    Stats
	span     time.Duration
	flagged  func(service, feature string) bool
	reviews  map[string]*series // store reviews per service (exposure.go)
	cohorts  releaseCohorts     // releases by id, for samples that name one (releasecohort.go)
	// replacedReopened: watches re-opened by the start-up replay (not
	// restored) and replaced in it by another version under their id;
	// what they said judged nothing (Rebuilt).
	replacedReopened map[versionKey]bool
}

// SetFeatureFlags tells the detector which features of a service can be
// switched off by a flag; a failure that points at one of them becomes a
// flag_off verdict instead of a halt.
func (d *Detector) SetFeatureFlags(flagged func(service, feature string) bool) { d.flagged = flagged }

// New returns a detector. cfg must have been validated. enricher gives the
// enrichment for a service's posts (posts that arrive enriched are used as they are).
func New(cfg Config, enricher func(service string) Enricher) *Detector {
	maxWindow := time.Duration(0)
	for _, r := range cfg.Rings {
		maxWindow = max(maxWindow, r.Window)
	}
	return &Detector{
		cfg:      cfg,
		enricher: enricher,
		services: map[string]*service{},
		watches:  map[watchKey]*watch{},
		span:     cfg.Baseline + maxWindow + 2*cfg.Bucket,
	}
}

// Stats returns counters of unusable input.
func (d *Detector) Stats() Stats { return d.stats }

func (d *Detector) service(name string) *service {
	s := d.services[name]
	if s == nil {
		if len(d.services) >= d.cfg.MaxServices {
			d.stats.DroppedServices++
			return nil
		}
		s = &service{
			posts:   newSeries(d.cfg.Bucket, d.span),
			hours:   newSeries(time.Hour, time.Duration(d.cfg.Weeks)*week+2*time.Hour),
			metrics: map[string][]sample{},
			rollups: map[rollupKey]*rollupState{},
		}
		d.services[name] = s
	}
	return s
}

// Post counts one post (enriching it if it isn't yet).
func (d *Detector) Post(p signals.Post) {
	s := d.service(p.Service)
	if s == nil {
		return
	}
	if p.Enrichment == nil && d.enricher != nil {
		if e := d.enricher(p.Service); e != nil {
			en := e.Enrich(p.Text, p.Lang)
			p.Enrichment = &en
		}
	}
	neg := complaint(p)
	// A copy of a recent text is a post, but not another complaint.
	repeat := s.repeats.repeated(p.Text, p.Time)
	if repeat {
		d.stats.RepeatedTexts++
	}
	longTerm := p.Time.After(s.restoredAsOf)
	if h := s.hours.at(p.Time); h != nil && longTerm {
		h.posts++
		if neg && !repeat {
			h.negative++
		}
		if s.hours.first.IsZero() || p.Time.Before(s.hours.first) {
			s.hours.first = p.Time
		}
	}
	if p.Time.After(s.asOf) {
		s.asOf = p.Time
	}
	s.sources.post(p)
	b := s.posts.at(p.Time)
	if b == nil {
		d.stats.LatePosts++
		return
	}
	if s.posts.first.IsZero() || p.Time.Before(s.posts.first) {
		s.posts.first = p.Time
	}
	// pb is what the post adds to its bucket (and, when the charts of a
	// watch have taken that bucket already, to the watch's late counts).
	pb := bucket{posts: 1}
	d.countReview(p, neg, repeat)
	if repeat {
		b.add(&pb)
		d.countLate(p.Service, p.Time, &pb)
		d.rollup(s, p, neg)
		return
	}
	if (p.Enrichment != nil && (p.Enrichment.MentionsUpdate || len(p.Enrichment.Versions) > 0 || len(p.Enrichment.Features) > 0)) || d.reviewsWatchedVersion(p) {
		pb.release++
		if neg {
			pb.releaseNeg++
		}
	}
	if p.Enrichment != nil && longTerm {
		s.terms.add(p.Time, p.Enrichment.Tokens)
	}
	if neg {
		d.watchNegative(p)
	}
	if neg {
		pb.negative++
		s.negative = append(s.negative, signals.Example{ID: p.ID, Source: p.Source, URL: p.URL, Text: clip(p.Text, 280)})
		s.negTimes = append(s.negTimes, p.Time)
		if len(s.negative) > maxExamples {
			s.negative = s.negative[1:]
			s.negTimes = s.negTimes[1:]
		}
	}
	if p.Enrichment != nil {
		for _, c := range p.Enrichment.Categories {
			if i := categoryIndex(c); i >= 0 {
				pb.categories[i]++
			}
		}
	}
	b.add(&pb)
	d.countLate(p.Service, p.Time, &pb)
	d.rollup(s, p, neg)
}

// complaint decides whether a post counts as a complaint. A store review
// carries its author's own verdict, the star rating: 1–2 stars is a
// complaint and 4–5 stars is not, whatever the text seems to say; a review
// of 3 stars, and every other post, is what the recogniser decided
// (Enrichment.Negative). Low-star reviews are the complaints of app-store
// studies (Khalid et al., "What do mobile app users complain about?", IEEE
// Software 2015, read the 1–2 star reviews as complaints). On the tune half
// of ../shared/data/app-reviews, 97.5 % of 4–5 star reviews are no
// complaint by the human labels (the rest are bug reports), while the
// recogniser counts about a tenth of such posts as complaints; 77 % of 1–2
// star reviews are complaints, the others mostly unhappy feature requests.
func complaint(p signals.Post) bool {
	switch {
	case p.Rating >= 1 && p.Rating <= 2:
		return true
	case p.Rating >= 4:
		return false
	}
	return p.Enrichment.Negative()
}

func (d *Detector) rollup(s *service, p signals.Post, neg bool) {
	minute := p.Time.Truncate(time.Minute)
	k := rollupKey{p.Source, minute.Unix()}
	rs := s.rollups[k]
	if rs == nil {
		rs = &rollupState{r: signals.Rollup{Type: signals.TypeRollup, Time: minute, Service: p.Service, Source: p.Source}}
		s.rollups[k] = rs
	}
	rs.dirty = true
	rs.r.Posts++
	if neg {
		rs.r.Negative++
	}
	if p.Enrichment != nil {
		rs.r.SentimentSum += p.Enrichment.Sentiment
		for _, c := range p.Enrichment.Categories {
			if rs.r.Categories == nil {
				rs.r.Categories = map[string]int{}
			}
			rs.r.Categories[c]++
		}
	}
}

// reviewsWatchedVersion reports whether p is a store review written on
// the app version of a release being watched for its service (App Store
// im:version, Play appVersionName): the release's own voice even when the
// text names no version.
func (d *Detector) reviewsWatchedVersion(p signals.Post) bool {
	if p.AppVersion == "" {
		return false
	}
	v := normalVersion(p.AppVersion)
	for _, k := range d.order {
		w := d.watches[k]
		if !w.closed && w.ev.Service == p.Service && w.open(p.Time) && normalVersion(w.ev.Version) == v {
			return true
		}
	}
	return false
}

// normalVersion makes "v4.2", "4.2.0" and "4.2" compare equal.
func normalVersion(v string) string {
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "v"), "V")
	for strings.HasSuffix(v, ".0") {
		v = strings.TrimSuffix(v, ".0")
	}
	return v
}

// countLate adds a post's counts to the open watches of its service whose
// charts have already taken its bucket (the post came after the bucket was
// folded): they are counted with the next bucket the charts take, so late
// evidence is counted when it arrives instead of being lost. Posts a
// restored watch had counted before its snapshot are not counted again.
func (d *Detector) countLate(service string, t time.Time, pb *bucket) {
	for _, k := range d.order {
		w := d.watches[k]
		if w.closed || w.ring.Internal || w.ev.Service != service || !w.open(t) || !t.Before(w.next) || w.countedBefore(t) {
			continue
		}
		w.late.add(pb)
	}
}

// watchNegative adds a negative post to the open watches of its service
// whose window it falls in.
func (d *Detector) watchNegative(p signals.Post) {
	for _, k := range d.order {
		w := d.watches[k]
		if w.closed || w.ev.Service != p.Service || !w.open(p.Time) || w.countedBefore(p.Time) {
			continue
		}
		w.negPosts++
		w.terms.add(p.Enrichment.Tokens)
		for _, f := range p.Enrichment.Features {
			if w.features == nil {
				w.features = map[string]int32{}
			}
			if len(w.features) < 64 {
				w.features[f]++
			}
		}
	}
}

// Metric records one metric sample. One naming a release is counted in
// that release's version's cohort, held until its release event comes, or
// set aside (releasecohort.go).
func (d *Detector) Metric(m signals.MetricSample) {
	if m.Release != "" && !d.resolveRelease(&m) {
		return
	}
	s := d.service(m.Service)
	if s == nil {
		return
	}
	count := d.cfg.countSample(m.Name)
	if count && !validCount(m.Value) {
		d.stats.BadCounts++
		return
	}
	d.spikeMetric(m.Service, s, m)
	x := sample{t: m.Time, version: m.Version, ring: m.Ring, value: m.Value}
	if count {
		d.lateCount(m.Service, m.Name, x)
	} else {
		d.watchMetricSample(m.Service, m.Name, x, false)
	}
	xs := append(s.metrics[m.Name], x)
	// Samples usually arrive in order; keep the slice sorted when they don't.
	for i := len(xs) - 1; i > 0 && xs[i].t.Before(xs[i-1].t); i-- {
		xs[i], xs[i-1] = xs[i-1], xs[i]
	}
	if len(xs) > maxSamplesPerMetric {
		for _, old := range xs[:len(xs)-maxSamplesPerMetric] {
			if !count {
				d.watchMetricSample(m.Service, m.Name, old, true)
			}
		}
		xs = xs[len(xs)-maxSamplesPerMetric:]
	}
	s.metrics[m.Name] = xs
}

// Release applies a release event. A ring start opens a watch; it lasts
// while the ring is live. A promotion closes the previous ring's watch with
// a final verdict; a completion turns the release's open watches into a
// soak watch; a halt, rollback or fix-forward closes them.
//
// A start naming the release's id with another version than the one its
// watches judge (a reused id, releaseInfo) first closes those watches with
// a final verdict that takes no action (replace), then opens a fresh watch
// of the new version, with its own baseline. A late event of an earlier
// version changes no watch (reusedwatch.go).
func (d *Detector) Release(ev signals.ReleaseEvent) {
	defer d.learnRelease(ev) // after the watch is open: held samples of the release come in
	earlier := d.cohorts.otherVersions(ev)
	switch d.generation(ev) {
	case genLate:
		return
	case genNew:
		if ev.Event == signals.EventStarted || ev.Event == signals.EventPromoted {
			earlier = append(earlier, d.replace(ev)...)
		}
	}
	switch ev.Event {
	case signals.EventStarted, signals.EventPromoted:
		k := watchKey{ev.Release, ev.Ring}
		if w, ok := d.watches[k]; ok && !w.closed {
			return // a duplicate start
		}
		// A promotion ends the watch of the previous ring with a final verdict.
		var prev *watch
		for _, pk := range d.order {
			if w := d.watches[pk]; pk.release == ev.Release && pk.ring != ev.Ring && !w.closed {
				d.finish(w, ev.Time, fmt.Sprintf("ring %s closed: the release moved on to %s", w.ring.Name, ev.Ring))
				prev = w
			}
		}
		rc, known := d.cfg.ring(ev.Ring)
		if !known {
			d.stats.UnknownRings++
			rc = RingConfig{Name: ev.Ring, Exposure: 1, Window: time.Hour, NoData: NoDataWait, MinPosts: 10}
		}
		if _, ok := d.watches[k]; !ok {
			d.order = append(d.order, k)
		}
		d.watches[k] = &watch{ev: ev, ring: rc, start: ev.Time, minEnd: ev.Time.Add(rc.Window),
			end: ev.Time.Add(max(d.cfg.MaxWatch, rc.Window)), next: ev.Time.Truncate(d.cfg.Bucket),
			failed: map[string]bool{}, knownRing: known}
		d.carryCounts(prev, d.watches[k])
		d.carryOver(prev, d.watches[k])
		d.setExposure(d.watches[k], ev)
		if len(earlier) > 0 {
			d.opening(d.watches[k], earlier)
		}
	case signals.EventCompleted:
		soak := d.cfg.SoakFor(ev.Service)
		for _, k := range d.order {
			if w := d.watches[k]; k.release == ev.Release && !w.closed && !w.soaking {
				w.soaking = true
				w.end = maxTime(ev.Time.Add(soak), w.minEnd)
			}
		}
	case signals.EventExposure:
		d.exposureEvent(ev)
	case signals.EventHalted, signals.EventRolledBack, signals.EventFixedForward:
		for _, k := range d.order {
			if k.release == ev.Release {
				d.watches[k].closed = true
			}
		}
	}
}

// finish closes a watch at t with a final verdict.
func (d *Detector) finish(w *watch, t time.Time, why string) {
	if !t.Before(w.start.Add(d.cfg.Bucket)) {
		d.fold(w, t)
		d.foldCounts(w, t)
		d.evaluateAt(w, t, why)
	}
	w.closed = true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Advance moves event time to now: it evaluates open watches (once per
// bucket), emits rollups of finished minutes, forgets closed watches, and
// returns everything produced since the last call.
func (d *Detector) Advance(now time.Time) Output {
	d.expireHeld(now)
	for _, k := range d.order {
		d.advanceWatch(d.watches[k], now)
	}
	// One sorted pass over the services keeps the output order stable.
	for _, name := range d.ServiceNames() {
		s := d.services[name]
		d.flushRollups(s, now)
		d.spikePosts(name, s, now)
	}
	d.forget(now)
	out := d.pending
	d.pending = Output{}
	d.annotate(&out)
	return out
}

// advanceWatch folds a watch's complete buckets up to now and evaluates
// it (once per bucket, and when its minimum watch or its end is due).
func (d *Detector) advanceWatch(w *watch, now time.Time) {
	if w.closed || now.Before(w.start.Add(d.cfg.Bucket)) {
		return
	}
	d.fold(w, now)
	d.foldCounts(w, now)
	due := !w.minDone && !now.Before(w.minEnd) || !now.Before(w.end)
	if !w.lastEval.IsZero() && now.Sub(w.lastEval) < d.cfg.Bucket && !due {
		return
	}
	d.evaluate(w, now)
}

func (d *Detector) forget(now time.Time) {
	kept := d.order[:0]
	for _, k := range d.order {
		w := d.watches[k]
		if w.closed && now.Sub(w.lastEval) > d.span {
			delete(d.watches, k)
			continue
		}
		kept = append(kept, k)
	}
	d.order = kept
}

// rollupDelay is how long a minute stays open for late posts before its
// rollup is emitted; later posts re-emit the minute until rollupKeep.
const (
	rollupDelay = 2 * time.Minute
	rollupKeep  = 15 * time.Minute
)

func (d *Detector) flushRollups(s *service, now time.Time) {
	if len(s.rollups) == 0 {
		return
	}
	var ready []*rollupState
	for k, rs := range s.rollups {
		end := rs.r.Time.Add(time.Minute)
		if now.Sub(end) > rollupKeep {
			delete(s.rollups, k)
			continue
		}
		if rs.dirty && now.Sub(end) >= rollupDelay {
			ready = append(ready, rs)
		}
	}
	if len(s.rollups) == 0 {
		// Go maps never shrink: drop an emptied one so a burst of late
		// minutes doesn't keep its buckets forever.
		s.rollups = map[rollupKey]*rollupState{}
	}
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].r.Time.Equal(ready[j].r.Time) {
			return ready[i].r.Time.Before(ready[j].r.Time)
		}
		return ready[i].r.Source < ready[j].r.Source
	})
	for _, rs := range ready {
		rs.dirty = false
		r := rs.r
		r.Categories = maps.Clone(r.Categories)
		d.pending.Rollups = append(d.pending.Rollups, r)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + "…"
}
