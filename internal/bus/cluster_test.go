package bus

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/internal/httptls/tlstest"
	"github.com/aftershock/aftershock/internal/testnet"
)

// openCluster opens three embedded servers as one cluster on loopback,
// each configured by with, and waits until each routes to the other two.
func openCluster(t *testing.T, ports []int, with func(*Config)) []*Bus {
	t.Helper()
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("127.0.0.1:%d", p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bs := make([]*Bus, len(ports))
	errs := make([]error, len(ports))
	var wg sync.WaitGroup
	for i, p := range ports {
		cfg := Config{
			DataDir: t.TempDir(), Listen: "127.0.0.1:0", Retention: time.Hour, Replicas: 3,
			ClusterListen: fmt.Sprintf("127.0.0.1:%d", p), ClusterRoutes: routes, ServerName: fmt.Sprintf("node%d", i),
		}
		with(&cfg)
		if err := cfg.Validate(); err != nil {
			t.Fatalf("node%d config: %v", i, err)
		}
		// Every node waits in Open for a majority of the cluster.
		// Certificates and CAs are looked at often: TestClusterRouteTLS
		// replaces the CA file.
		wg.Go(func() {
			bs[i], errs[i] = OpenWith(ctx, cfg, slog.New(slog.DiscardHandler), Options{TLSCheckEvery: 50 * time.Millisecond})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("opening node%d: %v", i, err)
		}
		t.Cleanup(bs[i].Close)
	}
	testnet.WaitMeshed(t, servers(bs))
	return bs
}

// joiner starts one more embedded server that tries to route to the
// cluster at ports, without waiting for JetStream (it may never get in).
func joiner(t *testing.T, port int, ports []int, name string, with func(*Config)) (*server.Server, *nats.Conn) {
	t.Helper()
	cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Retention: time.Hour, Replicas: 3, ClusterListen: fmt.Sprintf("127.0.0.1:%d", port), ServerName: name}
	for _, p := range ports {
		cfg.ClusterRoutes = append(cfg.ClusterRoutes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	with(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("%s config: %v", name, err)
	}
	srv, nc, err := startEmbedded(cfg, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv, nc
}

// probes subscribes on b to the probe messages the tests publish.
func probes(t *testing.T, b *Bus) *nats.Subscription {
	t.Helper()
	sub, err := b.NC.SubscribeSync("probe.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// servers is the embedded servers of bs.
func servers(bs []*Bus) []*server.Server {
	var out []*server.Server
	for _, b := range bs {
		out = append(out, b.srv)
	}
	return out
}

// TestClusterRouteLogin: three embedded servers whose routes log in form a
// JetStream cluster (R3 streams, a post published on one node read on
// another); a fourth server with no login, a wrong password or a wrong
// user is refused by every node: no node routes to it and what is
// published on it reaches nobody. One with the right login joins and its
// messages arrive (so the refusal is the login's doing).
func TestClusterRouteLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster: -short")
	}
	t.Parallel() // mostly waiting for elections, like TestClusterRouteTLS
	dir := t.TempDir()
	pw := writeFile(t, dir, "route-pw", "route-Pass_0123456789\n")
	wrongPW := writeFile(t, dir, "wrong-pw", "not-the-route-password\n")
	ports := testnet.FreePorts(t, 4+4)
	login := func(c *Config) { c.ClusterUser, c.ClusterPasswordFile = "route", pw }
	bs := openCluster(t, ports[:3], login)
	roundTrip(t, bs[0], bs[2], "post-cluster")

	sub := probes(t, bs[1])
	refused := []struct {
		name string
		with func(*Config)
	}{
		{"no-login", func(*Config) {}},
		{"wrong-password", func(c *Config) { c.ClusterUser, c.ClusterPasswordFile = "route", wrongPW }},
		{"wrong-user", func(c *Config) { c.ClusterUser, c.ClusterPasswordFile = "someone", pw }},
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			srv, nc := joiner(t, ports[3+i], ports[:3], tc.name, tc.with)
			testnet.RouteRefused(t, servers(bs), sub, srv, nc, "probe."+tc.name)
		})
	}
	t.Run("right-login", func(t *testing.T) {
		srv, nc := joiner(t, ports[6], ports[:3], "late-node", login)
		if !testnet.Reaches(t, nc, sub, "probe.late", 10*time.Second) {
			t.Fatalf("a message published on a node with the right login did not arrive (routes %v)", testnet.RoutePeers(t, srv))
		}
		if got := testnet.RoutePeers(t, bs[1].srv); !slices.Contains(got, "late-node") {
			t.Errorf("node1 routes to %v, want late-node among them", got)
		}
	})
}

// TestClusterNetworkWithoutLoginRefused: a route listener reachable from
// the network without a login does not start, and the error names the key.
func TestClusterNetworkWithoutLoginRefused(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ClusterListen: listen, ServerName: "n0", Retention: time.Hour, Replicas: 1}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "nats.cluster_listen") || !strings.Contains(err.Error(), "routes need no login") {
			t.Errorf("validate cluster_listen %s without login: %v, want refused naming nats.cluster_listen", listen, err)
		}
		// Open checks the same without Validate.
		if b, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil {
			b.Close()
			t.Errorf("opened cluster_listen %s without a login", listen)
		} else if !strings.Contains(err.Error(), "nats.cluster_listen") {
			t.Errorf("open cluster_listen %s without login: %v, want it to name nats.cluster_listen", listen, err)
		}
	}
}

func TestClusterSecretFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, want string
	}{
		{"missing", "absent", "no such file"},
		{"empty", writeFile(t, dir, "empty", "\n"), "is empty"},
		{"bcrypt hash", writeFile(t, dir, "hash", "$2a$11$abcdefghijklmnopqrstuv\n"), "bcrypt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ClusterListen: "127.0.0.1:0", ServerName: "n0", ClusterUser: "route", ClusterPasswordFile: tc.file, Retention: time.Hour, Replicas: 1}
			if tc.file == "absent" {
				cfg.ClusterPasswordFile = dir + "/absent"
			}
			b, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				b.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), "nats.cluster_password_file") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want it to name nats.cluster_password_file and say %q", err, tc.want)
			}
		})
	}
}

func TestConfigValidateCluster(t *testing.T) {
	node := func(with func(*Config)) Config {
		c := Config{DataDir: "/tmp/x", Listen: "127.0.0.1:4222", ClusterListen: "127.0.0.1:6222", ClusterRoutes: []string{"127.0.0.1:6223"}}
		with(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		want string // "" means valid
	}{
		{"loopback without login", node(func(*Config) {}), ""},
		{"all interfaces with login", node(func(c *Config) { c.ClusterListen, c.ClusterUser, c.ClusterPasswordFile = "0.0.0.0:6222", "route", "p" }), ""},
		{"route URLs", node(func(c *Config) {
			c.ClusterRoutes = []string{"nats-route://aftershock-0.aftershock:6222", "nats://10.0.0.7:6222", "[::1]:6222"}
		}), ""},
		{"names", node(func(c *Config) { c.ClusterName, c.ServerName = "prod-eu", "aftershock-0" }), ""},
		{"all interfaces with mutual TLS", node(func(c *Config) {
			c.ClusterListen, c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA = "0.0.0.0:6222", "c", "k", "ca"
		}), ""},
		{"TLS cert without key", node(func(c *Config) { c.ClusterTLSCert, c.ClusterTLSCA = "c", "ca" }), "nats.cluster_tls_cert: set without nats.cluster_tls_key"},
		{"TLS without CA", node(func(c *Config) { c.ClusterTLSCert, c.ClusterTLSKey = "c", "k" }), "nats.cluster_tls_cert: set without nats.cluster_tls_ca"},
		{"CA without cert", node(func(c *Config) { c.ClusterTLSCA = "ca" }), "nats.cluster_tls_ca: set without nats.cluster_tls_cert"},
		{"all interfaces without login", node(func(c *Config) { c.ClusterListen = "0.0.0.0:6222" }), "nats.cluster_listen"},
		{"address without login", node(func(c *Config) { c.ClusterListen = "10.0.0.5:6222" }), "routes need no login"},
		{"user without password", node(func(c *Config) { c.ClusterUser = "route" }), "nats.cluster_user: set without nats.cluster_password_file"},
		{"password without user", node(func(c *Config) { c.ClusterPasswordFile = "p" }), "nats.cluster_password_file: set without nats.cluster_user"},
		{"password in a route URL", node(func(c *Config) {
			c.ClusterUser, c.ClusterPasswordFile = "route", "p"
			c.ClusterRoutes = []string{"nats-route://route:s3cret@10.0.0.7:6222"}
		}), "nats.cluster_routes[0]: holds a login"},
		{"route without port", node(func(c *Config) { c.ClusterRoutes = []string{"nats-route://10.0.0.7"} }), "nats.cluster_routes[0]"},
		{"route with another scheme", node(func(c *Config) { c.ClusterRoutes = []string{"http://10.0.0.7:6222"} }), "nats.cluster_routes[0]: scheme"},
		{"no client listener", node(func(c *Config) { c.Listen = "" }), "nats.cluster_listen: needs nats.listen"},
		{"bad cluster listen", node(func(c *Config) { c.ClusterListen = "6222" }), "nats.cluster_listen"},
		{"bad cluster name", node(func(c *Config) { c.ClusterName = "prod eu" }), "nats.cluster_name"},
		{"bad server name", node(func(c *Config) { c.ServerName = "a.b" }), "nats.server_name"},
		{"routes without cluster listen", node(func(c *Config) { c.ClusterListen = "" }), "nats.cluster_routes: set, but nats.cluster_listen is empty"},
		{"login without cluster listen", node(func(c *Config) {
			c.ClusterListen, c.ClusterRoutes, c.ClusterUser, c.ClusterPasswordFile = "", nil, "route", "p"
		}), "nats.cluster_user: set, but nats.cluster_listen is empty"},
		{"cluster with external url", Config{URL: "nats://10.0.0.5:4222", ClusterListen: "127.0.0.1:6222"}, "nats.cluster_listen: only for the embedded server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantValidate(t, tc.cfg, tc.want) })
	}
}

// nodeCert makes a CA and one certificate it signs for 127.0.0.1 that
// serves as both ends of a route (server and client use), as PEM files.
func nodeCert(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "route CA")
	cert, key := ca.Issue(t, "node")
	return writeFile(t, dir, "ca.pem", string(ca.PEM)), writeFile(t, dir, "node.pem", string(cert)), writeFile(t, dir, "node.key", string(key))
}

// TestClusterRouteTLS: three embedded servers whose routes use mutual TLS
// (no password) form a JetStream cluster; a server without TLS, or with a
// certificate from another CA, is refused; one with a certificate from
// the cluster's CA joins. Then a server whose certificate a new CA signed
// is refused until the nodes' CA file holds the new CA next to the old
// one, and joins once it does, without a restart.
func TestClusterRouteTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster: -short")
	}
	t.Parallel()
	ca, cert, key := nodeCert(t)
	otherCA, otherCert, otherKey := nodeCert(t)
	ports := testnet.FreePorts(t, 3+4)
	mtls := func(c *Config) { c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA = cert, key, ca }
	bs := openCluster(t, ports[:3], mtls)
	roundTrip(t, bs[0], bs[2], "post-cluster-tls")

	sub := probes(t, bs[1])
	refused := []struct {
		name string
		with func(*Config)
	}{
		{"no-tls", func(*Config) {}},
		{"other-ca", func(c *Config) { c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA = otherCert, otherKey, otherCA }},
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			srv, nc := joiner(t, ports[3+i], ports[:3], tc.name, tc.with)
			testnet.RouteRefused(t, servers(bs), sub, srv, nc, "probe."+tc.name)
		})
	}
	t.Run("cluster-ca", func(t *testing.T) {
		srv, nc := joiner(t, ports[5], ports[:3], "late-node", mtls)
		if !testnet.Reaches(t, nc, sub, "probe.late", 10*time.Second) {
			t.Fatalf("a message published on a node with the cluster's certificate did not arrive (routes %v)", testnet.RoutePeers(t, srv))
		}
	})
	t.Run("rotated-ca", func(t *testing.T) {
		// The new node trusts both CAs from the start; the cluster's
		// nodes only the old one until their file changes.
		bundle := writeFile(t, t.TempDir(), "both.pem", "")
		rotateFrom(t, bundle, 0, ca, otherCA)
		srv, nc := joiner(t, ports[6], ports[:3], "new-ca-node", func(c *Config) { c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA = otherCert, otherKey, bundle })
		testnet.RouteRefused(t, servers(bs), sub, srv, nc, "probe.new-ca")
		rotateFrom(t, ca, 1, ca, otherCA)
		if !testnet.Reaches(t, nc, sub, "probe.new-ca", 10*time.Second) {
			t.Fatalf("a node with the new CA's certificate did not get in after the cluster's CA file named the new CA (routes %v)", testnet.RoutePeers(t, srv))
		}
	})
}
