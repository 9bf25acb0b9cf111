package testnet

import (
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// RoutePeers is the sorted names of the servers srv has a route to.
func RoutePeers(t testing.TB, srv *server.Server) []string {
	t.Helper()
	rz, err := srv.Routez(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rz.Routes {
		if !slices.Contains(names, r.RemoteName) {
			names = append(names, r.RemoteName)
		}
	}
	slices.Sort(names)
	return names
}

// WaitMeshed waits up to 10s until every server of srvs routes to each of
// the others (by server name), and fails the test if one does not.
func WaitMeshed(t testing.TB, srvs []*server.Server) {
	t.Helper()
	for i, s := range srvs {
		var want []string
		for j, o := range srvs {
			if j != i {
				want = append(want, o.Name())
			}
		}
		slices.Sort(want)
		deadline := time.Now().Add(10 * time.Second)
		for !slices.Equal(RoutePeers(t, s), want) {
			if time.Now().After(deadline) {
				t.Fatalf("%s routes to %v, want %v", s.Name(), RoutePeers(t, s), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Reaches publishes on subject from nc and reports whether sub (on another
// server) receives it within wait; it publishes again every 100ms, so a
// route that comes up late still counts.
func Reaches(t testing.TB, nc *nats.Conn, sub *nats.Subscription, subject string, wait time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if err := nc.Publish(subject, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.NextMsg(100 * time.Millisecond); err == nil {
			return true
		}
	}
	return false
}

// RouteRefused checks that joiner, a server that tried to route to the
// cluster, got in nowhere: for 2.5s (routes are retried every second, so
// several tries) a message published on it through nc on subject never
// reaches sub (subscribed on a cluster server), no cluster server routes
// to it and it routes to none.
func RouteRefused(t testing.TB, cluster []*server.Server, sub *nats.Subscription, joiner *server.Server, nc *nats.Conn, subject string) {
	t.Helper()
	if Reaches(t, nc, sub, subject, 2500*time.Millisecond) {
		t.Fatalf("a message published on %s reached the cluster", joiner.Name())
	}
	for _, s := range cluster {
		if slices.Contains(RoutePeers(t, s), joiner.Name()) {
			t.Errorf("%s routes to %s", s.Name(), joiner.Name())
		}
	}
	if p := RoutePeers(t, joiner); len(p) > 0 {
		t.Errorf("%s routes to %v", joiner.Name(), p)
	}
}
