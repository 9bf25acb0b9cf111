package bus

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestKeyToken(t *testing.T) {
	tokenChars := regexp.MustCompile(`^[A-Za-z0-9_=-]+$`)
	seen := map[string]string{}
	for in, want := range map[string]string{
		"":            "=",
		"=":           "=3D",
		"shop-4.2.0":  "shop-4=2E2=2E0",
		"H2":          "H2",
		"a b/c*>":     "a=20b=2Fc=2A=3E",
		"ana@ex.org":  "ana=40ex=2Eorg",
		"é":           "=C3=A9",
		"under_score": "under_score",
	} {
		got := KeyToken(in)
		if got != want {
			t.Errorf("KeyToken(%q) = %q, want %q", in, got, want)
		}
		if !tokenChars.MatchString(got) {
			t.Errorf("KeyToken(%q) = %q: not one key token", in, got)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("KeyToken(%q) = KeyToken(%q) = %q", in, other, got)
		}
		seen[got] = in
	}
}

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	b := open(t, t.TempDir())
	defer b.Close()
	kv, err := b.KV(ctx, BucketCursors)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := kv.Put(ctx, k, []byte("v-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Put(ctx, "a", []byte("v-a2")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := Snapshot(ctx, w, func(e jetstream.KeyValueEntry) { got = append(got, e.Key()+"="+string(e.Value())) }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "c=v-c a=v-a2" {
		t.Errorf("Snapshot gave %q, want the latest value of each key left, in revision order", got)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	stuck := &stuckWatcher{updates: make(chan jetstream.KeyValueEntry)}
	if err := Snapshot(cctx, stuck, func(jetstream.KeyValueEntry) {}); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot with a cancelled context = %v, want context.Canceled", err)
	}
	if !stuck.stopped {
		t.Error("watcher not stopped")
	}
}

// stuckWatcher never delivers anything.
type stuckWatcher struct {
	updates chan jetstream.KeyValueEntry
	stopped bool
}

func (w *stuckWatcher) Updates() <-chan jetstream.KeyValueEntry { return w.updates }
func (w *stuckWatcher) Stop() error                             { w.stopped = true; return nil }
