package delivery

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDeadLetter: a 4xx from the halt receiver no longer drops the halt: it
// is kept as a dead letter (listed, counted in a metric, handed to
// OnDeadLetter), the pending gauge goes back to 0, and a resend delivers it
// with the same webhook-id.
func TestDeadLetter(t *testing.T) {
	b := openBus(t, t.TempDir())
	ctx := context.Background()
	rcv := newReceiver(t, http.StatusBadRequest)
	n := notice(time.Now())
	enqueue(t, b, n)

	var mu sync.Mutex
	var told []DeadLetter
	w := start(t, b, notifierFor(t, rcv.srv.URL), fast, time.Now, func(w *Worker) {
		w.OnDeadLetter = func(_ context.Context, dl DeadLetter) {
			mu.Lock()
			told = append(told, dl)
			mu.Unlock()
		}
	})
	waitFor(t, "failure", 5*time.Second, func() bool {
		return w.metric(t, "aftershock_delivery_failed_total", "kind", kind, "reason", "rejected") == 1
	})
	// The gauges are read after each pull and every pendingEvery: the
	// read right after the term can still count the notice (the server
	// applies the term after the flush), the next one cannot.
	waitFor(t, "pending gauge back to 0", 5*pendingEvery, func() bool {
		return w.metric(t, "aftershock_delivery_pending", "kind", kind) == 0
	})
	waitFor(t, "dead letter gauge", 5*pendingEvery, func() bool {
		return w.metric(t, "aftershock_delivery_dead_letters", "kind", kind) == 1
	})

	dead, err := OpenDeadLetters(ctx, b.JS, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	list, err := dead.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := kind + ":" + n.Key
	if len(list) != 1 || list[0].ID != id || list[0].Reason != "rejected" || !strings.Contains(list[0].Error, "400") || list[0].Notice.Key != n.Key || list[0].Attempts != 1 {
		t.Fatalf("dead letters %+v, want one %s rejected with 400", list, id)
	}
	mu.Lock()
	if len(told) != 1 || told[0].ID != id {
		t.Errorf("OnDeadLetter got %+v", told)
	}
	mu.Unlock()

	// The receiver is fixed; the halt is re-sent by id.
	if _, err := dead.Resend(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after resend", 10*time.Second, func() bool { return rcv.delivered(n.Key) == 1 })
	if list, _ := dead.List(ctx); len(list) != 0 {
		t.Errorf("dead letters after resend: %+v", list)
	}
	waitFor(t, "dead letter gauge back to 0", 5*pendingEvery, func() bool {
		return w.metric(t, "aftershock_delivery_dead_letters", "kind", kind) == 0 &&
			w.metric(t, "aftershock_delivery_pending", "kind", kind) == 0
	})
	rcv.mu.Lock()
	for i, got := range rcv.ids {
		if got != n.Key {
			t.Errorf("request %d: webhook-id %q, want %q every time", i, got, n.Key)
		}
	}
	rcv.mu.Unlock()
	if _, err := dead.Resend(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second resend: %v, want ErrNotFound", err)
	}
	if _, err := dead.Resend(ctx, "nonsense"); !errors.Is(err, ErrNotFound) {
		t.Errorf("resend of a bad id: %v, want ErrNotFound", err)
	}
}
