package releases

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	pathpkg "path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/internal/bus"
)

// fuzzAPI is the real release API over an embedded broker, built once per
// fuzzing process.
func fuzzAPI(f *testing.F) http.Handler {
	f.Helper()
	b, err := bus.Open(context.Background(), bus.Config{DataDir: f.TempDir(), Retention: time.Hour, Replicas: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatalf("bus.Open: %v", err)
	}
	f.Cleanup(b.Close)
	kv, err := b.KV(context.Background(), bus.BucketReleases)
	if err != nil {
		f.Fatal(err)
	}
	now := func() time.Time { return t0 }
	store := NewStore(kv, slog.New(slog.DiscardHandler), now)
	return Handler(store, bus.Publisher{JS: b.JS}, nil, slog.New(slog.DiscardHandler), now)
}

// call runs one request and checks what every answer must be: JSON, with
// a non-empty, valid UTF-8 error on failure, and never a server error.
func call(t testing.TB, h http.Handler, method, path string, body []byte) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e ErrorResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || strings.TrimSpace(e.Error) == "" {
			t.Fatalf("%s %s: %d with an unclear error body %q (%v)", method, path, rec.Code, rec.Body, err)
		}
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: error body is not valid UTF-8: %q", method, path, rec.Body)
		}
	}
	return rec.Code, rec.Body.Bytes()
}

// FuzzStartRequest posts arbitrary bodies to POST /v1/releases. Every
// answer is 200, 201, 400, 409 or 413; a release is created only from a
// body that decodes to a valid StartRequest, and it is then stored exactly
// as asked (GET returns the same release).
func FuzzStartRequest(f *testing.F) {
	h := fuzzAPI(f)
	for _, s := range []string{
		`{"release":"shop-4.2.0","service":"shop","version":"4.2.0","team":"checkout","authors":["alice"],"features":["new-checkout"],"ring":"H1"}`,
		`{"release":"shop-4.2.1","service":"shop","version":"4.2.1"}`,
		`{"release":"shop-4.2.1","service":"shop","version":"4.2.2"}`,
		`{"release":"a..b","service":"shop","version":"1"}`,
		`{"release":"x","service":"s","version":"v 1","ring":"H9","time":"2999-01-01T00:00:00Z"}`,
		`{"release":"x","service":"s","version":"1","time":"yesterday"}`,
		`{"release":"x","service":"s","version":"1"} {}`,
		`{"release":"x","service":"s","version":"1","authors":[1]}`,
		"{\"release\":\"\xff\"}",
		`[]`, ``, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, out := call(t, h, "POST", "/v1/releases", body)
		switch status {
		case http.StatusOK, http.StatusCreated:
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			return
		default:
			t.Fatalf("POST /v1/releases %q: status %d", body, status)
		}
		var q StartRequest
		if err := json.Unmarshal(body, &q); err != nil {
			t.Fatalf("accepted a body that is not a request (%v): %q", err, body)
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("accepted an invalid request (%v): %q", err, body)
		}
		var rel Release
		if err := json.Unmarshal(out, &rel); err != nil {
			t.Fatal(err)
		}
		if rel.ID != q.Release || rel.Service != q.Service || rel.Version != q.Version {
			t.Fatalf("asked for %s/%s/%s, got %s/%s/%s", q.Release, q.Service, q.Version, rel.ID, rel.Service, rel.Version)
		}
		if q.Ring != "" && rel.Status == StatusPending {
			t.Fatalf("started on %s but still pending", q.Ring)
		}
		status, got := call(t, h, "GET", "/v1/releases/"+rel.ID, nil)
		if status != http.StatusOK {
			t.Fatalf("GET an accepted release: %d %s", status, got)
		}
		var stored Release
		if err := json.Unmarshal(got, &stored); err != nil {
			t.Fatal(err)
		}
		if !stored.Created.Equal(rel.Created) || stored.ID != rel.ID || stored.Status != rel.Status || stored.Ring != rel.Ring || len(stored.Events) != len(rel.Events) {
			t.Fatalf("stored release differs from the answer:\n%s\n%s", out, got)
		}
	})
}

// FuzzEventRequest posts arbitrary events to one release. Every answer is
// 200, 400, 404, 409 or 413; an event is applied only when the body is a
// valid EventRequest, and the release then ends with that event.
func FuzzEventRequest(f *testing.F) {
	h := fuzzAPI(f)
	if status, out := call(f, h, "POST", "/v1/releases", []byte(`{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`)); status != http.StatusCreated {
		f.Fatalf("creating the release: %d %s", status, out)
	}
	for _, s := range []struct{ id, body string }{
		{"shop-1", `{"event":"promoted","ring":"H2"}`},
		{"shop-1", `{"event":"halted","ring":"H2","time":"2026-11-24T09:30:00Z"}`},
		{"shop-1", `{"event":"started"}`},
		{"shop-1", `{"event":"exploded","ring":"H2"}`},
		{"shop-1", `{"event":"completed","ring":"a.b"}`},
		{"shop-1", `{"event":"rolled_back","time":"1970-01-01T00:00:00Z"}`},
		{"nope", `{"event":"halted"}`},
		{"..", `{"event":"halted"}`},
		{"shop-1", "{\"event\":\"halted\",\"ring\":\"\xc3\"}"},
	} {
		f.Add(s.id, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		if strings.ContainsAny(id, "/?#%") || !utf8.ValidString(id) || id == "" {
			return // not one path segment
		}
		path := "/v1/releases/" + id + "/events"
		if pathpkg.Clean(path) != path {
			return // the mux redirects it
		}
		for _, r := range path {
			if r <= ' ' || r == 0x7f {
				return // not a request line
			}
		}
		status, out := call(t, h, "POST", path, body)
		switch status {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge:
			return
		default:
			t.Fatalf("POST %s %q: status %d %s", path, body, status, out)
		}
		var q EventRequest
		if err := json.Unmarshal(body, &q); err != nil {
			t.Fatalf("accepted a body that is not an event (%v): %q", err, body)
		}
		if err := q.Validate(); err != nil {
			t.Fatalf("accepted an invalid event (%v): %q", err, body)
		}
		if !ValidID(id) {
			t.Fatalf("accepted an event for invalid id %q", id)
		}
		var rel Release
		if err := json.Unmarshal(out, &rel); err != nil {
			t.Fatal(err)
		}
		if len(rel.Events) == 0 {
			t.Fatalf("accepted %q but the release has no events", body)
		}
		found := false
		for _, ev := range rel.Events {
			found = found || (ev.Event == q.Event && (q.Ring == "" || ev.Ring == q.Ring))
		}
		if !found {
			t.Fatalf("accepted %q but no such event is recorded: %+v", body, rel.Events)
		}
	})
}
