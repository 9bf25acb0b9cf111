package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/internal/ownership"
)

// TestTwoProcessesOnOneAuthenticatedListener: one process serves its
// embedded nats-server on a loopback listener that requires a user and
// password; a second process connects to it with nats.url and the same
// credentials from a file. A release recorded through the second process's
// API is seen by the first; the second process with a wrong password does
// not start. Both share the work by leases (the broker takes part too): each
// service is judged by exactly one of them, and both judge some.
func TestTwoProcessesOnOneAuthenticatedListener(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "nats-password")
	if err := os.WriteFile(pw, []byte("right-password-0123456789\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong-password")
	if err := os.WriteFile(wrong, []byte("wrong-password\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	httpPart := `
http:
  listen: 127.0.0.1:0
  tokens: [{name: t, token: "` + token + `", role: deploy-system}]
services: [{name: shop}, {name: bank}, {name: maps}, {name: mail}, {name: news}, {name: pay}]
`
	// Fixed member ids: rendezvous hashing is deterministic, and with ids
	// drawn from host, pid and clock one member is preferred for all six
	// services in one run of 32 — "both judge some" would then be wrong.
	services := []string{"shop", "bank", "maps", "mail", "news", "pay"}
	ids := []string{"broker", "crawler"}
	prefBroker := 0
	for _, s := range services {
		if ownership.Preferred(s, ids) == "broker" {
			prefBroker++
		}
	}
	if prefBroker == 0 || prefBroker == len(services) {
		t.Fatalf("member ids %v: the broker is preferred for %d of %d services; pick ids that split them", ids, prefBroker, len(services))
	}
	broker := startWith(t, httpPart+`cluster: {lease_ttl: 2s, id: broker}
nats: {data_dir: "`+filepath.Join(dir, "data")+`", listen: "127.0.0.1:0", listen_user: aftershock, listen_password_file: "`+pw+`"}`)
	url := broker.Bus().ListenURL()
	if url == "" {
		t.Fatal("the broker has no listener")
	}

	client := func(passwordFile string) string {
		return httpPart + `cluster: {lease_ttl: 2s, id: crawler}
nats: {url: "` + url + `", user: aftershock, password_file: "` + passwordFile + `"}`
	}
	cfg, err := config.Parse([]byte(client(wrong)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Start(ctx); err == nil {
		a.Stop()
		t.Fatal("a process with the wrong password started")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("wrong password: %v, want an authorization violation", err)
	}

	crawler := startWith(t, client(pw))
	waitReady(t, "http://"+crawler.Addr())
	release := `{"release":"shop-2.0","service":"shop","version":"2.0","ring":"H1"}`
	if code, body := do(t, "POST", "http://"+crawler.Addr()+"/v1/releases", token, release); code != 201 {
		t.Fatalf("recording a release through the second process: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := do(t, "GET", "http://"+broker.Addr()+"/v1/releases/shop-2.0", token, "")
		if code == 200 && strings.Contains(body, `"shop-2.0"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the broker never saw the release: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Every service has one judge: the broker's process takes part in the
	// leases (before, it judged every service whatever the other did).
	deadline = time.Now().Add(15 * time.Second)
	for {
		var both, none, byBroker int
		for _, s := range services {
			b, c := broker.Owns(s), crawler.Owns(s)
			switch {
			case b && c:
				both++
			case !b && !c:
				none++
			case b:
				byBroker++
			}
		}
		if both == 0 && none == 0 && byBroker == prefBroker {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("services judged by both processes %d, by neither %d, by the broker %d of %d: want each by exactly one, its preferred member (the broker for %d)", both, none, byBroker, len(services), prefBroker)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
