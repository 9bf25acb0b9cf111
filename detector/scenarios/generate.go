// Package scenarios is the detector's evaluation corpus: a deterministic
// generator of release streams in the replay format (`aftershock replay`),
// each with a ground-truth sidecar saying which (release, ring) should be
// halted and when the incident started, and a scorer that replays them
// through internal/replay and measures recall, false halts and detection
// delay.
//
// The corpus lives in testdata/tune (scenarios to tune the detector on) and
// testdata/heldout (the same kinds with other seeds, for checking). Each
// scenario is NAME.jsonl.gz plus NAME.truth.json. Regenerate it with
//
//	go test ./detector/scenarios -run TestCorpusUpToDate -update
package scenarios

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"
)

// Truth is a scenario's ground truth (the sidecar NAME.truth.json).
type Truth struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Seed        uint64 `json:"seed"`
	Description string `json:"description"`
	Service     string `json:"service"`
	Release     string `json:"release"`
	// Halts lists the (release, ring) pairs that should be halted and when
	// their incident started; empty means nothing should be halted.
	Halts []Want `json:"halts"`
	// Rings is the rollout order, for judging a halt in a later ring as late.
	Rings []string `json:"rings"`
}

// Want is one halt that should happen.
type Want struct {
	Release       string    `json:"release"`
	Ring          string    `json:"ring"`
	IncidentStart time.Time `json:"incident_start"`
}

// Spec names one scenario to generate.
type Spec struct {
	Kind string
	Seed uint64
	Half string // "tune" or "heldout"
}

// Name is the scenario's file name stem: kind and seed.
func (s Spec) Name() string { return fmt.Sprintf("%s-s%d", s.Kind, s.Seed) }

// Kinds are the scenario kinds, each with what it tests.
var Kinds = []struct{ Name, Description string }{
	{"outage-h3-big", "big outage once the release reaches everyone (H3): outage complaints ×8 and the new version's error rate ×8"},
	{"login-h2-small", "login bug visible only through posts in H2 (~1% exposure): a handful of login complaints naming the new version, no metric change"},
	{"errors-h1-metrics", "error-rate regression in H1, visible only in internal metrics (new version ×3)"},
	{"slowburn-h3", "slow-burn rise of slowness and crash complaints in H3, growing over two hours"},
	{"clean-low", "clean release at low traffic (~1 post/min at peak)"},
	{"clean-mid", "clean release at medium traffic (~5 posts/min at peak)"},
	{"clean-high", "clean release at high traffic (~20 posts/min at peak)"},
	{"launch-buzz", "positive launch buzz in H3: volume ×5, happy posts about the new version, a few grumbles"},
	{"monday-surge", "release just before the Monday-morning surge (traffic ×3 in two hours, more login posts than other mornings); 8 days of history"},
	{"weekend-lull", "release on a Saturday morning in the weekend lull, after a busy Friday; 8 days of history"},
	{"unrelated-outage", "another service (a bank) has an outage during the rollout; its complaints spike and a few spill over into ours"},
	{"sparse", "sparse data: 0–2 posts an hour"},
	{"noisy-source", "a noisy source: bursts of spam (some of it negative), duplicate deliveries and garbled lines"},
}

// Corpus lists every scenario of the corpus: each kind twice, with a tune
// seed and a held-out seed.
func Corpus() []Spec {
	var out []Spec
	for i, k := range Kinds {
		out = append(out, Spec{Kind: k.Name, Seed: uint64(1 + i), Half: "tune"})
		out = append(out, Spec{Kind: k.Name, Seed: uint64(101 + i), Half: "heldout"})
	}
	return out
}

// Ring timing of every rollout: H1 at R, H2 at R+35m, H3 at R+1h40m,
// completed at R+3h45m (after the default H3 window of 2h).
const (
	h2After   = 35 * time.Minute
	h3After   = 100 * time.Minute
	doneAfter = 225 * time.Minute
	tailAfter = 240 * time.Minute // the stream goes on this long after R
)

// gen holds one scenario being generated.
type gen struct {
	rng     *rand.Rand
	spec    Spec
	svc     string // service token
	disp    string // display name
	other   string // other service token
	odisp   string
	version string // "4.2.0"
	short   string // "4.2"
	prev    string // "4.1"
	release string
	loc     *time.Location
	koShare float64 // share of Korean posts
	peak    float64 // posts per minute at the daily peak
	// complaintShare is the share of ordinary complaints among background posts.
	complaintShare float64
	sources        []string
	nextID         uint64
	lines          []line
	seq            int
}

type line struct {
	t    time.Time
	seq  int
	text string
}

// Generate writes the scenario's stream to w and returns its ground truth.
func Generate(spec Spec, w io.Writer) (Truth, error) {
	g := &gen{
		rng:            rand.New(rand.NewPCG(spec.Seed, 0x5eed_a17e_25)),
		spec:           spec,
		svc:            "shop",
		disp:           "Shop",
		other:          "kbank",
		odisp:          "KBank",
		loc:            time.FixedZone("KST", 9*3600),
		complaintShare: 0.08,
		sources:        []string{"mastodon", "bluesky", "reddit", "appstore"},
		nextID:         113_000_000_000_000_000 + spec.Seed*1_000_000_000,
	}
	major, minor := 3+g.rng.IntN(5), 1+g.rng.IntN(15)
	g.version = fmt.Sprintf("%d.%d.0", major, minor)
	g.short = fmt.Sprintf("%d.%d", major, minor)
	g.prev = fmt.Sprintf("%d.%d", major, minor-1)
	g.release = g.svc + "-" + g.version
	g.koShare = 0.15 + 0.3*g.rng.Float64()
	g.peak = 2.5 + 2.5*g.rng.Float64()

	truth := Truth{Name: spec.Name(), Kind: spec.Kind, Seed: spec.Seed, Service: g.svc, Release: g.release, Halts: []Want{}, Rings: []string{"H1", "H2", "H3"}}
	for _, k := range Kinds {
		if k.Name == spec.Kind {
			truth.Description = k.Description
		}
	}
	if truth.Description == "" {
		return truth, fmt.Errorf("unknown scenario kind %q", spec.Kind)
	}

	// A weekday (Tuesday to Thursday) release at 10:00–14:00 local time, on
	// a week in March 2025, unless the kind says otherwise.
	week := time.Date(2025, 3, 3, 0, 0, 0, 0, g.loc) // a Monday
	r := week.AddDate(0, 0, 1+g.rng.IntN(3)).Add(10*time.Hour + time.Duration(g.rng.IntN(240))*time.Minute)
	history := 10 * time.Hour
	metricsEvery := time.Minute
	switch spec.Kind {
	case "monday-surge":
		r = week.AddDate(0, 0, 7).Add(7*time.Hour + time.Duration(g.rng.IntN(30))*time.Minute)
		history = r.Sub(week.AddDate(0, 0, -1)) // from the Sunday before the previous Monday
		g.peak = 0.9 + 0.4*g.rng.Float64()
	case "weekend-lull":
		r = week.AddDate(0, 0, 12).Add(8*time.Hour + time.Duration(g.rng.IntN(60))*time.Minute)
		history = r.Sub(week.AddDate(0, 0, 4)) // from the Friday a week before
		g.peak = 0.9 + 0.4*g.rng.Float64()
	case "clean-low":
		g.peak = 0.8 + 0.4*g.rng.Float64()
	case "clean-high":
		g.peak = 14 + 5*g.rng.Float64()
		history = 6 * time.Hour
	case "sparse":
		g.peak = 1.0 / 60 * (1 + g.rng.Float64()) // 1–2 posts an hour at the peak
		history = 24 * time.Hour
	}
	start, end := r.Add(-history), r.Add(tailAfter)

	// Background chatter about the service, with a daily and weekly rhythm.
	mondayBoost := 1.0
	if spec.Kind == "monday-surge" {
		mondayBoost = 1.5
	}
	g.background(start, end, g.peak, mondayBoost)

	// The rollout.
	g.releaseEvent(r, "H1", "started")
	g.releaseEvent(r.Add(h2After), "H2", "promoted")
	g.releaseEvent(r.Add(h3After), "H3", "promoted")
	g.releaseEvent(r.Add(doneAfter), "", "completed")
	errMult := func(time.Time) float64 { return 1 }
	latMult := func(time.Time) float64 { return 1 }

	switch spec.Kind {
	case "outage-h3-big":
		s := r.Add(h3After + time.Duration(10+g.rng.IntN(10))*time.Minute)
		truth.Halts = append(truth.Halts, Want{g.release, "H3", s})
		mult := 6 + 4*g.rng.Float64()
		g.incident(s, s.Add(time.Hour), func(t time.Time) float64 { return mult * g.rate(t, 1) }, []string{"outage", "outage", "crash", "slow"}, 0.4)
		errMult = func(t time.Time) float64 {
			if !t.Before(s) {
				return mult
			}
			return 1
		}
	case "login-h2-small":
		s := r.Add(h2After + time.Duration(3+g.rng.IntN(6))*time.Minute)
		truth.Halts = append(truth.Halts, Want{g.release, "H2", s})
		// About 8–14 complaints an hour at 1% exposure; a hundred times more
		// once everyone has the version (if it gets that far).
		perHour := 8 + 6*g.rng.Float64()
		g.incident(s, end, func(t time.Time) float64 {
			if t.Before(r.Add(h3After)) {
				return perHour / 60
			}
			return perHour / 60 * 30
		}, []string{"login"}, 0.7)
	case "errors-h1-metrics":
		s := r.Add(time.Duration(2+g.rng.IntN(4)) * time.Minute)
		truth.Halts = append(truth.Halts, Want{g.release, "H1", s})
		mult := 2.5 + g.rng.Float64()
		errMult = func(t time.Time) float64 {
			if !t.Before(s) {
				return mult
			}
			return 1
		}
	case "slowburn-h3":
		s := r.Add(h3After + time.Duration(5+g.rng.IntN(10))*time.Minute)
		truth.Halts = append(truth.Halts, Want{g.release, "H3", s})
		top := 1.2 + 0.6*g.rng.Float64() // extra complaints at the end, relative to all background posts × complaint share ×10
		g.incident(s, end, func(t time.Time) float64 {
			frac := math.Min(1, t.Sub(s).Minutes()/120)
			return frac * top * g.rate(t, 1) * 0.5
		}, []string{"slow", "slow", "crash"}, 0.3)
		latMult = func(t time.Time) float64 {
			if t.Before(s) {
				return 1
			}
			return 1 + 0.3*math.Min(1, t.Sub(s).Minutes()/120)
		}
	case "launch-buzz":
		s := r.Add(h3After + time.Duration(g.rng.IntN(10))*time.Minute)
		g.buzz(s, s.Add(150*time.Minute))
	case "unrelated-outage":
		g.otherService(start, end, r.Add(h2After+time.Duration(20+g.rng.IntN(60))*time.Minute))
	case "noisy-source":
		g.noise(start, end)
	}
	if spec.Kind == "unrelated-outage" {
		truth.Description += fmt.Sprintf(" (other service %q)", g.other)
	}

	// Internal metrics around the rollout: the old version's cohort and the
	// new version's cohort in its current ring, once a minute.
	g.metrics(r.Add(-time.Hour), r.Add(doneAfter), r, metricsEvery, errMult, latMult)

	sort.SliceStable(g.lines, func(i, j int) bool {
		if !g.lines[i].t.Equal(g.lines[j].t) {
			return g.lines[i].t.Before(g.lines[j].t)
		}
		return g.lines[i].seq < g.lines[j].seq
	})
	bw := bufio.NewWriter(w)
	for _, l := range g.lines {
		bw.WriteString(l.text)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return truth, fmt.Errorf("writing scenario %s: %w", spec.Name(), err)
	}
	return truth, nil
}

// daily is the relative traffic by local hour.
var daily = [24]float64{0.30, 0.20, 0.14, 0.10, 0.10, 0.14, 0.25, 0.45, 0.70, 0.85, 0.90, 0.95,
	1.00, 0.95, 0.85, 0.85, 0.85, 0.90, 0.95, 1.00, 1.00, 0.90, 0.70, 0.45}

// weekly is the relative traffic by weekday (Sunday first).
var weekly = [7]float64{0.70, 1.00, 0.95, 0.95, 0.95, 1.00, 0.65}

// rate is the background rate in posts per minute at t.
func (g *gen) rate(t time.Time, mondayBoost float64) float64 {
	lt := t.In(g.loc)
	h := float64(lt.Hour()) + float64(lt.Minute())/60
	i := int(h)
	f := h - float64(i)
	d := daily[i]*(1-f) + daily[(i+1)%24]*f
	w := weekly[lt.Weekday()]
	if lt.Weekday() == time.Monday && h >= 7 && h < 12 {
		w *= mondayBoost
	}
	return g.peak * d * w
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
			noise = math.Exp(0.15 * g.rng.NormFloat64())
		}
		f(t, noise)
	}
}

func (g *gen) background(from, to time.Time, peak float64, mondayBoost float64) {
	g.minutes(from, to, func(t time.Time, noise float64) {
		lt := t.In(g.loc)
		mondayMorning := mondayBoost > 1 && lt.Weekday() == time.Monday && lt.Hour() >= 7 && lt.Hour() < 12
		n := g.poisson(g.rate(t, mondayBoost) * noise)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			ko := g.rng.Float64() < g.koShare
			x := g.rng.Float64()
			switch {
			case x < g.complaintShare:
				cat := g.pickCategory(mondayMorning)
				g.post(at, g.svc, g.pickComplaint(cat, ko), ko)
			case x < g.complaintShare+0.22:
				g.post(at, g.svc, g.pick(praiseEN, praiseKO, ko), ko)
			default:
				g.post(at, g.svc, g.pick(neutralEN, neutralKO, ko), ko)
			}
		}
	})
}

// pickCategory chooses an ordinary complaint's category. On Monday
// mornings people log in again after the weekend: more login trouble.
func (g *gen) pickCategory(mondayMorning bool) string {
	cats := []string{"other", "other", "other", "login", "slow", "slow", "payment", "crash", "bug", "outage", "data_loss"}
	if mondayMorning && g.rng.Float64() < 0.4 {
		return "login"
	}
	return cats[g.rng.IntN(len(cats))]
}

func (g *gen) pickComplaint(cat string, ko bool) string {
	if ko && len(complaintKO[cat]) > 0 {
		xs := complaintKO[cat]
		return xs[g.rng.IntN(len(xs))]
	}
	xs := complaintEN[cat]
	return xs[g.rng.IntN(len(xs))]
}

func (g *gen) pick(en, ko []string, useKO bool) string {
	if useKO && len(ko) > 0 {
		return ko[g.rng.IntN(len(ko))]
	}
	return en[g.rng.IntN(len(en))]
}

// incident adds complaints from s to e at rate(t) per minute, in the given
// categories; versionShare of them blame the new version.
func (g *gen) incident(s, e time.Time, rate func(time.Time) float64, cats []string, versionShare float64) {
	g.minutes(s, e, func(t time.Time, noise float64) {
		n := g.poisson(rate(t) * noise)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			ko := g.rng.Float64() < g.koShare
			cat := cats[g.rng.IntN(len(cats))]
			var text string
			if g.rng.Float64() < versionShare {
				pool := versionComplaintEN[cat]
				if ko && len(versionComplaintKO[cat]) > 0 {
					pool = versionComplaintKO[cat]
				}
				text = pool[g.rng.IntN(len(pool))]
			} else {
				text = g.pickComplaint(cat, ko)
			}
			g.post(at, g.svc, text, ko)
		}
	})
}

// buzz adds happy launch posts: the volume goes to about five times normal.
func (g *gen) buzz(s, e time.Time) {
	g.minutes(s, e, func(t time.Time, noise float64) {
		// Rises over 20 minutes, stays, then fades over the last hour.
		k := math.Min(1, t.Sub(s).Minutes()/20) * math.Min(1, e.Sub(t).Minutes()/60)
		n := g.poisson(4 * k * g.rate(t, 1) * noise)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			ko := g.rng.Float64() < g.koShare
			text := g.pick(launchEN, launchKO, ko)
			switch x := g.rng.Float64(); {
			case x < 0.05:
				text, ko = grumbleEN[g.rng.IntN(len(grumbleEN))], false
			case x < 0.25:
				text = g.pick(praiseEN, praiseKO, ko)
			}
			g.post(at, g.svc, text, ko)
		}
	})
}

// otherService adds another service's chatter and, from outage on, its
// outage: its complaints spike for an hour and a half and some spill over
// into posts our crawler finds.
func (g *gen) otherService(from, to, outage time.Time) {
	g.minutes(from, to, func(t time.Time, noise float64) {
		in := !t.Before(outage) && t.Before(outage.Add(90*time.Minute))
		n := g.poisson(0.25 * g.rate(t, 1) * noise)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			ko := g.rng.Float64() < g.koShare
			g.post(at, g.other, g.pick(neutralEN, neutralKO, ko), ko)
		}
		if !in {
			return
		}
		n = g.poisson(10 * g.rate(t, 1) * noise)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			ko := g.rng.Float64() < g.koShare
			g.post(at, g.other, g.pick(otherOutageEN, otherOutageKO, ko), ko)
		}
		n = g.poisson(0.3 * g.rate(t, 1) * noise)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(60)) * time.Second)
			g.post(at, g.svc, spillEN[g.rng.IntN(len(spillEN))], false)
		}
	})
}

// noise adds a noisy source: spam bursts every few hours (identical text
// from many accounts, some of it negative), duplicate deliveries of posts
// and garbled lines.
func (g *gen) noise(from, to time.Time) {
	for t := from.Add(time.Duration(g.rng.IntN(120)) * time.Minute); t.Before(to); t = t.Add(time.Duration(90+g.rng.IntN(150)) * time.Minute) {
		text := spamEN[g.rng.IntN(len(spamEN))]
		n := 15 + g.rng.IntN(40)
		for range n {
			at := t.Add(time.Duration(g.rng.IntN(300)) * time.Second)
			g.postFrom(at, g.svc, text, false, "bluesky", fmt.Sprintf("deals%04d.bsky.social", g.rng.IntN(10000)))
		}
	}
	// Duplicates: the source delivers about one post in six again, a few
	// seconds to minutes later.
	n := len(g.lines)
	for i := 0; i < n; i++ {
		l := g.lines[i]
		if !strings.HasPrefix(l.text, `{"type":"post"`) || g.rng.Float64() >= 1.0/6 {
			continue
		}
		g.add(l.t.Add(time.Duration(1+g.rng.IntN(180))*time.Second), l.text)
	}
	for t := from; t.Before(to); t = t.Add(time.Duration(10+g.rng.IntN(50)) * time.Minute) {
		g.add(t, garbled[g.rng.IntN(len(garbled))])
	}
}

func (g *gen) releaseEvent(t time.Time, ring, event string) {
	ringField := ""
	if ring != "" {
		ringField = fmt.Sprintf(`,"ring":%q`, ring)
	}
	g.add(t, fmt.Sprintf(`{"type":"release","time":%q,"release":%q,"service":%q,"version":%q%s,"event":%q}`,
		ts(t), g.release, g.svc, g.version, ringField, event))
}

func (g *gen) metrics(from, to, r time.Time, every time.Duration, errMult, latMult func(time.Time) float64) {
	baseErr := 0.004 + 0.01*g.rng.Float64()
	baseLat := 250 + 150*g.rng.Float64()
	for t := from; t.Before(to); t = t.Add(every) {
		at := t.Add(time.Duration(5+g.rng.IntN(20)) * time.Second)
		g.metric(at, "", "", "error_rate", baseErr*math.Exp(0.12*g.rng.NormFloat64()))
		g.metric(at, "", "", "latency_p99", baseLat*math.Exp(0.08*g.rng.NormFloat64()))
		if t.Before(r) {
			continue
		}
		ring := "H1"
		switch {
		case !t.Before(r.Add(h3After)):
			ring = "H3"
		case !t.Before(r.Add(h2After)):
			ring = "H2"
		}
		// Small cohorts are noisier.
		sd := map[string]float64{"H1": 0.3, "H2": 0.2, "H3": 0.12}[ring]
		g.metric(at, g.version, ring, "error_rate", baseErr*errMult(t)*math.Exp(sd*g.rng.NormFloat64()))
		g.metric(at, g.version, ring, "latency_p99", baseLat*latMult(t)*math.Exp(sd*g.rng.NormFloat64()))
	}
}

func (g *gen) metric(t time.Time, version, ring, name string, v float64) {
	cohort := ""
	if version != "" {
		cohort = fmt.Sprintf(`,"version":%q,"ring":%q`, version, ring)
	}
	g.add(t, fmt.Sprintf(`{"type":"metric","time":%q,"service":%q%s,"name":%q,"value":%.5g}`, ts(t), g.svc, cohort, name, v))
}

func (g *gen) post(t time.Time, service, tmpl string, ko bool) {
	src := g.sources[g.rng.IntN(len(g.sources))]
	g.postFrom(t, service, tmpl, ko, src, "")
}

func (g *gen) postFrom(t time.Time, service, tmpl string, ko bool, src, author string) {
	text := strings.NewReplacer("{s}", g.disp, "{o}", g.odisp, "{v}", g.short, "{V}", g.version, "{p}", g.prev).Replace(tmpl)
	if service == g.other {
		text = strings.ReplaceAll(text, g.disp, g.odisp)
	}
	g.nextID += 1 + uint64(g.rng.IntN(1000))
	lang := "en"
	if ko {
		lang = "ko"
	}
	extra := ""
	if author == "" && g.rng.Float64() < 0.3 {
		author = fmt.Sprintf("user%d", g.rng.IntN(100000))
	}
	if author != "" {
		extra = fmt.Sprintf(`,"author":%q`, author)
	}
	if src == "reddit" && g.rng.Float64() < 0.5 {
		extra += fmt.Sprintf(`,"url":"https://reddit.com/r/%s/comments/%x"`, service, g.nextID%0xffffff)
	}
	g.add(t, fmt.Sprintf(`{"type":"post","time":%q,"source":%q,"id":"%d","service":%q,"text":%q,"lang":%q%s}`,
		ts(t), src, g.nextID, service, text, lang, extra))
}

func (g *gen) add(t time.Time, text string) {
	g.seq++
	g.lines = append(g.lines, line{t: t, seq: g.seq, text: text})
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// HalfNames are the two halves of the corpus.
var HalfNames = []string{"tune", "heldout"}

// kindIndex orders kinds as in Kinds.
func kindIndex(kind string) int {
	return slices.IndexFunc(Kinds, func(k struct{ Name, Description string }) bool { return k.Name == kind })
}
