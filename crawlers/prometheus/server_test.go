package prometheus_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' clock: the time of the fixtures' newest points.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

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
