package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/aftershock/aftershock/internal/testnet"
)

// clusterPort is the StatefulSet container's port named "cluster".
func clusterPort(t *testing.T, sts *appsv1.StatefulSet) int {
	t.Helper()
	for _, p := range sts.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == "cluster" {
			return int(p.ContainerPort)
		}
	}
	t.Fatal("the nats container has no port named cluster")
	return 0
}

// routeNode is one nats-server of the test, made from nats.conf.
type routeNode struct {
	opts *server.Options
	srv  *server.Server
	nc   *nats.Conn // logged in as nats.conf's client user
}

// loopbackNode parses nats.conf as the pod with ordinal pod gets it
// (natsPodOptions, Secrets from secret) and moves it onto this machine:
// clients on a free loopback port, routes on routePort, no monitoring, a
// store of its own. Each route URL must name a pod of the StatefulSet
// (<name>-<i>.<serviceName>) on the cluster port; it is pointed at that
// pod's loopback port in hosts, keeping its login. change, if set, edits
// the options after that (a test's wrong login).
func loopbackNode(t *testing.T, cm *corev1.ConfigMap, sts *appsv1.StatefulSet, pod, routePort int, hosts map[string]string,
	secret func(secretRef) string, change func(*server.Options)) *server.Options {
	t.Helper()
	opts, _ := natsPodOptions(t, cm, sts, pod, secret)
	if len(opts.Routes) != len(hosts) {
		t.Fatalf("pod %d: %d routes %v, want one to each of the %d pods", pod, len(opts.Routes), opts.Routes, len(hosts))
	}
	seen := map[string]bool{}
	for i, u := range opts.Routes {
		to, ok := hosts[u.Host]
		if !ok || seen[u.Host] {
			t.Fatalf("pod %d: route %s does not name another pod of the StatefulSet on its cluster port (want one each of %v)", pod, u.Redacted(), hosts)
		}
		seen[u.Host] = true
		r := *u
		r.Host = to
		opts.Routes[i] = &r
	}
	opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", server.RANDOM_PORT, 0
	opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", routePort
	opts.StoreDir = t.TempDir()
	opts.NoLog, opts.NoSigs = true, true
	if change != nil {
		change(opts)
	}
	return opts
}

// start runs a nats-server with opts and connects to it with its client
// login.
func (n *routeNode) start(t *testing.T) {
	t.Helper()
	srv, err := server.NewServer(n.opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatalf("%s did not start", n.opts.ServerName)
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo(n.opts.Username, n.opts.Password), nats.MaxReconnects(0))
	if err != nil {
		t.Fatalf("%s: client login: %v", n.opts.ServerName, err)
	}
	t.Cleanup(nc.Close)
	n.srv, n.nc = srv, nc
}

// subscribe subscribes through n to subject, flushed.
func (n *routeNode) subscribe(t *testing.T, subject string) *nats.Subscription {
	t.Helper()
	sub, err := n.nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestNATSRouteLogin runs nats.yaml's cluster: one real nats-server per
// pod of the StatefulSet, each from the ConfigMap's nats.conf in the
// environment its pod gets (pod name, Secrets, the route URLs Kubernetes
// puts together), moved to loopback ports. nats.conf must require a route
// login whose password is a Secret's, every route URL must carry that
// login, and Aftershock's pods must not get that Secret. The three route
// to each other, a message published on one arrives on another and an R3
// JetStream stream can be created; the password is not in /varz. A fourth
// server from the same nats.conf with no route login, a wrong password
// (another Secret value) or a wrong user gets no route and nothing
// published on it arrives; one with the Secret's login joins and its
// message arrives, so the refusals are the login's doing.
func TestNATSRouteLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster: -short")
	}
	cm, sts := natsManifest(t)
	secret := secretValues(t)
	pods := int(*sts.Spec.Replicas)
	joiners := []struct {
		name    string
		secret  func(secretRef) string
		change  func(*server.Options)
		refused bool
	}{
		{"no-login", secret, func(o *server.Options) {
			o.Cluster.Username, o.Cluster.Password = "", ""
			for _, u := range o.Routes {
				u.User = nil
			}
		}, true},
		{"wrong-password", func(r secretRef) string { return "wrong" + secret(r) }, nil, true},
		{"wrong-user", secret, func(o *server.Options) {
			o.Cluster.Username = "intruder"
			for _, u := range o.Routes {
				pw, _ := u.User.Password()
				u.User = url.UserPassword("intruder", pw)
			}
		}, true},
		{"secret-login", secret, nil, false},
	}
	ports := testnet.FreePorts(t, pods+len(joiners))
	hosts := map[string]string{}
	for i := range pods {
		hosts[fmt.Sprintf("%s-%d.%s:%d", sts.Name, i, sts.Spec.ServiceName, clusterPort(t, sts))] = fmt.Sprintf("127.0.0.1:%d", ports[i])
	}

	// The options first: parsing sets the process environment, which
	// parallel subtests may not.
	nodes := make([]*routeNode, pods)
	for i := range nodes {
		nodes[i] = &routeNode{opts: loopbackNode(t, cm, sts, i, ports[i], hosts, secret, nil)}
	}
	routePW := nodes[0].opts.Cluster.Password
	var routeRef *secretRef
	_, refs := natsPodOptions(t, cm, sts, 0, secret)
	for _, r := range refs {
		if routePW == secret(r) {
			routeRef = &r
		}
	}
	if nodes[0].opts.Cluster.Username == "" || routeRef == nil {
		t.Fatalf("nats.conf's cluster has no authorization { user, password } with the password from a Secret (user %q): any server reaching port 6222 joins the cluster", nodes[0].opts.Cluster.Username)
	}
	// Aftershock's pods need no route login, so they get none.
	dep := first[appsv1.Deployment](documents(t, "aftershock.yaml"))
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == routeRef.name {
			t.Errorf("Aftershock's pods mount the Secret %s, which holds the NATS route password", routeRef.name)
		}
	}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == routeRef.name {
			t.Errorf("Aftershock's pods read the Secret %s, which holds the NATS route password", routeRef.name)
		}
	}
	for _, n := range nodes {
		for _, u := range n.opts.Routes {
			if pw, _ := u.User.Password(); u.User.Username() != n.opts.Cluster.Username || pw != routePW {
				t.Fatalf("%s: route %s does not carry the route login (nats-server presents only the URL's login on a route it opens)", n.opts.ServerName, u.Redacted())
			}
		}
	}
	joinNodes := make([]*routeNode, len(joiners))
	for k, j := range joiners {
		joinNodes[k] = &routeNode{opts: loopbackNode(t, cm, sts, pods+k, ports[pods+k], hosts, j.secret, j.change)}
	}

	var srvs []*server.Server
	for _, n := range nodes {
		n.start(t)
		srvs = append(srvs, n.srv)
	}
	testnet.WaitMeshed(t, srvs)
	sub := nodes[2].subscribe(t, "probe.cluster")
	if !testnet.Reaches(t, nodes[0].nc, sub, "probe.cluster", 10*time.Second) {
		t.Fatalf("a message published on %s did not arrive on %s", nodes[0].opts.ServerName, nodes[2].opts.ServerName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, err := jetstream.New(nodes[0].nc)
	if err != nil {
		t.Fatal(err)
	}
	for {
		// The meta leader is elected after the routes are up; a request
		// sent before may get no answer at all, so each try has its own
		// deadline.
		try, stop := context.WithTimeout(ctx, 3*time.Second)
		_, err := js.CreateStream(try, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"js.probe"}, Replicas: pods})
		stop()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("creating an R%d stream on the cluster: %v", pods, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, n := range nodes {
		vz, err := n.srv.Varz(nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(vz)
		if strings.Contains(string(b), routePW) {
			t.Errorf("%s: /varz shows the route password", n.opts.ServerName)
		}
	}

	t.Run("refused", func(t *testing.T) {
		for k, j := range joiners {
			if !j.refused {
				continue
			}
			n := joinNodes[k]
			t.Run(j.name, func(t *testing.T) {
				t.Parallel() // each waits 2.5s
				n.start(t)
				subject := "probe." + j.name
				testnet.RouteRefused(t, srvs, nodes[1].subscribe(t, subject), n.srv, n.nc, subject)
			})
		}
	})
	for k, j := range joiners {
		if j.refused {
			continue
		}
		n := joinNodes[k]
		t.Run(j.name, func(t *testing.T) {
			n.start(t)
			subject := "probe." + j.name
			if !testnet.Reaches(t, n.nc, nodes[1].subscribe(t, subject), subject, 10*time.Second) {
				t.Fatalf("a message published on a server with the Secret's route login did not arrive (routes %v)", testnet.RoutePeers(t, n.srv))
			}
		})
	}
}
