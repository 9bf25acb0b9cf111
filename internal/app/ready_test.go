package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"
)

// TestNotReadyWhileRebuildingAfterGain: two processes share the services
// through leases on one nats-server. When the second stops, the first
// takes its services back and rebuilds its detector (streams holding many
// posts): its /readyz answers 503 "detector rebuilding: replaying the
// streams" during that rebuild, then 200.
func TestNotReadyWhileRebuildingAfterGain(t *testing.T) {
	if testing.Short() {
		t.Skip("two daemons on a nats-server: not in -short")
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(t.TempDir(), "js"), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	services := []string{"shop", "blog", "mail", "maps", "news", "pay"}
	startMember := func(id int) *App {
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
http: {listen: 127.0.0.1:0, tokens: [{name: deploy, token: %q, role: deploy-system}]}
nats: {url: %q, replicas: 1}
cluster: {id: as%d, lease_ttl: 2s}
services: [{name: %s}]
`, token, srv.ClientURL(), id, strings.Join(services, "}, {name: "))), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a1 := startMember(1)
	defer a1.Stop()
	base := "http://" + a1.Addr()
	waitReady(t, base)
	const n = 20000
	now := time.Now().UTC()
	js := a1.Bus().JS
	for i := range n {
		p := signals.Post{Type: signals.TypePost, Time: now.Add(-time.Duration(n-i) * 100 * time.Millisecond), Source: "social", ID: fmt.Sprint(i), Service: services[i%len(services)], Text: "browsing the app", Enrichment: &signals.Enrichment{Lang: "en", Sentiment: 0.3}}
		data, _ := json.Marshal(p)
		if _, err := js.PublishAsync(bus.PostSubject(p.Source), data); err != nil {
			t.Fatal(err)
		}
		if i%2000 == 1999 || i == n-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				t.Fatal("posts not acknowledged")
			}
		}
	}
	a2 := startMember(2)
	// The second member takes its share; the first hands it over (no
	// rebuild: nothing gained) and stays ready.
	deadline := time.Now().Add(30 * time.Second)
	for len(ownedServices(a2.own)) == 0 {
		if time.Now().After(deadline) {
			a2.Stop()
			t.Fatal("the second member took no service")
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitReady(t, "http://"+a2.Addr())
	waitReady(t, base)
	a2.Stop() // gives its leases up: the first takes them back and rebuilds

	var seen Readiness
	deadline = time.Now().Add(30 * time.Second)
	for seen.Status == "" {
		code, body := do(t, "GET", base+"/readyz", "", "")
		if code == 503 {
			if err := json.Unmarshal([]byte(body), &seen); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz stayed %d through the rebuild after the gain: %s", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if seen.Status != "not_ready" || seen.Reason != "detector rebuilding: replaying the streams" || seen.Parts["detector"].OK {
		t.Fatalf("readyz during the rebuild: %+v", seen)
	}
	if code, body := do(t, "GET", base+"/healthz", "", ""); code != 200 {
		t.Fatalf("healthz while rebuilding: %d %s", code, body)
	}
	waitReady(t, base)
	if got := ownedServices(a1.own); len(got) != len(services) {
		t.Fatalf("ready owning %v, want all %d services", got, len(services))
	}
}
