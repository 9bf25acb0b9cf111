package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// publishing starts a broker of its own and a pipeline over it with the
// default detector, for tests of Publish.
func publishing(t *testing.T) (*bus.Bus, *Pipeline) {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	return b, New(b.JS, detector.New(cfg, nil), time.Now, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

// TestPublishKeepsWhatFailed stops the broker's VERDICTS stream and checks
// that unpublished verdicts come back to be retried, then go out once the
// stream is back.
func TestPublishKeepsWhatFailed(t *testing.T) {
	ctx := context.Background()
	b, p := publishing(t)
	v := signals.Verdict{Time: time.Now(), Release: "r1", Service: "shop", Ring: "H3", Decision: "fail", Action: "halt", Reasons: []string{"x"}}
	if err := b.JS.DeleteStream(ctx, bus.StreamVerdicts); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	left, err := p.Publish(sctx, detector.Output{Verdicts: []signals.Verdict{v, v}})
	cancel()
	if err == nil || len(left.Verdicts) != 2 {
		t.Fatalf("with the stream gone: err=%v, %d verdicts kept, want an error and 2", err, len(left.Verdicts))
	}
	b.Close()
	b2, p := publishing(t)
	if left, err = p.Publish(ctx, left); err != nil || len(left.Verdicts) != 0 {
		t.Fatalf("retry: err=%v left=%d", err, len(left.Verdicts))
	}
	s, _ := b2.JS.Stream(ctx, bus.StreamVerdicts)
	if n := s.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("%d verdicts stored, want 2", n)
	}
}

func TestApplySkipsBadMessages(t *testing.T) {
	cfg := detector.Config{}
	_ = cfg.Validate("detector")
	p := New(nil, detector.New(cfg, nil), time.Now, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	for _, in := range []string{`{`, `{"type":"post"}`, "\xff", `{"type":"tweet","time":"2026-11-24T09:00:00Z"}`} {
		if got := p.Apply([]byte(in)); !got.IsZero() {
			t.Errorf("Apply(%q) used a bad message", in)
		}
	}
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	if got := p.Apply([]byte(`{"type":"post","time":"2026-11-24T09:00:00Z","source":"x","id":"1","service":"shop","text":"login broken"}`)); !got.Equal(at) {
		t.Errorf("good post not applied: %v", got)
	}
}

func TestSnapshotsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, Retention: time.Hour, Replicas: 1}, log)
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := b.KV(ctx, bus.BucketBaselines)
	det := detector.New(cfg, nil)
	p := New(b.JS, det, time.Now, time.Second, log, nil).WithSnapshots(kv, time.Hour)
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	p.Apply([]byte(`{"type":"post","time":"` + at.Format(time.RFC3339) + `","source":"x","id":"1","service":"shop","text":"login broken"}`))
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- p.Run(rctx, time.Now()) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.Close()

	b, err = bus.Open(ctx, bus.Config{DataDir: dir, Retention: time.Hour, Replicas: 1}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	kv, _ = b.KV(ctx, bus.BucketBaselines)
	det2 := detector.New(cfg, nil)
	p2 := New(b.JS, det2, time.Now, time.Second, log, nil).WithSnapshots(kv, time.Hour)
	if err := p2.restore(ctx); err != nil {
		t.Fatal(err)
	}
	if names := det2.ServiceNames(); len(names) != 1 || names[0] != "shop" {
		t.Fatalf("restored services %v, want [shop]", names)
	}
}

func TestOwnerSkipsOtherServices(t *testing.T) {
	cfg := detector.Config{}
	_ = cfg.Validate("detector")
	det := detector.New(cfg, nil)
	p := New(nil, det, time.Now, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), nil).WithOwner(func(s string) bool { return s == "shop" })
	for _, svc := range []string{"shop", "bank"} {
		p.Apply([]byte(`{"type":"post","time":"2026-11-24T09:00:00Z","source":"x","id":"1","service":"` + svc + `","text":"hi"}`))
	}
	if got := det.ServiceNames(); len(got) != 1 || got[0] != "shop" {
		t.Fatalf("services judged: %v, want [shop]", got)
	}
}

// TestRebuildJudgesOnlyAfterReplay is a rebuild (a restart, or a new owner
// after a fail-over): the streams already hold a release's start and two
// hours of posts before it. The first verdict must be judged on the whole
// history — advancing the detector while the replay is still reading
// fixed the watch's baseline from the few posts read so far, and the watch
// then waited for ever.
func TestRebuildJudgesOnlyAfterReplay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: 24 * time.Hour, Replicas: 1}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now().UTC()
	start := now.Add(-20 * time.Minute)
	pub := bus.Publisher{JS: b.JS}
	ev := signals.ReleaseEvent{Type: signals.TypeRelease, Time: start, Release: "shop-1.1", Service: "shop", Version: "1.1", Ring: "H3", Event: signals.EventStarted}
	if err := pub.Release(ctx, ev, "shop-1.1-H3-start"); err != nil {
		t.Fatal(err)
	}
	n := 0
	for at := now.Add(-2 * time.Hour); at.Before(now); at = at.Add(2 * time.Second) {
		p := signals.Post{Type: signals.TypePost, Time: at, Source: "social", ID: fmt.Sprint(n), Service: "shop", Text: "browsing the shop app", Author: fmt.Sprint("u", n%50)}
		data, _ := json.Marshal(p)
		if _, err := b.JS.PublishAsync(bus.PostSubject(p.Source), data); err != nil {
			t.Fatal(err)
		}
		n++
	}
	select {
	case <-b.JS.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishing posts: not acknowledged")
	}
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	// A tick of a millisecond: without waiting for the replay the first
	// evaluation would come long before the last of the posts.
	p := New(b.JS, detector.New(cfg, nil), time.Now, time.Millisecond, log, nil)
	c, err := b.JS.OrderedConsumer(ctx, bus.StreamVerdicts, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx, now.Add(-3*time.Hour)) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	m, err := c.Next(jetstream.FetchMaxWait(20 * time.Second))
	if err != nil {
		t.Fatalf("no verdict: %v", err)
	}
	var v signals.Verdict
	if err := json.Unmarshal(m.Data(), &v); err != nil {
		t.Fatal(err)
	}
	judged := false
	for _, r := range v.Signals {
		if r.Name == "complaint_volume" && r.Outcome != signals.OutcomeInsufficient {
			judged = true
		}
	}
	for _, r := range v.Reasons {
		if strings.Contains(r, "baseline") || strings.Contains(r, "silent") {
			judged = false
		}
	}
	if !judged {
		t.Fatalf("first verdict judged on a half-read replay (%d posts published): %s/%s, signals %+v, reasons %q", n, v.Decision, v.Action, v.Signals, v.Reasons)
	}
	if got := p.det.Stats(); got.LatePosts != 0 {
		t.Errorf("%d posts came too late to count", got.LatePosts)
	}
	t.Logf("first verdict %s/%s score %.1f, reasons %q", v.Decision, v.Action, v.Score, v.Reasons)
}

// TestStopMidReplaySavesNothing: a detector stopped before its replay has
// caught up holds a part of the history; saving it would overwrite the
// baselines a previous owner saved.
func TestStopMidReplaySavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: 24 * time.Hour, Replicas: 1}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now().UTC()
	const n = 20000
	for i := range n {
		p := signals.Post{Type: signals.TypePost, Time: now.Add(-time.Duration(n-i) * 100 * time.Millisecond), Source: "social", ID: fmt.Sprint(i), Service: "shop", Text: "browsing the shop app"}
		data, _ := json.Marshal(p)
		if _, err := b.JS.PublishAsync(bus.PostSubject(p.Source), data); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-b.JS.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishing posts: not acknowledged")
	}
	kv, err := b.KV(ctx, bus.BucketBaselines)
	if err != nil {
		t.Fatal(err)
	}
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	det := detector.New(cfg, nil)
	p := New(b.JS, det, time.Now, time.Second, log, nil).WithSnapshots(kv, time.Hour)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx, time.Time{}) }()
	// Stop as soon as the replay has begun (the first post is counted).
	for postsRead(p) == 0 {
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(ctx, "shop"); err == nil {
		t.Fatalf("a half-read replay was saved (%d bytes)", len(e.Value()))
	}
	if got := postsRead(p); got >= n {
		t.Fatalf("all %v posts were read before the stop: the test stopped nothing mid-replay", got)
	}
}

// postsRead is the pipeline's count of posts applied (safe while it runs).
func postsRead(p *Pipeline) float64 {
	var m dto.Metric
	if err := p.m.in.WithLabelValues("post").Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// TestSetAsideIsExported: what the detector reads but does not count shows
// on /metrics by reason, added once however often it is exported.
func TestSetAsideIsExported(t *testing.T) {
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	clock := &simClock{now: time.Date(2026, 11, 24, 9, 1, 0, 0, time.UTC)}
	p := New(nil, detector.New(cfg, nil), clock.get, time.Second, slog.New(slog.NewTextHandler(&logged, nil)), prometheus.NewRegistry())
	for i, in := range []string{
		`{"type":"post","time":"2026-11-24T09:00:00Z","source":"x","id":"1","service":"shop","text":"login is broken again, cannot sign in at all"}`,
		`{"type":"post","time":"2026-11-24T09:00:10Z","source":"x","id":"2","service":"shop","text":"login is broken again, cannot sign in at all"}`,
		`{"type":"metric","time":"2026-11-24T09:00:00Z","service":"shop","name":"errors","value":-3}`,
		`{"type":"metric","time":"2026-11-24T09:00:00Z","service":"shop","name":"errors","value":4}`,
		`{"type":"release","time":"2026-11-24T08:00:00Z","release":"r1","service":"shop","version":"4.2.0","ring":"H2","event":"started"}`,
		`{"type":"metric","time":"2026-11-24T09:00:00Z","service":"shop","version":"4.1.0","release":"r1","name":"errors","value":4}`,
	} {
		if got := p.Apply([]byte(in)); got.IsZero() {
			t.Fatalf("message %d not applied", i)
		}
	}
	p.exportStats()
	p.exportStats()
	for reason, want := range map[string]float64{"repeated_text": 1, "bad_count": 1, "late_post": 0, "release_mismatch": 1, "unknown_release": 0} {
		if got := testutil.ToFloat64(p.m.setAside.WithLabelValues(reason)); got != want {
			t.Errorf("aftershock_detector_set_aside_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	// A sample set aside for its release is logged once, with why.
	if n := strings.Count(logged.String(), `msg="metric samples set aside"`); n != 1 || !strings.Contains(logged.String(), `the sample says version \"4.1.0\", the release's events \"4.2.0\"`) {
		t.Errorf("log %q, want one line saying why the sample of r1 was set aside", logged.String())
	}
	// A producer that goes on naming the wrong version: counted at each
	// export, logged at most once a minute with the samples summed.
	mismatch := `{"type":"metric","time":"2026-11-24T09:01:00Z","service":"shop","version":"4.1.0","release":"r1","name":"errors","value":4}`
	for range 12 {
		clock.set(clock.get().Add(5 * time.Second))
		p.Apply([]byte(mismatch))
		p.exportStats()
	}
	if got := testutil.ToFloat64(p.m.setAside.WithLabelValues("release_mismatch")); got != 13 {
		t.Errorf("release_mismatch = %v, want 13", got)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "12 metric sample(s)") {
		t.Errorf("a minute of exports logged %d lines, want 2, the second summing 12 samples: %q", len(lines), lines)
	}
	// A release id reused for another version: a sample naming only the id
	// is set aside as reused_release.
	for _, in := range []string{
		`{"type":"release","time":"2026-11-24T07:00:00Z","release":"r2","service":"shop","version":"4.1.0","ring":"H3","event":"started"}`,
		`{"type":"release","time":"2026-11-24T08:30:00Z","release":"r2","service":"shop","version":"4.2.0","ring":"H2","event":"started"}`,
		`{"type":"metric","time":"2026-11-24T09:02:00Z","service":"shop","release":"r2","name":"errors","value":4}`,
	} {
		p.Apply([]byte(in))
	}
	p.exportStats()
	if got := testutil.ToFloat64(p.m.setAside.WithLabelValues("reused_release")); got != 1 {
		t.Errorf("reused_release = %v, want 1", got)
	}
}

// While the broker refuses, verdicts are all kept; rollups and anomalies
// beyond their bounds go, oldest first.
func TestTrimBacklog(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		verdicts, rollups, anomalies int
		wantR, wantA                 int
	}{
		{"under the bounds", 3, 10, 2, 0, 0},
		{"at the bounds", 1, maxBacklogRollups, maxBacklogAnomalies, 0, 0},
		{"rollups over", 0, maxBacklogRollups + 5, 1, 5, 0},
		{"both over, many verdicts", 50_000, maxBacklogRollups + 1, maxBacklogAnomalies + 7, 1, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o detector.Output
			for i := range tc.verdicts {
				o.Verdicts = append(o.Verdicts, signals.Verdict{Score: float64(i)})
			}
			for i := range tc.rollups {
				o.Rollups = append(o.Rollups, signals.Rollup{Posts: i})
			}
			for i := range tc.anomalies {
				o.Anomalies = append(o.Anomalies, signals.Anomaly{Observed: float64(i)})
			}
			r, a := trimBacklog(&o)
			if r != tc.wantR || a != tc.wantA {
				t.Fatalf("dropped %d rollups, %d anomalies; want %d, %d", r, a, tc.wantR, tc.wantA)
			}
			if len(o.Verdicts) != tc.verdicts {
				t.Errorf("%d verdicts kept of %d", len(o.Verdicts), tc.verdicts)
			}
			if len(o.Rollups) != tc.rollups-r || len(o.Rollups) > 0 && o.Rollups[0].Posts != r {
				t.Errorf("rollups: %d kept; want the newest %d (from %d)", len(o.Rollups), tc.rollups-r, r)
			}
			if len(o.Anomalies) != tc.anomalies-a || len(o.Anomalies) > 0 && o.Anomalies[0].Observed != float64(a) {
				t.Errorf("anomalies: %d kept; want the newest %d", len(o.Anomalies), tc.anomalies-a)
			}
		})
	}
}

// TestPublishVerdictsFirst: when the publish deadline ends in the middle
// of a long rollup backlog (after an outage), the halt has gone out
// already. The context is cancelled as soon as the first rollup reaches
// the broker.
func TestPublishVerdictsFirst(t *testing.T) {
	ctx := context.Background()
	b, p := publishing(t)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sub, err := b.NC.Subscribe(bus.RollupSubject("shop"), func(*nats.Msg) { cancel() })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	out := detector.Output{Verdicts: []signals.Verdict{{Time: time.Now(), Release: "r1", Service: "shop", Ring: "H3", Decision: "fail", Action: "halt", Reasons: []string{"x"}}}}
	for i := range 2000 {
		out.Rollups = append(out.Rollups, signals.Rollup{Time: time.Now().Add(time.Duration(i) * time.Minute), Service: "shop", Source: "x", Posts: 1})
	}
	left, err := p.Publish(pctx, out)
	if err == nil || len(left.Rollups) == 0 {
		t.Fatalf("err=%v, %d rollups left: the deadline did not cut the backlog short", err, len(left.Rollups))
	}
	if len(left.Verdicts) != 0 {
		t.Fatalf("the halt is still unpublished behind %d rollups", len(left.Rollups))
	}
}
