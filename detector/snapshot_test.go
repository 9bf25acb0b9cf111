package detector

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// TestSnapshotRestoreCountsNothingTwice restores a snapshot into a fresh
// detector, replays the last hours of posts as the pipeline does on start-up,
// and expects the same long-term state as a detector that never stopped.
func TestSnapshotRestoreCountsNothingTwice(t *testing.T) {
	live := newScenario(t, Config{})
	live.background(t0, t0.Add(10*time.Hour), 3)
	snap, err := live.d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}

	restored := newScenario(t, Config{})
	if err := restored.d.RestoreService("shop", snap); err != nil {
		t.Fatal(err)
	}
	// Replay the last 8 hours (the stream replay on start-up), then both go on.
	restored.background(t0.Add(2*time.Hour), t0.Add(10*time.Hour), 3)
	live.background(t0.Add(10*time.Hour), t0.Add(11*time.Hour), 3)
	restored.background(t0.Add(10*time.Hour), t0.Add(11*time.Hour), 3)

	a, b := live.d.services["shop"], restored.d.services["shop"]
	if got, want := b.hours.postsBetween(t0, t0.Add(11*time.Hour)), a.hours.postsBetween(t0, t0.Add(11*time.Hour)); got != want {
		t.Fatalf("hourly history after restore: %.0f posts, want %.0f", got, want)
	}
	if d := b.terms.total - a.terms.total; d > 1e-6 || d < -1e-6 {
		t.Fatalf("term total %f, want %f", b.terms.total, a.terms.total)
	}
	lw, _ := a.posts.sum(t0.Add(5*time.Hour), t0.Add(11*time.Hour))
	rw, _ := b.posts.sum(t0.Add(5*time.Hour), t0.Add(11*time.Hour))
	if lw != rw {
		t.Fatalf("minute buckets differ after replay: %+v vs %+v", rw, lw)
	}
}

func TestRestoreRejectsGarbage(t *testing.T) {
	s := newScenario(t, Config{})
	if err := s.d.RestoreService("shop", []byte("not a snapshot")); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := s.d.MarshalService("nobody"); err == nil {
		t.Fatal("unknown service snapshotted")
	}
}

// A timeline of posts and release events, fed to detectors minute by minute.
type timeline struct {
	posts   []signals.Post // time-ordered
	events  []signals.ReleaseEvent
	metrics []signals.MetricSample // time-ordered
}

// genMetrics adds samples of metric name every 30 s from two instances
// of each cohort in [from, to): the old version's around level, and from
// newFrom on the new version's (4.2.0, in the ring given by ring) around
// level × mult(t); log-normal noise of 10%.
func (tl *timeline) genMetrics(rng *rand.Rand, from, to, newFrom time.Time, name string, level float64, ring func(time.Time) string, mult func(time.Time) float64) {
	for at := from; at.Before(to); at = at.Add(30 * time.Second) {
		for inst := 0; inst < 2; inst++ {
			series := fmt.Sprintf(`{instance="10.0.0.%d:8080"}`, inst)
			t := at.Add(time.Duration(inst) * time.Second)
			tl.metrics = append(tl.metrics, signals.MetricSample{Type: signals.TypeMetric, Time: t, Service: "shop", Name: name,
				Value: level * math.Exp(0.1*rng.NormFloat64()), Series: series})
			if !t.Before(newFrom) {
				tl.metrics = append(tl.metrics, signals.MetricSample{Type: signals.TypeMetric, Time: t, Service: "shop", Name: name,
					Version: "4.2.0", Ring: ring(t), Value: level * mult(t) * math.Exp(0.1*rng.NormFloat64()), Series: series})
			}
		}
	}
}

// genPosts adds posts from..to at rate per minute, negShare negative; extra
// complaints per minute in category cat on top (an incident when > 0).
func (tl *timeline) genPosts(rng *rand.Rand, from, to time.Time, rate, negShare, extra float64, cat string) {
	words := [][]string{{"love", "shop", "app"}, {"shipping", "fast", "today"}, {"checkout", "broken", "error"}}
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n, k := poisson(rng, rate), poisson(rng, extra)
		var batch []signals.Post
		for i := 0; i < n+k; i++ {
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4, Tokens: words[i%2]}
			if i >= n || rng.Float64() < negShare {
				e.Sentiment = -0.6
				if cat != "" && i >= n {
					e.Categories, e.Tokens = []string{cat}, words[2]
				}
			}
			id := len(tl.posts) + len(batch)
			batch = append(batch, signals.Post{Time: m.Add(time.Duration(rng.Float64() * float64(time.Minute))), Source: "test",
				ID: fmt.Sprint(id), Service: "shop", Text: fmt.Sprint("post ", id), Enrichment: &e})
		}
		sort.Slice(batch, func(i, j int) bool { return batch[i].Time.Before(batch[j].Time) })
		tl.posts = append(tl.posts, batch...)
	}
}

func (tl *timeline) event(at time.Time, ring, event string) {
	tl.events = append(tl.events, signals.ReleaseEvent{Time: at, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: ring, Event: event})
}

// run feeds the detector every post and event in [from, to), advancing it
// at the end of every minute, as the live pipeline does; events carry their
// position in the log (1-based) as their sequence.
func (tl *timeline) run(d *Detector, from, to time.Time, out *Output) {
	pi := sort.Search(len(tl.posts), func(i int) bool { return !tl.posts[i].Time.Before(from) })
	mi := sort.Search(len(tl.metrics), func(i int) bool { return !tl.metrics[i].Time.Before(from) })
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		for i, ev := range tl.events {
			if !ev.Time.Before(m) && ev.Time.Before(m.Add(time.Minute)) {
				d.ReleaseAt(ev, uint64(i+1))
			}
		}
		for ; pi < len(tl.posts) && tl.posts[pi].Time.Before(m.Add(time.Minute)); pi++ {
			d.Post(tl.posts[pi])
		}
		for ; mi < len(tl.metrics) && tl.metrics[mi].Time.Before(m.Add(time.Minute)); mi++ {
			d.Metric(tl.metrics[mi])
		}
		o := d.Advance(m.Add(time.Minute))
		out.Verdicts = append(out.Verdicts, o.Verdicts...)
	}
}

// restart is what a new process does: restore snapshot into a fresh
// detector, replay every release event (those the snapshot holds are
// skipped) and the posts and metrics of [replayFrom, at) without advancing, then end
// the rebuild at at.
func (tl *timeline) restart(t *testing.T, cfg Config, snapshot []byte, replayFrom, at time.Time) (*Detector, Output, []string) {
	t.Helper()
	d := New(cfg, nil)
	if snapshot != nil {
		if err := d.RestoreService("shop", snapshot); err != nil {
			t.Fatal(err)
		}
	}
	for i, ev := range tl.events {
		if ev.Time.Before(at) {
			d.ReleaseAt(ev, uint64(i+1))
		}
	}
	for _, p := range tl.posts {
		if !p.Time.Before(replayFrom) && p.Time.Before(at) {
			d.Post(p)
		}
	}
	for _, m := range tl.metrics {
		if !m.Time.Before(replayFrom) && m.Time.Before(at) {
			d.Metric(m)
		}
	}
	notes := d.Rebuilt(at)
	return d, d.Advance(at), notes
}

func after(vs []signals.Verdict, t time.Time) []signals.Verdict {
	var out []signals.Verdict
	for _, v := range vs {
		if v.Time.After(t) {
			out = append(out, v)
		}
	}
	return out
}

func firstHaltIn(vs []signals.Verdict) (signals.Verdict, bool) {
	for _, v := range vs {
		if v.Action == signals.ActionHalt {
			return v, true
		}
	}
	return signals.Verdict{}, false
}

func describe(vs []signals.Verdict) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n  %s %s %s %s %.1f %s", v.Time.Format("01-02 15:04"), v.Ring, v.Decision, v.Action, v.Score, strings.Join(v.Reasons, " | "))
	}
	return b.String()
}

// A process stopped and started again during a long watch or a soak goes
// on judging as if it had never stopped: the same verdicts after the
// restart as an uninterrupted run, none given again, the incident after
// the restart halted — although the replay reaches back only 8 hours,
// not to the ring start.
func TestRestartKeepsWatching(t *testing.T) {
	cfg := Config{Soak: 24 * time.Hour, Baseline: sixHours}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	h3 := t0.Add(8 * time.Hour)
	cases := []struct {
		name    string
		events  func(tl *timeline)
		restart time.Time
	}{
		{"soak", func(tl *timeline) {
			tl.event(t0.Add(6*time.Hour), "H1", signals.EventStarted)
			tl.event(t0.Add(7*time.Hour), "H2", signals.EventPromoted)
			tl.event(h3, "H3", signals.EventPromoted)
			tl.event(h3.Add(3*time.Hour), "H3", signals.EventCompleted)
		}, h3.Add(13 * time.Hour)},
		{"long H3", func(tl *timeline) {
			tl.event(t0.Add(6*time.Hour), "H2", signals.EventStarted)
			tl.event(h3, "H3", signals.EventPromoted)
		}, h3.Add(13 * time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			tl := &timeline{}
			onset := c.restart.Add(90 * time.Minute)
			end := onset.Add(time.Hour)
			tl.genPosts(rng, t0, onset, 6, 0.1, 0, "")
			tl.genPosts(rng, onset, end, 6, 0.1, 2, "crash")
			c.events(tl)
			replayFrom := c.restart.Add(-(cfg.Baseline + 2*time.Hour))
			if !replayFrom.After(h3) {
				t.Fatal("the replay must not reach the H3 start for this test")
			}

			var live Output
			liveD := New(cfg, nil)
			tl.run(liveD, t0, c.restart, &live)
			liveAt := liveD.watches[watchKey{"shop-4.2.0", "H3"}].snapshot()
			tl.run(liveD, c.restart, end, &live)
			liveHalt, ok := firstHaltIn(live.Verdicts)
			if !ok || liveHalt.Time.Before(onset) || liveHalt.Ring != "H3" {
				t.Fatalf("the uninterrupted run does not halt H3 after the onset:%s", describe(live.Verdicts))
			}

			var before Output
			old := New(cfg, nil)
			tl.run(old, t0, c.restart, &before)
			snap, err := old.MarshalService("shop")
			if err != nil {
				t.Fatal(err)
			}
			d, first, notes := tl.restart(t, cfg, snap, replayFrom, c.restart)
			if len(first.Verdicts) != 0 || len(notes) != 0 {
				t.Fatalf("the restart itself gave verdicts (already given before it) or notes %v:%s", notes, describe(first.Verdicts))
			}
			// Nothing the replay brought back is counted twice in the watch.
			if w := d.watches[watchKey{"shop-4.2.0", "H3"}].snapshot(); w.NegPosts != liveAt.NegPosts || w.TermTotal != liveAt.TermTotal || w.Total != liveAt.Total || !w.Next.Equal(liveAt.Next) {
				t.Fatalf("restored watch after the replay: %d complaints, %d terms, totals %+v, next %s; uninterrupted: %d, %d, %+v, %s",
					w.NegPosts, w.TermTotal, w.Total, w.Next, liveAt.NegPosts, liveAt.TermTotal, liveAt.Total, liveAt.Next)
			}
			var resumed Output
			tl.run(d, c.restart, end, &resumed)
			want, got := after(live.Verdicts, c.restart), after(resumed.Verdicts, c.restart)
			if describe(got) != describe(want) {
				t.Fatalf("after the restart:%s\nuninterrupted:%s", describe(got), describe(want))
			}
			if h, ok := firstHaltIn(got); !ok || !h.Time.Equal(liveHalt.Time) {
				t.Fatalf("no halt after the restart:%s", describe(got))
			}
		})
	}
}

// A metric regression that started before what the restart replays is
// judged after the restart as an uninterrupted process judges it: the
// whole-watch comparison (new version against the old cohort since the
// ring start) comes from the watch's saved samples, not from the replayed
// hours only. The new version's latency is three times the old cohort's
// for the first 9 hours of H3, then back to normal; the restart comes 16
// hours into H3 and replays 8. Uninterrupted, the whole watch still fails
// on latency (marginal: review) until about 18 hours in, then passes;
// judged on the replayed hours alone it would pass at once. The samples
// (3,840 a cohort by the restart) are beyond maxWatchSamples, so the
// sampled summary is what must come back the same.
func TestRestartKeepsJudgingMetrics(t *testing.T) {
	cfg := sixHourBaseline(t)
	h2, h3 := t0.Add(6*time.Hour), t0.Add(8*time.Hour)
	restart := h3.Add(16 * time.Hour)
	end := h3.Add(21 * time.Hour)
	replayFrom := restart.Add(-(cfg.Baseline + 2*time.Hour))
	fixed := h3.Add(9 * time.Hour)
	if !replayFrom.After(fixed.Add(-2 * time.Hour)) {
		t.Fatal("the replay must hold little of the regression for this test")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	tl := &timeline{}
	tl.genPosts(rng, t0, end, 6, 0.1, 0, "")
	ring := func(t time.Time) string {
		if t.Before(h3) {
			return "H2"
		}
		return "H3"
	}
	tl.genMetrics(rng, t0, end, h2, "latency_p99", 300, ring, func(t time.Time) float64 {
		if !t.Before(h3) && t.Before(fixed) {
			return 3
		}
		return 1
	})
	tl.event(h2, "H2", signals.EventStarted)
	tl.event(h3, "H3", signals.EventPromoted)
	key := watchKey{"shop-4.2.0", "H3"}

	var live Output
	liveD := New(cfg, nil)
	tl.run(liveD, t0, restart, &live)
	liveAt := sortedSamples(liveD.watches[key])
	if w := liveD.watches[key]; w.decision != signals.DecisionMarginal || !w.failed["latency_p99"] {
		t.Fatalf("before the restart the uninterrupted run must hold H3 for review on latency:%s", describe(live.Verdicts))
	}
	if c := liveD.watches[key].samples.by["latency_p99"]; c == nil || c.canary.n <= maxWatchSamples || c.other.n <= maxWatchSamples {
		t.Fatalf("want more samples than the summary keeps: %+v", c)
	}
	tl.run(liveD, restart, end, &live)
	want := after(live.Verdicts, restart)
	if len(want) == 0 || want[len(want)-1].Decision != signals.DecisionPass {
		t.Fatalf("the uninterrupted run must pass H3 some time after the restart:%s", describe(want))
	}

	old := New(cfg, nil)
	tl.run(old, t0, restart, &Output{})
	snap, err := old.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	d, first, _ := tl.restart(t, cfg, snap, replayFrom, restart)
	// The replayed samples are not folded a second time.
	if got := sortedSamples(d.watches[key]); !reflect.DeepEqual(got, liveAt) {
		t.Fatalf("restored watch's samples after the replay differ from the uninterrupted run's:\n%v\nwant\n%v", got, liveAt)
	}
	got := first
	tl.run(d, restart, end, &got)
	if describe(got.Verdicts) != describe(want) {
		t.Fatalf("after the restart:%s\nuninterrupted:%s", describe(got.Verdicts), describe(want))
	}
}

// sortedSamples is a watch's metric summary in a canonical order.
func sortedSamples(w *watch) map[string][2][]keyedSample {
	out := map[string][2][]keyedSample{}
	for name, c := range w.samples.by {
		var pair [2][]keyedSample
		for i, b := range []bottomK{c.canary, c.other} {
			xs := append([]keyedSample{{key: uint32(b.n >> 32), value: float64(b.n)}}, b.items...)
			sort.Slice(xs[1:], func(i, j int) bool { return xs[1+i].before(xs[1+j]) })
			pair[i] = xs
		}
		out[name] = pair
	}
	return out
}

// stripWatches makes a snapshot as an older version wrote it: no watches,
// no position in the release-event log.
func stripWatches(t *testing.T, data []byte) []byte {
	t.Helper()
	var snap serviceSnapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	snap.Version, snap.Watches, snap.ReleaseSeq = 1, nil, 0
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(snap); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Without a saved watch (a snapshot from before watches were saved, or
// none) the replayed release events re-open the watch. What the replay
// cannot hold is said in the verdicts, the re-opened watch still halts the
// incident after the restart, never passes without evidence, and what the
// replayed events "judged" (the H2 close at the promotion) is not given.
func TestRestartWithoutSavedWatch(t *testing.T) {
	cfg := sixHourBaseline(t)
	h3 := t0.Add(8 * time.Hour)
	restart := h3.Add(13 * time.Hour)
	onset := restart.Add(90 * time.Minute)
	rng := rand.New(rand.NewPCG(7, 8))
	tl := &timeline{}
	tl.genPosts(rng, t0, onset, 6, 0.1, 0, "")
	tl.genPosts(rng, onset, onset.Add(time.Hour), 6, 0.1, 2, "crash")
	tl.event(t0.Add(6*time.Hour), "H2", signals.EventStarted)
	tl.event(h3, "H3", signals.EventPromoted)

	old := New(cfg, nil)
	tl.run(old, t0, restart, &Output{})
	snap, err := old.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, snapshot := range map[string][]byte{"version 1 snapshot": stripWatches(t, snap), "no snapshot": nil} {
		d, first, notes := tl.restart(t, cfg, snapshot, restart.Add(-8*time.Hour), restart)
		if len(notes) != 1 || !strings.Contains(notes[0], "evidence before") {
			t.Fatalf("notes %q, want one saying which evidence is missing", notes)
		}
		out := first
		tl.run(d, restart, onset.Add(time.Hour), &out)
		// The replayed hours after the re-opened start are judged as they
		// would have been live; nothing the replayed events "judged" before
		// (H2's close at the promotion) is given.
		reopened := restart.Add(-8 * time.Hour).Add(cfg.Baseline)
		if n := len(first.Verdicts); n == 0 || !first.Verdicts[n-1].Time.Equal(restart) {
			t.Fatalf("want the replayed hours judged up to the restart:%s", describe(first.Verdicts))
		}
		for _, v := range first.Verdicts {
			if v.Ring != "H3" || v.Time.Before(reopened) {
				t.Fatalf("a verdict from the replayed events:%s", describe(first.Verdicts))
			}
		}
		for _, v := range out.Verdicts {
			if v.Ring != "H3" || !strings.Contains(strings.Join(v.Reasons, " "), "re-opened at") {
				t.Fatalf("verdict without the re-open note:%s", describe([]signals.Verdict{v}))
			}
			if v.Decision != signals.DecisionPass {
				continue
			}
			for _, r := range v.Signals {
				if r.Name == "complaint_volume" && (r.Outcome == signals.OutcomeInsufficient || r.Observed == 0 && r.Expected == 0) {
					t.Fatalf("passed without evidence:%s %+v", describe([]signals.Verdict{v}), r)
				}
			}
		}
		if h, ok := firstHaltIn(out.Verdicts); !ok || h.Time.Before(onset) || h.Time.Sub(onset) > 20*time.Minute {
			t.Fatalf("incident after the restart not halted in time:%s", describe(out.Verdicts))
		}
	}
}

// A process down longer than the replay reaches back resumes its restored
// watch after the hole and says which evidence is missing.
func TestRestartAfterLongOutageSaysWhatIsMissing(t *testing.T) {
	cfg := defaultConfig(t)
	h3 := t0.Add(8 * time.Hour)
	crash := h3.Add(3 * time.Hour)
	restart := crash.Add(12 * time.Hour)
	onset := restart.Add(30 * time.Minute)
	rng := rand.New(rand.NewPCG(9, 10))
	tl := &timeline{}
	tl.genPosts(rng, t0, onset, 6, 0.1, 0, "")
	tl.genPosts(rng, onset, onset.Add(time.Hour), 6, 0.1, 2, "crash")
	tl.genMetrics(rng, t0, onset.Add(time.Hour), h3, "error_rate", 0.01, func(time.Time) string { return "H3" }, func(time.Time) float64 { return 1 })
	tl.event(t0.Add(6*time.Hour), "H2", signals.EventStarted)
	tl.event(h3, "H3", signals.EventPromoted)
	old := New(cfg, nil)
	tl.run(old, t0, crash, &Output{})
	snap, err := old.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	replayFrom := restart.Add(-8 * time.Hour)
	d, first, notes := tl.restart(t, cfg, snap, replayFrom, restart)
	if len(notes) != 1 || !strings.Contains(notes[0], "not available") ||
		!strings.Contains(notes[0], "metric samples between "+crash.Add(-cfg.Lateness).Format(time.RFC3339)+" and "+replayFrom.Format(time.RFC3339)) {
		t.Fatalf("notes %q, want the hole named, of the posts and of the metric samples", notes)
	}
	if len(first.Verdicts) != 1 || !strings.Contains(strings.Join(first.Verdicts[0].Reasons, " "), "evidence between "+crash.Add(-cfg.Lateness).Format(time.RFC3339)) {
		t.Fatalf("the restart does not say what is missing in a verdict:%s", describe(first.Verdicts))
	}
	var out Output
	tl.run(d, restart, onset.Add(time.Hour), &out)
	if h, ok := firstHaltIn(out.Verdicts); !ok || h.Time.Before(onset) || h.Time.Sub(onset) > 20*time.Minute {
		t.Fatalf("incident after the restart not halted in time:%s", describe(out.Verdicts))
	}
}

// Every field of a watch, its charts and its baseline is saved in the
// snapshot or is a cache rebuilt on demand. A field added to them (by a
// change to the judge) must be added to the snapshot in rewatch.go too, or
// a restart would silently lose it: this test names it.
func TestSnapshotCoversWatchState(t *testing.T) {
	saved := map[reflect.Type][]string{
		reflect.TypeOf(watch{}): {"ev", "ring", "start", "minEnd", "end", "soaking", "minDone", "lastEval", "fails", "holds",
			"flaggedOff", "decision", "action", "failed", "closed", "knownRing", "terms", "features", "negPosts", "base", "next",
			"charts", "total", "late",
			"factorHour", "factor", "weeks", // cache of hourFactor, recomputed from the restored hourly history
			"re", "phase", "samples", "counts",
			"replacedBy"}, // set only while a replaced watch gives its final verdict and closes: never in a snapshot (reusedwatch.go)
		reflect.TypeOf(countWatch{}): {"base", "c", "n", "y", "m", "solo", "recent", "pos", "next", "late", "total", "minutes", "share",
			"asOf"}, // the restored next: samples before it were counted before the snapshot
		reflect.TypeOf(countBase{}):      {"ok", "detail", "minutes", "errors", "requests", "p", "reqRate", "phi", "bursts"},
		reflect.TypeOf(counts{}):         {"x", "n", "y", "m"},
		reflect.TypeOf(watchSamples{}):   {"next", "by"},
		reflect.TypeOf(cohortSamples{}):  {"canary", "other"},
		reflect.TypeOf(bottomK{}):        {"n", "items"},
		reflect.TypeOf(keyedSample{}):    {"key", "value"},
		reflect.TypeOf(phase{}):          {"changes", "base", "tuned"},
		reflect.TypeOf(reviewBaseline{}): {"ok", "negRate", "negOdds"},
		reflect.TypeOf(chart{}):          {"s", "from", "x", "e", "total", "expected", "h", "minX", "hSoak", "drift", "win"},
		reflect.TypeOf(window{}):         {"l", "blocks", "head", "n", "last"},
		reflect.TypeOf(winPoint{}):       {"block", "l", "x", "e", "at"},
		reflect.TypeOf(baseline{}):       {"ok", "detail", "from", "minutes", "posts", "negative", "negRate", "relRate", "catRate", "negShare", "relShare", "catShare", "phi", "phiShare", "dayExcess"},
		reflect.TypeOf(bucket{}):         {"slot", "posts", "negative", "categories", "release", "releaseNeg"},
	}
	for typ, names := range saved {
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i).Name; !slices.Contains(names, f) {
				t.Errorf("%s.%s is not saved with the watch: add it to the snapshot in detector/rewatch.go (or list it here if it is a cache)", typ.Name(), f)
			}
		}
	}
}

// A process of the previous release (its snapshot had no watches) still
// restores the snapshots this one writes, during a rolling upgrade.
func TestSnapshotReadableByPreviousRelease(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(6 * time.Hour)
	s.background(t0, start, 3)
	s.release(start, "H3", signals.EventStarted)
	for m := start; m.Before(start.Add(time.Hour)); m = m.Add(time.Minute) {
		for _, v := range []string{"", "4.2.0"} {
			s.d.Metric(signals.MetricSample{Time: m, Service: "shop", Version: v, Name: "error_rate", Value: 0.01})
		}
		s.background(m, m.Add(time.Minute), 3)
	}
	if w := s.d.watches[watchKey{"shop-4.2.0", "H3"}]; len(w.samples.by) == 0 {
		t.Fatal("no metric samples in the watch")
	}
	data, err := s.d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	// The release before this one saved watches, without their metric samples.
	type previousWatch struct {
		Event              signals.ReleaseEvent
		Start, MinEnd, End time.Time
		NegPosts           int32
		Next               time.Time
		Charts             [nCharts]chartSnapshot
	}
	type previousWithWatches struct {
		Version    int
		AsOf       time.Time
		Watches    []previousWatch
		ReleaseSeq uint64
	}
	var prev previousWithWatches
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&prev); err != nil {
		t.Fatalf("the release before this one cannot read this snapshot: %v", err)
	}
	if len(prev.Watches) != 1 || !prev.Watches[0].Start.Equal(start) || prev.Watches[0].Next.IsZero() {
		t.Fatalf("the release before this one read the watches %+v", prev.Watches)
	}
	type previous struct { // serviceSnapshot before the watches were added
		Version   int
		AsOf      time.Time
		HourWidth time.Duration
		HourFirst time.Time
		Hours     []snapshotBucket
		Terms     map[string]float64
		TermTotal float64
		TermDecay time.Time
		Spikes    map[string][]byte
		SpikeNext map[string]int64
	}
	var old previous
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&old); err != nil {
		t.Fatalf("the previous release cannot read this snapshot: %v", err)
	}
	if old.Version != snapshotVersion || len(old.Hours) == 0 {
		t.Fatalf("previous release read version %d, %d hours", old.Version, len(old.Hours))
	}
}

// BenchmarkSnapshotWatch reports what one open watch adds to its service's
// snapshot (bytes/watch), with a typical window (a few hundred complaint
// terms) and at the bound (maxWindowTerms distinct terms), without metric
// samples and with two (and eight) metrics of both cohorts at the
// summary's bound (sampleCap each), and the time to marshal and restore a
// service with one watch.
func BenchmarkSnapshotWatch(b *testing.B) {
	for _, c := range []struct{ terms, metrics int }{{300, 0}, {maxWindowTerms, 0}, {300, 2}, {maxWindowTerms, 2}, {300, 8}} {
		terms := c.terms
		b.Run(fmt.Sprintf("terms=%d/metrics=%d", terms, c.metrics), func(b *testing.B) {
			s := newScenario(&testing.T{}, Config{})
			start := t0.Add(6 * time.Hour)
			s.background(t0, start, 3)
			without, _ := s.d.MarshalService("shop")
			s.release(start, "H3", signals.EventStarted)
			s.background(start, start.Add(2*time.Hour), 3)
			w := s.d.watches[watchKey{"shop-4.2.0", "H3"}]
			for i := 0; i < terms; i++ {
				w.terms.add([]string{fmt.Sprintf("term%05d", i)})
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for m := 0; m < c.metrics; m++ {
				name := []string{"error_rate", "latency_p99"}[m%2] + strings.Repeat("_x", m/2)
				for i := 0; i < 4*maxWatchSamples; i++ {
					w.addSample(name, sample{t: start.Add(time.Duration(i) * 15 * time.Second), version: []string{"", "4.2.0"}[i%2],
						value: 0.01 * math.Exp(0.2*rng.NormFloat64())})
				}
			}
			with, _ := s.d.MarshalService("shop")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				data, err := s.d.MarshalService("shop")
				if err != nil {
					b.Fatal(err)
				}
				if err := New(s.d.cfg, nil).RestoreService("shop", data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(with)-len(without)), "bytes/watch")
			b.ReportMetric(float64(len(with)), "bytes/service")
		})
	}
}

// Sources that fell silent hours before a restart — longer than the
// replay reaches back — are still silent after it: the restored watch
// waits instead of passing on the evidence from before.
func TestRestartKeepsSourcesSilent(t *testing.T) {
	cfg := defaultConfig(t)
	h3 := t0.Add(8 * time.Hour)
	silent := h3.Add(3 * time.Hour)
	restart := silent.Add(10 * time.Hour)
	tl := &timeline{}
	tl.genPosts(rand.New(rand.NewPCG(1, 1)), t0, silent, 6, 0.1, 0, "")
	tl.event(t0.Add(6*time.Hour), "H2", signals.EventStarted)
	tl.event(h3, "H3", signals.EventPromoted)
	old := New(cfg, nil)
	tl.run(old, t0, restart, &Output{})
	snap, err := old.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	d, first, _ := tl.restart(t, cfg, snap, restart.Add(-8*time.Hour), restart)
	out := first
	tl.run(d, restart, restart.Add(30*time.Minute), &out)
	for _, v := range out.Verdicts {
		if v.Decision == signals.DecisionPass {
			t.Fatalf("passed with the sources silent:%s", describe(out.Verdicts))
		}
	}
	if st := d.OpenWatches(); len(st) != 1 || st[0].Decision != signals.DecisionWait {
		t.Fatalf("watches after the restart: %+v", st)
	}
	if why := d.silence(d.services["shop"], restart); !strings.Contains(why, "sources silent since "+silent.Add(-time.Minute).Format("2006-01-02T15:04")) {
		t.Fatalf("silence after the restart: %q", why)
	}
}

// An incident that came and went while the process was down (its last
// snapshot at S, restarted 40 minutes later) is judged as the live process
// would have judged it: the same verdicts at the same minutes — the halt
// late, but not lost.
func TestRestartJudgesWhatHappenedWhileDown(t *testing.T) {
	cfg := defaultConfig(t)
	h3 := t0.Add(8 * time.Hour)
	saved := h3.Add(10 * time.Hour)
	restart := saved.Add(40 * time.Minute)
	end := restart.Add(time.Hour)
	rng := rand.New(rand.NewPCG(11, 12))
	tl := &timeline{}
	tl.genPosts(rng, t0, saved.Add(5*time.Minute), 6, 0.1, 0, "")
	tl.genPosts(rng, saved.Add(5*time.Minute), saved.Add(20*time.Minute), 6, 0.1, 3, "crash")
	tl.genPosts(rng, saved.Add(20*time.Minute), end, 6, 0.1, 0, "")
	tl.event(t0.Add(6*time.Hour), "H2", signals.EventStarted)
	tl.event(h3, "H3", signals.EventPromoted)

	var live Output
	tl.run(New(cfg, nil), t0, end, &live)
	want := after(live.Verdicts, saved)
	if h, ok := firstHaltIn(want); !ok || !h.Time.Before(restart) {
		t.Fatalf("the uninterrupted run must halt while the other process is down:%s", describe(want))
	}
	old := New(cfg, nil)
	tl.run(old, t0, saved, &Output{})
	snap, err := old.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	d, got, _ := tl.restart(t, cfg, snap, restart.Add(-8*time.Hour), restart)
	tl.run(d, restart, end, &got)
	if describe(got.Verdicts) != describe(want) {
		t.Fatalf("after the restart:%s\nuninterrupted:%s", describe(got.Verdicts), describe(want))
	}
}

// A store rollout's reported exposure (its phase) and the review baseline
// it is judged against come back with the watch after a restart.
func TestRestartKeepsExposure(t *testing.T) {
	s := newScenario(t, Config{})
	start := t0.Add(8 * time.Hour)
	s.chatter(t0, start, 3, 0.1, 0.3, "")
	s.d.Release(signals.ReleaseEvent{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventStarted, Time: start, Exposure: 0.01})
	s.chatter(start, start.Add(time.Hour), 3, 0.1, 0.3, "")
	s.d.Release(signals.ReleaseEvent{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: "H3", Event: signals.EventExposure, Time: start.Add(time.Hour), Exposure: 0.05})
	w := s.d.watches[watchKey{"shop-4.2.0", "H3"}]
	if w == nil || len(w.phase.changes) != 2 {
		t.Fatalf("watch %+v: want two exposure reports", w)
	}
	w.phase.base = &reviewBaseline{ok: true, negRate: 0.02, negOdds: 0.4}
	w.phase.tuned = 0.05
	snap, err := s.d.MarshalService("shop")
	if err != nil {
		t.Fatal(err)
	}
	d := New(s.d.cfg, nil)
	if err := d.RestoreService("shop", snap); err != nil {
		t.Fatal(err)
	}
	got := d.watches[watchKey{"shop-4.2.0", "H3"}]
	if got == nil {
		t.Fatal("watch not restored")
	}
	if !reflect.DeepEqual(got.phase, w.phase) {
		t.Errorf("phase after restore %+v, want %+v", got.phase, w.phase)
	}
	if e := got.exposureAt(start.Add(2 * time.Hour)); e != 0.05 {
		t.Errorf("exposure 2 h in = %v, want 0.05", e)
	}
}
