// Package demo runs a complete release with an incident on loopback: the
// real daemon on an embedded broker, a stand-in social API that starts
// complaining after ring H3 starts, and a webhook receiver that records the
// halt. Time is simulated (one real second is one minute), so the whole
// story takes well under a minute.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/deploy/gate"
	"github.com/aftershock/aftershock/deploy/webhook"
	"github.com/aftershock/aftershock/internal/app"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"
)

// Simulated timeline, as offsets from the demo's start T0.
const (
	speed       = 60 // simulated seconds per real second
	h1At        = 1 * time.Minute
	h2At        = 3 * time.Minute
	h3At        = 5 * time.Minute
	incidentAt  = h3At + 3*time.Minute
	haltLimit   = 37 * time.Minute // how long after the incident starts the demo waits for the halt
	gateLimit   = 15 * time.Minute // how long H1 may wait for the gate's proceed
	demoToken   = "demo-deploy-token-0123456789"
	demoSecret  = "demo-webhook-secret-0123456789"
	historySpan = 3 * time.Hour
)

// simClock runs simulated time at speed× real time from start.
type simClock struct {
	start time.Time
	real0 time.Time
}

func (c simClock) Now() time.Time { return c.start.Add(time.Since(c.real0) * speed) }

// sleepUntil waits for simulated time t.
func (c simClock) sleepUntil(ctx context.Context, t time.Time) error {
	d := t.Sub(c.Now()) / speed
	if d <= 0 {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// Main runs the demo and returns the exit code: 0 only if the halt arrived.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "also print the daemon's logs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	logOut := io.Discard
	if *verbose {
		logOut = stderr
	}
	res, err := Run(ctx, stdout, slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		fmt.Fprintf(stderr, "demo failed: %v\n", err)
		return 1
	}
	if !res.Halted {
		fmt.Fprintln(stdout, "FAIL: no halt reached the deploy system")
		return 1
	}
	return 0
}

// Result is what the demo observed.
type Result struct {
	Halted     bool
	Halt       webhook.Payload
	Attempts   int
	DetectedIn time.Duration // simulated time from the first complaint to the halt verdict
}

// Run plays the scenario and prints the timeline to out.
func Run(ctx context.Context, out io.Writer, log *slog.Logger) (*Result, error) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	clock := simClock{start: t0, real0: time.Now()}
	tl := &timeline{out: out, t0: t0, now: clock.Now}

	social := &socialAPI{now: clock.Now, historyAt: t0.Add(-historySpan)}
	socialURL, stopSocial, err := serve(social)
	if err != nil {
		return nil, err
	}
	defer stopSocial()
	recv := &receiver{secret: []byte(demoSecret), now: clock.Now, got: make(chan webhook.Payload, 4)}
	recvURL, stopRecv, err := serve(recv)
	if err != nil {
		return nil, err
	}
	defer stopRecv()

	dir, err := os.MkdirTemp("", "aftershock-demo-")
	if err != nil {
		return nil, fmt.Errorf("making data dir: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Parse([]byte(demoConfig(dir, socialURL, recvURL)), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("demo config: %w", err)
	}
	a, err := app.New(cfg, app.Options{Logger: log, Clock: clock.Now, Tick: 200 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting aftershock: %w", err)
	}
	defer a.Stop()
	tl.printf("aftershock up: embedded NATS, API on %s; crawling %s every simulated minute", a.Addr(), socialURL)

	res := &Result{}
	var mu sync.Mutex
	var firstHaltVerdict time.Time
	for _, stream := range []string{bus.StreamReleases, bus.StreamAnomalies, bus.StreamVerdicts} {
		c, err := a.Bus().JS.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return nil, fmt.Errorf("following %s: %w", stream, err)
		}
		cc, err := c.Consume(func(m jetstream.Msg) {
			mu.Lock()
			defer mu.Unlock()
			tl.message(ctx, a.Bus().JS, m.Subject(), m.Data(), &firstHaltVerdict)
		})
		if err != nil {
			return nil, fmt.Errorf("following %s: %w", stream, err)
		}
		defer cc.Stop()
	}

	api := &client.Client{BaseURL: "http://" + a.Addr(), Token: demoToken}
	stopMetrics := pushMetrics(ctx, api.BaseURL, clock)
	defer stopMetrics()

	// The rollout is driven as a gated deploy system drives it: H1 is left
	// for its planned time and then promoted only once the gate answers
	// proceed (a slow start-up or a slow crawl makes it wait, never skip);
	// H2 is promoted after its planned time. The incident starts a fixed
	// time after H3 begins.
	const release = "shop-4.2.0"
	if err := clock.sleepUntil(ctx, t0.Add(h1At)); err != nil {
		return nil, err
	}
	if _, err := api.Start(ctx, client.Start{Release: release, Service: "shop", Version: "4.2.0", Team: "storefront", Authors: []string{"kim"}, Ring: "H1"}); err != nil {
		return nil, fmt.Errorf("calling the release API: %w", err)
	}
	if err := clock.sleepUntil(ctx, clock.Now().Add(h2At-h1At)); err != nil {
		return nil, err
	}
	if err := awaitProceed(ctx, api, clock, release, "H1", gateLimit); err != nil {
		return nil, err
	}
	if _, err := api.Event(ctx, release, signals.EventPromoted, "H2"); err != nil {
		return nil, fmt.Errorf("calling the release API: %w", err)
	}
	if err := clock.sleepUntil(ctx, clock.Now().Add(h3At-h2At)); err != nil {
		return nil, err
	}
	if _, err := api.Event(ctx, release, signals.EventPromoted, "H3"); err != nil {
		return nil, fmt.Errorf("calling the release API: %w", err)
	}
	incident := clock.Now().Add(incidentAt - h3At)
	social.startIncident(incident)
	if err := clock.sleepUntil(ctx, incident); err != nil {
		return nil, err
	}
	tl.printf("(the stand-in network starts carrying login complaints about 4.2 now)")

	wait := time.NewTimer(haltLimit / speed)
	defer wait.Stop()
	select {
	case p := <-recv.got:
		res.Halted, res.Halt = true, p
		res.Attempts = recv.attempts()
		mu.Lock()
		if !firstHaltVerdict.IsZero() {
			res.DetectedIn = firstHaltVerdict.Sub(incident)
		}
		mu.Unlock()
		tl.printf("HALT delivered to the deploy system: release %s ring %s, score %.1f, signature verified (%d attempts, same webhook-id)", p.Release, p.Ring, p.Score, res.Attempts)
		tl.printf("detected %s (simulated) after the first complaint", res.DetectedIn.Round(time.Second))
	case <-wait.C:
		tl.printf("no halt %s after the incident began", haltLimit)
	case err := <-a.Err():
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return res, nil
}

// awaitProceed asks the gate about ring every simulated 15 s until it
// answers proceed, as an Argo Rollouts analysis or a Flagger
// confirm-promotion hook would before the next ring; it gives up after limit.
func awaitProceed(ctx context.Context, api *client.Client, clock simClock, release, ring string, limit time.Duration) error {
	deadline := clock.Now().Add(limit)
	for {
		a, err := api.Gate(ctx, release, ring)
		if err != nil {
			return fmt.Errorf("asking the gate about %s ring %s: %w", release, ring, err)
		}
		if a.Decision == gate.Proceed {
			return nil
		}
		if clock.Now().After(deadline) {
			return fmt.Errorf("the gate never answered proceed for %s ring %s within %s (simulated): last %s, %s", release, ring, limit, a.Decision, strings.Join(a.Reasons, "; "))
		}
		if err := clock.sleepUntil(ctx, clock.Now().Add(15*time.Second)); err != nil {
			return err
		}
	}
}

func demoConfig(dir, socialURL, recvURL string) string {
	return fmt.Sprintf(`
log: {level: info, format: text}
http:
  listen: 127.0.0.1:0
  tokens:
    - {name: demo-deploy, token: %q, role: deploy-system}
nats: {data_dir: %q}
services:
  - name: shop
    team: storefront
sources:
  - name: demo-social
    type: feed
    service: shop
    interval: 1s
    options:
      url: %q
      query: shop
      format: json
      json: {items: posts, id: id, text: text, time: created_at, url: url, author: author}
detector:
  min_baseline: 30m
  # The demo compresses a rollout into minutes: each ring's least watch is
  # one or two simulated minutes instead of 30m/1h/2h.
  rings:
    - {name: H1, exposure: 0.001, window: 1m, internal: true}
    - {name: H2, exposure: 0.01, window: 1m, min_posts: 3}
    - {name: H3, exposure: 1, window: 2m, min_posts: 3}
notifiers:
  - name: deploy-halt
    type: webhook
    webhook: {url: %q, secret: %q, timeout: 2s}
delivery: {base_backoff: 200ms, max_backoff: 2s}
dashboard_url: "http://localhost:3000/d/aftershock-release?var-release={release}"
`, demoToken, dir, socialURL+"/api/search?q={query}", recvURL+"/halt", demoSecret)
}

// pushMetrics reports a healthy error rate for both cohorts through the
// push endpoint, as an app without Prometheus would.
func pushMetrics(ctx context.Context, base string, clock simClock) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(7, 7))
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := clock.Now()
			var lines []string
			for _, v := range []string{"", "4.2.0"} {
				lines = append(lines, fmt.Sprintf(`{"time":%q,"service":"shop","version":%q,"name":"error_rate","value":%.5f}`,
					now.Format(time.RFC3339Nano), v, 0.01+0.002*rng.NormFloat64()))
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/metrics", strings.NewReader(strings.Join(lines, "\n")))
			req.Header.Set("Authorization", "Bearer "+demoToken)
			req.Header.Set("Content-Type", "application/x-ndjson")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// receiver is the deploy system's end of the halt webhook: it verifies the
// signature, answers the first attempt with 503 (to show retries) and
// records the halt.
type receiver struct {
	secret []byte
	now    func() time.Time
	got    chan webhook.Payload
	mu     sync.Mutex
	n      int
	ids    map[string]bool
}

func (r *receiver) attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(r.secret, req.Header, body, r.now(), 5*time.Minute); err != nil {
		http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.n++
	first := r.n == 1
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	id := req.Header.Get(webhook.HeaderID)
	seen := r.ids[id]
	r.mu.Unlock()
	if first {
		http.Error(w, "deploy system busy", http.StatusServiceUnavailable)
		return
	}
	if seen {
		w.WriteHeader(http.StatusOK) // a redelivery: already applied
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.ids[id] = true
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	select {
	case r.got <- p:
	default:
	}
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("demo server", "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
