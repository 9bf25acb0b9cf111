package faults

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsServer is a standalone nats-server with JetStream (run in this test
// process), which can be stopped and started again on the same port and
// store, as an operator restarting it would.
type natsServer struct {
	t    *testing.T
	opts server.Options
	srv  *server.Server
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	n := &natsServer{t: t, opts: server.Options{
		ServerName: "external",
		Host:       "127.0.0.1",
		Port:       freePort(t),
		JetStream:  true,
		StoreDir:   filepath.Join(t.TempDir(), "js"),
		NoSigs:     true,
		NoLog:      true,
	}}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.opts.Port) }

func (n *natsServer) start() {
	n.t.Helper()
	opts := n.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		n.t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		n.t.Fatal("nats-server not ready after 20s")
	}
	n.srv = srv
}

func (n *natsServer) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// TestFaultExternalNATSRestart stops the external nats-server for two
// seconds while pushers send, then starts it again on the same store; the
// daemon must ride it out (503s meanwhile, no exit) and lose nothing it
// acknowledged.
func TestFaultExternalNATSRestart(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	d := newDaemon(t, `
log: {level: info, format: json}
http:
  listen: {{HTTP}}
  tokens: [{name: faults, token: "`+token+`", role: sre-admin}]
nats: {url: "`+ns.url()+`"}
services: [{name: shop}]
`)
	l := newLedger()
	pushDuring(t, d, l, 50*time.Millisecond,
		sleep(1500*time.Millisecond), ns.stop,
		sleep(2*time.Second), ns.start,
		sleep(3*time.Second),
	)
	if !d.running() {
		t.Fatalf("the daemon exited during the broker restart (%v)", d.exitErr())
	}
	d.stop()
	stored := storedProbes(t, connect(t, ns.url()))
	r := count("external nats-server restart", l, stored)
	record(t, r)
	checkIngest(t, r, l, stored)
	l.mu.Lock()
	refused := l.refused
	l.mu.Unlock()
	t.Logf("push requests refused or unanswered while the broker was down: %d", refused)
}
