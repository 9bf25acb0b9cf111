package prometheus_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/signals"
)

func basicAuth(h http.Header) (user, pass string, ok bool) {
	return (&http.Request{Header: h}).BasicAuth()
}

func clock() time.Time { return now }

// TestPollFixtures replays real-shaped answers of the HTTP API: results,
// no data, and each kind of failure the runner must tell apart.
func TestPollFixtures(t *testing.T) {
	tests := []struct {
		name        string
		file        string
		extra       string // more options
		want        string // want.jsonl; "" = no samples
		wantSkipped int
		wantErr     string // "", "permanent", "rate", "retry"
		errText     string // must appear in the error
	}{
		{name: "vector with baseline, NaN, Inf and malformed points", file: "vector/01.http", want: "vector/want.jsonl", wantSkipped: 4},
		{name: "no data is an empty page", file: "empty/01.http"},
		{name: "several series per cohort keep their other labels as the series name", file: "instances/01.http", want: "instances/want.jsonl"},
		{name: "scalar", file: "scalar/01.http", want: "scalar/want.jsonl"},
		{name: "release label names the cohort's release; Helm's release label stays in the series; an oversized id is skipped", file: "release/01.http", extra: "        release_label: rollout\n", want: "release/want.jsonl", wantSkipped: 1},
		{name: "matrix of a backfill", file: "matrix/01.http", extra: "    backfill: 1m\n", want: "matrix/want.jsonl", wantSkipped: 2},
		{name: "400 bad_data is a bad query", file: "bad-data/01.http", wantErr: "permanent", errText: "query error_rate: prometheus refused the expression (400 bad_data): invalid parameter \"query\": 1:54: parse error"},
		{name: "422 execution is a bad query", file: "execution/01.http", wantErr: "permanent", errText: "query error_rate: prometheus refused the expression (422 execution): found duplicate series"},
		{name: "503 timeout is retried", file: "timeout/01.http", wantErr: "retry", errText: "answered 503 timeout: query timed out"},
		{name: "401 from a gateway", file: "status-401/01.http", wantErr: "permanent", errText: "answered 401 Unauthorized"},
		{name: "429 with Retry-After", file: "rate-limit/01.http", wantErr: "rate", errText: "answered 429"},
		{name: "502 from a proxy is retried", file: "proxy-502/01.http", wantErr: "retry", errText: "answered 502"},
		{name: "an HTML page is not the API", file: "not-api/01.http", wantErr: "permanent", errText: "no Prometheus API envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := crawlertest.ServeSteps(t, tt.file)
			src := newSource(t, oneQuery(srv.URL, tt.extra), clock)
			page, err := src.Poll(context.Background(), "")
			var perm *crawlers.PermanentError
			var rate *crawlers.RateLimitError
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("poll: %v", err)
				}
			case "permanent":
				if !errors.As(err, &perm) {
					t.Fatalf("error %v, want a PermanentError", err)
				}
			case "rate":
				if !errors.As(err, &rate) || rate.RetryAfter != 17*time.Second {
					t.Fatalf("error %v, want a RateLimitError after 17s", err)
				}
			case "retry":
				if err == nil || errors.As(err, &perm) || errors.As(err, &rate) {
					t.Fatalf("error %v, want a plain (retryable) error", err)
				}
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error %q does not say %q", err, tt.errText)
				}
				return
			}
			var want []signals.MetricSample
			if tt.want != "" {
				want = readWant(t, tt.want)
			}
			compareSamples(t, page.Metrics, want)
			if page.Skipped.Total() != tt.wantSkipped {
				t.Errorf("skipped %d, want %d", page.Skipped.Total(), tt.wantSkipped)
			}
			if page.Cursor == "" {
				t.Error("no cursor after a successful poll")
			}
		})
	}
}

// TestPollWindows checks which evaluation each poll asks for: an instant at
// the poll time, a backfill on the first poll, a range over missed polls
// (capped at max_gap), and nothing twice.
func TestPollWindows(t *testing.T) {
	srv := crawlertest.ServeSteps(t, "empty/01.http")
	var at time.Time
	src := newSource(t, oneQuery(srv.URL, "    backfill: 2m\n    step: 30s\n"), func() time.Time { return at })
	unix := func(t time.Time) string { return prometheus.UnixString(t) }

	steps := []struct {
		name  string
		at    time.Time
		path  string
		want  map[string]string
		noReq bool
	}{
		{name: "first poll backfills", at: now, path: "/api/v1/query_range",
			want: map[string]string{"start": unix(now.Add(-2 * time.Minute)), "end": unix(now), "step": "30"}},
		{name: "on schedule: instant", at: now.Add(time.Minute), path: "/api/v1/query",
			want: map[string]string{"time": unix(now.Add(time.Minute))}},
		{name: "a poll late by half an interval: instant", at: now.Add(150 * time.Second), path: "/api/v1/query",
			want: map[string]string{"time": unix(now.Add(150 * time.Second))}},
		{name: "same instant again: no request", at: now.Add(150 * time.Second), noReq: true},
		{name: "missed polls: the gap, after the last evaluation", at: now.Add(5 * time.Minute), path: "/api/v1/query_range",
			want: map[string]string{"start": unix(now.Add(3 * time.Minute)), "end": unix(now.Add(5 * time.Minute)), "step": "30"}},
		{name: "down for a day: max_gap back", at: now.Add(29 * time.Hour), path: "/api/v1/query_range",
			want: map[string]string{"start": unix(now.Add(28 * time.Hour)), "end": unix(now.Add(29 * time.Hour)), "step": "30"}},
	}
	cursor := ""
	for _, st := range steps {
		at = st.at
		before := len(srv.Requests())
		page, err := src.Poll(context.Background(), cursor)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		cursor = page.Cursor
		reqs := srv.Requests()[before:]
		if st.noReq {
			if len(reqs) != 0 {
				t.Errorf("%s: %d requests, want none", st.name, len(reqs))
			}
			continue
		}
		if len(reqs) != 1 {
			t.Fatalf("%s: %d requests, want 1", st.name, len(reqs))
		}
		r := reqs[0]
		if r.Method != "POST" || r.Path != st.path {
			t.Errorf("%s: %s %s, want POST %s", st.name, r.Method, r.Path, st.path)
		}
		for k, v := range st.want {
			if got := r.Form.Get(k); got != v {
				t.Errorf("%s: %s=%q, want %q", st.name, k, got, v)
			}
		}
		if !strings.HasPrefix(r.Form.Get("query"), "sum by (version, ring)") || r.Form.Get("timeout") != "1.800" {
			t.Errorf("%s: query %q timeout %q", st.name, r.Form.Get("query"), r.Form.Get("timeout"))
		}
	}
}

// TestPartialRefusal: a bad query is left out while the others count; only
// when every query is refused does the poll fail, naming them.
func TestPartialRefusal(t *testing.T) {
	opts := func(url string) string {
		return `    url: "` + url + `"
    queries:
      - {name: http_5xx, query: "sum by (version, ring) (rate(http_requests_total{code=~\"5..\"}[5m]"}
      - {name: error_rate, query: "x", baseline_versions: ["4.1.9"]}
`
	}
	srv := crawlertest.ServeSteps(t, "bad-data/01.http", "vector/01.http")
	page, err := newSource(t, opts(srv.URL), clock).Poll(context.Background(), "")
	if err != nil {
		t.Fatalf("poll with one good query: %v", err)
	}
	compareSamples(t, page.Metrics, readWant(t, "vector/want.jsonl"))
	if page.Cursor == "" {
		t.Error("no cursor")
	}

	srv = crawlertest.ServeSteps(t, "bad-data/01.http", "execution/01.http")
	_, err = newSource(t, opts(srv.URL), clock).Poll(context.Background(), "")
	var perm *crawlers.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "query http_5xx") || !strings.Contains(err.Error(), "query error_rate") {
		t.Fatalf("error %v, want a PermanentError naming both queries", err)
	}

	// A retryable failure of any query fails the poll: nothing is returned
	// that a retry would repeat.
	srv = crawlertest.ServeSteps(t, "vector/01.http", "timeout/01.http")
	if page, err := newSource(t, opts(srv.URL), clock).Poll(context.Background(), ""); err == nil {
		t.Fatalf("poll with a timed-out query: page %+v, want an error", page)
	}
}

// TestSecrets: headers are sent but never appear in errors, nor does a
// password in the URL.
func TestSecrets(t *testing.T) {
	srv := crawlertest.ServeSteps(t, "proxy-502/01.http")
	u := strings.Replace(srv.URL, "http://", "http://reader:hunter2@", 1)
	src := newSource(t, oneQuery(u, "    headers: {X-Api-Key: s3cr3t-token, X-Scope-OrgID: shop}\n"), clock)
	_, err := src.Poll(context.Background(), "")
	if err == nil {
		t.Fatal("want an error from a 502")
	}
	for _, secret := range []string{"hunter2", "s3cr3t-token"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q reveals a secret", err)
		}
	}
	r := srv.Requests()[0]
	if r.Header.Get("X-Api-Key") != "s3cr3t-token" || r.Header.Get("X-Scope-OrgID") != "shop" {
		t.Errorf("headers %v, want the configured ones", r.Header)
	}
	if user, pass, ok := basicAuth(r.Header); !ok || user != "reader" || pass != "hunter2" {
		t.Errorf("basic auth %q %q, want the URL's user info", user, pass)
	}

	// A dead endpoint: the error names it without the password.
	srv.Close()
	_, err = src.Poll(context.Background(), "")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "/api/v1/query") {
		t.Errorf("error %v, want one naming the endpoint without the password", err)
	}
}

// TestOptions checks defaults and that each bad option is named by its path.
func TestOptions(t *testing.T) {
	good := prometheus.Options{URL: "http://prom:9090", Queries: []prometheus.Query{{Name: "error_rate", Query: "x"}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	q := good.Queries[0]
	if good.Step != 30*time.Second || good.MaxGap != time.Hour || good.Backfill != 0 || q.VersionLabel != "version" || q.RingLabel != "ring" {
		t.Errorf("defaults not applied: %+v", good)
	}

	tests := []struct {
		name string
		opts prometheus.Options
		want string
	}{
		{"no url", prometheus.Options{Queries: good.Queries}, "options.url: required"},
		{"ftp url", prometheus.Options{URL: "ftp://prom", Queries: good.Queries}, "options.url: must be an http(s) URL"},
		{"no queries", prometheus.Options{URL: "http://prom"}, "options.queries: at least one query required"},
		{"query without name", prometheus.Options{URL: "http://prom", Queries: []prometheus.Query{{Query: "x"}}}, "options.queries[0].name: required"},
		{"query without expression", prometheus.Options{URL: "http://prom", Queries: []prometheus.Query{{Name: "a"}}}, "options.queries[0].query: required"},
		{"same name twice", prometheus.Options{URL: "http://prom", Queries: []prometheus.Query{{Name: "a", Query: "x"}, {Name: "a", Query: "y"}}}, `options.queries[1].name: "a" is already used by options.queries[0]`},
		{"same labels", prometheus.Options{URL: "http://prom", Queries: []prometheus.Query{{Name: "a", Query: "x", VersionLabel: "v", RingLabel: "v"}}}, "options.queries[0].ring_label"},
		{"release label is the version label", prometheus.Options{URL: "http://prom", Queries: []prometheus.Query{{Name: "a", Query: "x", ReleaseLabel: "version"}}}, "options.queries[0].release_label"},
		{"tiny step", prometheus.Options{URL: "http://prom", Queries: good.Queries, Step: time.Millisecond}, "options.step: 1ms is shorter than 1s"},
		{"backfill over 11000 points", prometheus.Options{URL: "http://prom", Queries: good.Queries, Backfill: 7 * 24 * time.Hour}, "options.backfill: 168h0m0s is 20161 steps"},
		{"negative backfill", prometheus.Options{URL: "http://prom", Queries: good.Queries, Backfill: -time.Minute}, "options.backfill: -1m0s is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}

	// Unknown options are refused through the spec.
	spec := crawlertest.Spec(t, "name: p\ntype: prometheus\nservice: shop\noptions:\n  url: http://prom\n  querys: []\n")
	if _, err := prometheus.New(spec, crawlers.Deps{}); err == nil || !strings.Contains(err.Error(), "options.querys: unknown option") {
		t.Errorf("error %v, want options.querys: unknown option", err)
	}
}
