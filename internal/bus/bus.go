// Package bus connects Aftershock to NATS JetStream: it starts the embedded
// nats-server (the default) or dials an external one, and declares the
// streams and key-value buckets every other part uses.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/httptls"
)

// Stream names and their subjects.
const (
	StreamPosts      = "POSTS"      // posts.<source>
	StreamMetrics    = "METRICS"    // metrics.<service>
	StreamReleases   = "RELEASES"   // releases.<service>
	StreamAnomalies  = "ANOMALIES"  // anomalies.<service>
	StreamVerdicts   = "VERDICTS"   // verdicts.<service>
	StreamRollups    = "ROLLUPS"    // rollups.<service>: one-minute aggregates for dashboards
	StreamDeliveries = "DELIVERIES" // deliveries.<notifier>: the durable outbox of notifications
)

// KV bucket names.
const (
	BucketCursors   = "cursors"   // crawler cursors, key <source instance name>
	BucketReleases  = "releases"  // release state, key <release id>
	BucketHalts     = "halts"     // one effective halt per release and ring
	BucketBaselines = "baselines" // detector baselines, key <service>
	BucketSeen      = "seen"      // long-lived de-duplication of post ids
	BucketVerdicts  = "verdicts"  // latest verdict per release and ring, for the gate
	BucketBudgets   = "budgets"   // reliability budgets (teams) and karma (authors)
	// BucketDeadLetters keeps notices given up on (refused by the receiver,
	// or past their deadline) until they are re-sent: key <kind>.<escaped key>.
	BucketDeadLetters = "deadletters"
)

// Config is the `nats` section of the configuration.
type Config struct {
	// URL of an external NATS server. Empty starts the embedded server.
	URL string `yaml:"url"`
	// DataDir is where the embedded server stores JetStream data.
	DataDir string `yaml:"data_dir"`
	// Listen is an optional host:port on which the embedded server also
	// accepts clients (e.g. for the nats CLI); empty means in-process only.
	Listen string `yaml:"listen"`
	// Retention is how long stream messages are kept.
	Retention time.Duration `yaml:"retention"`
	// Replicas for streams and buckets on an external cluster.
	Replicas int `yaml:"replicas"`
	// Creds is an optional credentials file for an external server.
	Creds string `yaml:"creds"`

	// The embedded server's listener (nats.listen): a user and a file
	// holding its password, or a file holding a token; optional TLS, with
	// a client CA for mutual TLS. A listener on a non-loopback address
	// must require one of user, token or client certificate.
	ListenUser         string `yaml:"listen_user"`
	ListenPasswordFile string `yaml:"listen_password_file"`
	ListenTokenFile    string `yaml:"listen_token_file"`
	ListenTLSCert      string `yaml:"listen_tls_cert"`
	ListenTLSKey       string `yaml:"listen_tls_key"`
	ListenTLSClientCA  string `yaml:"listen_tls_client_ca"`
	// ListenUsers are more users of the listener, each limited to the
	// subjects it may publish and subscribe to (a CI job that publishes
	// release events, an app that pushes its samples), beside ListenUser,
	// which keeps every right (permissions.go).
	ListenUsers []ListenUser `yaml:"listen_users"`

	// The client side, for an external server (nats.url), e.g. another
	// Aftershock process's listener: a user and password file, or a token
	// file (or Creds); the CA that signed the server's certificate; a
	// client certificate for mutual TLS.
	User         string `yaml:"user"`
	PasswordFile string `yaml:"password_file"`
	TokenFile    string `yaml:"token_file"`
	TLSCA        string `yaml:"tls_ca"`
	TLSCert      string `yaml:"tls_cert"`
	TLSKey       string `yaml:"tls_key"`

	// The embedded server as one node of a NATS cluster of Aftershock
	// processes (cluster.go): the host:port routes from the other nodes
	// arrive on, the other nodes' route addresses, the cluster's name
	// (default aftershock) and this node's (default the host name), and
	// the login every route presents: a user and a file holding its
	// password.
	ClusterListen       string   `yaml:"cluster_listen"`
	ClusterRoutes       []string `yaml:"cluster_routes"`
	ClusterName         string   `yaml:"cluster_name"`
	ServerName          string   `yaml:"server_name"`
	ClusterUser         string   `yaml:"cluster_user"`
	ClusterPasswordFile string   `yaml:"cluster_password_file"`
	// Mutual TLS on the routes: this node's certificate and key (shown to
	// the nodes it dials and to those dialling it; re-read when the files
	// change) and the CA that signed every node's.
	ClusterTLSCert string `yaml:"cluster_tls_cert"`
	ClusterTLSKey  string `yaml:"cluster_tls_key"`
	ClusterTLSCA   string `yaml:"cluster_tls_ca"`
}

// Validate applies defaults and checks the section.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("nats.data_dir: required when nats.url is empty (embedded server)"))
	}
	if c.Retention == 0 {
		c.Retention = 14 * 24 * time.Hour
	}
	if c.Retention < time.Minute {
		errs = append(errs, fmt.Errorf("nats.retention: %s is shorter than a minute", c.Retention))
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("nats.replicas: %d, want 1 to 5", c.Replicas))
	}
	errs = append(errs, c.validateAuth()...)
	errs = append(errs, c.validateCluster()...)
	return errors.Join(errs...)
}

// Shared reports whether other processes may use the same broker: an
// external server, the embedded one's network listener, or the embedded
// one as a node of a cluster.
func (c Config) Shared() bool { return c.URL != "" || c.Listen != "" || c.ClusterListen != "" }

// Bus is a live connection to JetStream with Aftershock's streams declared.
type Bus struct {
	NC  *nats.Conn
	JS  jetstream.JetStream
	srv *server.Server
	log *slog.Logger
	// lock is held on the embedded server's data dir while it runs.
	lock *dirLock
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidToken reports whether s can be one token of a subject or KV key
// (service and source names must be).
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// Options are what Open needs besides the configuration.
type Options struct {
	// TLSMetrics, if set, counts reloads of the listener's and the
	// routes' certificates.
	TLSMetrics *httptls.Metrics
	// TLSCheckEvery is how often at most their certificate files are
	// looked at (default httptls.DefaultEvery).
	TLSCheckEvery time.Duration
}

// Open starts the embedded server or dials the external one, then declares
// streams and buckets.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Bus, error) {
	return OpenWith(ctx, cfg, log, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, cfg Config, log *slog.Logger, o Options) (*Bus, error) {
	b := &Bus{log: log}
	var err error
	if cfg.URL == "" {
		if b.lock, err = lockDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
		b.srv, b.NC, err = startEmbedded(cfg, log, o)
		if err != nil {
			b.lock.unlock()
			return nil, err
		}
		if cfg.clusterOn() {
			log.Info("embedded nats joins a cluster", "cluster", b.srv.ClusterName(), "server_name", b.srv.Name(), "routes_from", b.ClusterAddr(), "routes_to", len(cfg.ClusterRoutes), "route_login", cfg.ClusterUser != "", "route_tls", cfg.ClusterTLSCert != "")
		}
		if cfg.Listen != "" {
			log.Info("embedded nats accepts network clients", "url", b.ListenURL(), "auth", cfg.listenAuthMode(), "tls", cfg.ListenTLSCert != "")
		}
	} else {
		auth, err := clientAuth(cfg)
		if err != nil {
			return nil, err
		}
		opts := append([]nats.Option{nats.Name("aftershock"), nats.MaxReconnects(-1)}, auth...)
		b.NC, err = nats.Connect(cfg.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("connecting to nats at %s: %w", cfg.URL, err)
		}
	}
	b.JS, err = jetstream.New(b.NC)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("opening jetstream: %w", err)
	}
	if err := b.declareWhenReady(ctx, cfg); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// declareWhenReady declares the streams and buckets; as a node of a
// cluster it first waits (until ctx ends) for JetStream to elect a meta
// leader, which needs a majority of the nodes up and routed to each other,
// and retries a declaration whose request got no answer (one sent while
// the leader changes or a stream's replicas elect theirs).
func (b *Bus) declareWhenReady(ctx context.Context, cfg Config) error {
	if b.srv == nil || !cfg.clusterOn() {
		return b.declare(ctx, cfg, func(ctx context.Context, f func(context.Context) error) error { return f(ctx) })
	}
	logged := false
	for !b.srv.JetStreamIsCurrent() {
		if !logged {
			b.log.Info("waiting for the nats cluster: JetStream needs a majority of nodes routed to each other", "routes", b.srv.NumRoutes())
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the nats cluster to elect a JetStream leader (%d routes up): %w", b.srv.NumRoutes(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return b.declare(ctx, cfg, b.retrying)
}

// retrying calls f with a deadline of its own per try until it succeeds
// or ctx ends.
func (b *Bus) retrying(ctx context.Context, f func(context.Context) error) error {
	for {
		try, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := f(try)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		b.log.Warn("declaring streams on the nats cluster: retrying", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func startEmbedded(cfg Config, log *slog.Logger, o Options) (*server.Server, *nats.Conn, error) {
	opts := &server.Options{
		ServerName: "aftershock",
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		NoSigs:     true,
		NoLog:      true,
		DontListen: cfg.Listen == "",
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, nil, fmt.Errorf("nats.listen: %w", err)
		}
		if port == 0 {
			port = server.RANDOM_PORT // host:0 is any free port, as in net.Listen
		}
		opts.Host, opts.Port = host, port
	}
	auth, err := listenAuth(cfg, opts, log, o)
	if err != nil {
		return nil, nil, err
	}
	if err := clusterOptions(cfg, opts, log, o); err != nil {
		return nil, nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("starting embedded nats: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, nil, errors.New("starting embedded nats: not ready after 10s")
	}
	// The in-process connection skips TLS (nats-server allows that for
	// in-process clients) but passes the same authentication.
	inProc := strings.Replace(srv.ClientURL(), "tls://", "nats://", 1)
	nc, err := nats.Connect(inProc, append([]nats.Option{nats.InProcessServer(srv), nats.Name("aftershock")}, auth...)...)
	if err != nil {
		srv.Shutdown()
		return nil, nil, fmt.Errorf("connecting to embedded nats: %w", err)
	}
	return srv, nc, nil
}

// MetricsDuplicateWindow is how long the METRICS stream remembers a
// sample's message id (a pushed body's Idempotency-Key and index).
const MetricsDuplicateWindow = 10 * time.Minute

// declare declares every stream and bucket, each through call (which may
// retry).
func (b *Bus) declare(ctx context.Context, cfg Config, call func(context.Context, func(context.Context) error) error) error {
	streams := []jetstream.StreamConfig{
		{Name: StreamPosts, Subjects: []string{"posts.>"}, Duplicates: 2 * time.Hour},
		// A pushed body retried with the same Idempotency-Key within the
		// window is stored once (crawlers/push).
		{Name: StreamMetrics, Subjects: []string{"metrics.>"}, Duplicates: MetricsDuplicateWindow},
		{Name: StreamReleases, Subjects: []string{"releases.>"}, Duplicates: 2 * time.Hour},
		{Name: StreamAnomalies, Subjects: []string{"anomalies.>"}},
		{Name: StreamVerdicts, Subjects: []string{"verdicts.>"}},
		{Name: StreamRollups, Subjects: []string{"rollups.>"}},
		// The outbox is a work queue: a delivery is removed once acked.
		{Name: StreamDeliveries, Subjects: []string{"deliveries.>"}, Retention: jetstream.WorkQueuePolicy, Duplicates: 24 * time.Hour},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.MaxAge = cfg.Retention
		sc.Replicas = cfg.Replicas
		if sc.Duplicates > sc.MaxAge {
			sc.Duplicates = sc.MaxAge
		}
		if err := call(ctx, func(ctx context.Context) error { _, err := b.JS.CreateOrUpdateStream(ctx, sc); return err }); err != nil {
			return fmt.Errorf("declaring stream %s: %w", sc.Name, err)
		}
	}
	buckets := []jetstream.KeyValueConfig{
		{Bucket: BucketCursors, History: 1},
		{Bucket: BucketReleases, History: 5},
		{Bucket: BucketHalts, History: 1},
		{Bucket: BucketBaselines, History: 1, MaxValueSize: 8 << 20},
		{Bucket: BucketSeen, History: 1, TTL: 7 * 24 * time.Hour},
		{Bucket: BucketVerdicts, History: 1},
		{Bucket: BucketBudgets, History: 16},
		{Bucket: BucketDeadLetters, History: 1},
	}
	for _, kc := range buckets {
		kc.Storage = jetstream.FileStorage
		kc.Replicas = cfg.Replicas
		if err := call(ctx, func(ctx context.Context) error { _, err := b.JS.CreateOrUpdateKeyValue(ctx, kc); return err }); err != nil {
			return fmt.Errorf("declaring kv bucket %s: %w", kc.Bucket, err)
		}
	}
	return nil
}

// ListenURL is the URL on which the embedded server accepts network
// clients (nats.listen, with the port it chose for port 0), or "" when it
// has no listener or the server is external.
func (b *Bus) ListenURL() string {
	if b.srv == nil || b.srv.Addr() == nil {
		return ""
	}
	return b.srv.ClientURL()
}

// ClusterAddr is the host:port on which the embedded server accepts routes
// from the other nodes (nats.cluster_listen, with the port it chose for
// port 0), or "" outside a cluster.
func (b *Bus) ClusterAddr() string {
	if b.srv == nil || b.srv.ClusterAddr() == nil {
		return ""
	}
	return b.srv.ClusterAddr().String()
}

// KV returns a declared bucket.
func (b *Bus) KV(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	kv, err := b.JS.KeyValue(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("opening kv bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// Close drains the connection and stops the embedded server, if any.
func (b *Bus) Close() {
	if b.NC != nil {
		_ = b.NC.Drain()
		// Drain is asynchronous; wait briefly for it so in-flight acks land.
		for i := 0; i < 1000 && !b.NC.IsClosed(); i++ {
			time.Sleep(2 * time.Millisecond)
		}
		b.NC.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	b.lock.unlock()
}

// Healthy reports whether the connection to the server is up.
func (b *Bus) Healthy() error {
	if b.NC == nil || !b.NC.IsConnected() {
		return errors.New("nats: not connected")
	}
	return nil
}
