package bus

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/logbuf"
)

// verdictDurable is a Durable on VERDICTS that acks what it handles and
// records the subjects.
func verdictDurable(b *Bus, name string, got *subjects) Durable {
	return Durable{
		JS:     b.JS,
		Stream: StreamVerdicts,
		Config: DurableConfig(name, VerdictSubject(">")),
		Handle: func(ctx context.Context, msg jetstream.Msg) {
			got.add(msg.Subject())
			_ = msg.Ack()
		},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		PullWait: 200 * time.Millisecond,
		Backoff:  func(int) time.Duration { return 20 * time.Millisecond },
	}
}

type subjects struct {
	mu   sync.Mutex
	list []string
}

func (s *subjects) add(subject string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, subject)
}

func (s *subjects) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.list)
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publish(t *testing.T, b *Bus, subject string) {
	t.Helper()
	if _, err := b.JS.Publish(context.Background(), subject, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}

func TestDurableHandlesUntilCancelled(t *testing.T) {
	b := open(t, t.TempDir())
	defer b.Close()
	var got subjects
	var pulls atomic.Int64
	d := verdictDurable(b, "test-handles", &got)
	d.Pulled = func(ctx context.Context, cons jetstream.Consumer) { pulls.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	for _, svc := range []string{"a", "b", "c"} {
		publish(t, b, VerdictSubject(svc))
	}
	waitFor(t, "3 messages handled", func() bool { return got.len() == 3 })
	cons, err := b.JS.Consumer(context.Background(), StreamVerdicts, "test-handles")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 acks", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.AckFloor.Stream == 3 && info.NumAckPending == 0
	})
	got.mu.Lock()
	if got.list[0] != "verdicts.a" || got.list[2] != "verdicts.c" {
		t.Errorf("handled %v, want verdicts.a, .b, .c in order", got.list)
	}
	got.mu.Unlock()
	// Once after creation and once per message at least.
	if n := pulls.Load(); n < 4 {
		t.Errorf("Pulled called %d times, want at least 4", n)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestDurableRecreatesDeletedConsumer(t *testing.T) {
	b := open(t, t.TempDir())
	defer b.Close()
	var got subjects
	var logs logbuf.Buffer
	d := verdictDurable(b, "test-recreate", &got)
	d.Log = slog.New(slog.NewTextHandler(&logs, nil))
	d.What = "verdict"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	publish(t, b, VerdictSubject("before"))
	waitFor(t, "the first message", func() bool { return got.len() == 1 })
	if err := b.JS.DeleteConsumer(context.Background(), StreamVerdicts, "test-recreate"); err != nil {
		t.Fatal(err)
	}
	publish(t, b, VerdictSubject("after"))
	// The new consumer starts from the stream's beginning again: both
	// messages come (the first a second time).
	waitFor(t, "the message published after the deletion", func() bool { return got.len() >= 3 })
	if l := logs.String(); !strings.Contains(l, `msg="verdict consumer stopped, recreating"`) || !strings.Contains(l, "consumer=test-recreate") {
		t.Errorf("logs do not tell the restart:\n%s", l)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

func TestDurableSetupFailure(t *testing.T) {
	b := open(t, t.TempDir())
	defer b.Close()
	for _, tc := range []struct {
		name     string
		failFast bool
		wantErr  bool
	}{
		{"fail fast returns the error", true, true},
		{"otherwise retries until cancelled", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got subjects
			d := verdictDurable(b, "test-setup", &got)
			d.Stream = "NO_SUCH_STREAM"
			d.FailFast = tc.failFast
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			err := d.Run(ctx)
			if (err != nil) != tc.wantErr {
				t.Errorf("Run = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	d := verdictDurable(b, "", nil)
	if err := d.Run(context.Background()); err == nil {
		t.Error("Run without a durable name: nil error")
	}
}

func TestDurableStopsWhenConnectionCloses(t *testing.T) {
	b := open(t, t.TempDir())
	var got subjects
	d := verdictDurable(b, "test-closed", &got)
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	publish(t, b, VerdictSubject("a"))
	waitFor(t, "the first message", func() bool { return got.len() == 1 })
	b.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run after the connection closed = nil, want an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running after the connection closed")
	}
}

func TestDoubling(t *testing.T) {
	b := Doubling(100*time.Millisecond, 30*time.Second)
	for n, want := range map[int]time.Duration{
		1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond,
		9: 25600 * time.Millisecond, 10: 30 * time.Second, 1000: 30 * time.Second,
	} {
		if got := b(n); got != want {
			t.Errorf("Doubling(100ms, 30s)(%d) = %s, want %s", n, got, want)
		}
	}
}
