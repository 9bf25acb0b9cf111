package ownership

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
)

func embedded(t *testing.T) jetstream.JetStream {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL(), nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// owners maps each service to the managers that claim it, marking an
// owner that is not the preferred one among the live members with "*".
func owners(ms []*Manager, services []string) map[string][]string {
	out := map[string][]string{}
	for _, s := range services {
		for _, m := range ms {
			if m != nil && m.Owns(s) {
				id := m.ID()
				if Preferred(s, m.Members()) != id {
					id += "*"
				}
				out[s] = append(out[s], id)
			}
		}
	}
	return out
}

// settle runs rounds of the live managers until every service has exactly
// one owner (or the deadline passes).
func settle(t *testing.T, ctx context.Context, ms []*Manager, services []string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for i := 0; time.Since(start) < within; i++ {
		for _, m := range ms {
			if m != nil {
				_ = m.Round(ctx)
			}
		}
		o := owners(ms, services)
		ok := true
		for _, s := range services {
			if len(o[s]) != 1 || o[s][0][len(o[s][0])-1] == '*' {
				ok = false
			}
		}
		if ok && i >= 2 { // every member has seen every other's membership
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("services not settled within %s: %v", within, owners(ms, services))
	return 0
}

func TestLeasesSpreadAndFailOver(t *testing.T) {
	ctx := context.Background()
	js := embedded(t)
	var services []string
	for i := range 60 {
		services = append(services, fmt.Sprintf("svc-%02d", i))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	newM := func(id string) *Manager {
		m, err := Open(ctx, js, Config{ID: id, TTL: 3 * time.Second, Every: 200 * time.Millisecond, Services: services}, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ms := []*Manager{newM("a")}
	settle(t, ctx, ms, services, 10*time.Second)
	if got := len(ms[0].Owned()); got != len(services) {
		t.Fatalf("alone, a owns %d of %d", got, len(services))
	}

	// Two more processes join: work spreads to them.
	ms = append(ms, newM("b"), newM("c"))
	settle(t, ctx, ms, services, 10*time.Second)
	for _, m := range ms {
		n := len(m.Owned())
		t.Logf("%s owns %d", m.ID(), n)
		if n < 10 {
			t.Errorf("%s owns %d of 60 after joining, want a fair share (rendezvous)", m.ID(), n)
		}
		for _, s := range m.Owned() {
			if p := Preferred(s, m.Members()); p != m.ID() {
				t.Errorf("%s holds %s preferred by %s", m.ID(), s, p)
			}
		}
	}

	// b dies (stops renewing): its services move within the lease time.
	lost := ms[1].Owned()
	ms[1] = nil
	took := settle(t, ctx, ms, services, 10*time.Second)
	t.Logf("b's %d services moved in %s (lease 3s)", len(lost), took.Round(10*time.Millisecond))
	if took > 3*time.Second+2*time.Second {
		t.Errorf("failover took %s, want within lease time plus a round", took)
	}

	// c leaves cleanly: its leases are released and a takes them at once.
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ms[2].Run(rctx) }()
	cancel()
	<-done
	ms[2] = nil
	took = settle(t, ctx, ms, services, 10*time.Second)
	if took >= 3*time.Second {
		t.Errorf("after a clean leave, a took over in %s, want before the leases expire", took)
	}
	if got := len(ms[0].Owned()); got != len(services) {
		t.Fatalf("a owns %d of %d at the end", got, len(services))
	}
}

func TestOwnsLearnsNewServices(t *testing.T) {
	ctx := context.Background()
	js := embedded(t)
	m, err := Open(ctx, js, Config{ID: "solo", TTL: 2 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Owns("shop") {
		t.Fatal("owns a service before any round")
	}
	if err := m.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if !m.Owns("shop") {
		t.Fatal("a service seen through Owns is not leased on the next round")
	}
	select {
	case <-m.Gained():
	default:
		t.Fatal("no gain signalled")
	}
}

func TestPreferredAndTokens(t *testing.T) {
	members := []string{"a", "b", "c", "d"}
	moved := 0
	for i := range 1000 {
		s := fmt.Sprintf("s%d", i)
		before := Preferred(s, members)
		after := Preferred(s, members[:3])
		if before != "d" && before != after {
			t.Fatalf("%s moved from %s to %s though d was not its owner", s, before, after)
		}
		if before == "d" {
			moved++
		}
	}
	if moved < 150 || moved > 350 {
		t.Errorf("removing one of four members moved %d of 1000, want about 250", moved)
	}
	for _, s := range []string{"shop", "", "a.b", "x=y z", "한국"} {
		if got := unToken(bus.KeyToken(s)); got != s {
			t.Errorf("unToken(KeyToken(%q)) = %q", s, got)
		}
	}
}

// TestOwnsSinceNewHold: a service handed over and taken back is a new
// hold: a detector built before it must not judge or save it (its state
// of the service stopped when the service left), while a service held all
// along stays its own.
func TestOwnsSinceNewHold(t *testing.T) {
	ctx := context.Background()
	js := embedded(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	services := []string{"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"}
	newM := func(id string) *Manager {
		m, err := Open(ctx, js, Config{ID: id, TTL: 2 * time.Second, Every: 100 * time.Millisecond, Services: services}, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := newM("a")
	settle(t, ctx, []*Manager{a}, services, 10*time.Second)
	built := a.Gains()
	for _, s := range services {
		if !a.OwnsSince(s, built) {
			t.Fatalf("a does not own %s since epoch %d", s, built)
		}
	}
	// b joins and takes its share; then b leaves cleanly and a takes it back.
	b := newM("b")
	settle(t, ctx, []*Manager{a, b}, services, 10*time.Second)
	moved := b.Owned()
	if len(moved) == 0 {
		t.Fatal("b took nothing")
	}
	b.release()
	settle(t, ctx, []*Manager{a}, services, 10*time.Second)
	if a.Gains() == built {
		t.Fatal("taking services back counted no gain")
	}
	for _, s := range services {
		if !a.Owns(s) {
			t.Fatalf("a does not own %s after b left", s)
		}
		if got, want := a.OwnsSince(s, built), !slices.Contains(moved, s); got != want {
			t.Errorf("OwnsSince(%s, epoch before b joined) = %v, want %v (b held %v)", s, got, want, moved)
		}
		if !a.OwnsSince(s, a.Gains()) {
			t.Errorf("OwnsSince(%s, current epoch) = false", s)
		}
	}
}
