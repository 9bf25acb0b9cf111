package releases

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// startFollow runs Follow until stop is called or the test ends.
func startFollow(t *testing.T, e *env) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.store.Follow(ctx, e.bus.JS) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Follow returned %v after cancel, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitCaughtUp waits until the follower has acked everything on the stream.
func waitCaughtUp(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := e.bus.JS.Consumer(ctx, bus.StreamReleases, FollowConsumer)
		if err == nil {
			info, err := c.Info(ctx)
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.Delivered.Stream > 0 {
				s, _ := e.bus.JS.Stream(ctx, bus.StreamReleases)
				if si, err := s.Info(ctx); err == nil && info.AckFloor.Stream == si.State.LastSeq {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("follower did not catch up within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFollow(t *testing.T) {
	e := newEnv(t, t.TempDir())
	startFollow(t, e)
	ctx := context.Background()
	pub := bus.Publisher{JS: e.bus.JS}

	// Through the API: these come back on the stream and must not double.
	if code := e.do(t, "POST", "/v1/releases", startShop, nil); code != 201 {
		t.Fatalf("start: %d", code)
	}
	if code := e.do(t, "POST", "/v1/releases/shop-4.2.0/events", `{"event":"promoted","ring":"H2"}`, nil); code != 200 {
		t.Fatalf("promote: %d", code)
	}

	// Straight to NATS, as a deploy system would.
	direct := []signals.ReleaseEvent{
		{Time: t0.Add(time.Hour), Release: "api-1.0", Service: "api", Version: "1.0", Team: "core", Authors: []string{"lee"}, Ring: "H1", Event: "started"},
		{Time: t0.Add(2 * time.Hour), Release: "shop-4.2.0", Service: "shop", Ring: "H2", Event: "halted"},
		// Refused: the release is already on H2.
		{Time: t0.Add(3 * time.Hour), Release: "shop-4.2.0", Service: "shop", Ring: "H2", Event: "promoted"},
		// Refused: wrong service for the release.
		{Time: t0.Add(3 * time.Hour), Release: "api-1.0", Service: "shop", Ring: "H2", Event: "promoted"},
	}
	for _, ev := range direct {
		if err := pub.Release(ctx, ev, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Garbage on the subject is dropped, not retried forever.
	if _, err := e.bus.JS.Publish(ctx, bus.ReleaseSubject("shop"), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.bus.JS.Publish(ctx, bus.ReleaseSubject("shop"), []byte(`{"type":"metric","time":"2026-11-24T09:00:00Z","service":"shop","name":"x","value":1}`)); err != nil {
		t.Fatal(err)
	}
	// And after the junk, one more good event still arrives.
	if err := pub.Release(ctx, signals.ReleaseEvent{Time: t0.Add(4 * time.Hour), Release: "api-1.0", Service: "api", Ring: "H2", Event: "promoted"}, ""); err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, e)

	shop, err := e.store.Get(ctx, "shop-4.2.0")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range shop.Events {
		got = append(got, ev.Event+"/"+ev.Ring)
	}
	if want := "started/H1 promoted/H2 halted/H2"; shop.Status != StatusHalted || strings.Join(got, " ") != want {
		t.Errorf("shop: status %s, events %s; want halted with %s", shop.Status, strings.Join(got, " "), want)
	}
	api, err := e.store.Get(ctx, "api-1.0")
	if err != nil {
		t.Fatalf("release first seen on NATS: %v", err)
	}
	if api.Status != StatusPromoted || api.Ring != "H2" || api.Version != "1.0" || api.Team != "core" || len(api.Events) != 2 {
		t.Errorf("api: %+v", api)
	}
	// The API sees what arrived on NATS.
	var r Release
	if code := e.do(t, "GET", "/v1/releases/api-1.0", "", &r); code != 200 || r.Status != StatusPromoted {
		t.Errorf("GET api-1.0: %d %+v", code, r)
	}
}

func TestFollowResumesDurably(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir)
	ctx := context.Background()
	pub := bus.Publisher{JS: e.bus.JS}
	// Published while nothing follows, then picked up by the first follower.
	if err := pub.Release(ctx, signals.ReleaseEvent{Time: t0, Release: "web-7", Service: "web", Ring: "H1", Event: "started"}, "web-7:a"); err != nil {
		t.Fatal(err)
	}
	stop := startFollow(t, e)
	waitCaughtUp(t, e)
	stop()
	e.close()

	// After a restart the durable consumer goes on from where it stopped.
	e = newEnv(t, dir)
	pub = bus.Publisher{JS: e.bus.JS}
	if err := pub.Release(ctx, signals.ReleaseEvent{Time: t0.Add(time.Minute), Release: "web-7", Service: "web", Event: "completed"}, "web-7:b"); err != nil {
		t.Fatal(err)
	}
	startFollow(t, e)
	waitCaughtUp(t, e)
	r, err := e.store.Get(ctx, "web-7")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusCompleted || r.Ring != "H1" || len(r.Events) != 2 {
		t.Errorf("web-7: %+v", r)
	}
}
