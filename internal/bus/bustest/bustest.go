// Package bustest checks a deployment's NATS login against a real
// nats-server, for the tests of the shipped deployment files
// (docker-compose.yml, deploy/kubernetes).
package bustest

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/internal/bus"
)

// LoginRequired runs nats-server with a copy of opts (a single node on a
// loopback port, its own store, no monitoring) and checks that a client
// without credentials is refused and that Aftershock's bus, configured as
// nc with its password file holding password, connects.
func LoginRequired(t testing.TB, opts *server.Options, nc bus.Config, password string) {
	t.Helper()
	o := opts.Clone()
	o.Host, o.Port, o.HTTPPort = "127.0.0.1", server.RANDOM_PORT, 0
	o.Cluster, o.Routes, o.ServerName = server.ClusterOpts{}, nil, ""
	o.StoreDir = t.TempDir()
	o.NoLog, o.NoSigs = true, true
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	if c, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(0)); err == nil {
		c.Close()
		t.Fatal("a client without credentials connected")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("a client without credentials: %v, want an authorization error", err)
	}
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	nc.URL, nc.PasswordFile, nc.Replicas = srv.ClientURL(), pwFile, 1
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, nc, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Aftershock's bus with the configured login: %v", err)
	}
	b.Close()
}
