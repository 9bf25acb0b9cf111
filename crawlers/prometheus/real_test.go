package prometheus_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/signals"
)

// testApp serves /metrics in the Prometheus text format: a counter
// http_requests_total{code,version,ring} that serveTraffic increments.
type testApp struct {
	mu     sync.Mutex
	counts map[[3]string]int // code, version, ring
}

func (a *testApp) add(code, version, ring string, n int) {
	a.mu.Lock()
	a.counts[[3]string{code, version, ring}] += n
	a.mu.Unlock()
}

func (a *testApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	var lines []string
	for k, n := range a.counts {
		lines = append(lines, fmt.Sprintf("http_requests_total{code=%q,version=%q,ring=%q} %d", k[0], k[1], k[2], n))
	}
	a.mu.Unlock()
	sort.Strings(lines)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n%s\n", strings.Join(lines, "\n"))
}

// serveTraffic simulates traffic until ctx ends: every 10 ms the old
// version (4.1.9, ring h3) serves 20 requests with 1 error in 100, and the
// new version (4.2.0, ring h2) 2 requests with 1 error in 10.
func (a *testApp) serveTraffic(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.add("200", "4.1.9", "h3", 20)
		if i%5 == 0 {
			a.add("500", "4.1.9", "h3", 1)
			a.add("200", "4.1.9", "h3", -1)
		}
		a.add("200", "4.2.0", "h2", 2)
		if i%5 == 0 {
			a.add("503", "4.2.0", "h2", 1)
			a.add("200", "4.2.0", "h2", -1)
		}
	}
}

// startPrometheus runs the prometheus binary scraping target every second,
// with its data in a temporary directory, and returns its base URL.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus not installed (CI must not skip): %v", err)
		}
		t.Skip("prometheus not installed: run `make test` (it installs Debian's prometheus package)")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	err = os.WriteFile(config, []byte(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: ["`+target+`"]
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// A free port can be taken between probing and binding; retry.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		var logs bytes.Buffer
		cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, fmt.Sprint("data", attempt)),
			"--web.listen-address="+addr, "--log.level=warn")
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting prometheus: %v", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
		base := "http://" + addr
		if lastErr = waitReady(base+"/-/ready", done, 15*time.Second); lastErr == nil {
			t.Cleanup(stop)
			return base
		}
		stop()
		lastErr = fmt.Errorf("%w; output:\n%s", lastErr, logs.String())
	}
	t.Fatalf("starting prometheus: %v", lastErr)
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(url string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("prometheus exited")
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s", timeout)
}

// TestRealPrometheus scrapes a test app with a real Prometheus and polls
// the error ratio per version: the new version's is the higher one, the
// old version is the baseline, and a restart backfills the gap.
func TestRealPrometheus(t *testing.T) {
	app := &testApp{counts: make(map[[3]string]int)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go app.serveTraffic(ctx)
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	base := startPrometheus(t, strings.TrimPrefix(appSrv.URL, "http://"))

	spec := crawlertest.Spec(t, `
name: shop-errors
type: prometheus
service: shop
interval: 1s
timeout: 5s
options:
  url: `+base+`
  step: 1s
  queries:
    - name: error_rate
      query: sum by (version, ring) (rate(http_requests_total{code=~"5.."}[10s])) / sum by (version, ring) (rate(http_requests_total[10s]))
      baseline_versions: ["4.1.9"]
`)
	src, err := prometheus.New(spec, crawlers.Deps{})
	if err != nil {
		t.Fatal(err)
	}

	// Rates need two scrapes: poll until both cohorts show up.
	var page crawlers.Page
	deadline := time.Now().Add(20 * time.Second)
	for {
		page, err = src.Poll(ctx, "")
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if len(byCohort(page.Metrics)) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	got := byCohort(page.Metrics)
	old, okOld := got["/h3"]
	canary, okNew := got["4.2.0/h2"]
	if !okOld || !okNew {
		t.Fatalf("samples %+v, want the baseline (h3) and 4.2.0 (h2)", page.Metrics)
	}
	t.Logf("error ratio: new %.4f, baseline %.4f", canary.Value, old.Value)
	if canary.Value < 0.04 || canary.Value > 0.2 {
		t.Errorf("new version's error ratio %.4f, want about 0.1", canary.Value)
	}
	if old.Value < 0.002 || old.Value > 0.03 {
		t.Errorf("baseline error ratio %.4f, want about 0.01", old.Value)
	}
	if canary.Value <= old.Value {
		t.Errorf("new version's error ratio %.4f is not above the baseline's %.4f", canary.Value, old.Value)
	}
	if canary.Service != "shop" || canary.Name != "error_rate" || time.Since(canary.Time) > 10*time.Second {
		t.Errorf("sample %+v, want service shop, name error_rate, a recent time", canary)
	}

	// Aftershock was down for 4 s: the next poll fills the gap with a range
	// query, one point per step and cohort, all after the last evaluation.
	// (Wait first so Prometheus holds rates for the whole gap.)
	time.Sleep(4 * time.Second)
	last := time.Now().Add(-4 * time.Second).UTC().Truncate(time.Millisecond)
	page, err = src.Poll(ctx, fmt.Sprintf(`{"time":%q}`, last.Format(time.RFC3339Nano)))
	if err != nil {
		t.Fatalf("poll after a gap: %v", err)
	}
	per := make(map[string]int)
	for _, m := range page.Metrics {
		per[m.Version+"/"+m.Ring]++
		if !m.Time.After(last) {
			t.Errorf("backfilled sample at %v, not after the last evaluation %v", m.Time, last)
		}
	}
	if per["/h3"] < 3 || per["4.2.0/h2"] < 3 || per["/h3"] > 5 || per["4.2.0/h2"] > 5 {
		t.Errorf("backfill gave %v samples per cohort, want 3-5 (4 s at a 1 s step)", per)
	}
}

// byCohort keys samples by version/ring.
func byCohort(ms []signals.MetricSample) map[string]signals.MetricSample {
	out := make(map[string]signals.MetricSample)
	for _, m := range ms {
		out[m.Version+"/"+m.Ring] = m
	}
	return out
}
