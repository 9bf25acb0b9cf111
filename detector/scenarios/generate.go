// Package scenarios is the detector's evaluation set: a deterministic
// generator of release streams in the replay format (`aftershock replay`)
// whose posts are real human texts read at test time from ../shared/data
// (never stored in the repository), each stream with a ground-truth sidecar
// saying which (release, ring) should halt, when the incident started and
// how big it is, and which rings have no evidence and must not pass; a
// scorer that replays them through internal/replay; and a 30-day clean
// replay that counts false halts. See README.md for the kinds, the
// tune/held-out split and the protocol.
package scenarios

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Truth is a scenario's ground truth (the sidecar NAME.truth.json).
type Truth struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Seed        uint64 `json:"seed"`
	Half        string `json:"half"`
	Description string `json:"description"`
	Service     string `json:"service"`
	Release     string `json:"release"`
	// Halts lists the (release, ring) pairs that should be halted and when
	// their incident started; empty means nothing should be halted.
	Halts []Want `json:"halts"`
	// NoPass lists rings that have no evidence (sources silent, no metrics
	// of the new version): they must never pass.
	NoPass []RingRef `json:"no_pass,omitempty"`
	// Rings is the rollout order, for judging a halt in a later ring as late.
	Rings []string `json:"rings"`
	// RingStarts is when each ring started (H1, H2, H3) and Completed when
	// the release completed.
	RingStarts map[string]time.Time `json:"ring_starts"`
	Completed  time.Time            `json:"completed"`
}

// Want is one halt that should happen.
type Want struct {
	Release       string    `json:"release"`
	Ring          string    `json:"ring"`
	IncidentStart time.Time `json:"incident_start"`
	// Rise is how many times the normal level the incident's signal reaches
	// (complaints about the service, or the new version's error rate): 2, 5
	// or 10.
	Rise float64 `json:"rise"`
	// Shape is "sudden" (the full rise at onset) or "ramp" (grows to it).
	Shape string `json:"shape"`
	// Evidence is what shows it: "posts", "metrics" or "posts+metrics".
	Evidence string `json:"evidence"`
}

// RingRef names one ring of one release.
type RingRef struct {
	Release string `json:"release"`
	Ring    string `json:"ring"`
}

// Spec names one scenario to generate.
type Spec struct {
	Kind string
	Seed uint64
	Half string // Tune, HeldOut, HeldOut2 or HeldOut3
}

// Name is the scenario's file name stem: kind and seed.
func (s Spec) Name() string { return fmt.Sprintf("%s-s%d", s.Kind, s.Seed) }

// Kind is one kind of scenario.
type Kind struct {
	Name        string
	Description string
	// Incident: the scenario has a halt to find.
	Incident bool
}

// Kinds are the scenario kinds, each with what it tests.
var Kinds = []Kind{
	{"sudden-x10-h3", "sudden incident in H3: complaints ×10 (English and Korean, real 1–2 star Bug reviews and negative Korean reviews, some naming the version) and the new version's error rate ×5", true},
	{"sudden-x5-h3", "sudden incident in H3 seen only in posts: complaints ×5", true},
	{"sudden-x5-h2", "sudden incident in H2 (~1% exposure) seen only in posts: complaints ×5", true},
	{"late-h2-x5", "long H2 (2.5–3 h): complaints ×5 from 75–100 minutes into H2, after the default H2 window", true},
	{"slowburn-x2-h3", "slow burn in H3: complaints grow to ×2 over two hours and stay; latency of the new version +20%", true},
	{"late-growth-h3-x5", "long H3 (6 h): complaints start growing 2h05–2h30 into H3 and reach ×5 an hour later", true},
	{"metrics-h1-x5", "error rate of the new version's cohort ×5 in H1, nothing in posts", true},
	{"metrics-h2-x2", "error rate of the new version's cohort ×2 in H2, nothing in posts", true},
	{"korean-x5-h3", "a Korean-speaking service (85–95% Korean posts): complaints ×5 in H3, negative Korean reviews, some naming the version", true},
	{"night-x10-h3", "incident ×10 at night: H3 starts after midnight local time, when traffic is a tenth of the day's", true},
	{"clean-day", "clean weekday release", false},
	{"clean-night", "clean release at night (quiet hours: a few posts an hour)", false},
	{"launch-buzz", "clean release with loud positive launch chatter in H3: volume ×4, 5-star reviews and enthusiastic Korean reviews, many naming the new version", false},
	{"other-outage", "clean release while another company has an outage: its complaints spike, and some that name it (not us) reach our stream", false},
	{"monday-surge", "clean release just before the Monday-morning surge (traffic ×1.5 over the usual Monday), 8 days of history with weekly seasonality", false},
	{"weekend-lull", "clean release on a Saturday morning in the weekend lull, after a busy Friday evening; 8 days of history", false},
	{"noisy-source", "clean release with a noisy source: spam bursts (one real text from dozens of accounts), duplicate deliveries, garbled lines", false},
	{"silent-sources", "no evidence: the crawlers find nothing from 45 minutes before the release on, and the new version reports no metrics. No ring may pass", false},
	{"silent-midway", "no evidence in public rings: the crawlers go silent 10 minutes into H1 and stay silent for hours; new-version metrics are normal. H2 and H3 may not pass", false},
	// Added later: appended so the seeds of the kinds above stay the same.
	{"sudden-x2-h3", "a small sudden incident in H3 seen only in posts: complaints ×2", true},
	{"buzz-incident-x5-h3", "launch buzz in H3 (volume ×4, positive) and, under it, complaints ×5 from 20–50 minutes into H3", true},
}

// SeedsPerKind is how many scenarios of each kind a half has (HeldOut3 to
// HeldOut5: HeldOut3SeedsPerKind).
const SeedsPerKind = 2

// HeldOut3SeedsPerKind is how many scenarios of each kind HeldOut3 to
// HeldOut5 have: twice the others, so "every incident halted" is tried on
// 48 incidents.
const HeldOut3SeedsPerKind = 4

// Corpus lists the scenarios of one set (sets): every kind its perKind
// times, seeds counting up from its base — 1 for tune, 1001 for held-out,
// 5001, 9001, 13001, 17001, 21001, 25001, 29001, 33001, 37001 and 41001
// for the fresh held-out sets HeldOut2 to HeldOut11 (held-out texts), 101 for the wider tune set
// Tune2.
func Corpus(half string) []Spec {
	d, ok := sets[half]
	if !ok {
		d = sets[Tune]
	}
	var out []Spec
	for i, k := range Kinds {
		for j := range d.perKind {
			out = append(out, Spec{Kind: k.Name, Seed: d.base + uint64(i*d.perKind+j), Half: half})
		}
	}
	return out
}

func kindOf(name string) (Kind, bool) {
	i := slices.IndexFunc(Kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return Kinds[i], true
}

// Generate writes the scenario's stream to w and returns its ground truth.
// The same pools and spec always give the same bytes.
func Generate(pools *Pools, spec Spec, w io.Writer) (Truth, error) {
	return generate(pools, spec, w, nil)
}

// generate is Generate; a non-nil tags map receives what each post is
// (see gen.tags).
func generate(pools *Pools, spec Spec, w io.Writer, tags map[string]string) (Truth, error) {
	k, ok := kindOf(spec.Kind)
	if !ok {
		return Truth{}, fmt.Errorf("unknown scenario kind %q", spec.Kind)
	}
	if pools.Half != spec.Half {
		return Truth{}, fmt.Errorf("scenario %s is in the %s half, pools are %s", spec.Name(), spec.Half, pools.Half)
	}
	g := newGen(pools, spec.Seed, 0x5eed_a17e_26)
	g.tags = tags
	s := &service{
		prod:           g.pickProduct(catalog),
		koShare:        0.1 + 0.25*g.rng.Float64(),
		peak:           1.5 + 3.5*g.rng.Float64(),
		complaintShare: 0.08 + 0.06*g.rng.Float64(),
	}
	major, minor := 2+g.rng.IntN(8), 1+g.rng.IntN(30)
	ro := rollout{version: versionString(major, minor, 0)}
	ro.release = s.prod.Service + "-" + ro.version

	// A weekday (Tuesday to Thursday) release at 10:00–15:00 local time
	// in one of eight weeks of spring 2025, unless the kind says otherwise.
	week := time.Date(2025, 3, 3, 0, 0, 0, 0, g.loc).AddDate(0, 0, 7*g.rng.IntN(8)) // a Monday
	r := week.AddDate(0, 0, 1+g.rng.IntN(3)).Add(10*time.Hour + g.minutesOf(0, 300))
	history := 10 * time.Hour
	h1, h2, h3 := g.minutesOf(30, 45), g.minutesOf(60, 90), g.minutesOf(180, 240)
	switch spec.Kind {
	case "late-h2-x5":
		h2 = g.minutesOf(150, 180)
	case "slowburn-x2-h3":
		h3 = g.minutesOf(270, 300)
	case "late-growth-h3-x5":
		h3 = 6 * time.Hour
	case "korean-x5-h3":
		s.koShare = 0.85 + 0.1*g.rng.Float64()
	case "night-x10-h3", "clean-night":
		r = week.AddDate(0, 0, 1+g.rng.IntN(3)).Add(22*time.Hour + g.minutesOf(30, 90))
		s.peak = 2 + 3*g.rng.Float64()
	case "monday-surge":
		r = week.AddDate(0, 0, 7).Add(7*time.Hour + g.minutesOf(0, 30))
		history = r.Sub(week.AddDate(0, 0, -1)) // from the Sunday before the previous Monday
		s.peak = 0.8 + 0.6*g.rng.Float64()
		s.mondayBoost = 1.5
	case "weekend-lull":
		r = week.AddDate(0, 0, 12).Add(8*time.Hour + g.minutesOf(0, 60))
		history = r.Sub(week.AddDate(0, 0, 4)) // from the Friday a week before
		s.peak = 0.8 + 0.6*g.rng.Float64()
	}
	ro.start, ro.h2 = r, r.Add(h1)
	ro.h3 = ro.h2.Add(h2)
	ro.done = ro.h3.Add(h3)
	start, end := r.Add(-history), ro.done.Add(30*time.Minute)

	truth := Truth{
		Name: spec.Name(), Kind: spec.Kind, Seed: spec.Seed, Half: spec.Half, Description: k.Description,
		Service: s.prod.Service, Release: ro.release, Halts: []Want{}, Rings: []string{"H1", "H2", "H3"},
		RingStarts: map[string]time.Time{"H1": ro.start.UTC(), "H2": ro.h2.UTC(), "H3": ro.h3.UTC()}, Completed: ro.done.UTC(),
	}
	want := func(ring string, onset time.Time, rise float64, shape, evidence string) {
		truth.Halts = append(truth.Halts, Want{Release: ro.release, Ring: ring, IncidentStart: onset.UTC(), Rise: rise, Shape: shape, Evidence: evidence})
	}
	errMult := func(time.Time) float64 { return 1 }
	latMult := func(time.Time) float64 { return 1 }
	step := func(onset time.Time, mult float64) func(time.Time) float64 {
		return func(t time.Time) float64 {
			if t.Before(onset) {
				return 1
			}
			return mult
		}
	}
	newCohort := true

	switch spec.Kind {
	case "sudden-x10-h3":
		onset := ro.h3.Add(g.minutesOf(10, 40))
		want("H3", onset, 10, "sudden", "posts+metrics")
		g.incident(s, ro, onset, end, sudden(onset, 10))
		errMult = step(onset, 5)
	case "sudden-x5-h3", "korean-x5-h3":
		onset := ro.h3.Add(g.minutesOf(10, 40))
		want("H3", onset, 5, "sudden", "posts")
		g.incident(s, ro, onset, end, sudden(onset, 5))
	case "sudden-x5-h2":
		onset := ro.h2.Add(g.minutesOf(5, 20))
		want("H2", onset, 5, "sudden", "posts")
		g.incident(s, ro, onset, end, sudden(onset, 5))
	case "late-h2-x5":
		onset := ro.h2.Add(g.minutesOf(75, 100))
		want("H2", onset, 5, "sudden", "posts")
		g.incident(s, ro, onset, end, sudden(onset, 5))
	case "slowburn-x2-h3":
		onset := ro.h3.Add(g.minutesOf(10, 30))
		want("H3", onset, 2, "ramp", "posts")
		g.incident(s, ro, onset, end, ramp(onset, 2, 2*time.Hour))
		latMult = func(t time.Time) float64 {
			if t.Before(onset) {
				return 1
			}
			return 1 + 0.2*math.Min(1, t.Sub(onset).Hours()/2)
		}
	case "late-growth-h3-x5":
		onset := ro.h3.Add(g.minutesOf(125, 150))
		want("H3", onset, 5, "ramp", "posts")
		g.incident(s, ro, onset, end, ramp(onset, 5, time.Hour))
	case "metrics-h1-x5":
		onset := ro.start.Add(g.minutesOf(3, 8))
		want("H1", onset, 5, "sudden", "metrics")
		errMult = step(onset, 5)
	case "metrics-h2-x2":
		onset := ro.h2.Add(g.minutesOf(10, 30))
		want("H2", onset, 2, "sudden", "metrics")
		errMult = step(onset, 2)
	case "night-x10-h3":
		onset := ro.h3.Add(g.minutesOf(10, 30))
		want("H3", onset, 10, "sudden", "posts")
		g.incident(s, ro, onset, end, sudden(onset, 10))
	case "sudden-x2-h3":
		onset := ro.h3.Add(g.minutesOf(10, 40))
		want("H3", onset, 2, "sudden", "posts")
		g.incident(s, ro, onset, end, sudden(onset, 2))
	case "buzz-incident-x5-h3":
		g.buzz(s, ro, ro.h3.Add(g.minutesOf(0, 10)), 150*time.Minute)
		onset := ro.h3.Add(g.minutesOf(20, 50))
		want("H3", onset, 5, "sudden", "posts")
		g.incident(s, ro, onset, end, sudden(onset, 5))
	case "launch-buzz":
		g.buzz(s, ro, ro.h3.Add(g.minutesOf(0, 10)), 150*time.Minute)
	case "other-outage":
		other := g.pickProduct(others)
		truth.Description += fmt.Sprintf(" (other company %q)", other.Display)
		g.otherOutage(s, other, start, end, ro.h2.Add(g.minutesOf(20, 80)))
	case "noisy-source":
		// Added after the background, so duplicates come from it.
	case "silent-sources":
		s.silentFrom = r.Add(-45 * time.Minute)
		newCohort = false
		for _, ring := range truth.Rings {
			truth.NoPass = append(truth.NoPass, RingRef{ro.release, ring})
		}
	case "silent-midway":
		s.silentFrom = r.Add(10 * time.Minute)
		truth.NoPass = append(truth.NoPass, RingRef{ro.release, "H2"}, RingRef{ro.release, "H3"})
	}

	g.background(s, start, end)
	// A day of history before H2 (the detector's baseline is 24 h): the
	// hours before `start` come from a generator of their own, so adding
	// them (2026-12-07) left every later line as it was for the seed.
	if older := r.Add(-dayOfHistory); older.Before(start) {
		g.olderHistory(s, older, start)
	}
	g.releaseEvents(s.prod.Service, ro)
	// Internal metrics around the rollout: the old version's cohort and
	// the new version's cohort in its current ring, once a minute.
	g.metrics(s.prod.Service, g.newCohortMetrics(), r.Add(-time.Hour), end, time.Minute, &ro, newCohort, errMult, latMult)
	if spec.Kind == "noisy-source" {
		g.noise(s, start, end)
	}
	if err := g.write(w); err != nil {
		return truth, fmt.Errorf("writing scenario %s: %w", spec.Name(), err)
	}
	return truth, nil
}

// dayOfHistory is how far back before the release a scenario's posts go
// (at least): a day for the detector's baseline before H2, and the
// longest H1.
const dayOfHistory = 25 * time.Hour

// sudden is a rise to mult at onset.
func sudden(onset time.Time, mult float64) func(time.Time) float64 {
	return func(t time.Time) float64 {
		if t.Before(onset) {
			return 1
		}
		return mult
	}
}

// ramp is a rise that grows linearly from 1 at onset to mult over d.
func ramp(onset time.Time, mult float64, d time.Duration) func(time.Time) float64 {
	return func(t time.Time) float64 {
		if t.Before(onset) {
			return 1
		}
		return 1 + (mult-1)*math.Min(1, float64(t.Sub(onset))/float64(d))
	}
}

// incident adds complaints from onset to end so that the service's
// complaints reach rise(t) times their normal level: (rise-1) times the
// background complaint rate on top of it. Incident complaints are real
// 1–2 star reviews labelled Bug and 1–2 rated Korean reviews; about a
// third name the new version, most name the product (sometimes
// misspelled); one in 25 is only the product's name and angry emoji. No
// words of ours are added.
func (g *gen) incident(s *service, ro rollout, onset, end time.Time, rise func(time.Time) float64) {
	g.minutes(onset, end, func(t time.Time, noise float64) {
		extra := (rise(t) - 1) * g.rate(s, t) * s.complaintShare * noise
		for range g.poisson(extra) {
			lang := g.lang(s)
			r := g.draw(g.pools.ENIncident, g.pools.ENSocialComplaint)
			if lang == "ko" {
				r = g.draw(g.pools.KOIncident, g.pools.KOSocialComplaint)
			}
			text := g.say(r, s.prod, 0.7, ro.version, 0.35)
			switch x := g.rng.Float64(); {
			case x < 0.04:
				// Anger with no words at all: the name and a few emoji.
				text = "@" + s.prod.name(g.rng, lang)
				for range 2 + g.rng.IntN(3) {
					text += " " + emoji(g.rng, angryEmoji[:6], lang)
				}
			case x < 0.14:
				text += " " + emoji(g.rng, angryEmoji, lang)
			}
			g.tagNext = tagIncident
			g.post(s, g.within(t), text, r)
			g.tagNext = ""
		}
	})
}

// buzz adds loud positive launch chatter for d from s: the volume rises to
// about four times normal over 20 minutes, stays, and fades over the last
// hour. Posts are 4–5 star reviews and enthusiastic Korean reviews, many
// naming the new version, some from accounts with a large reach.
func (g *gen) buzz(s *service, ro rollout, from time.Time, d time.Duration) {
	to := from.Add(d)
	g.minutes(from, to, func(t time.Time, noise float64) {
		k := math.Min(1, t.Sub(from).Minutes()/20) * math.Min(1, to.Sub(t).Minutes()/60)
		for range g.poisson(3 * k * g.rate(s, t) * noise) {
			lang := g.lang(s)
			r := pick(g.rng, g.pools.ENPraise)
			if lang == "ko" {
				r = pick(g.rng, g.pools.KOEnthusing)
			}
			text := g.say(r, s.prod, 0.8, ro.version, 0.5)
			if g.rng.Float64() < 0.3 {
				text += " " + emoji(g.rng, happyEmoji, lang)
			}
			reach := 0
			if g.rng.Float64() < 0.2 {
				reach = 100 + g.rng.IntN(20000)
			}
			if s.silent(t) {
				continue
			}
			g.postFrom(s.prod.Service, g.within(t), text, r, g.sources[g.rng.IntN(len(g.sources))], "", reach)
		}
	})
}

// otherOutage adds another company's chatter and, from outage on for 90–120
// minutes, its outage: its own complaints go to ten times its normal level,
// and complaints that name it (not us) reach our stream at about half our
// normal complaint rate, as a keyword crawler would pick them up.
func (g *gen) otherOutage(s *service, other Product, from, to, outage time.Time) {
	o := &service{prod: other, koShare: s.koShare, peak: 0.5 * s.peak, complaintShare: 0.1}
	g.background(o, from, to)
	until := outage.Add(g.minutesOf(90, 120))
	g.incident(o, rollout{}, outage, until, sudden(outage, 10))
	g.minutes(outage, until, func(t time.Time, noise float64) {
		for range g.poisson(0.5 * g.rate(s, t) * s.complaintShare * noise) {
			lang := g.lang(s)
			r := g.draw(g.pools.ENIncident, g.pools.ENSocialComplaint)
			if lang == "ko" {
				r = g.draw(g.pools.KOIncident, g.pools.KOSocialComplaint)
			}
			g.post(s, g.within(t), g.say(r, other, 0.9, "", 0), r)
		}
	})
}

// noise adds a noisy source to s: spam bursts every few hours (one real
// text, praise or complaint, posted by dozens of accounts within five
// minutes), duplicate deliveries of about one post in six, and garbled
// lines.
func (g *gen) noise(s *service, from, to time.Time) {
	// Duplicates first, of the posts generated so far.
	n := len(g.lines)
	for i := range n {
		l := g.lines[i]
		if !isPost(l.text) || g.rng.Float64() >= 1.0/6 {
			continue
		}
		g.add(l.t.Add(time.Duration(1+g.rng.IntN(180))*time.Second), l.text)
	}
	for t := from.Add(g.minutesOf(0, 120)); t.Before(to); t = t.Add(g.minutesOf(90, 240)) {
		pool := g.pools.ENPraise
		if g.rng.IntN(3) == 0 {
			pool = g.pools.ENComplaint
		}
		r := pick(g.rng, pool)
		text := g.say(r, s.prod, 1, "", 0)
		for range 15 + g.rng.IntN(40) {
			g.postFrom(s.prod.Service, t.Add(time.Duration(g.rng.IntN(300))*time.Second), text, r, "bluesky", fmt.Sprintf("deals%04d.bsky.social", g.rng.IntN(10000)), 0)
		}
	}
	for t := from; t.Before(to); t = t.Add(g.minutesOf(10, 60)) {
		g.add(t, garbled[g.rng.IntN(len(garbled))])
	}
}

func isPost(text string) bool { return len(text) > 15 && text[:15] == `{"type":"post",` }

// garbled are broken lines a noisy source produces.
var garbled = []string{
	`{"type":"post","time":"`,
	`{"type":"post","time":"2025-03-04T10:00:00Z","source":"mastodon","id":`,
	`<html><body>502 Bad Gateway</body></html>`,
	"{\"type\":\"post\",\"time\":\"2025-03-04T10:00:00Z\",\"source\":\"mastodon\",\"id\":\"x\",\"service\":\"shop\",\"text\":\"caf\xe9 \xff\"}",
	`{"type":"post","source":"mastodon","id":"no-time","service":"shop","text":"no time field"}`,
	`null`,
}
