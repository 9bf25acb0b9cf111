package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/testnet"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/deploy/webhook"
	"github.com/aftershock/aftershock/internal/app"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/internal/ownership"
	"github.com/aftershock/aftershock/signals"
)

const (
	speed        = 30 // simulated seconds per real second
	token        = "cluster-deploy-token-0123456789"
	secret       = "cluster-webhook-secret-0123456789"
	h1At         = 1 * time.Minute
	h2At         = 2 * time.Minute
	h3At         = 3 * time.Minute
	incidentAt   = h3At + 2*time.Minute
	history      = 2 * time.Hour
	leaseTTL     = 10 * time.Second
	chatterEvery = 30 * time.Second
)

// simClock stands at start until run, then runs at speed× real time.
type simClock struct {
	start time.Time
	real0 atomic.Int64 // unix nanos when run, 0 before
}

func (c *simClock) Now() time.Time {
	r := c.real0.Load()
	if r == 0 {
		return c.start
	}
	return c.start.Add(time.Duration(time.Now().UnixNano()-r) * speed)
}

func (c *simClock) run() { c.real0.Store(time.Now().UnixNano()) }

// natsCluster starts three clustered JetStream nodes on loopback and waits
// until an R3 stream can be created.
func natsCluster(t *testing.T) ([]*server.Server, string) {
	t.Helper()
	ports := testnet.FreePorts(t, 6)
	var routes []string
	for i := range 3 {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3+i]))
	}
	var srvs []*server.Server
	var urls []string
	for i := range 3 {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: ports[i],
			JetStream: true, StoreDir: filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i+1)),
			NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "aftershock", Host: "127.0.0.1", Port: ports[3+i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		s, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Shutdown)
		srvs = append(srvs, s)
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	for _, s := range srvs {
		if !s.ReadyForConnections(20 * time.Second) {
			t.Fatal("nats node not ready")
		}
	}
	url := strings.Join(urls, ",")
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(45 * time.Second)
	// A meta leader first (elected within seconds), then an R3 stream.
	for !slices.ContainsFunc(srvs, (*server.Server).JetStreamIsLeader) {
		if time.Now().After(deadline) {
			t.Fatal("JetStream cluster: no meta leader")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe"}, Replicas: 3})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream cluster not ready: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = js.DeleteStream(context.Background(), "PROBE")
	return srvs, url
}

// receiver is the deploy system: it verifies each halt and counts the
// deliveries of every webhook-id.
type receiver struct {
	now   func() time.Time
	mu    sync.Mutex
	count map[string]int
	halts map[string]webhook.Payload
	at    time.Time // first halt, real time
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err := webhook.Verify([]byte(secret), req.Header, body, r.now(), 5*time.Minute); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	id := req.Header.Get(webhook.HeaderID)
	r.count[id]++
	r.halts[id] = p
	if r.at.IsZero() {
		r.at = time.Now()
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) snapshot() (map[string]int, map[string]webhook.Payload, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := map[string]int{}
	h := map[string]webhook.Payload{}
	for k, v := range r.count {
		c[k] = v
		h[k] = r.halts[k]
	}
	return c, h, r.at
}

var services = []string{"shop", "blog", "mail", "maps", "news", "pay"}

var chatter = []string{
	"Ordered new running shoes on the %s app, delivery tomorrow",
	"the %s app has a nice clean look these days",
	"anyone know if the %s app works in Canada?",
	"Love how fast the %s app is 😍",
	"just browsing on %s",
	"the %s app search is a bit slow today",
	"%s customer support was really helpful 👍",
}

// An incident brings many different texts (the detector counts a text
// repeated within the hour once, as one voice of a copy-paste wave): each
// complaint combines a problem, a device, an ending and a count of tries,
// and no text comes back within 3,072 complaints (more than three hours).
var (
	problems = []string{
		"can't log in to the shop app since the 4.2 update",
		"shop app keeps logging me out after the update, login is broken",
		"login not working on the shop app, 'invalid session' every time",
		"@shop your new version won't let me sign in",
		"shop 4.2 login error again",
		"is the shop app down? can't log in at all",
		"the shop update broke login for me",
		"shop app login fails with an error since the update",
	}
	devices = []string{"on my iPhone", "on Android", "on my iPad", "on the Pixel", "on Samsung", "on my work phone"}
	endings = []string{"so angry 😡", "so frustrating", "fix it please", "come on!!!", "third time today", "reinstalled, no luck", "useless", "what happened??"}
)

func complaint(k int) string {
	p, d := k%len(problems), (k/len(problems))%len(devices)
	e := (k / (len(problems) * len(devices))) % len(endings)
	n := 2 + (k/(len(problems)*len(devices)*len(endings)))%8
	return fmt.Sprintf("%s %s, tried %d times, %s", problems[p], devices[d], n, endings[e])
}

// posts are every post with a time in [from, to): chatter about every
// service every 30 s, distinct login complaints about shop every 4 s from the incident.
func posts(t0, from, to time.Time) []signals.Post {
	var out []signals.Post
	first := t0.Add(-history)
	for k := max(0, int(from.Sub(first)/(chatterEvery))); ; k++ {
		at := first.Add(time.Duration(k) * chatterEvery)
		if !at.Before(to) {
			break
		}
		if at.Before(from) {
			continue
		}
		for i, s := range services {
			out = append(out, signals.Post{Time: at, Source: "social", ID: fmt.Sprintf("%s-c%d", s, k), Service: s,
				Text: fmt.Sprintf(chatter[(k+i)%len(chatter)], s), Author: fmt.Sprintf("user%d", k%97)})
		}
	}
	inc := t0.Add(incidentAt)
	for k := 0; ; k++ {
		at := inc.Add(time.Duration(k) * 4 * time.Second)
		if !at.Before(to) {
			break
		}
		if at.Before(from) {
			continue
		}
		out = append(out, signals.Post{Time: at, Source: "social", ID: fmt.Sprintf("x%d", k), Service: "shop", Text: complaint(k), Author: fmt.Sprintf("angry%d", k%53)})
	}
	return out
}

func appConfig(t *testing.T, i int, natsURL, recvURL string) *config.Config {
	t.Helper()
	var svc []string
	for _, s := range services {
		svc = append(svc, fmt.Sprintf("{name: %s, team: t-%s}", s, s))
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
http:
  listen: 127.0.0.1:0
  tokens: [{name: deploy, token: %q, role: deploy-system}]
nats: {url: %q, replicas: 3}
cluster: {id: as%d, lease_ttl: %s}
services: [%s]
detector:
  min_baseline: 30m
notifiers:
  - name: deploy-halt
    type: webhook
    webhook: {url: %q, secret: %q, timeout: 2s}
delivery: {base_backoff: 200ms, max_backoff: 2s}
`, token, natsURL, i+1, leaseTTL, strings.Join(svc, ", "), recvURL+"/halt", secret)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitFor polls cond every 50 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestFailoverOnNATSCluster: three NATS nodes (R3 streams and buckets),
// three Aftershock processes sharing six services through leases. While
// ring H3 of shop 4.2.0 is being watched and complaints have begun, the
// process that owns shop and one NATS node are killed. Another process
// must take shop, rebuild its state from the baselines bucket and the
// streams, and the deploy system must receive exactly one halt.
func TestFailoverOnNATSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster failover test: -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	defer cancel()
	began := time.Now()
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour) // simulated start (within the streams' retention)
	clock := &simClock{start: t0}
	srvs, url := natsCluster(t)
	t.Logf("NATS cluster of 3 ready after %s", time.Since(began).Round(time.Millisecond))

	recv := &receiver{now: clock.Now, count: map[string]int{}, halts: map[string]webhook.Payload{}}
	hs := httptest.NewServer(recv)
	defer hs.Close()

	// The test's own connection: publishes the posts and samples (as
	// crawlers and apps would) and watches rollups and verdicts.
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("CLUSTER_VERBOSE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	apps := make([]*app.App, 3)
	for i := range apps {
		a, err := app.New(appConfig(t, i, url, hs.URL), app.Options{Logger: log.With("app", i+1), Clock: clock.Now, Tick: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(ctx); err != nil {
			t.Fatalf("starting app %d: %v", i+1, err)
		}
		apps[i] = a
		t.Logf("app %d up after %s", i+1, time.Since(began).Round(time.Millisecond))
		defer func() {
			if apps[i] != nil {
				apps[i].Stop()
			}
		}()
	}
	pub := bus.Publisher{JS: js}
	// History, then live posts and samples as simulated time passes.
	for _, p := range posts(t0, t0.Add(-history), clock.Now()) {
		p.Type = signals.TypePost
		data, _ := json.Marshal(p)
		if _, err := js.PublishAsync(bus.PostSubject(p.Source), data, jetstream.WithMsgID(p.MsgID())); err != nil {
			t.Fatalf("publishing history: %v", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishing history: not acknowledged in time")
	}
	t.Logf("history published in %s", time.Since(began).Round(time.Millisecond))
	// Every service settles on exactly one owner, spread over the three.
	owner := func(s string) []int {
		var out []int
		for i, a := range apps {
			if a != nil && a.Owns(s) {
				out = append(out, i)
			}
		}
		return out
	}
	ids := []string{"as1", "as2", "as3"}
	waitFor(t, 60*time.Second, "every service owned once, by its preferred process", func() bool {
		for _, s := range services {
			if o := owner(s); len(o) != 1 || ids[o[0]] != ownership.Preferred(s, ids) {
				return false
			}
		}
		return true
	})
	spread := map[int]int{}
	for _, s := range services {
		spread[owner(s)[0]]++
	}
	t.Logf("services per process: %v", spread)

	clock.run()
	liveCtx, stopLive := context.WithCancel(ctx)
	var lost atomic.Int64
	var live sync.WaitGroup
	live.Go(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		sent := clock.Now()
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-liveCtx.Done():
				return
			case <-tk.C:
			}
			now := clock.Now()
			for _, p := range posts(t0, sent, now) {
				if _, err := pub.Post(liveCtx, p); err != nil {
					lost.Add(1) // the test's node may be the one killed
				}
			}
			sent = now
			for _, v := range []string{"", "4.2.0"} {
				_ = pub.Metric(liveCtx, signals.MetricSample{Time: now, Service: "shop", Version: v, Name: "error_rate", Value: 0.01 + 0.002*rng.NormFloat64()})
			}
		}
	})
	defer func() { stopLive(); live.Wait() }()

	// Rollups and verdicts of shop, with their arrival time.
	var mu sync.Mutex
	var rollupsAt []time.Time
	var verdicts []signals.Verdict
	for _, stream := range []string{bus.StreamRollups, bus.StreamVerdicts} {
		c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{strings.ToLower(stream) + ".shop"}})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := c.Consume(func(m jetstream.Msg) {
			mu.Lock()
			defer mu.Unlock()
			if stream == bus.StreamRollups {
				rollupsAt = append(rollupsAt, time.Now())
				return
			}
			var v signals.Verdict
			if json.Unmarshal(m.Data(), &v) == nil {
				verdicts = append(verdicts, v)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Stop()
	}

	shopOwner := owner("shop")[0]
	api := &client.Client{BaseURL: "http://" + apps[(shopOwner+1)%3].Addr(), Token: token}
	sleepUntil := func(d time.Duration) {
		t.Helper()
		wait := t0.Add(d).Sub(clock.Now()) / speed
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	sleepUntil(h1At)
	if _, err := api.Start(ctx, client.Start{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Team: "t-shop", Ring: "H1"}); err != nil {
		t.Fatalf("starting the release: %v", err)
	}
	sleepUntil(h2At)
	if _, err := api.Event(ctx, "shop-4.2.0", signals.EventPromoted, "H2"); err != nil {
		t.Fatal(err)
	}
	sleepUntil(h3At)
	if _, err := api.Event(ctx, "shop-4.2.0", signals.EventPromoted, "H3"); err != nil {
		t.Fatal(err)
	}
	sleepUntil(incidentAt + 30*time.Second)
	if c, _, _ := recv.snapshot(); len(c) != 0 {
		t.Fatalf("a halt arrived before the kill: %v", c)
	}
	mu.Lock()
	before := len(verdicts)
	mu.Unlock()

	// Kill: the NATS node the owner of shop is connected to (another if
	// that is the test's own), and the owner, without a clean stop: its
	// connection goes first, so it neither saves nor gives up its leases.
	if o := owner("shop"); len(o) != 1 || o[0] != shopOwner {
		t.Fatalf("shop is owned by %v before the kill, want only as%d", o, shopOwner+1)
	}
	victim := apps[shopOwner]
	node := 0
	for i, s := range srvs {
		if strings.HasSuffix(victim.Bus().NC.ConnectedUrl(), fmt.Sprintf(":%d", s.Addr().(*net.TCPAddr).Port)) {
			node = i
		}
	}
	killedAt, killedSim := time.Now(), clock.Now()
	victim.Bus().NC.Close()
	srvs[node].Shutdown()
	go victim.Stop()
	apps[shopOwner] = nil
	t.Logf("killed process as%d (owner of shop) and NATS node n%d at simulated T+%s (complaints since T+%s); %d verdicts so far", shopOwner+1, node+1, killedSim.Sub(t0).Round(time.Second), incidentAt, before)

	var newOwner int
	moved := waitFor(t, 30*time.Second, "shop taken over", func() bool {
		o := owner("shop")
		if len(o) == 1 {
			newOwner = o[0]
		}
		return len(o) == 1
	})
	// Every service of the killed process has one live owner again.
	waitFor(t, max(30*time.Second-time.Since(killedAt), 0), "every service owned by one live process within 30s of the kill", func() bool {
		for _, s := range services {
			if len(owner(s)) != 1 {
				return false
			}
		}
		return true
	})
	allMoved := time.Since(killedAt)
	spread = map[int]int{}
	for _, s := range services {
		spread[owner(s)[0]]++
	}
	t.Logf("all services owned again %s after the kill: services per process %v", allMoved.Round(10*time.Millisecond), spread)
	// The judging gap: from the kill to the new owner's first output for
	// shop (a rollup, published by the same detector tick that judges).
	var resumedAt time.Time
	waitFor(t, 45*time.Second, "rollups of shop resume", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, at := range rollupsAt {
			if at.After(killedAt.Add(moved)) {
				resumedAt = at
				return true
			}
		}
		return false
	})
	gap := resumedAt.Sub(killedAt)
	deadline := time.Now().Add(90 * time.Second)
	for c, _, _ := recv.snapshot(); len(c) == 0; c, _, _ = recv.snapshot() {
		if time.Now().After(deadline) {
			mu.Lock()
			var seen []string
			for _, v := range verdicts {
				seen = append(seen, v.Ring+":"+v.Decision+"/"+v.Action)
			}
			var last []string
			if n := len(verdicts); n > 0 {
				last = verdicts[n-1].Reasons
				for _, r := range verdicts[n-1].Signals {
					last = append(last, fmt.Sprintf("%s %s %.1f/%.1f %s", r.Name, r.Outcome, r.Observed, r.Expected, r.Detail))
				}
			}
			mu.Unlock()
			t.Fatalf("no halt delivered within 90s of the rollups resuming; verdicts of shop seen: %v (reasons and signals of the last: %q); shop owned by %v; its detector: %s; live posts not published: %d",
				seen, last, owner("shop"), detectorMetrics(apps[newOwner]), lost.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let retries and any duplicate verdicts play out before counting.
	time.Sleep(3 * time.Second)
	counts, halts, haltAt := recv.snapshot()
	mu.Lock()
	// Verdicts published again by the rebuild are expected (dispatch
	// de-duplicates them); what counts is the deliveries below.
	byDecision := map[string]int{}
	for _, v := range verdicts {
		byDecision[v.Ring+" "+v.Decision+"/"+v.Action]++
	}
	nVerdicts := len(verdicts)
	mu.Unlock()
	t.Logf("shop moved to as%d %s after the kill (lease %s); its rollups resumed after %s; halt delivered %s after the kill",
		newOwner+1, moved.Round(10*time.Millisecond), leaseTTL, gap.Round(10*time.Millisecond), haltAt.Sub(killedAt).Round(10*time.Millisecond))
	t.Logf("judging gap %s; verdicts of shop published %d %v; deliveries by webhook-id %v; whole test %s",
		gap.Round(10*time.Millisecond), nVerdicts, byDecision, counts, time.Since(began).Round(time.Second))
	fmt.Printf("cluster failover: judging gap %s (lease moved in %s), halts delivered %v\n", gap.Round(10*time.Millisecond), moved.Round(10*time.Millisecond), counts)

	if gap > 30*time.Second {
		t.Errorf("judging gap %s, want within 30s", gap)
	}
	if len(counts) != 1 {
		t.Fatalf("%d distinct halts delivered, want exactly 1: %v", len(counts), halts)
	}
	for id, n := range counts {
		h := halts[id]
		if n != 1 {
			t.Errorf("halt %s delivered %d times, want once", id, n)
		}
		if h.Release != "shop-4.2.0" || h.Ring != "H3" || h.Decision != signals.DecisionFail || h.Action != signals.ActionHalt {
			t.Errorf("halt %+v, want shop-4.2.0 H3 fail/halt", h)
		}
	}
}

// detectorMetrics is what a's detector consumed, from its /metrics.
func detectorMetrics(a *app.App) string {
	resp, err := http.Get("http://" + a.Addr() + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "aftershock_detector_") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}
