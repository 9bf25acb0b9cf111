package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/logbuf"
	"github.com/aftershock/aftershock/signals"
)

// simClock is event time, moved by the test.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) get() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// process is one daemon's detector pipeline on a storage dir: its own
// embedded nats-server, JetStream and baselines bucket.
type process struct {
	b      *bus.Bus
	det    *detector.Detector
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	sent   int            // messages replayed and published while it ran
	logs   *logbuf.Buffer // what it logged
}

const testTick = 5 * time.Millisecond

func startProcess(t *testing.T, dir string, cfg detector.Config, clock *simClock, since time.Time) *process {
	t.Helper()
	ctx := context.Background()
	logs := &logbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, Retention: 30 * 24 * time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := b.KV(ctx, bus.BucketBaselines)
	if err != nil {
		t.Fatal(err)
	}
	pr := &process{b: b, det: detector.New(cfg, nil), reg: prometheus.NewRegistry(), done: make(chan error, 1), logs: logs}
	p := New(b.JS, pr.det, clock.get, testTick, log, pr.reg).WithSnapshots(kv, time.Hour)
	rctx, cancel := context.WithCancel(ctx)
	pr.cancel = cancel
	go func() { pr.done <- p.Run(rctx, since) }()
	// Wait for the rebuild to end (its gauge is set then).
	pr.waitFor(t, "the rebuild", func() bool { return pr.gauge("aftershock_detector_rebuild_seconds") > 0 })
	pr.sent = int(pr.gauge("aftershock_detector_messages_total")) // what the rebuild replayed
	return pr
}

func (pr *process) gauge(name string) float64 {
	mfs, _ := pr.reg.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				total += g.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				total += c.GetValue()
			}
		}
	}
	return total
}

func (pr *process) waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop ends the process as a restart would (the pipeline saves its
// snapshots on the way out) and closes its broker.
func (pr *process) stop(t *testing.T) {
	t.Helper()
	pr.cancel()
	if err := <-pr.done; err != nil {
		t.Fatal(err)
	}
	pr.b.Close()
}

// world is what happens to the service: posts and release events in event time.
type world struct {
	rng     *rand.Rand
	posts   []signals.Post
	events  []signals.ReleaseEvent
	metrics []signals.MetricSample // time-ordered
	sentP   int                    // posts published so far
	sentE   int
	sentM   int
}

// samples adds one sample of metric name a minute from each cohort in
// [from, to): the old version's around level, from newFrom on the new
// version's around level × mult(t); log-normal noise of 10%.
func (w *world) samples(from, to, newFrom time.Time, name string, level float64, mult func(time.Time) float64) {
	for at := from; at.Before(to); at = at.Add(time.Minute) {
		t := at.Add(20 * time.Second)
		w.metrics = append(w.metrics, signals.MetricSample{Type: signals.TypeMetric, Time: t, Service: "shop", Name: name,
			Value: level * math.Exp(0.1*w.rng.NormFloat64())})
		if !t.Before(newFrom) {
			w.metrics = append(w.metrics, signals.MetricSample{Type: signals.TypeMetric, Time: t, Service: "shop", Name: name, Version: "4.2.0",
				Value: level * mult(t) * math.Exp(0.1*w.rng.NormFloat64())})
		}
	}
}

func (w *world) chatter(from, to time.Time, rate, negShare, extra float64) {
	for m := from; m.Before(to); m = m.Add(time.Minute) {
		n, k := poissonN(w.rng, rate), poissonN(w.rng, extra)
		for i := 0; i < n+k; i++ {
			e := signals.Enrichment{Lang: "en", Sentiment: 0.4}
			if i >= n || w.rng.Float64() < negShare {
				e.Sentiment = -0.6
			}
			if i >= n {
				e.Categories = []string{"crash"}
			}
			id := len(w.posts)
			w.posts = append(w.posts, signals.Post{Time: m.Add(time.Duration(i) * time.Minute / time.Duration(n+k+1)), Source: "test",
				ID: fmt.Sprint(id), Service: "shop", Text: fmt.Sprintf("post %d", id), Enrichment: &e})
		}
	}
}

func (w *world) event(at time.Time, ring, event string) {
	w.events = append(w.events, signals.ReleaseEvent{Time: at, Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Ring: ring, Event: event})
}

func poissonN(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// live publishes what happens in [from, to) in steps as the crawlers and
// the release API would, moving the clock after each step once the
// process has consumed it.
func (w *world) live(t *testing.T, pr *process, clock *simClock, from, to time.Time, step time.Duration, beforeClock ...func()) {
	t.Helper()
	ctx := context.Background()
	pub := bus.Publisher{JS: pr.b.JS}
	for at := from; at.Before(to); at = at.Add(step) {
		end := at.Add(step)
		for ; w.sentE < len(w.events) && w.events[w.sentE].Time.Before(end); w.sentE++ {
			if err := pub.Release(ctx, w.events[w.sentE], ""); err != nil {
				t.Fatal(err)
			}
			pr.sent++
		}
		// Posts go out as the crawler runner sends them: asynchronously,
		// every ack awaited.
		for ; w.sentP < len(w.posts) && w.posts[w.sentP].Time.Before(end); w.sentP++ {
			p := w.posts[w.sentP]
			p.Type = signals.TypePost
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pr.b.JS.PublishAsync(bus.PostSubject(p.Source), data, jetstream.WithMsgID(p.MsgID())); err != nil {
				t.Fatal(err)
			}
			pr.sent++
		}
		for ; w.sentM < len(w.metrics) && w.metrics[w.sentM].Time.Before(end); w.sentM++ {
			data, err := json.Marshal(w.metrics[w.sentM])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pr.b.JS.PublishAsync(bus.MetricSubject("shop"), data); err != nil {
				t.Fatal(err)
			}
			pr.sent++
		}
		select {
		case <-pr.b.JS.PublishAsyncComplete():
		case <-time.After(10 * time.Second):
			t.Fatal("posts not acknowledged")
		}
		pr.waitFor(t, "the posts to be consumed", func() bool {
			return pr.gauge("aftershock_detector_messages_total") >= float64(pr.sent)
		})
		for _, f := range beforeClock {
			f()
		}
		clock.set(end)
		time.Sleep(4 * testTick) // let it advance
	}
}

// verdicts reads every verdict published so far.
func verdicts(t *testing.T, b *bus.Bus) []signals.Verdict {
	t.Helper()
	var out []signals.Verdict
	for _, v := range stored(t, b, bus.StreamVerdicts) {
		out = append(out, *v.(*signals.Verdict))
	}
	return out
}

// stored decodes every message of a stream.
func stored(t *testing.T, b *bus.Bus, stream string) []any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := b.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	if info.State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range info.State.Msgs {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		v, err := signals.Decode(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func firstHalt(vs []signals.Verdict) (signals.Verdict, bool) {
	for _, v := range vs {
		if v.Action == signals.ActionHalt {
			return v, true
		}
	}
	return signals.Verdict{}, false
}

func show(vs []signals.Verdict) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n  %s %s %s %s %.1f %s", v.Time.Format("01-02 15:04"), v.Ring, v.Decision, v.Action, v.Score, strings.Join(v.Reasons, " | "))
	}
	return b.String()
}

// TestRestartKeepsWatching stops the daemon's detector and starts a new
// one on the same storage (embedded nats-server, JetStream, baselines
// bucket) while a release soaks after H1→H2→H3→completed, or while a long
// H3 is live — 5 hours after the ring started, more than the new process
// replays of the posts (2 hours). The new process goes on judging the ring: no
// verdict given before the restart is given again, nothing is counted
// twice, and an incident after a second restart is halted.
func TestRestartKeepsWatching(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	h3 := t0.Add(3 * time.Hour)
	restart := h3.Add(5 * time.Hour)
	onset := restart.Add(time.Hour)
	cases := []struct {
		name   string
		events func(w *world)
	}{
		{"soak after completion", func(w *world) {
			w.event(t0.Add(2*time.Hour), "H1", signals.EventStarted)
			w.event(t0.Add(150*time.Minute), "H2", signals.EventPromoted)
			w.event(h3, "H3", signals.EventPromoted)
			w.event(h3.Add(2*time.Hour), "", signals.EventCompleted)
		}},
		{"long H3", func(w *world) {
			w.event(t0.Add(2*time.Hour), "H2", signals.EventStarted)
			w.event(h3, "H3", signals.EventPromoted)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A 2 h baseline keeps the test short; the replay is set by
			// replayFrom below.
			cfg := detector.Config{Soak: 24 * time.Hour, Baseline: 2 * time.Hour}
			if err := cfg.Validate("detector"); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			w := &world{rng: rand.New(rand.NewPCG(3, 4))}
			w.chatter(t0, onset, 6, 0.1, 0)
			w.chatter(onset, onset.Add(time.Hour), 6, 0.1, 3)
			c.events(w)
			clock := &simClock{now: t0}

			// The first process sees the release from the start.
			p1 := startProcess(t, dir, cfg, clock, time.Time{})
			w.live(t, p1, clock, t0, restart.Add(-2*time.Hour), 30*time.Minute)
			// The second process will replay the posts only from here:
			// the H3 start (5 h before the restart) is not replayed.
			replayFrom := time.Now()
			time.Sleep(10 * time.Millisecond)
			w.live(t, p1, clock, restart.Add(-2*time.Hour), restart, 30*time.Minute)
			p1.stop(t)
			before := storedVerdicts(t, dir)
			if len(before) == 0 {
				t.Fatal("no verdict before the restart")
			}

			// Restart: calm until the onset.
			p2 := startProcess(t, dir, cfg, clock, replayFrom)
			secondFrom := time.Now()
			time.Sleep(10 * time.Millisecond)
			w.live(t, p2, clock, restart, onset, 10*time.Minute)
			p2.stop(t)
			all := storedVerdicts(t, dir)
			if again := all[len(before):]; len(again) != 0 {
				t.Fatalf("verdicts after the restart of a calm ring (given before, or new without cause):%s\nbefore:%s", show(again), show(before))
			}
			// Nothing counted twice or lost: the H3 watch holds exactly the
			// posts published since the ring started, up to its last bucket.
			h3w := openWatch(t, p2, "H3")
			posts, complaints := 0, 0
			for _, p := range w.posts {
				if !p.Time.Before(h3) && p.Time.Before(h3w.Folded) {
					posts++
					if p.Enrichment.Negative() {
						complaints++
					}
				}
			}
			if !h3w.Start.Equal(h3) || h3w.Posts != posts || h3w.Complaints != complaints || h3w.Note != "" {
				t.Fatalf("H3 watch after the restart: from %s, %d posts, %d complaints, note %q; want from %s, %d and %d (folded to %s)",
					h3w.Start, h3w.Posts, h3w.Complaints, h3w.Note, h3, posts, complaints, h3w.Folded)
			}
			if c.name == "soak after completion" && !h3w.Soaking {
				t.Fatal("the soak is not a soak after the restart")
			}

			// A second restart, then an incident: halted, once.
			p3 := startProcess(t, dir, cfg, clock, secondFrom)
			w.live(t, p3, clock, onset, onset.Add(time.Hour), 5*time.Minute)
			p3.waitFor(t, "a halt", func() bool {
				_, ok := firstHalt(verdicts(t, p3.b))
				return ok
			})
			time.Sleep(20 * testTick) // a second halt, if any, would be out by now
			all = verdicts(t, p3.b)
			p3.stop(t)
			var halts []signals.Verdict
			for _, v := range all {
				if v.Action == signals.ActionHalt {
					halts = append(halts, v)
				}
			}
			if len(halts) != 1 || halts[0].Ring != "H3" || halts[0].Time.Before(onset) || halts[0].Time.Sub(onset) > 20*time.Minute {
				t.Fatalf("want one H3 halt within 20 min of the onset %s:%s", onset.Format("15:04"), show(all))
			}
		})
	}
}

// A metric regression of the new version in the first 3 hours of H3,
// then none: 5 hours into H3 the daemon restarts and replays 2 hours —
// none of the regression. The whole-watch comparison still fails (the
// ring stays held for review, no new verdict) until the normal hours
// outweigh it, as it would without the restart, because the watch's
// metric samples come back with it: each published sample of the watch
// counted once (snapshot + replay), and the ring passes later when the
// regression is diluted.
func TestRestartKeepsJudgingMetrics(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	h3 := t0.Add(3 * time.Hour)
	fixed := h3.Add(3 * time.Hour)
	restart := h3.Add(5 * time.Hour)
	end := h3.Add(7 * time.Hour)
	cfg := detector.Config{Baseline: 2 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &world{rng: rand.New(rand.NewPCG(5, 6))}
	w.chatter(t0, end, 6, 0.1, 0)
	w.samples(t0, end, t0.Add(2*time.Hour), "latency_p99", 300, func(t time.Time) float64 {
		if !t.Before(h3) && t.Before(fixed) {
			return 3
		}
		return 1
	})
	w.event(t0.Add(2*time.Hour), "H2", signals.EventStarted)
	w.event(h3, "H3", signals.EventPromoted)
	clock := &simClock{now: t0}

	p1 := startProcess(t, dir, cfg, clock, time.Time{})
	w.live(t, p1, clock, t0, restart.Add(-2*time.Hour), 30*time.Minute)
	replayFrom := time.Now() // the second process replays from here: after the regression
	time.Sleep(10 * time.Millisecond)
	w.live(t, p1, clock, restart.Add(-2*time.Hour), restart, 30*time.Minute)
	p1.stop(t)
	before := storedVerdicts(t, dir)
	if n := len(before); n == 0 || before[n-1].Ring != "H3" || before[n-1].Action != signals.ActionReviewRequired {
		t.Fatalf("before the restart H3 must be held for review on latency:%s", show(before))
	}

	p2 := startProcess(t, dir, cfg, clock, replayFrom)
	w.live(t, p2, clock, restart, restart.Add(30*time.Minute), 10*time.Minute)
	p2.stop(t)
	all := storedVerdicts(t, dir)
	if again := all[len(before):]; len(again) != 0 {
		t.Fatalf("verdicts after the restart while the whole watch still fails on latency:%s\nbefore:%s", show(again), show(before))
	}
	h3w := openWatch(t, p2, "H3")
	samples := 0
	for _, m := range w.metrics {
		if !m.Time.Before(h3) && m.Time.Before(h3w.SamplesFolded) {
			samples++
		}
	}
	if h3w.Samples != samples || h3w.SamplesFolded.Before(restart) {
		t.Fatalf("H3 watch after the restart counted %d metric samples up to %s, want the %d published", h3w.Samples, h3w.SamplesFolded, samples)
	}

	p3 := startProcess(t, dir, cfg, clock, replayFrom)
	w.live(t, p3, clock, restart.Add(30*time.Minute), end, 10*time.Minute)
	p3.stop(t)
	after := storedVerdicts(t, dir)[len(all):]
	if len(after) == 0 || after[len(after)-1].Decision != signals.DecisionPass || after[0].Time.Before(fixed.Add(3*time.Hour-10*time.Minute)) {
		t.Fatalf("want H3 to pass once the normal hours outweigh the regression (about %s):%s", fixed.Add(3*time.Hour).Format("15:04"), show(after))
	}
}

// storedVerdicts reads the verdicts on the storage of stopped processes.
func storedVerdicts(t *testing.T, dir string) []signals.Verdict {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: dir, Retention: 30 * 24 * time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return verdicts(t, b)
}

// A halt the detector reached but could not publish (the broker refused
// it) when the process stopped is not taken as given: the service's state
// is not saved past it, and the next process halts the ring.
func TestUnpublishedHaltSurvivesRestart(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	h3 := t0.Add(3 * time.Hour)
	onset := h3.Add(3 * time.Hour)
	cfg := detector.Config{Baseline: 2 * time.Hour}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &world{rng: rand.New(rand.NewPCG(5, 6))}
	w.chatter(t0, onset, 6, 0.1, 0)
	w.chatter(onset, onset.Add(time.Hour), 6, 0.1, 3)
	w.event(h3, "H3", signals.EventStarted)
	clock := &simClock{now: t0}

	p1 := startProcess(t, dir, cfg, clock, time.Time{})
	w.live(t, p1, clock, t0, onset, 30*time.Minute)
	// The incident's posts are in; then the broker loses VERDICTS and the
	// clock moves on: the detector halts, the halt cannot be published.
	w.live(t, p1, clock, onset, onset.Add(30*time.Minute), 30*time.Minute, func() {
		if err := p1.b.JS.DeleteStream(context.Background(), bus.StreamVerdicts); err != nil {
			t.Fatal(err)
		}
	})
	// The critical category's anomaly goes out in the same evaluation as
	// the halt (just before it).
	p1.waitFor(t, "the first process to halt", func() bool {
		for _, a := range stored(t, p1.b, bus.StreamAnomalies) {
			if a := a.(*signals.Anomaly); a.Release == "shop-4.2.0" && a.Ring == "H3" {
				return true
			}
		}
		return false
	})
	p1.cancel()
	if err := <-p1.done; err != nil {
		t.Fatal(err)
	}
	for _, ws := range p1.det.OpenWatches() {
		if ws.Ring == "H3" {
			t.Fatalf("the first process did not reach the halt: %+v", ws)
		}
	}
	p1.b.Close()

	p2 := startProcess(t, dir, cfg, clock, time.Time{}) // the broker declares VERDICTS again
	defer p2.stop(t)
	p2.waitFor(t, "the halt", func() bool {
		v, ok := firstHalt(verdicts(t, p2.b))
		return ok && v.Ring == "H3"
	})
}

// A process that lost a service (its lease moved) publishes nothing more
// about it: the new owner judges it from the saved snapshot.
func TestLostServiceIsNotPublished(t *testing.T) {
	cfg := detector.Config{}
	_ = cfg.Validate("detector")
	owned := "shop"
	p := New(nil, detector.New(cfg, nil), time.Now, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), nil).WithOwner(func(s string) bool { return s == owned })
	out := detector.Output{
		Verdicts:  []signals.Verdict{{Service: "shop"}, {Service: "bank"}},
		Anomalies: []signals.Anomaly{{Service: "bank"}},
		Rollups:   []signals.Rollup{{Service: "shop"}, {Service: "bank"}},
	}
	got := p.keepMine(out)
	if len(got.Verdicts) != 1 || got.Verdicts[0].Service != "shop" || len(got.Anomalies) != 0 || len(got.Rollups) != 1 {
		t.Fatalf("kept %+v", got)
	}
}

// openWatch is the process's open watch of ring; the test fails without one.
func openWatch(t *testing.T, p *process, ring string) detector.WatchStatus {
	t.Helper()
	for _, ws := range p.det.OpenWatches() {
		if ws.Ring == ring {
			return ws
		}
	}
	t.Fatalf("%s is not watched after the restart: %+v", ring, p.det.OpenWatches())
	return detector.WatchStatus{}
}
