package scenarios

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// The low-level generator shared by the scenarios and the clean month:
// background traffic of real texts with a daily and weekly rhythm, posts,
// release events and metric samples, written as replay input.

// service is one service being generated and how people talk about it.
type service struct {
	prod Product
	// koShare is the share of posts written in Korean.
	koShare float64
	// peak is posts per minute at the busiest hour of a weekday.
	peak float64
	// complaintShare is the share of background posts that are ordinary
	// complaints (1–2 star reviews, negative Korean reviews).
	complaintShare float64
	// mondayBoost multiplies Monday-morning traffic (people log in again).
	mondayBoost float64
	// silentFrom and silentTo: no posts are found in [silentFrom, silentTo)
	// (the crawlers are broken). Zero silentFrom: never silent.
	silentFrom, silentTo time.Time
}

// rollout is one release going through the rings.
type rollout struct {
	release, version string
	// start is H1; h2 and h3 the promotions; done the completion.
	start, h2, h3, done time.Time
}

// ringAt is the ring the release is in at t ("" before it starts or after
// it completes).
func (ro rollout) ringAt(t time.Time) string {
	switch {
	case t.Before(ro.start) || !t.Before(ro.done):
		return ""
	case !t.Before(ro.h3):
		return "H3"
	case !t.Before(ro.h2):
		return "H2"
	}
	return "H1"
}

type gen struct {
	rng *rand.Rand
	// crng draws the request and error counts (countMetrics): a generator
	// of its own, so adding them left every other line of a stream as it
	// was for the same seed.
	crng *rand.Rand
	// hrng draws the older history (olderHistory): a generator of its
	// own, so adding it left every later line of a stream as it was.
	hrng  *rand.Rand
	pools *Pools
	loc   *time.Location
	// typoRate is the chance that a word gets a typing mistake.
	typoRate float64
	sources  []string
	nextID   uint64
	lines    []line
	seq      int
	// tags, when not nil, records what each post of the scenario's service
	// is (tagIncident, tagComplaint, tagOther) by post id: the delay
	// diagnosis reads it; it is never written to the stream.
	tags    map[string]string
	tagNext string
}

// Post tags of the delay diagnosis.
const (
	tagIncident  = "incident"
	tagComplaint = "complaint"
	tagOther     = "other"
)

type line struct {
	t    time.Time
	seq  int
	text string
}

func newGen(pools *Pools, seed uint64, salt uint64) *gen {
	return &gen{
		rng:      rand.New(rand.NewPCG(seed, salt)),
		crng:     rand.New(rand.NewPCG(seed, salt^0xc0c0_e770)),
		hrng:     rand.New(rand.NewPCG(seed, salt^0x01de_4157)),
		pools:    pools,
		loc:      time.FixedZone("KST", 9*3600),
		typoRate: 0.03,
		sources:  []string{"mastodon", "bluesky", "reddit", "appstore", "x"},
		nextID:   113_000_000_000_000_000 + seed*1_000_000_000,
	}
}

// daily is the relative traffic by local hour: quiet at night.
var daily = [24]float64{0.30, 0.20, 0.12, 0.08, 0.07, 0.10, 0.22, 0.45, 0.70, 0.85, 0.90, 0.95,
	1.00, 0.95, 0.85, 0.85, 0.85, 0.90, 0.95, 1.00, 1.00, 0.90, 0.70, 0.45}

// weekly is the relative traffic by weekday (Sunday first).
var weekly = [7]float64{0.70, 1.00, 0.95, 0.95, 0.95, 1.05, 0.60}

// rate is s's background rate in posts per minute at t.
func (g *gen) rate(s *service, t time.Time) float64 {
	lt := t.In(g.loc)
	h := float64(lt.Hour()) + float64(lt.Minute())/60
	i := int(h)
	f := h - float64(i)
	d := daily[i]*(1-f) + daily[(i+1)%24]*f
	w := weekly[lt.Weekday()]
	if lt.Weekday() == time.Monday && h >= 7 && h < 12 && s.mondayBoost > 0 {
		w *= s.mondayBoost
	}
	if lt.Weekday() == time.Friday && h >= 18 {
		w *= 1.2 // Friday evening shopping and streaming
	}
	return s.peak * d * w
}

// poisson draws a Poisson count with mean lambda.
func (g *gen) poisson(lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*g.rng.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// minutes calls f for every minute in [from, to) with a per-hour noise
// factor (traffic is lumpy hour to hour).
func (g *gen) minutes(from, to time.Time, f func(t time.Time, noise float64)) {
	noise := 1.0
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		if t.Minute() == 0 || t.Equal(from) {
			noise = math.Exp(0.2 * g.rng.NormFloat64())
		}
		f(t, noise)
	}
}

// olderHistory adds s's ordinary posts in [from, to), drawn from the
// generator of the older history, so the lines from `to` on are the same
// for a given seed whether it is added or not.
func (g *gen) olderHistory(s *service, from, to time.Time) {
	main := g.rng
	g.rng = g.hrng
	defer func() { g.rng = main }()
	g.background(s, from, to)
}

// within picks a moment inside minute t.
func (g *gen) within(t time.Time) time.Time {
	return t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
}

func (g *gen) lang(s *service) string {
	if g.rng.Float64() < s.koShare {
		return "ko"
	}
	return "en"
}

func pick(rng *rand.Rand, rs []Review) Review { return rs[rng.IntN(len(rs))] }

// background adds s's ordinary posts in [from, to): praise, neutral posts
// and ordinary complaints, all real texts.
func (g *gen) background(s *service, from, to time.Time) {
	g.minutes(from, to, func(t time.Time, noise float64) {
		n := g.poisson(g.rate(s, t) * noise)
		for range n {
			lang := g.lang(s)
			var r Review
			x := g.rng.Float64()
			switch {
			case x < s.complaintShare && lang == "ko":
				r = g.draw(g.pools.KONegative, g.pools.KOSocialComplaint)
			case x < s.complaintShare:
				r = g.draw(g.pools.ENComplaint, g.pools.ENSocialComplaint)
			case lang == "ko":
				r = g.draw(g.pools.KOPositive, g.pools.KOSocialOther)
			case x < s.complaintShare+0.45:
				r = pick(g.rng, g.pools.ENPraise)
			default:
				r = g.draw(g.pools.ENNeutral, g.pools.ENSocialOther)
			}
			g.tagNext = tagOther
			if x < s.complaintShare {
				g.tagNext = tagComplaint
			}
			g.post(s, g.within(t), g.say(r, s.prod, 0.45, "", 0), r)
			g.tagNext = ""
		}
	})
}

// say turns a real text into a post: clipped to post length, naming the
// product with probability nameShare, naming version with probability
// versionShare, with typos, and sometimes an emoji.
func (g *gen) say(r Review, p Product, nameShare float64, version string, versionShare float64) string {
	text := clip(r.Text, 240)
	if g.rng.Float64() < nameShare {
		text = mention(g.rng, text, p.name(g.rng, r.Lang), r.Lang)
	}
	if version != "" && g.rng.Float64() < versionShare {
		text = withVersion(g.rng, text, version, r.Lang)
	}
	text = typos(g.rng, text, g.typoRate)
	if g.rng.Float64() < 0.08 {
		set := happyEmoji
		if r.Stars <= 2 && r.Label != socialOther {
			set = angryEmoji
		}
		text += " " + emoji(g.rng, set, r.Lang)
	}
	return text
}

// silent reports whether s's sources find nothing at t.
func (s *service) silent(t time.Time) bool {
	return !s.silentFrom.IsZero() && !t.Before(s.silentFrom) && (s.silentTo.IsZero() || t.Before(s.silentTo))
}

// post adds a post about s from a random source. App-store posts carry the
// review's stars.
func (g *gen) post(s *service, t time.Time, text string, r Review) {
	if s.silent(t) {
		return
	}
	src := g.sources[g.rng.IntN(len(g.sources))]
	g.postFrom(s.prod.Service, t, text, r, src, "", 0)
}

func (g *gen) postFrom(svc string, t time.Time, text string, r Review, src, author string, reach int) {
	g.nextID += 1 + uint64(g.rng.IntN(1000))
	extra := ""
	// Crawlers give a language for most posts, not all.
	if g.rng.Float64() < 0.8 {
		extra += fmt.Sprintf(`,"lang":%q`, r.Lang)
	}
	if author == "" && g.rng.Float64() < 0.5 {
		author = fmt.Sprintf("user%d", g.rng.IntN(1_000_000))
	}
	if author != "" {
		extra += fmt.Sprintf(`,"author":%q`, author)
	}
	if src == "reddit" && g.rng.Float64() < 0.5 {
		extra += fmt.Sprintf(`,"url":"https://reddit.com/r/%s/comments/%x"`, svc, g.nextID%0xffffff)
	}
	if src == "appstore" && r.Stars > 0 {
		extra += fmt.Sprintf(`,"rating":%d`, r.Stars)
	}
	if reach > 0 {
		extra += fmt.Sprintf(`,"reach":%d`, reach)
	}
	if g.tags != nil && g.tagNext != "" {
		g.tags[fmt.Sprint(g.nextID)] = g.tagNext
	}
	g.add(t, fmt.Sprintf(`{"type":"post","time":%q,"source":%q,"id":"%d","service":%q,"text":%q%s}`,
		ts(t), src, g.nextID, svc, text, extra))
}

// releaseEvents adds the release events of a rollout.
func (g *gen) releaseEvents(svc string, ro rollout) {
	ev := func(t time.Time, ring, event string) {
		ringField := ""
		if ring != "" {
			ringField = fmt.Sprintf(`,"ring":%q`, ring)
		}
		g.add(t, fmt.Sprintf(`{"type":"release","time":%q,"release":%q,"service":%q,"version":%q%s,"event":%q}`,
			ts(t), ro.release, svc, ro.version, ringField, event))
	}
	ev(ro.start, "H1", "started")
	ev(ro.h2, "H2", "promoted")
	ev(ro.h3, "H3", "promoted")
	ev(ro.done, "", "completed")
}

// cohortMetrics holds one service's internal metric levels.
type cohortMetrics struct {
	baseErr, baseLat float64
	// reqPeak is the service's requests per minute at its busiest hour
	// (1,000 to 20,000, log-uniform).
	reqPeak float64
}

func (g *gen) newCohortMetrics() cohortMetrics {
	return cohortMetrics{baseErr: 0.004 + 0.01*g.rng.Float64(), baseLat: 250 + 150*g.rng.Float64(),
		reqPeak: 1000 * math.Pow(20, g.crng.Float64())}
}

// metrics adds error_rate and latency_p99 samples every step in [from, to):
// the old version's cohort always, and ro's cohort in its current ring when
// newCohort is set. errMult and latMult scale the new cohort.
func (g *gen) metrics(svc string, m cohortMetrics, from, to time.Time, step time.Duration, ro *rollout, newCohort bool, errMult, latMult func(time.Time) float64) {
	blips := g.blips(from, to)
	for t := from; t.Before(to); t = t.Add(step) {
		g.countMetrics(svc, m, t, step, ro, newCohort, errMult, blips)
		at := t.Add(time.Duration(5+g.rng.IntN(20)) * time.Second)
		g.metric(at, svc, "", "", "error_rate", m.baseErr*math.Exp(0.12*g.rng.NormFloat64()))
		g.metric(at, svc, "", "", "latency_p99", m.baseLat*math.Exp(0.08*g.rng.NormFloat64()))
		if ro == nil || !newCohort {
			continue
		}
		ring := ro.ringAt(t)
		if ring == "" {
			continue
		}
		// Small cohorts are noisier.
		sd := map[string]float64{"H1": 0.3, "H2": 0.2, "H3": 0.12}[ring]
		em, lm := 1.0, 1.0
		if errMult != nil {
			em = errMult(t)
		}
		if latMult != nil {
			lm = latMult(t)
		}
		g.metric(at, svc, ro.version, ring, "error_rate", m.baseErr*em*math.Exp(sd*g.rng.NormFloat64()))
		g.metric(at, svc, ro.version, ring, "latency_p99", m.baseLat*lm*math.Exp(sd*g.rng.NormFloat64()))
	}
}

// blip is a short burst of errors in every cohort at once: a dependency
// (database, payment provider, network) failing for a few minutes. A judge
// that halts the release on one is wrong: the old version failed as much.
type blip struct {
	from, to time.Time
	mult     float64
}

// blips draws the common-mode error bursts of [from, to): one every three
// hours on average, 2 to 8 minutes long, the error ratio ×4 to ×30.
func (g *gen) blips(from, to time.Time) []blip {
	var out []blip
	for t := from; ; {
		t = t.Add(time.Duration(g.crng.ExpFloat64() * float64(3*time.Hour)))
		if !t.Before(to) {
			return out
		}
		d := time.Duration(2+g.crng.IntN(7)) * time.Minute
		out = append(out, blip{from: t, to: t.Add(d), mult: 4 * math.Pow(7.5, g.crng.Float64())})
	}
}

// trafficShape is the relative request rate at t: the daily and weekly
// rhythm of the posts (rate), without a service's own surges.
func (g *gen) trafficShape(t time.Time) float64 {
	lt := t.In(g.loc)
	h := float64(lt.Hour()) + float64(lt.Minute())/60
	i := int(h)
	f := h - float64(i)
	return (daily[i]*(1-f) + daily[(i+1)%24]*f) * weekly[lt.Weekday()]
}

// canaryShare is the new version's share of the requests in a ring: 1 % of
// the staff's traffic in H1, 2 % in H2, and in H3 from 25 % to 95 % over
// its first hour (the old version keeps serving the last few).
func canaryShare(ro *rollout, ring string, t time.Time) float64 {
	switch ring {
	case "H1":
		return 0.01
	case "H2":
		return 0.02
	case "H3":
		return 0.25 + 0.7*math.Min(1, t.Sub(ro.h3).Hours())
	}
	return 0
}

// countMetrics adds the request and error counts of the step starting at
// t — the samples "requests" and "errors" of the JSON push's count form —
// for the old cohort, and for the new version's cohort in its ring when
// newCohort is set. The error ratios are the ones error_rate samples
// (baseErr, ×errMult for the new cohort), and the counts are overdispersed
// as real ones: requests follow the day with some lumpiness (gamma ×
// Poisson); errors are Poisson around requests × ratio × a gamma factor
// shared by both cohorts (load, one bad minute of a database) × one of
// each cohort's own; and blips hit both cohorts at once.
func (g *gen) countMetrics(svc string, m cohortMetrics, t time.Time, step time.Duration, ro *rollout, newCohort bool, errMult func(time.Time) float64, blips []blip) {
	if m.reqPeak <= 0 {
		return
	}
	at := t.Add(time.Duration(g.crng.IntN(50)) * time.Second)
	reqs := m.reqPeak * g.trafficShape(t) * step.Minutes() * gammaDraw(g.crng, 50) / 50
	common := gammaDraw(g.crng, 20) / 20
	for _, b := range blips {
		if !t.Before(b.from) && t.Before(b.to) {
			common *= b.mult
		}
	}
	share, ring := 0.0, ""
	if ro != nil && newCohort {
		if ring = ro.ringAt(t); ring != "" {
			share = canaryShare(ro, ring, t)
		}
	}
	draw := func(version, ring string, req, ratio float64) {
		n := poissonDraw(g.crng, req)
		x := poissonDraw(g.crng, float64(n)*min(ratio*common*gammaDraw(g.crng, 50)/50, 1))
		g.countMetric(at, svc, version, ring, "requests", n)
		g.countMetric(at, svc, version, ring, "errors", x)
	}
	draw("", "", reqs*(1-share), m.baseErr)
	if share > 0 {
		em := 1.0
		if errMult != nil {
			em = errMult(t)
		}
		draw(ro.version, ring, reqs*share, m.baseErr*em)
	}
}

func (g *gen) countMetric(t time.Time, svc, version, ring, name string, n int) {
	cohort := ""
	if version != "" {
		cohort = fmt.Sprintf(`,"version":%q,"ring":%q`, version, ring)
	}
	g.add(t, fmt.Sprintf(`{"type":"metric","time":%q,"service":%q%s,"name":%q,"value":%d}`, ts(t), svc, cohort, name, n))
}

// poissonDraw draws a Poisson count with mean lambda.
func poissonDraw(rng *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	return int(distuv.Poisson{Lambda: lambda, Src: rng}.Rand())
}

// gammaDraw draws Gamma(shape, 1).
func gammaDraw(rng *rand.Rand, shape float64) float64 {
	return distuv.Gamma{Alpha: shape, Beta: 1, Src: rng}.Rand()
}

func (g *gen) metric(t time.Time, svc, version, ring, name string, v float64) {
	cohort := ""
	if version != "" {
		cohort = fmt.Sprintf(`,"version":%q,"ring":%q`, version, ring)
	}
	g.add(t, fmt.Sprintf(`{"type":"metric","time":%q,"service":%q%s,"name":%q,"value":%.5g}`, ts(t), svc, cohort, name, v))
}

func (g *gen) add(t time.Time, text string) {
	g.seq++
	g.lines = append(g.lines, line{t: t, seq: g.seq, text: text})
}

// write sorts the lines by time (stable) and writes them.
func (g *gen) write(w io.Writer) error {
	sort.SliceStable(g.lines, func(i, j int) bool {
		if !g.lines[i].t.Equal(g.lines[j].t) {
			return g.lines[i].t.Before(g.lines[j].t)
		}
		return g.lines[i].seq < g.lines[j].seq
	})
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, l := range g.lines {
		bw.WriteString(l.text)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// minutesOf is a random duration of lo to hi minutes.
func (g *gen) minutesOf(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1)) * time.Minute
}

// pickProduct picks a product from the catalog (excluding taken names).
func (g *gen) pickProduct(list []struct{ display, korean string }, taken ...string) Product {
	for {
		c := list[g.rng.IntN(len(list))]
		if !contains(taken, strings.ToLower(c.display)) {
			return newProduct(g.rng, c.display, c.korean)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
