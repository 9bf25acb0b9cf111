package config

import (
	"strings"
	"testing"
)

// Sources whose samples would collide with the error-count pairs stop
// start-up, each named by its field; the sources that feed the pairs pass.
func TestCountSourcesChecked(t *testing.T) {
	base := `nats: {data_dir: /tmp/unused}
http: {insecure_no_auth: true}
services: [{name: shop}]
sources:
  - name: prom
    type: prometheus
    service: shop
    interval: 1m
    options:
      url: http://prometheus:9090
      step: 1m
      queries:
        - {name: requests, query: 'sum by (version, ring) (increase(http_requests_total[1m]))'}
        - {name: errors, query: 'sum by (version, ring) (increase(http_requests_total{code=~"5.."}[1m]))'}
        - {name: %s, query: 'sum by (version, ring) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (version, ring) (rate(http_requests_total[1m]))'}
statsd:
  listen: 127.0.0.1:8125
  ratios: [{name: %s, numerator: http.errors, denominator: http.requests}]
  counts: [{name: errors, counter: http.errors}, {name: %s, counter: http.requests}]
detector:
  error_counts: [{name: errors, errors: errors, requests: requests}, {name: checkout_errors, errors: checkout_5xx, requests: checkout_requests}]
`
	cfg := func(query, ratio, count string) []byte {
		s := base
		for _, v := range []string{query, ratio, count} {
			s = strings.Replace(s, "%s", v, 1)
		}
		return []byte(s)
	}
	if _, err := Parse(cfg("error_rate", "error_rate_statsd", "requests"), env(nil)); err != nil {
		t.Fatalf("sources that feed the pairs refused: %v", err)
	}
	for _, tc := range []struct {
		name                string
		query, ratio, count string
		want                string
	}{
		{"a query named like a pair's signal", "checkout_errors", "r", "requests",
			`sources[0].options.queries[2].name: "checkout_errors" is also the signal of a detector.error_counts pair`},
		{"a StatsD ratio named like a pair's signal", "error_rate", "checkout_errors", "requests",
			`statsd.ratios[0].name: "checkout_errors" is also the signal of a detector.error_counts pair`},
		{"a StatsD count in no pair", "error_rate", "r", "http_requests",
			`statsd.counts[1].name: "http_requests" is in no detector.error_counts pair (samples errors, requests, checkout_5xx, checkout_requests)`},
	} {
		_, err := Parse(cfg(tc.query, tc.ratio, tc.count), env(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
