package pipeline

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// TestPublishKeepsWhatFailed stops the broker's VERDICTS stream and checks
// that unpublished verdicts come back to be retried, then go out once the
// stream is back.
func TestPublishKeepsWhatFailed(t *testing.T) {
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := detector.Config{}
	if err := cfg.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	p := New(b.JS, detector.New(cfg, nil), time.Now, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
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
	b2, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	p = New(b2.JS, detector.New(cfg, nil), time.Now, time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
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
