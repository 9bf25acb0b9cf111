package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/internal/app"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"
)

const (
	readToken   = "ro-token-0123456789abcdef"
	deployToken = "deploy-token-0123456789abcdef"
)

// The releases every test sees, by what the gate answers for them on H1
// and H2. "shop-9.9.9" is never registered.
const (
	relProceed = "shop-4.2.0"
	relHalt    = "shop-4.3.0"
	relWait    = "shop-4.4.0"
	relReview  = "shop-4.5.0"
	relUnknown = "shop-9.9.9"
)

// daemon is a running Aftershock with a halt webhook receiver.
type daemon struct {
	app    *app.App
	addr   string
	secret string // Standard Webhooks secret of the halt webhook
	pub    bus.Publisher

	mu       sync.Mutex
	captured []capturedHook
}

type capturedHook struct {
	header http.Header
	body   []byte
}

var (
	shared     *daemon
	sharedErr  error
	sharedOnce sync.Once
)

// TestMain stops the shared daemon after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.app.Stop()
	}
	os.Exit(code)
}

// start returns the shared daemon, started once with the four releases
// registered and their verdicts published.
func start(t *testing.T) *daemon {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newDaemon() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func newDaemon() (*daemon, error) {
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	d := &daemon{secret: "whsec_" + base64.StdEncoding.EncodeToString(key)}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.captured = append(d.captured, capturedHook{header: r.Header.Clone(), body: body})
		d.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	dir, err := os.MkdirTemp("", "aftershock-integration-")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse([]byte(`
http:
  listen: 127.0.0.1:0
  tokens:
    - {name: argo, token: "`+readToken+`", role: read-only}
    - {name: ci, token: "`+deployToken+`", role: deploy-system}
nats: {data_dir: "`+dir+`"}
services: [{name: shop, team: storefront}]
notifiers:
  - name: halt-hook
    type: webhook
    webhook: {url: "`+recv.URL+`/aftershock", secret: "`+d.secret+`"}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	a, err := app.New(cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return nil, err
	}
	if err := a.Start(context.Background()); err != nil {
		return nil, err
	}
	d.app, d.addr, d.pub = a, a.Addr(), bus.Publisher{JS: a.Bus().JS}
	ctx := context.Background()
	c := &client.Client{BaseURL: "http://" + d.addr, Token: deployToken}
	for _, id := range []string{relProceed, relHalt, relWait, relReview} {
		version := strings.TrimPrefix(id, "shop-")
		if _, err := c.Start(ctx, client.Start{Release: id, Service: "shop", Version: version, Team: "storefront", Ring: "H2"}); err != nil {
			return nil, fmt.Errorf("registering %s: %w", id, err)
		}
	}
	for _, ring := range []string{"H1", "H2"} {
		for _, v := range []signals.Verdict{
			verdict(relProceed, ring, 95, signals.DecisionPass, signals.ActionNone, "all 7 signals within baseline"),
			verdict(relHalt, ring, 37.5, signals.DecisionFail, signals.ActionHalt, "complaints about login up 6.1x"),
			verdict(relReview, ring, 78, signals.DecisionMarginal, signals.ActionReviewRequired, "complaints about checkout up 2.2x"),
		} {
			if err := d.publish(ctx, v); err != nil {
				return nil, err
			}
		}
	}
	// The gate reads what the tracker stored: wait until every answer shows.
	want := map[string]string{relProceed: "proceed", relHalt: "halt", relReview: "review_required", relWait: "wait"}
	deadline := time.Now().Add(20 * time.Second)
	for id, decision := range want {
		for _, ring := range []string{"H1", "H2"} {
			for {
				got, err := d.decision(id, ring)
				if err == nil && got == decision {
					break
				}
				if time.Now().After(deadline) {
					return nil, fmt.Errorf("gate for %s on %s: %q (%v), want %s", id, ring, got, err, decision)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	return d, nil
}

var verdictClock = time.Now().UTC().Truncate(time.Second)
var verdictMu sync.Mutex

// verdict builds a verdict as the detector publishes it; each is a little
// newer than the last, so a later one replaces an earlier one in the gate.
func verdict(release, ring string, score float64, decision, action, reason string) signals.Verdict {
	verdictMu.Lock()
	verdictClock = verdictClock.Add(time.Millisecond)
	at := verdictClock
	verdictMu.Unlock()
	return signals.Verdict{
		Type: signals.TypeVerdict, Time: at, Release: release, Service: "shop",
		Version: strings.TrimPrefix(release, "shop-"), Ring: ring, Score: score,
		Decision: decision, Action: action, Reasons: []string{reason}, Team: "storefront",
	}
}

func (d *daemon) publish(ctx context.Context, v signals.Verdict) error {
	if err := d.pub.Verdict(ctx, v); err != nil {
		return fmt.Errorf("publishing verdict for %s: %w", v.Release, err)
	}
	return nil
}

// decision is the plain JSON gate's answer.
func (d *daemon) decision(id, ring string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/v1/releases/"+id+"/gate?ring="+ring, nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var a struct {
		Decision string `json:"decision"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return "", err
	}
	return a.Decision, nil
}

// docBlocks returns the fenced yaml blocks of docs/gate.md that contain
// marker, with the in-cluster address replaced by the daemon's.
func docBlocks(t *testing.T, marker, addr string) []string {
	t.Helper()
	raw, err := os.ReadFile("../docs/gate.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
		if strings.Contains(m[1], marker) {
			out = append(out, strings.ReplaceAll(m[1], "aftershock.aftershock.svc:8080", addr))
		}
	}
	if len(out) == 0 {
		t.Fatalf("docs/gate.md has no yaml block with %q", marker)
	}
	return out
}

func newClient(d *daemon) *client.Client {
	return &client.Client{BaseURL: "http://" + d.addr, Token: deployToken}
}

func startReq(id string) client.Start {
	return client.Start{Release: id, Service: "shop", Version: strings.TrimPrefix(id, "shop-"), Team: "storefront", Ring: "H2"}
}

func waitDecision(t *testing.T, d *daemon, id, ring, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := d.decision(id, ring)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gate for %s on %s: %q (%v), want %s", id, ring, got, err, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
