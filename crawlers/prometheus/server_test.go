package prometheus_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' clock: the time of the fixtures' newest points.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// request is what the fixture server saw of one API call.
type request struct {
	Method string
	Path   string
	Form   url.Values
	Header http.Header
}

// fixtureServer replays recorded responses (testdata/<file>, raw HTTP/1.1
// responses) in order, one per API request, repeating the last.
type fixtureServer struct {
	*httptest.Server
	t *testing.T

	mu    sync.Mutex
	steps []string
	next  int
	reqs  []request
}

func serve(t *testing.T, files ...string) *fixtureServer {
	t.Helper()
	fs := &fixtureServer{t: t, steps: files}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fixtureServer) requests() []request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

func (fs *fixtureServer) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		fs.t.Errorf("parsing form: %v", err)
	}
	fs.mu.Lock()
	fs.reqs = append(fs.reqs, request{Method: r.Method, Path: r.URL.Path, Form: r.PostForm, Header: r.Header.Clone()})
	step := fs.steps[min(fs.next, len(fs.steps)-1)]
	fs.next++
	fs.mu.Unlock()

	raw, err := os.ReadFile(filepath.Join("testdata", step))
	if err != nil {
		fs.t.Errorf("reading fixture: %v", err)
		http.Error(w, err.Error(), 500)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
	if err != nil {
		fs.t.Errorf("parsing fixture %s: %v", step, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// newSource builds a source from YAML options (indented by four spaces,
// under `options:`) and a clock.
func newSource(t *testing.T, options string, clock func() time.Time) *prometheus.Source {
	t.Helper()
	spec := crawlertest.Spec(t, `
name: shop-errors
type: prometheus
service: shop
interval: 1m
timeout: 2s
options:
`+options)
	src, err := prometheus.New(spec, crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

// oneQuery is options with one error_rate query against url.
func oneQuery(url string, extra string) string {
	return fmt.Sprintf(`    url: %q
    queries:
      - name: error_rate
        query: sum by (version, ring) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (version, ring) (rate(http_requests_total[5m]))
        baseline_versions: ["4.1.9"]
%s`, url, extra)
}

func readWant(t *testing.T, path string) []signals.MetricSample {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	var want []signals.MetricSample
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var m signals.MetricSample
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		want = append(want, m)
	}
	return want
}

func compareSamples(t *testing.T, got, want []signals.MetricSample) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Errorf("samples:\ngot  %s\nwant %s", strings.ReplaceAll(string(g), "},{", "},\n     {"), strings.ReplaceAll(string(w), "},{", "},\n     {"))
	}
}
