package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aftershock/aftershock/internal/replay"
	"github.com/aftershock/aftershock/signals"
)

// MonthSpec is a long clean replay: several services with normal traffic
// for many days, each shipping a release every day or two through the
// rings, and no incident. Every halt in it is a false halt.
type MonthSpec struct {
	Days     int
	Services int
	Seed     uint64
	Half     string
}

// MonthSeed is the clean replay's seed of a set (sets): 7 (tune), 1007
// (held-out), 5007, 9007, 13007, 17007, 21007, 25007, 29007, 33007, 37007 and 41007 (the
// fresh held-out sets).
func MonthSeed(half string) uint64 {
	if d, ok := sets[half]; ok {
		return d.month
	}
	return sets[Tune].month
}

// Name is the stream's file name stem.
func (m MonthSpec) Name() string {
	return fmt.Sprintf("clean-%dd-%dsvc-s%d", m.Days, m.Services, m.Seed)
}

// MonthTruth describes a generated clean month.
type MonthTruth struct {
	Name     string        `json:"name"`
	Half     string        `json:"half"`
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end"`
	Services []string      `json:"services"`
	Releases []ReleaseInfo `json:"releases"`
	// Buzz counts releases with loud launch chatter, OtherOutages other
	// companies' outages spilling into a service's stream, SpamBursts
	// bursts of one text from many accounts.
	Buzz, OtherOutages, SpamBursts int
}

// ReleaseInfo is one release of a clean month.
type ReleaseInfo struct {
	Release   string    `json:"release"`
	Service   string    `json:"service"`
	H1        time.Time `json:"h1"`
	H2        time.Time `json:"h2"`
	H3        time.Time `json:"h3"`
	Completed time.Time `json:"completed"`
}

// GenerateMonth writes a clean multi-service stream to w. The traffic is
// real texts like the scenarios' (background with a daily and weekly
// rhythm and quiet nights), with what normal life brings: launch buzz on
// about one release in five, now and then another company's outage whose
// complaints reach a service's stream, spam bursts, duplicate deliveries.
// Releases start on the second day, mostly in working hours, some in the
// evening; rings last H1 30–60 min, H2 1–3 h, H3 2–5 h.
func GenerateMonth(pools *Pools, spec MonthSpec, w io.Writer) (MonthTruth, error) {
	if spec.Days < 2 || spec.Services < 1 {
		return MonthTruth{}, fmt.Errorf("clean month %+v: want at least 2 days and 1 service", spec)
	}
	if pools.Half != spec.Half {
		return MonthTruth{}, fmt.Errorf("clean month in the %s half, pools are %s", spec.Half, pools.Half)
	}
	g := newGen(pools, spec.Seed, 0x30d4_c1ea)
	start := time.Date(2025, 4, 7, 0, 0, 0, 0, g.loc) // a Monday
	end := start.AddDate(0, 0, spec.Days)
	truth := MonthTruth{Name: spec.Name(), Half: spec.Half, Start: start.UTC(), End: end.UTC()}

	var svcs []*service
	var taken []string
	for i := range spec.Services {
		s := &service{
			prod:           g.pickProduct(catalog, taken...),
			peak:           0.6 + 1.4*g.rng.Float64(),
			complaintShare: 0.08 + 0.06*g.rng.Float64(),
		}
		// One Korean-speaking service, one English-speaking, the rest mixed.
		switch i % 3 {
		case 0:
			s.koShare = 0.05 + 0.1*g.rng.Float64()
		case 1:
			s.koShare = 0.8 + 0.15*g.rng.Float64()
		default:
			s.koShare = 0.3 + 0.3*g.rng.Float64()
		}
		if g.rng.IntN(2) == 0 {
			s.mondayBoost = 1.3
		}
		taken = append(taken, s.prod.Service)
		svcs = append(svcs, s)
		truth.Services = append(truth.Services, s.prod.Service)
	}

	for _, s := range svcs {
		g.background(s, start, end)
		var ros []rollout
		major, minor := 1+g.rng.IntN(9), g.rng.IntN(20)
		for day := start.AddDate(0, 0, 1); ; {
			at := day.Add(9*time.Hour + g.minutesOf(0, 540))
			if g.rng.Float64() < 0.15 {
				at = day.Add(20*time.Hour + g.minutesOf(0, 300)) // an evening or night release
			}
			minor++
			ro := rollout{version: versionString(major, minor, 0), start: at}
			ro.release = s.prod.Service + "-" + ro.version
			ro.h2 = at.Add(g.minutesOf(30, 60))
			ro.h3 = ro.h2.Add(g.minutesOf(60, 180))
			ro.done = ro.h3.Add(g.minutesOf(120, 300))
			if !ro.done.Before(end) {
				break
			}
			g.releaseEvents(s.prod.Service, ro)
			ros = append(ros, ro)
			truth.Releases = append(truth.Releases, ReleaseInfo{ro.release, s.prod.Service, ro.start.UTC(), ro.h2.UTC(), ro.h3.UTC(), ro.done.UTC()})
			if g.rng.Float64() < 0.2 {
				truth.Buzz++
				g.buzz(s, ro, ro.h3.Add(g.minutesOf(0, 30)), g.minutesOf(60, 150))
			}
			// The next release one or two days later (the day after the
			// previous one completed, at the earliest).
			lt := ro.done.In(g.loc)
			day = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, g.loc).AddDate(0, 0, 1+g.rng.IntN(2))
		}
		g.monthMetrics(s.prod.Service, g.newCohortMetrics(), start, end, ros)
	}
	// Another company's outage every ten days or so, in one service's stream.
	for t := start.Add(g.minutesOf(2*24*60, 12*24*60)); t.Before(end.Add(-3 * time.Hour)); t = t.Add(g.minutesOf(6*24*60, 14*24*60)) {
		s := svcs[g.rng.IntN(len(svcs))]
		truth.OtherOutages++
		g.otherOutage(s, g.pickProduct(others), t.Add(-6*time.Hour), t.Add(3*time.Hour), t)
	}
	// Spam bursts and duplicate deliveries in one service's stream.
	s := svcs[g.rng.IntN(len(svcs))]
	for t := start.Add(g.minutesOf(60, 24*60)); t.Before(end); t = t.Add(g.minutesOf(12*60, 72*60)) {
		truth.SpamBursts++
		r := pick(g.rng, g.pools.ENPraise)
		text := g.say(r, s.prod, 1, "", 0)
		for range 15 + g.rng.IntN(40) {
			g.postFrom(s.prod.Service, t.Add(time.Duration(g.rng.IntN(300))*time.Second), text, r, "bluesky", fmt.Sprintf("deals%04d.bsky.social", g.rng.IntN(10000)), 0)
		}
	}
	n := len(g.lines)
	for i := range n {
		if l := g.lines[i]; isPost(l.text) && g.rng.Float64() < 0.02 {
			g.add(l.t.Add(time.Duration(1+g.rng.IntN(180))*time.Second), l.text)
		}
	}
	if err := g.write(w); err != nil {
		return truth, fmt.Errorf("writing clean month: %w", err)
	}
	return truth, nil
}

// monthMetrics adds a service's metrics: the old cohort every five minutes,
// and every minute from an hour before each rollout to its end, with the
// new version's cohort in its ring.
func (g *gen) monthMetrics(svc string, m cohortMetrics, from, to time.Time, ros []rollout) {
	t := from
	for _, ro := range ros {
		g.metrics(svc, m, t, ro.start.Add(-time.Hour), 5*time.Minute, nil, false, nil, nil)
		ro := ro
		g.metrics(svc, m, ro.start.Add(-time.Hour), ro.done, time.Minute, &ro, true, nil, nil)
		t = ro.done
	}
	g.metrics(svc, m, t, to, 5*time.Minute, nil, false, nil, nil)
}

// MonthResult is how the detector did on a clean month.
type MonthResult struct {
	Truth MonthTruth
	// Halts are every halt: all false.
	Halts []replay.Halt
	// Rings is how many rings were started; Passed how many of them got a
	// pass verdict at some point; Decisions counts verdict changes by
	// decision.
	Rings, Passed int
	Decisions     map[string]int
	Summary       replay.Summary
	Took          time.Duration
	// Halting are the verdict lines of the halts, with their reasons.
	Halting []replay.Line
}

// ScoreMonth generates a clean month into dir and replays it.
func ScoreMonth(ctx context.Context, pools *Pools, spec MonthSpec, dir string, opts replay.Options) (MonthResult, error) {
	path := filepath.Join(dir, spec.Name()+".jsonl")
	f, err := os.Create(path)
	if err != nil {
		return MonthResult{}, fmt.Errorf("writing clean month: %w", err)
	}
	truth, err := GenerateMonth(pools, spec, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing clean month: %w", cerr)
	}
	if err != nil {
		return MonthResult{}, err
	}
	start := time.Now()
	sum, verdicts, err := Replay(ctx, path, opts)
	if err != nil {
		return MonthResult{}, err
	}
	res := MonthResult{Truth: truth, Halts: sum.AllHalts, Rings: 3 * len(truth.Releases), Decisions: map[string]int{}, Summary: sum, Took: time.Since(start)}
	passed := map[[2]string]bool{}
	for _, v := range verdicts {
		res.Decisions[v.Decision]++
		if v.Action == signals.ActionHalt {
			res.Halting = append(res.Halting, v)
		}
		if v.Decision == signals.DecisionPass {
			passed[[2]string{v.Release, v.Ring}] = true
		}
	}
	res.Passed = len(passed)
	return res, nil
}

// WriteMonth prints a clean month's result.
func WriteMonth(w io.Writer, r MonthResult) error {
	var buf bytes.Buffer
	t := r.Truth
	days := t.End.Sub(t.Start).Hours() / 24
	fmt.Fprintf(&buf, "== clean replay %s (%s half): %.0f days, services %s ==\n", t.Name, t.Half, days, strings.Join(t.Services, ", "))
	fmt.Fprintf(&buf, "releases %d (%d rings), launch buzz %d, other companies' outages %d, spam bursts %d; posts %d, metrics %d, simulated %s, took %s\n",
		len(t.Releases), r.Rings, t.Buzz, t.OtherOutages, t.SpamBursts, r.Summary.Posts, r.Summary.Metrics, r.Summary.Simulated.Round(time.Minute), r.Took.Round(100*time.Millisecond))
	perSvc := map[string]int{}
	for _, h := range r.Halts {
		perSvc[h.Service]++
	}
	var per []string
	for _, s := range t.Services {
		per = append(per, fmt.Sprintf("%s %d", s, perSvc[s]))
	}
	fmt.Fprintf(&buf, "false halts %d (%s; %.2f per service per 30 days); rings passed %d of %d\n",
		len(r.Halts), strings.Join(per, ", "), float64(len(r.Halts))/float64(len(t.Services))/days*30, r.Passed, r.Rings)
	decisions := make([]string, 0, len(r.Decisions))
	for d := range r.Decisions {
		decisions = append(decisions, d)
	}
	sort.Strings(decisions)
	for _, d := range decisions {
		fmt.Fprintf(&buf, "  verdicts %s: %d\n", d, r.Decisions[d])
	}
	if len(r.Halts) > 0 {
		tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  halt\trelease\tring\ttime")
		for i, h := range r.Halts {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\n", i+1, h.Release, h.Ring, h.Time.Format(time.RFC3339))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
