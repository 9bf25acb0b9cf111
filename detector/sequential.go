package detector

import (
	"fmt"
	"math"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// The charts of a watch, one per count signal.
const (
	chComplaints = iota // complaint_volume
	chShare             // negative_share
	chRelease           // release_complaints
	chCategory0         // one per category, in Categories order
	nCharts      = chCategory0 + 8
)

// Least counts in a CUSUM excursion before it may alarm: a rise is never
// judged on one or two posts.
const (
	minReleaseEvidence = 3
	minCountEvidence   = 5
)

// baseline is what a watch expects, fixed at its ring's start from the
// baseline hours before it: rates per minute and shares of posts (from an
// upper estimate of the counts, see upper), and the dispersion of
// complaint counts.
type baseline struct {
	ok       bool
	detail   string // why there is no baseline
	from     time.Time
	minutes  float64
	posts    int32
	negative int32
	negRate  float64
	relRate  float64
	catRate  [8]float64
	negShare float64
	relShare float64
	catShare [8]float64
	phi      float64
	// phiShare is the dispersion of complaints given the posts (the share
	// chart's own model): lumps of traffic cancel in it.
	phiShare float64
	// dayExcess is how much more the share varies from one day to the
	// next than within the baseline hours, per expected complaint (see
	// dayDispersion); 0 without three whole days of history.
	dayExcess float64
}

// to is the end of the baseline hours.
func (b *baseline) to() time.Time {
	return b.from.Add(time.Duration(math.Round(b.minutes*60)) * time.Second)
}

// carryOver continues the social charts of a release's previous ring (prev,
// just closed by the promotion) in the watch of its next ring (w). The
// social signals of both rings are the same posts — the service's — so the
// next ring is judged against the same baseline, the hours before the
// previous ring started, and its charts go on from where they were: the
// evidence gathered in H2 is not thrown away at the promotion, and H3's
// baseline does not take in H2's hours, in which the release was already
// live (an incident that began in H2 would otherwise be part of what H3
// expects). A CUSUM that goes on is the same statistic on the same counts,
// so its false-alarm rate is the one the budget set (§3 of docs/judge.md).
// Nothing is carried from an internal ring (its charts are not kept), from
// a ring without a baseline, or from one whose baseline was short (a new
// service: the next ring gets a longer one of its own).
func (d *Detector) carryOver(prev, w *watch) {
	if prev == nil || w == nil || prev.ring.Internal || w.ring.Internal || prev.base == nil || !prev.base.ok || prev.ev.Service != w.ev.Service {
		return
	}
	if prev.base.minutes < d.cfg.Baseline.Minutes() {
		return
	}
	b := *prev.base
	w.base = &b
	d.countBaselines(w, d.services[w.ev.Service])
	d.thresholds(w)
	for i := range w.charts {
		w.charts[i].carry(&prev.charts[i])
	}
	// Buckets are counted exactly once: from where the previous ring's
	// charts stopped.
	if prev.next.Before(w.next) {
		w.next = prev.next
	}
}

// upper is the count the rates of the sparse signals (each category, the
// complaints naming the release) are estimated with: about one standard
// error above the k seen (k + 1 + √(k+1)). The thresholds assume a known
// rate; a rate estimated from a few hours of a rare category is uncertain,
// and the plain estimate (0 from 0) would make any few posts a rise. For
// large k it is the plain count within a few percent.
func upper(k int32) float64 {
	x := float64(k) + 1
	return x + math.Sqrt(x)
}

// estimate sets the rates and shares a watch expects from the baseline
// hours' counts (sum over minutes).
func (b *baseline) estimate(sum bucket, minutes float64) {
	b.minutes, b.posts, b.negative = minutes, sum.posts, sum.negative
	n := float64(sum.posts) + 1
	// Complaints in general are many (hundreds in a baseline): the plain
	// estimate, with half a count so an empty baseline expects a little.
	b.negRate = (float64(sum.negative) + 0.5) / minutes
	b.negShare = min((float64(sum.negative)+0.5)/n, 0.95)
	b.relRate = upper(sum.releaseNeg) / minutes
	b.relShare = min(upper(sum.releaseNeg)/n, 0.95)
	for i := range b.catRate {
		b.catRate[i] = upper(sum.categories[i]) / minutes
		b.catShare[i] = min(upper(sum.categories[i])/n, 0.95)
	}
}

func (d *Detector) baselineFor(w *watch, s *service) *baseline {
	b := &baseline{phi: 1, phiShare: 1}
	if s.posts.first.IsZero() || !s.posts.first.Before(w.start) {
		b.detail = "no posts from any source before the ring started: no baseline"
		return b
	}
	from := w.start.Add(-d.cfg.Baseline)
	if s.posts.first.After(from) {
		from = s.posts.first.Truncate(d.cfg.Bucket)
	}
	sum, minutes := s.posts.sum(from, w.start)
	if minutes < d.cfg.MinBaseline.Minutes() {
		b.detail = fmt.Sprintf("baseline has %.0f min of history, needs %s", minutes, d.cfg.MinBaseline)
		return b
	}
	b.ok, b.from = true, from
	b.estimate(sum, minutes)
	b.phi = d.dispersion(s, from, w.start)
	b.phiShare = d.shareDispersion(s, from, w.start, b.negShare)
	b.dayExcess = d.dayDispersion(s, w.start, b.phiShare)
	return b
}

// dayDispersion is the between-day part of the complaint share's variance,
// per expected complaint, from the whole days of hourly history before
// end (up to `weeks` of them, at least three): the share of one day differs
// from the next by more than its posts' binomial noise (news, a launch's
// buzz, a weekday's public), which a baseline of one day cannot know. As in
// a random-effects model, a day's complaints x among n posts vary as
// φ_day·s(1−s)·n, and φ_day − φ (φ the within-day dispersion of the
// baseline, which the share chart already allows for) grows with the
// day's size: the excess per expected complaint is (φ_day − φ)/(s·n̄).
// φ_day is estimated robustly, as the error counts' φ₀: the median of the
// days' Pearson residuals² over the median of χ²₁ (0.455), so one day of
// an incident or a launch does not make every later soak deaf. It only
// ever raises the soak's halting bar (chart.strongest), so the budget
// stays valid whatever it is.
func (d *Detector) dayDispersion(s *service, end time.Time, phi float64) float64 {
	const day = 24 * time.Hour
	end = end.Truncate(time.Hour)
	first := s.hours.first.Truncate(time.Hour)
	if first.IsZero() {
		return 0
	}
	var xs, ns []float64
	var x, n float64
	for k := 1; k <= 7*d.cfg.Weeks; k++ {
		from := end.Add(-time.Duration(k) * day)
		if from.Before(first) {
			break
		}
		b, _ := s.hours.sum(from, from.Add(day))
		if b.posts == 0 {
			continue
		}
		xs, ns = append(xs, float64(b.negative)), append(ns, float64(b.posts))
		x += float64(b.negative)
		n += float64(b.posts)
	}
	if len(xs) < 3 || x <= 0 || x >= n {
		return 0
	}
	share := x / n
	r2 := make([]float64, len(xs))
	for i := range xs {
		mu := share * ns[i]
		r2[i] = (xs[i] - mu) * (xs[i] - mu) / (mu * (1 - share))
	}
	phiDay := median(r2) / 0.455
	return max(phiDay-max(phi, 1), 0) / (x / float64(len(xs)))
}

// dispersion estimates how much more complaint counts vary than a Poisson
// count: variance over mean of 5-minute counts in the baseline, the
// variance from successive differences (von Neumann) so a slow daily trend
// does not count as burstiness. Clamped to [1, 10]; 1 with fewer than 20
// complaints to go by.
func (d *Detector) dispersion(s *service, from, to time.Time) float64 {
	const block = 5 * time.Minute
	var xs []float64
	total := 0.0
	for t := from; !t.Add(block).After(to); t = t.Add(block) {
		b, _ := s.posts.sum(t, t.Add(block))
		xs = append(xs, float64(b.negative))
		total += float64(b.negative)
	}
	return successiveDispersion(xs, total)
}

// shareDispersion is the dispersion of the share chart's model, complaints
// = share × posts in each 5-minute block of the baseline: the Pearson
// statistic over the expected complaints, Σ(x − s·n)² / Σ s·n (Farrington et
// al. 1996 estimate φ the same way for their quasi-Poisson model). A burst
// of traffic brings its share of complaints and does not count; a burst of
// complaints does. Clamped to [1, 10]; 1 with fewer than 20 complaints.
func (d *Detector) shareDispersion(s *service, from, to time.Time, share float64) float64 {
	const block = 5 * time.Minute
	var sq, expected, total float64
	for t := from; !t.Add(block).After(to); t = t.Add(block) {
		b, _ := s.posts.sum(t, t.Add(block))
		mu := share * float64(b.posts)
		x := float64(b.negative)
		sq += (x - mu) * (x - mu)
		expected += mu
		total += x
	}
	if total < 20 || expected <= 0 {
		return 1
	}
	return min(max(sq/expected, 1), 10)
}

// successiveDispersion is the variance of counts (from successive
// differences) over their mean, in [1, 10]; 1 with fewer than 20 counts.
func successiveDispersion(xs []float64, total float64) float64 {
	if total < 20 || len(xs) < 6 {
		return 1
	}
	mean := total / float64(len(xs))
	var sq float64
	for i := 1; i < len(xs); i++ {
		sq += (xs[i] - xs[i-1]) * (xs[i] - xs[i-1])
	}
	v := sq / (2 * float64(len(xs)-1))
	return min(max(v/mean, 1), 10)
}

// thresholds sets each chart's h from the false-alarm budget: at most one
// false halt per FalseHaltEvery per service. Only the charts of critical
// signals halt on their own (a non-critical failure reaches at most a
// marginal score, which asks for a review; see Score), so the budget is
// shared among those k charts by a union bound: the rate of false halts is
// at most the sum of the charts' false-alarm rates, so each halting chart
// needs an in-control run length of k × FalseHaltEvery.
// (TestBudgetHoldsJointly runs the whole set together on in-control counts
// and checks it stays within the budget.) Non-critical charts get the same
// threshold as if they halted. In expected events (over φ) that run length
// is what cusumThreshold reads h for.
func (d *Detector) thresholds(w *watch) {
	b := w.base
	arlMinutes := d.cfg.FalseHaltEvery.Minutes() * float64(d.budgetCharts(w))
	perBucket := d.cfg.Bucket.Minutes()
	// A dispersion below 1 is one that was never estimated (a baseline
	// restored from a snapshot written before it existed, a hand-built
	// one): 1, not a threshold of NaN that never alarms.
	phiC := max(b.phi, 1)
	set := func(c *chart, rate, minX float64) {
		c.h = phiC * cusumThreshold(rate*arlMinutes/phiC, rate*perBucket/phiC)
		c.hSoak = phiC * cusumThreshold(soakStrictness*rate*arlMinutes/phiC, rate*perBucket/phiC)
		c.minX = minX
	}
	set(&w.charts[chComplaints], b.negRate, minCountEvidence)
	// The share chart with its own dispersion (complaints given posts).
	phi := max(b.phiShare, 1)
	sc := &w.charts[chShare]
	sc.h = phi * cusumThreshold(b.negRate*arlMinutes/phi, b.negRate*perBucket/phi)
	sc.hSoak = phi * cusumThreshold(soakStrictness*b.negRate*arlMinutes/phi, b.negRate*perBucket/phi)
	sc.minX = minCountEvidence
	// In a soak, the share's drift from day to day raises the bar of a
	// long excursion (chart.strongest), in units of the chart's φ.
	sc.drift = b.dayExcess / phi
	set(&w.charts[chRelease], b.relRate, minReleaseEvidence)
	for i := range Categories {
		set(&w.charts[chCategory0+i], b.catRate[i], minCountEvidence)
	}
}

// chartSignals names the signal each chart stands for, in chart order.
func chartSignals() (names [nCharts]string) {
	names[chComplaints], names[chShare], names[chRelease] = "complaint_volume", "negative_share", "release_complaints"
	for i, c := range Categories {
		names[chCategory0+i] = c
	}
	return names
}

// haltingCharts counts the charts whose alarm halts a release on its own:
// those of critical signals (a category is critical by its own name or when
// complaint_categories is). At least one.
func (d *Detector) haltingCharts() int {
	n := 0
	for i, name := range chartSignals() {
		if d.cfg.critical(name) || i >= chCategory0 && d.cfg.critical("complaint_categories") {
			n++
		}
	}
	return max(n, 1)
}

// fold adds every bucket of the watch that is complete (and had Lateness
// to take late posts; 0 by default) up to now to the watch's counts and
// charts, with the posts that came after their own bucket was folded
// (countLate).
func (d *Detector) fold(w *watch, now time.Time) {
	s := d.services[w.ev.Service]
	if s == nil || w.ring.Internal {
		return
	}
	if w.base == nil {
		d.countBaselines(w, s) // first: a critical count chart is one more halting chart
		w.base = d.baselineFor(w, s)
		if w.base.ok {
			d.thresholds(w)
		}
	}
	limit := now.Add(-d.cfg.Lateness)
	if limit.After(w.end) {
		limit = w.end
	}
	bw := d.cfg.Bucket
	for !w.next.Add(bw).After(limit) {
		t := w.next
		w.next = t.Add(bw)
		b, _ := s.posts.sum(t, t.Add(bw))
		b.add(&w.late)
		w.late = bucket{}
		w.total.add(&b)
		if !w.base.ok {
			continue
		}
		f := d.hourFactor(w, s, t)
		m := bw.Minutes()
		base := w.base
		posts := float64(b.posts)
		eNeg := max(base.negRate*m*f, base.negShare*posts)
		w.charts[chComplaints].add(t, float64(b.negative), eNeg)
		w.charts[chShare].addShare(t, float64(b.negative), posts, base.negShare)
		// Complaints about the release are expected in proportion to the
		// talk about it: a happy launch brings its share of grumbles.
		eRel := max(base.relRate*m*f, base.relShare*posts, base.negShare*float64(b.release))
		eRel = d.reviewExpectation(w, t, m*f, eRel) // store reviews of the new version at its exposure (exposure.go)
		w.charts[chRelease].add(t, float64(b.releaseNeg), eRel)
		for i := range Categories {
			eCat := max(base.catRate[i]*m*f, base.catShare[i]*posts)
			w.charts[chCategory0+i].add(t, float64(b.categories[i]), eCat)
		}
	}
}

// hourFactor is the hour-of-week factor of the hour t falls in: how much
// busier that hour usually is than the baseline hours (cached per hour).
func (d *Detector) hourFactor(w *watch, s *service, t time.Time) float64 {
	h := t.Truncate(time.Hour)
	if w.factor == 0 || !h.Equal(w.factorHour) {
		w.factorHour = h
		w.factor, w.weeks = d.seasonalRatio(s, w.base.from, w.base.to(), h, h.Add(time.Hour))
	}
	return w.factor
}

// seasonalRatio says how much busier [winFrom, winTo) usually is than
// [refFrom, refTo), from the same hours of past weeks (median of the
// weekly ratios, add-one smoothed, clamped to [0.2, 10]). 1 when there is
// no complete week yet.
func (d *Detector) seasonalRatio(s *service, refFrom, refTo, winFrom, winTo time.Time) (float64, int) {
	refLen, winLen := refTo.Sub(refFrom).Hours(), winTo.Sub(winFrom).Hours()
	if refLen <= 0 || winLen <= 0 {
		return 1, 0
	}
	var ratios []float64
	for k := 1; k <= d.cfg.Weeks; k++ {
		back := time.Duration(k) * week
		if s.hours.first.IsZero() || refFrom.Add(-back).Before(s.hours.first.Truncate(time.Hour)) {
			break
		}
		ref := s.hours.postsBetween(refFrom.Add(-back), refTo.Add(-back))
		win := s.hours.postsBetween(winFrom.Add(-back), winTo.Add(-back))
		ratios = append(ratios, ((win+1)/winLen)/((ref+1)/refLen))
	}
	if len(ratios) == 0 {
		return 1, 0
	}
	return min(max(median(ratios), 0.2), 10), len(ratios)
}

// chartResult turns a chart into a signal result: fail while it alarms,
// pass when there is evidence, insufficient without.
func chartResult(name, group string, c *chart, evidence bool, why string) (r signals.SignalResult) {
	r.Name, r.Group = name, group
	r.Observed, r.Expected = c.total, c.expected
	r.Strength = math.Min(1, c.level())
	if i := c.alarm(); i >= 0 {
		r.Outcome = signals.OutcomeFail
		r.Observed, r.Expected = c.x[i], c.e[i]
		r.Detail = c.describe(name, i)
		return r
	}
	if !evidence {
		r.Outcome = signals.OutcomeInsufficient
		r.Detail = name + ": " + why
		return r
	}
	r.Outcome = signals.OutcomePass
	return r
}
