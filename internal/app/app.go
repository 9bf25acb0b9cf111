// Package app wires one Aftershock process from its configuration, in the
// order data flows: bus → crawlers → detector pipeline → dispatch →
// notifiers, with the sink and the HTTP API beside them. The daemon, the
// demo and the end-to-end tests all run this same App.
package app

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/all"
	"github.com/aftershock/aftershock/crawlers/natsmetrics"
	"github.com/aftershock/aftershock/crawlers/push"
	"github.com/aftershock/aftershock/crawlers/statsd"
	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/appstore"
	"github.com/aftershock/aftershock/deploy/budget"
	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/deploy/dispatch"
	"github.com/aftershock/aftershock/deploy/flags"
	"github.com/aftershock/aftershock/deploy/gate"
	"github.com/aftershock/aftershock/deploy/irc"
	"github.com/aftershock/aftershock/deploy/play"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/deploy/slack"
	"github.com/aftershock/aftershock/deploy/storeresume"
	"github.com/aftershock/aftershock/deploy/webhook"
	"github.com/aftershock/aftershock/detector"
	"github.com/aftershock/aftershock/internal/buildinfo"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/internal/httptls"
	"github.com/aftershock/aftershock/internal/inbound"
	"github.com/aftershock/aftershock/internal/ownership"
	"github.com/aftershock/aftershock/internal/pipeline"
	"github.com/aftershock/aftershock/internal/sink"
	"github.com/aftershock/aftershock/internal/sink/influx"
	"github.com/aftershock/aftershock/signals/enrich"
)

// Options are the parts a caller may inject; zero values take the live defaults.
type Options struct {
	Logger *slog.Logger
	// Clock is event-time "now" (default time.Now). The demo passes a
	// simulated clock.
	Clock func() time.Time
	// Tick is how often the detector is advanced (default 5s).
	Tick time.Duration
	// Sources, when set, replaces the default source registry.
	Sources *crawlers.Registry
	// HTTPClient, when set, is used by sources (tests route it locally).
	HTTPClient func(timeout time.Duration) *http.Client
	// TLSCheckEvery is how often at most the HTTP and NATS listeners look
	// at their certificate files (default httptls.DefaultEvery).
	TLSCheckEvery time.Duration
}

// App is one running Aftershock process.
type App struct {
	cfg  *config.Config
	opt  Options
	log  *slog.Logger
	reg  *prometheus.Registry
	bus  *bus.Bus
	ln   net.Listener
	srv  *http.Server
	stop context.CancelFunc
	wg   sync.WaitGroup
	errs chan error
	// tlsMetrics counts certificate reloads of the HTTP and NATS listeners.
	tlsMetrics *httptls.Metrics
	// closers release what notifiers hold (an IRC connection).
	closers []func() error
	// crawlers runs the sources; its Health feeds /healthz details.
	crawlers *crawlers.Runner
	// resumers are the store notifiers, by name, for resume-store.
	resumers map[string]deploy.Resumer
	// phases are the store notifiers that read a rollout's phase
	// (stores.go), read every phaseEvery.
	phases     map[string]deploy.PhaseReader
	phaseEvery time.Duration
	// halts is the halts bucket (dispatch's claims; resume-store re-arms).
	halts jetstream.KeyValue
	// releases is the release registry (resume-store restarts the watch).
	releases *releases.Store
	health   *health
	// own holds this process's service leases (nil: static split).
	own *ownership.Manager
}

// SourceHealth is the health of every source this process runs (none
// before Start).
func (a *App) SourceHealth() []crawlers.Health {
	if a.crawlers == nil {
		return nil
	}
	return a.crawlers.Health()
}

// New checks what can be checked before starting anything.
func New(cfg *config.Config, opt Options) (*App, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.Tick == 0 {
		opt.Tick = 5 * time.Second
	}
	if opt.Sources == nil {
		opt.Sources = all.DefaultRegistry()
	}
	return &App{cfg: cfg, opt: opt, log: opt.Logger, reg: prometheus.NewRegistry(), errs: make(chan error, 16)}, nil
}

// Start opens the bus, builds every part and starts them. On error
// everything started so far is stopped again.
func (a *App) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildInfoGauge())
	a.log.Info("starting", "version", buildinfo.Version(), "go", runtime.Version())
	a.health = newHealth(a.reg, time.Now)
	a.tlsMetrics = httptls.NewMetrics(a.reg)
	a.bus, err = bus.OpenWith(ctx, a.cfg.NATS, a.log.With("part", "bus"), bus.Options{TLSMetrics: a.tlsMetrics, TLSCheckEvery: a.opt.TLSCheckEvery})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	// Every inbound item is checked against the configuration.
	rules := a.cfg.Rules(a.opt.Clock)

	// Crawlers.
	own, err := a.openOwnership(ctx)
	if err != nil {
		return err
	}
	a.own = own
	var specs []crawlers.Spec
	for _, sp := range a.cfg.Sources {
		if own != nil || a.cfg.Cluster.Owns(sp.Name) {
			specs = append(specs, sp)
		}
	}
	insts, err := a.opt.Sources.Build(specs, crawlers.Deps{Logger: a.log.With("part", "crawler"), Now: a.opt.Clock, HTTPClient: a.opt.HTTPClient})
	if err != nil {
		return err
	}
	cursors, err := a.bus.KV(ctx, bus.BucketCursors)
	if err != nil {
		return err
	}
	runner := crawlers.NewRunner(a.bus.JS, cursors, a.log.With("part", "crawler"), crawlers.NewMetrics(a.reg), crawlers.WithClock(a.opt.Clock), crawlers.WithMetricCheck(rules.Metric))
	a.crawlers = runner
	if own == nil {
		a.goRun("crawlers", func(ctx context.Context) error { return runner.RunAll(ctx, insts) }, runCtx)
	} else {
		for _, inst := range insts {
			a.goRun("crawler "+inst.Spec.Name, func(ctx context.Context) error { return a.runLeasedSource(ctx, own, runner, inst, time.Second) }, runCtx)
		}
	}
	if a.cfg.StatsD != nil {
		l, err := statsd.Listen(*a.cfg.StatsD, bus.Publisher{JS: a.bus.JS, CheckMetric: rules.Metric}, a.log.With("part", "statsd"), a.opt.Clock)
		if err != nil {
			return err
		}
		a.goRun("statsd", l.Run, runCtx)
	}
	if a.cfg.NATS.URL != "" || a.cfg.NATS.Listen != "" {
		// Apps that reach NATS may push samples on push.metrics.<service>.
		g := natsmetrics.New(a.bus.NC, bus.Publisher{JS: a.bus.JS, CheckMetric: rules.Metric}, a.log.With("part", "natsmetrics"), a.opt.Clock)
		a.goRun("natsmetrics", g.Run, runCtx)
	}

	// Detector.
	analyzers, err := a.analyzers()
	if err != nil {
		return err
	}
	baselines, err := a.bus.KV(ctx, bus.BucketBaselines)
	if err != nil {
		return err
	}
	var flagged func(service, feature string) bool
	// owns is this process's share (with leases: the services held since
	// the detector was built, see runDetector).
	buildPipeline := func(reg prometheus.Registerer, owns func(service string) bool) *pipeline.Pipeline {
		det := detector.New(a.cfg.Detector, func(service string) detector.Enricher {
			if an, ok := analyzers[service]; ok {
				return an
			}
			return analyzers[""]
		})
		det.SetFeatureFlags(flagged)
		return pipeline.New(a.bus.JS, det, a.opt.Clock, a.opt.Tick, a.log.With("part", "detector"), reg).WithSnapshots(baselines, 5*time.Minute).WithOwner(owns)
	}

	// Deploy side: dispatch verdicts, deliver notices.
	halts, err := a.bus.KV(ctx, bus.BucketHalts)
	if err != nil {
		return err
	}
	a.halts = halts
	var targets []dispatch.Target
	var workers []*delivery.Worker
	var flagSwitches []*flags.Notifier
	for _, n := range a.cfg.Notifiers {
		notifier, err := a.notifier(n)
		if err != nil {
			return err
		}
		if c, ok := notifier.(interface{ Close() error }); ok {
			a.closers = append(a.closers, c.Close)
		}
		a.collectStore(n, notifier)
		w, err := delivery.New(a.bus.JS, n.Name, notifier, a.cfg.Delivery, a.log.With("part", "delivery", "notifier", n.Name), a.reg, a.opt.Clock)
		if err != nil {
			return fmt.Errorf("starting delivery for notifier %s: %w", n.Name, err)
		}
		workers = append(workers, w)
		targets = append(targets, dispatch.Target{Name: n.Name, On: n.On})
		if f, ok := notifier.(*flags.Notifier); ok {
			flagSwitches = append(flagSwitches, f)
		}
	}
	// The detector switches a feature off only where a flag is configured.
	flagged = func(service, feature string) bool {
		for _, f := range flagSwitches {
			if f.Has(service, feature) {
				return true
			}
		}
		return false
	}
	// Start the detector only now: its feature-flag lookup is set. Not
	// ready before its first rebuild has caught up.
	a.health.waitFor("detector", detectorRebuilding, notYet)
	a.goRun("detector", func(ctx context.Context) error { return a.runDetector(ctx, own, buildPipeline) }, runCtx)

	disp := dispatch.New(a.bus.JS, halts, targets, a.cfg.DashboardURL, a.opt.Clock, a.log.With("part", "dispatch"))
	a.goRun("dispatch", disp.Run, runCtx)
	for i, w := range workers {
		w.OnDeadLetter = disp.DeadLetter // chat hears of a notice given up on
		a.goRun("delivery "+targets[i].Name, w.Run, runCtx)
	}
	dead, err := delivery.OpenDeadLetters(ctx, a.bus.JS, a.opt.Clock)
	if err != nil {
		return err
	}

	// Storage for dashboards.
	if a.cfg.Influx != nil {
		s := influx.New(*a.cfg.Influx, a.log.With("part", "sink"))
		a.health.watch("sink")
		c, err := sink.NewConsumer(a.bus.JS, watchedSink{Sink: s, h: a.health}, sink.ConsumerConfig{BatchSize: a.cfg.Influx.BatchSize, FlushInterval: a.cfg.Influx.FlushInterval}, a.reg, a.log.With("part", "sink"))
		if err != nil {
			return err
		}
		a.goRun("sink", func(ctx context.Context) error { defer s.Close(); return c.Run(ctx) }, runCtx)
	}

	// Release registry and HTTP API.
	relKV, err := a.bus.KV(ctx, bus.BucketReleases)
	if err != nil {
		return err
	}
	store := releases.NewStore(relKV, a.log.With("part", "releases"), a.opt.Clock).WithRules(rules)
	a.releases = store
	a.goRun("release-follow", func(ctx context.Context) error { return store.Follow(ctx, a.bus.JS) }, runCtx)
	if p := a.storePhase(store); p != nil {
		a.goRun("store-phase", p.Run, runCtx)
	}

	// Gate and budgets: what the deploy system asks before the next ring.
	verKV, err := a.bus.KV(ctx, bus.BucketVerdicts)
	if err != nil {
		return err
	}
	budKV, err := a.bus.KV(ctx, bus.BucketBudgets)
	if err != nil {
		return err
	}
	ledger, err := budget.NewLedger(budKV, a.cfg.Budgets, a.log.With("part", "budget"), a.opt.Clock)
	if err != nil {
		return err
	}
	for _, s := range a.cfg.Services {
		if s.Team != "" {
			ledger.WithTeams([]string{s.Team})
		}
	}
	a.goRun("budget-spender", budget.NewSpender(a.bus.JS, ledger, budget.RegistryLookup(store), a.log).Run, runCtx)
	a.goRun("gate-tracker", gate.NewTracker(a.bus.JS, verKV, a.log).Run, runCtx)
	g := gate.New(store, verKV, ledger, a.log.With("part", "gate")).WithRingCheck(rules.Ring)
	return a.serveHTTP(store, g, ledger, rules, dead)
}

func (a *App) analyzers() (map[string]*enrich.Analyzer, error) {
	out := map[string]*enrich.Analyzer{}
	def, err := enrich.New(enrich.Config{})
	if err != nil {
		return nil, fmt.Errorf("building enrichment: %w", err)
	}
	out[""] = def
	for _, s := range a.cfg.Services {
		an, err := enrich.New(s.Enrich)
		if err != nil {
			return nil, fmt.Errorf("building enrichment for service %s: %w", s.Name, err)
		}
		out[s.Name] = an
	}
	return out, nil
}

func (a *App) notifier(n config.Notifier) (notifier deploy.Notifier, err error) {
	switch n.Type {
	case "webhook":
		notifier, err = webhook.New(*n.Webhook, a.opt.Clock)
	case "slack":
		notifier, err = slack.New(*n.Slack, a.opt.Clock)
	case "irc":
		notifier, err = irc.New(*n.IRC, a.opt.Clock, a.log.With("notifier", n.Name))
	case "flags":
		notifier, err = flags.New(*n.Flags, a.log.With("notifier", n.Name))
	case "appstore-phased":
		notifier, err = appstore.New(*n.AppStore, a.opt.Clock, a.log.With("notifier", n.Name))
	case "play-rollout":
		notifier, err = play.New(*n.Play, a.opt.Clock, a.log.With("notifier", n.Name))
	default:
		err = fmt.Errorf("unknown type %q", n.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("notifier %s: %w", n.Name, err)
	}
	return notifier, nil
}

func maxWindow(c detector.Config) time.Duration {
	var m time.Duration
	for _, r := range c.Rings {
		m = max(m, r.Window)
	}
	return m
}

// goRun runs one part until the app stops; a part that fails is reported on Err.
func (a *App) goRun(name string, f func(context.Context) error, ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("part stopped", "part", name, "err", err)
			select {
			case a.errs <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
}

// Err reports parts that failed while running.
func (a *App) Err() <-chan error { return a.errs }

// Addr is the address the HTTP server listens on (useful with port 0).
func (a *App) Addr() string {
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// Bus exposes the connection, for the demo and tests.
func (a *App) Bus() *bus.Bus { return a.bus }

// Stop shuts down in reverse order: HTTP first, then the parts (each
// finishes its in-flight work and acks), then the bus is drained.
func (a *App) Stop() {
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.srv.Shutdown(ctx)
		cancel()
	}
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
	for _, c := range a.closers {
		if err := c(); err != nil {
			a.log.Warn("closing notifier", "err", err)
		}
	}
	if a.bus != nil {
		a.bus.Close()
	}
}

// caller is the configured token a request carries as a bearer token,
// compared in constant time against every configured token.
func (a *App) caller(r *http.Request) (config.Token, bool) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return config.Token{}, false
	}
	var found config.Token
	match := 0
	for _, t := range a.cfg.HTTP.Tokens {
		if subtle.ConstantTimeCompare([]byte(got), []byte(t.Token)) == 1 {
			found, match = t, 1
		}
	}
	return found, match == 1
}

// authorizer returns a request check that passes a token with one of roles
// (nil, meaning open, only with http.insecure_no_auth and no tokens).
func (a *App) authorizer(roles ...string) func(*http.Request) bool {
	if len(a.cfg.HTTP.Tokens) == 0 && a.cfg.HTTP.InsecureNoAuth {
		return nil
	}
	return func(r *http.Request) bool {
		t, ok := a.caller(r)
		return ok && slices.Contains(roles, t.Role)
	}
}

// tokenName names the caller of a request by its token (for audit history),
// or "" when it carries none that is configured.
func (a *App) tokenName(r *http.Request) string {
	t, _ := a.caller(r)
	return t.Name
}

// forbidden wraps a write endpoint so a valid token of a role that may not
// write gets 403 instead of the endpoint's 401.
func (a *App) forbidden(write func(*http.Request) bool, next http.Handler) http.Handler {
	if write == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !write(r) {
			if _, known := a.caller(r); known {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"error":"this token's role may not write (deploy-system or sre-admin can)"}` + "\n"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (a *App) serveHTTP(store *releases.Store, g *gate.Gate, ledger *budget.Ledger, rules *inbound.Rules, dead *delivery.DeadLetters) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
		// Details: one line per source, its health (ok, silent, degraded,
		// failing) and why. Liveness stays 200.
		for _, h := range a.SourceHealth() {
			line := fmt.Sprintf("source %s %s", h.Source, h.State)
			if h.Reason != "" {
				line += ": " + h.Reason
			}
			_, _ = w.Write([]byte(line + "\n"))
		}
	})
	mux.HandleFunc("GET /readyz", a.health.serveReady(a.bus.Healthy))
	mux.Handle("GET /metrics", promHandler(a.reg))
	write := a.authorizer(config.RoleDeploySystem, config.RoleSREAdmin)
	anyToken := a.authorizer(config.RoleReadOnly, config.RoleDeploySystem, config.RoleSREAdmin)
	rel := releases.NewHandler(store, bus.Publisher{JS: a.bus.JS}, releases.Auth{
		Write: write, Known: anyToken, Resume: a.authorizer(config.RoleSREAdmin), Who: a.tokenName,
	}, a.log.With("part", "api"), a.opt.Clock)
	mux.Handle("/v1/releases", rel)
	mux.Handle("/v1/releases/", rel)
	pub := bus.Publisher{JS: a.bus.JS, CheckMetric: rules.Metric}
	mux.Handle("/v1/metrics", a.forbidden(write, push.NewHandler(pub, a.log.With("part", "push"), a.opt.Clock, write)))
	gh := gate.Handler(g, anyToken, a.log.With("part", "gate"))
	mux.Handle("/v1/releases/{id}/gate", gh) // any method: the gate answers 405 to all but GET
	mux.Handle("/v1/flagger/", gh)
	bh := budget.Handler(ledger, budget.Auth{Read: anyToken, Known: anyToken, Admin: a.authorizer(config.RoleSREAdmin), Who: a.tokenName}, a.log.With("part", "budget"))
	mux.Handle("/v1/budgets", bh)
	mux.Handle("/v1/budgets/", bh)
	mux.Handle("/v1/releases/{id}/resume-store", storeresume.Handler(func(ctx context.Context, id string) (deploy.Release, error) {
		r, err := store.Get(ctx, id)
		if errors.Is(err, releases.ErrNotFound) {
			return deploy.Release{}, storeresume.ErrNotFound
		}
		return deploy.Release{ID: r.ID, Service: r.Service, Version: r.Version, Ring: r.Ring}, err
	}, a.resumers, a.rearm, storeresume.Auth{Admin: a.authorizer(config.RoleSREAdmin), Known: anyToken, Who: a.tokenName}, a.log.With("part", "resume-store")))
	dh := delivery.Handler(dead, delivery.Auth{Read: anyToken, Write: write, Known: anyToken}, a.log.With("part", "deliveries"))
	mux.Handle("/v1/deliveries", dh)
	mux.Handle("/v1/deliveries/", dh)
	mux.HandleFunc("GET /v1/openapi.yaml", serveOpenAPI)

	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	if c := a.cfg.HTTP.TLS; c != nil {
		r, err := httptls.New(*c, a.log.With("part", "tls"), httptls.Options{Listener: "http", Metrics: a.tlsMetrics, Every: a.opt.TLSCheckEvery})
		if err != nil {
			_ = ln.Close()
			return err
		}
		ln = tls.NewListener(ln, r.TLSConfig())
	}
	a.ln = ln
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errs <- fmt.Errorf("http: %w", err)
		}
	}()
	a.log.Info("listening", "addr", ln.Addr().String(), "tls", a.cfg.HTTP.TLS != nil)
	return nil
}

// buildInfoGauge is aftershock_build_info{version, goversion} = 1: which
// build answers, for dashboards and alerts across a rolling upgrade.
func buildInfoGauge() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "aftershock_build_info", Help: "Always 1; its labels name the running build."}, []string{"version", "goversion"})
	g.WithLabelValues(buildinfo.Version(), runtime.Version()).Set(1)
	return g
}
