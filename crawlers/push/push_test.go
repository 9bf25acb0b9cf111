package push_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/push"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

const sample = `{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","version":"4.2.0","ring":"H2","name":"error_rate","value":0.012}`

func TestHandler(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		body      string
		status    int
		accepted  int
		rejected  []int // indexes
		published []signals.MetricSample
	}{
		{
			name: "single", body: sample, status: 202, accepted: 1,
			published: []signals.MetricSample{{Type: "metric", Time: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC), Service: "shop", Version: "4.2.0", Ring: "H2", Name: "error_rate", Value: 0.012}},
		},
		{
			name: "single pretty-printed, no type, no time", body: "{\n  \"service\": \"shop\",\n  \"name\": \"http_5xx\",\n  \"value\": 3\n}\n", status: 202, accepted: 1,
			published: []signals.MetricSample{{Type: "metric", Time: now, Service: "shop", Name: "http_5xx", Value: 3}},
		},
		{
			name: "array", body: `[` + sample + `, {"service":"shop","name":"latency_p99","value":0.25,"time":"2026-11-24T09:31:00Z"}]`, status: 202, accepted: 2,
			published: []signals.MetricSample{
				{Type: "metric", Time: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC), Service: "shop", Version: "4.2.0", Ring: "H2", Name: "error_rate", Value: 0.012},
				{Type: "metric", Time: time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC), Service: "shop", Name: "latency_p99", Value: 0.25},
			},
		},
		{
			name:   "json lines with partial rejects",
			body:   sample + "\n\n" + `{"service":"shop","name":"error_rate"` + "\n" + `{"service":"shop","name":"error_rate","value":0.5,"ring":"H3"}` + "\n" + `{"type":"post","service":"shop","name":"x","value":1}` + "\n",
			status: 202, accepted: 2, rejected: []int{1, 3},
			published: []signals.MetricSample{
				{Type: "metric", Time: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC), Service: "shop", Version: "4.2.0", Ring: "H2", Name: "error_rate", Value: 0.012},
				{Type: "metric", Time: now, Service: "shop", Ring: "H3", Name: "error_rate", Value: 0.5},
			},
		},
		{
			name:   "array with partial rejects",
			body:   `[{"service":"shop","value":1}, {"service":"shop","name":"n"}, {"service":"shop.eu","name":"n","value":1}, {"service":"shop","name":"ok","value":1,"time":"2026-11-24T09:00:00Z"}, 7, {"service":"shop","name":"n","value":"high"}]`,
			status: 202, accepted: 1, rejected: []int{0, 1, 2, 4, 5},
			published: []signals.MetricSample{{Type: "metric", Time: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), Service: "shop", Name: "ok", Value: 1}},
		},
		{name: "invalid UTF-8", body: "{\"service\":\"shop\",\"name\":\"err\xff\",\"value\":1}", status: 400, rejected: []int{0}},
		{name: "nothing valid", body: `[{"name":"x","value":1}]`, status: 400, rejected: []int{0}},
		{name: "malformed array", body: `[{"service":"shop",`, status: 400},
		{name: "malformed object", body: `{"service":"shop",`, status: 400},
		{name: "not json", body: `error_rate 0.5`, status: 400},
		{name: "empty", body: ``, status: 400},
		{name: "oversized", body: `[` + strings.Repeat(sample+",", push.MaxBodyBytes/len(sample)) + sample + `]`, status: 413},
		{name: "wrong method", method: http.MethodGet, status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := crawlertest.StartBus(t)
			h := push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, nil)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, "/v1/metrics", strings.NewReader(tt.body)))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			var resp push.Response
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("answer %q is not JSON: %v", rec.Body, err)
			}
			if resp.Accepted != tt.accepted {
				t.Errorf("accepted %d, want %d", resp.Accepted, tt.accepted)
			}
			var rejected []int
			for _, r := range resp.Rejected {
				rejected = append(rejected, r.Index)
				if r.Error == "" {
					t.Errorf("rejection %d without a reason", r.Index)
				}
			}
			if !reflect.DeepEqual(rejected, tt.rejected) {
				t.Errorf("rejected %v, want %v (%+v)", rejected, tt.rejected, resp.Rejected)
			}
			if tt.status >= 400 && resp.Error == "" {
				t.Errorf("status %d without an error message", tt.status)
			}
			if tt.status == 405 && rec.Header().Get("Allow") != http.MethodPost {
				t.Errorf("405 without Allow: POST")
			}
			if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != len(tt.published) {
				t.Fatalf("METRICS holds %d samples, want %d", n, len(tt.published))
			}
			if len(tt.published) > 0 {
				got := crawlertest.CollectMetrics(t, b.JS, len(tt.published), 5*time.Second)
				for i := range got {
					got[i].Time = got[i].Time.UTC()
				}
				if !reflect.DeepEqual(got, tt.published) {
					t.Errorf("published\n%+v\nwant\n%+v", got, tt.published)
				}
			}
		})
	}
}

func TestRejectionReasons(t *testing.T) {
	b := crawlertest.StartBus(t)
	h := push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, nil)
	rec := httptest.NewRecorder()
	body := `[{"service":"shop","name":"n"}, {"type":"post","service":"shop","name":"n","value":1}, {"service":"a.b","name":"n","value":1}, {"service":"shop","value":1}]`
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader(body)))
	var resp push.Response
	json.Unmarshal(rec.Body.Bytes(), &resp)
	want := []string{`missing "value"`, `type "post", want "metric"`, `service "a.b" must be`, `missing "name"`}
	if len(resp.Rejected) != len(want) {
		t.Fatalf("rejected %+v", resp.Rejected)
	}
	for i, w := range want {
		if !strings.Contains(resp.Rejected[i].Error, w) {
			t.Errorf("rejection %d: %q, want it to say %q", i, resp.Rejected[i].Error, w)
		}
	}
}

func TestAuth(t *testing.T) {
	b := crawlertest.StartBus(t)
	auth := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer s3cret" }
	srv := httptest.NewServer(push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, auth))
	defer srv.Close()
	for _, tc := range []struct {
		header string
		status int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer s3cret", http.StatusAccepted},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/metrics", strings.NewReader(sample))
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("Authorization %q: status %d, want %d", tc.header, resp.StatusCode, tc.status)
		}
		if tc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without a Bearer challenge")
		}
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != 1 {
		t.Errorf("METRICS holds %d, want only the authorized sample", n)
	}
}

func TestPublishFailure(t *testing.T) {
	b := crawlertest.StartBus(t)
	if err := b.JS.DeleteStream(context.Background(), bus.StreamMetrics); err != nil {
		t.Fatal(err)
	}
	h := push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader(sample)))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503 so the client retries", rec.Code)
	}
}

// TestIdempotencyKey: a body posted again with the same Idempotency-Key
// (a retry after a 503 or a lost answer) is stored once; another key or no
// key stores it again; a bad key is refused before anything is published.
func TestIdempotencyKey(t *testing.T) {
	b := crawlertest.StartBus(t)
	h := push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, nil)
	body := `[` + sample + `, {"service":"shop","name":"latency_p99","value":0.25,"time":"2026-11-24T09:31:00Z"}]`
	for i, step := range []struct {
		key    string
		status int
		stored int
	}{
		{"deploy-42", 202, 2},
		{"deploy-42", 202, 2}, // the retry
		{"deploy-43", 202, 4},
		{"", 202, 6},
		{"", 202, 8},
		{"two words", 400, 8},
		{strings.Repeat("k", 201), 400, 8},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader(body))
		if step.key != "" {
			req.Header.Set(push.IdempotencyHeader, step.key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != step.status {
			t.Fatalf("step %d (key %q): status %d, want %d: %s", i, step.key, rec.Code, step.status, rec.Body)
		}
		if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != step.stored {
			t.Fatalf("step %d (key %q): METRICS holds %d, want %d", i, step.key, n, step.stored)
		}
	}
}

// TestCountForm: the JSON push's count form (INTERFACES.md §8) is two
// samples, "requests" and "errors", the detector's default error-count
// pair; "ts" is "time". A count that is no count, errors above requests,
// one half of a pair or a count mixed with a sample's name or value is
// refused by its line; the rest of the body is still accepted.
// testdata/counts.jsonl.
func TestCountForm(t *testing.T) {
	body, err := os.ReadFile("testdata/counts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	b := crawlertest.StartBus(t)
	h := push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, nil)
	req := httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader(string(body)))
	req.Header.Set(push.IdempotencyHeader, "counts-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var resp push.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	wantRejected := map[int]string{
		2: `"errors" 17 exceed "requests" 12`,
		3: `with "name" or "value"`,
		4: `missing "errors" beside "requests"`,
		5: `must be counts: non-negative and finite`,
		7: `both "time" and "ts"`,
	}
	if resp.Accepted != 5 || len(resp.Rejected) != len(wantRejected) {
		t.Fatalf("accepted %d, rejected %+v; want 5 samples and lines %v refused", resp.Accepted, resp.Rejected, wantRejected)
	}
	for _, r := range resp.Rejected {
		if !strings.Contains(r.Error, wantRejected[r.Index]) {
			t.Errorf("line %d: %q, want it to say %q", r.Index, r.Error, wantRejected[r.Index])
		}
	}
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	want := []signals.MetricSample{
		{Type: "metric", Time: at, Service: "checkout", Version: "4.2.0", Ring: "H2", Name: "requests", Value: 1200},
		{Type: "metric", Time: at, Service: "checkout", Version: "4.2.0", Ring: "H2", Name: "errors", Value: 17},
		{Type: "metric", Time: at, Service: "checkout", Name: "requests", Value: 98000},
		{Type: "metric", Time: at, Service: "checkout", Name: "errors", Value: 950},
		{Type: "metric", Time: at, Service: "checkout", Version: "4.2.0", Ring: "H2", Name: "latency_p99", Value: 0.25},
	}
	got := crawlertest.CollectMetrics(t, b.JS, len(want), 5*time.Second)
	for i := range got {
		got[i].Time = got[i].Time.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("published\n%+v\nwant\n%+v", got, want)
	}
	// A retry of the body with the same key stores nothing twice: each
	// sample of a count has its own id.
	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader(string(body)))
	req.Header.Set(push.IdempotencyHeader, "counts-1")
	h.ServeHTTP(rec, req)
	if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != len(want) {
		t.Fatalf("after the retry METRICS holds %d, want %d", n, len(want))
	}
}

// A body mixing both forms with bad count objects: each bad one is refused
// by its index with its reason, every good one is stored, nothing else.
// A count above signals.MaxCount is no count (summed in the detector it
// overflowed the chart to NaN); fractions are counts (increase()
// extrapolates).
func TestCountFormBadObjects(t *testing.T) {
	b := crawlertest.StartBus(t)
	h := push.NewHandler(bus.Publisher{JS: b.JS}, nil, func() time.Time { return now }, nil)
	objects := []string{
		`{"service":"shop","version":"4.2.0","ring":"H2","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}`,
		"{\"service\":\"shop\",\"version\":\"4.2.\xff\",\"requests\":10,\"errors\":1}",
		`{"service":"shop","requests":1e400,"errors":1}`,
		`{"service":"shop","requests":1e300,"errors":1e300}`,
		`{"service":"shop","requests":10,"errors":-1}`,
		`{"service":"shop","requests":"10","errors":1}`,
		`{"service":"shop","requests":10.5,"errors":2.25}`,
		`{"service":"shop","name":"error_rate","value":0.5}`,
		`{"service":"shop","ring":"H2","release":"r123","requests":10,"errors":1}`,
		`{"service":"shop","requests":1e12,"errors":0}`,
	}
	want := map[int]string{
		1: "not valid UTF-8",
		2: "cannot unmarshal number 1e400",
		3: `"requests" 1e+300 and "errors" 1e+300 must be counts: non-negative and finite, at most 1e+12`,
		4: `"errors" -1 must be counts`,
		5: "cannot unmarshal string",
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader("["+strings.Join(objects, ",")+"]")))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var resp push.Response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Rejected) != len(want) {
		t.Fatalf("rejected %+v, want objects %v", resp.Rejected, want)
	}
	for _, r := range resp.Rejected {
		if w, ok := want[r.Index]; !ok || !strings.Contains(r.Error, w) {
			t.Errorf("object %d: %q, want it to say %q", r.Index, r.Error, w)
		}
	}
	// Objects 0, 6, 8 (a release instead of a version) and 9 are two
	// samples each, 7 one.
	if resp.Accepted != 9 {
		t.Fatalf("accepted %d samples, want 9", resp.Accepted)
	}
	got := crawlertest.CollectMetrics(t, b.JS, 9, 5*time.Second)
	var values []float64
	for _, m := range got {
		values = append(values, m.Value)
	}
	if !reflect.DeepEqual(values, []float64{1200, 17, 10.5, 2.25, 0.5, 10, 1, 1e12, 0}) {
		t.Fatalf("stored values %v", values)
	}
	if got[5].Release != "r123" || got[6].Release != "r123" || got[5].Version != "" {
		t.Fatalf("the count naming release r123 was stored as %+v and %+v", got[5], got[6])
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamMetrics); n != 9 {
		t.Fatalf("METRICS holds %d samples, want 9", n)
	}
}

// TestReleaseDecoding: a sample or a count may name its cohort by the
// release id (INTERFACES.md §8), by the version, or by both; push carries
// both as given (the detector resolves the release and refuses a version
// that disagrees with it: detector TestSampleRelease). A release id that is
// not valid UTF-8, too long, has control characters or is no string is
// refused with its reason.
func TestReleaseDecoding(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	counts := func(version, release string) []signals.MetricSample {
		return []signals.MetricSample{
			{Type: "metric", Time: at, Service: "checkout", Version: version, Release: release, Ring: "h2", Name: "requests", Value: 1200},
			{Type: "metric", Time: at, Service: "checkout", Version: version, Release: release, Ring: "h2", Name: "errors", Value: 17},
		}
	}
	tests := []struct {
		name string
		in   string
		want []signals.MetricSample
		err  string
	}{
		{"release only, as INTERFACES.md sketches it",
			`{"service":"checkout","ring":"h2","release":"r123","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}`,
			counts("", "r123"), ""},
		{"version only", `{"service":"checkout","ring":"h2","version":"4.2.0","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}`,
			counts("4.2.0", ""), ""},
		{"both, agreeing or not: the detector judges",
			`{"service":"checkout","ring":"h2","version":"4.2.0","release":"r123","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}`,
			counts("4.2.0", "r123"), ""},
		{"unknown release: push does not know releases",
			`{"service":"checkout","ring":"h2","release":"r-never-started","ts":"2026-11-24T09:30:00Z","requests":1200,"errors":17}`,
			counts("", "r-never-started"), ""},
		{"sample form with a release", `{"service":"checkout","release":"r123","time":"2026-11-24T09:30:00Z","name":"latency_p99","value":0.25}`,
			[]signals.MetricSample{{Type: "metric", Time: at, Service: "checkout", Release: "r123", Name: "latency_p99", Value: 0.25}}, ""},
		{"empty release is none", `{"service":"checkout","release":"","ts":"2026-11-24T09:30:00Z","requests":1,"errors":0}`,
			[]signals.MetricSample{{Type: "metric", Time: at, Service: "checkout", Name: "requests", Value: 1}, {Type: "metric", Time: at, Service: "checkout", Name: "errors", Value: 0}}, ""},
		{"invalid UTF-8", "{\"service\":\"checkout\",\"release\":\"r\xff\",\"requests\":1,\"errors\":0}", nil, "not valid UTF-8"},
		{"oversized release", `{"service":"checkout","release":"` + strings.Repeat("r", signals.MaxReleaseBytes+1) + `","requests":1,"errors":0}`, nil, "release id of 257 bytes, more than 256"},
		{"control character", `{"service":"checkout","release":"r1\t","requests":1,"errors":0}`, nil, "control characters"},
		{"not a string", `{"service":"checkout","release":123,"requests":1,"errors":0}`, nil, "cannot unmarshal number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []signals.MetricSample
			s, err := push.ParseSample(json.RawMessage(tc.in))
			if err == nil {
				got, err = s.Metrics(now)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want it to say %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i].Time = got[i].Time.UTC()
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestReleaseOversizedBody: a body over MaxBodyBytes is refused whole
// (413), release or not.
func TestReleaseOversizedBody(t *testing.T) {
	h := push.NewHandler(bus.Publisher{}, nil, func() time.Time { return now }, nil)
	line := `{"service":"checkout","ring":"h2","release":"r123","requests":1200,"errors":17}` + "\n"
	body := strings.Repeat(line, push.MaxBodyBytes/len(line)+1)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/metrics", strings.NewReader(body)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", rec.Code, rec.Body)
	}
}
