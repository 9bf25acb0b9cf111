package bus

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/aftershock/aftershock/internal/httptls"
)

// The embedded server can join other Aftershock processes' embedded servers
// as one NATS cluster (nats.cluster_listen, nats.cluster_routes): JetStream
// then replicates streams and buckets (nats.replicas) between the
// processes, and the broker survives the loss of one of them. Routes carry
// every message, so whoever opens a route to cluster_listen reads and
// publishes everything: a route listener reachable from the network must
// require a login (nats.cluster_user with nats.cluster_password_file) or
// mutual TLS (nats.cluster_tls_*), which also keeps the traffic and the
// login off the wire in clear text.

// clusterOn reports whether the embedded server joins a cluster.
func (c *Config) clusterOn() bool { return c.ClusterListen != "" }

// clusterAuthOn reports whether routes must prove who they are: a login,
// or a certificate signed by cluster_tls_ca (mutual TLS).
func (c *Config) clusterAuthOn() bool { return c.ClusterUser != "" || c.ClusterTLSCA != "" }

// validateCluster checks the cluster keys.
func (c *Config) validateCluster() []error {
	keys := map[string]string{
		"nats.cluster_name": c.ClusterName, "nats.cluster_user": c.ClusterUser,
		"nats.cluster_password_file": c.ClusterPasswordFile, "nats.server_name": c.ServerName,
		"nats.cluster_tls_cert": c.ClusterTLSCert, "nats.cluster_tls_key": c.ClusterTLSKey, "nats.cluster_tls_ca": c.ClusterTLSCA,
	}
	if len(c.ClusterRoutes) > 0 {
		keys["nats.cluster_routes"] = "set"
	}
	var errs []error
	if c.URL != "" {
		if c.ClusterListen != "" {
			errs = append(errs, errors.New("nats.cluster_listen: only for the embedded server, but nats.url names an external server"))
		}
	} else if c.ClusterListen == "" {
		for _, k := range sortedKeys(keys) {
			if keys[k] != "" {
				errs = append(errs, fmt.Errorf("%s: set, but nats.cluster_listen is empty (the embedded server joins no cluster)", k))
			}
		}
	}
	if !c.clusterOn() {
		return errs
	}
	if c.Listen == "" {
		errs = append(errs, errors.New(noClientListener))
	}
	if _, _, err := splitHostPort(c.ClusterListen); err != nil {
		errs = append(errs, fmt.Errorf("nats.cluster_listen: %w", err))
	}
	if c.ClusterName == "" {
		c.ClusterName = "aftershock"
	}
	if !ValidToken(c.ClusterName) {
		errs = append(errs, fmt.Errorf("nats.cluster_name: %q, want letters, digits, - and _", c.ClusterName))
	}
	if c.ServerName != "" && !ValidToken(c.ServerName) {
		errs = append(errs, fmt.Errorf("nats.server_name: %q, want letters, digits, - and _", c.ServerName))
	}
	for i, r := range c.ClusterRoutes {
		if _, err := routeURL(r); err != nil {
			errs = append(errs, fmt.Errorf("nats.cluster_routes[%d]: %w", i, err))
		}
	}
	errs = append(errs, pairErrs("nats.cluster_user", c.ClusterUser, "nats.cluster_password_file", c.ClusterPasswordFile)...)
	errs = append(errs, pairErrs("nats.cluster_tls_cert", c.ClusterTLSCert, "nats.cluster_tls_key", c.ClusterTLSKey)...)
	if c.ClusterTLSCert != "" && c.ClusterTLSCA == "" {
		errs = append(errs, errors.New("nats.cluster_tls_cert: set without nats.cluster_tls_ca (the nodes check each other's certificates both ways: mutual TLS needs the CA)"))
	}
	if c.ClusterTLSCA != "" && c.ClusterTLSCert == "" {
		errs = append(errs, errors.New("nats.cluster_tls_ca: set without nats.cluster_tls_cert and nats.cluster_tls_key (each node shows its own certificate to the others)"))
	}
	if err := c.checkClusterExposure(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// noClientListener is the error for a cluster node without nats.listen:
// nats-server opens its routes only after its client listener.
const noClientListener = "nats.cluster_listen: needs nats.listen too (nats-server starts its routes only once it accepts clients); " +
	"127.0.0.1:4222 keeps the client port on this machine"

// checkClusterExposure refuses a route listener reachable from the network
// that lets any server in: a route joins the cluster, and then reads every
// message and can publish any (a forged "pass" verdict) without a client
// login. Loopback stays allowed (only this machine's processes reach it).
func (c *Config) checkClusterExposure() error {
	if !c.clusterOn() || c.clusterAuthOn() || httptls.Loopback(c.ClusterListen) {
		return nil
	}
	return fmt.Errorf("nats.cluster_listen: %q is reachable from the network and routes need no login, so any server that reaches it joins the cluster and reads and publishes every message; "+
		"set nats.cluster_user with nats.cluster_password_file, or nats.cluster_tls_cert, nats.cluster_tls_key and nats.cluster_tls_ca (mutual TLS), or listen on 127.0.0.1", c.ClusterListen)
}

// routeURL parses one nats.cluster_routes entry: host:port or
// nats-route://host:port. A login in the URL is refused: it would put the
// route password in the config file; it comes from cluster_password_file.
func routeURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "nats-route://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.User != nil {
		return nil, errors.New("holds a login; routes log in with nats.cluster_user and nats.cluster_password_file, so no password sits in the config")
	}
	if u.Scheme != "nats-route" && u.Scheme != "nats" {
		return nil, fmt.Errorf("scheme %q, want nats-route:// or host:port", u.Scheme)
	}
	if _, _, err := splitHostPort(u.Host); err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("%q: want host:port", u.Host)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%q has a path", s)
	}
	return u, nil
}

// clusterOptions sets up the embedded server's routes: the route listener,
// the login every route must present (Cluster.Username/Password) and the
// same login in the URLs of the routes this server opens (nats-server
// sends only what a route URL carries; routes it learns from its peers get
// Cluster.Username/Password).
func clusterOptions(cfg Config, opts *server.Options, log *slog.Logger, o Options) error {
	if !cfg.clusterOn() {
		return nil
	}
	if err := cfg.checkClusterExposure(); err != nil {
		return err
	}
	if opts.DontListen {
		return errors.New(noClientListener)
	}
	host, port, err := splitHostPort(cfg.ClusterListen)
	if err != nil {
		return fmt.Errorf("nats.cluster_listen: %w", err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
	if opts.Cluster.Name == "" {
		opts.Cluster.Name = "aftershock"
	}
	opts.ServerName = cfg.ServerName
	if opts.ServerName == "" {
		// JetStream tells the members of a cluster apart by name; a host
		// name is unique and stable (a StatefulSet pod's, a VM's).
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("nats.server_name: empty and the host name is unknown: %w", err)
		}
		opts.ServerName = h
	}
	var login *url.Userinfo
	if cfg.ClusterUser != "" {
		pw, err := readPlainSecret("nats.cluster_password_file", cfg.ClusterPasswordFile)
		if err != nil {
			return err
		}
		opts.Cluster.Username, opts.Cluster.Password = cfg.ClusterUser, pw
		login = url.UserPassword(cfg.ClusterUser, pw)
	}
	if cfg.ClusterTLSCert != "" {
		tc, err := routeTLS(cfg, log, o)
		if err != nil {
			return err
		}
		opts.Cluster.TLSConfig, opts.Cluster.TLSTimeout = tc, 2
	}
	for i, r := range cfg.ClusterRoutes {
		u, err := routeURL(r)
		if err != nil {
			return fmt.Errorf("nats.cluster_routes[%d]: %w", i, err)
		}
		u.User = login
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}

// routeTLS is the routes' mutual TLS: each node shows its certificate
// whether it dials or is dialled, and accepts only peers whose certificate
// cluster_tls_ca signed, both ways; the certificate and the CA are re-read
// when their files change.
func routeTLS(cfg Config, log *slog.Logger, o Options) (*tls.Config, error) {
	r, err := httptls.New(httptls.Config{CertFile: cfg.ClusterTLSCert, KeyFile: cfg.ClusterTLSKey}, log.With("part", "nats-cluster-tls"),
		httptls.Options{Listener: "nats-cluster", Metrics: o.TLSMetrics, Every: o.TLSCheckEvery})
	if err != nil {
		return nil, fmt.Errorf("nats.cluster_tls_cert: loading the node's certificate: %w", err)
	}
	ca, err := httptls.NewCA(cfg.ClusterTLSCA, log.With("part", "nats-cluster-tls"),
		httptls.Options{Listener: "nats-cluster-ca", Metrics: o.TLSMetrics, Every: o.TLSCheckEvery})
	if err != nil {
		return nil, fmt.Errorf("nats.cluster_tls_ca: %w", err)
	}
	tc := r.TLSConfig()
	tc.GetClientCertificate = r.GetClientCertificate
	ca.RequireClients(tc)
	ca.VerifyServers(tc)
	return tc, nil
}
