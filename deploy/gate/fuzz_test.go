package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	pathpkg "path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy/budget"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/nats-io/nats.go/jetstream"
)

const fuzzToken = "fuzz-token-0123456789"

// fuzzGate is the gate over an embedded broker with a few releases, one
// per decision, built once per fuzzing process.
func fuzzGate(f *testing.F) (http.Handler, *Gate) {
	f.Helper()
	ctx := context.Background()
	b, err := bus.Open(ctx, bus.Config{DataDir: f.TempDir(), Retention: time.Hour, Replicas: 1}, quiet())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(b.Close)
	kv := func(name string) jetstream.KeyValue {
		k, err := b.KV(ctx, name)
		if err != nil {
			f.Fatal(err)
		}
		return k
	}
	now := func() time.Time { return t0 }
	store := releases.NewStore(kv(bus.BucketReleases), quiet(), now)
	tracker := NewTracker(b.JS, kv(bus.BucketVerdicts), quiet())
	ledger, err := budget.NewLedger(kv(bus.BucketBudgets), budget.Config{Teams: map[string]int{"broke": 0}}, quiet(), now)
	if err != nil {
		f.Fatal(err)
	}
	g := New(store, kv(bus.BucketVerdicts), ledger, quiet())
	for _, r := range []struct{ id, team, decision, action string }{
		{"r-pass", "", "pass", "none"},
		{"r-none", "", "", ""},
		{"r-halt", "", "fail", "halt"},
		{"r-marginal", "", "marginal", "none"},
		{"r-broke", "broke", "pass", "none"},
	} {
		if _, _, err := store.Create(ctx, releases.StartRequest{Release: r.id, Service: "shop", Version: "4.2.0", Team: r.team, Ring: "H2"}, t0); err != nil {
			f.Fatal(err)
		}
		if r.decision != "" {
			if _, err := tracker.Record(ctx, verdict(r.id, "H2", r.decision, r.action, 42)); err != nil {
				f.Fatal(err)
			}
		}
	}
	auth := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+fuzzToken }
	mux := http.NewServeMux()
	h := Handler(g, auth, quiet())
	mux.Handle("GET /v1/releases/{id}/gate", h)
	mux.Handle("/v1/flagger/", h)
	return mux, g
}

// serveFuzz runs one request and checks what every answer must be: JSON in
// valid UTF-8, never a server error, and a non-empty error when it fails.
func serveFuzz(t *testing.T, h http.Handler, req *http.Request) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: %d with content type %q: %s", req.Method, req.URL, rec.Code, ct, body)
	}
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, body)
	}
	if !utf8.Valid(body) {
		t.Fatalf("%s %s: answer is not valid UTF-8: %q", req.Method, req.URL, body)
	}
	if !json.Valid(body) {
		t.Fatalf("%s %s: answer is not JSON: %q", req.Method, req.URL, body)
	}
	return rec.Code, body
}

// FuzzFlaggerRequest posts arbitrary Flagger webhook bodies. Nothing passes
// without the token (header or metadata); a body that is not a Flagger
// payload is a 400 that says so; every answer's status is the one
// flaggerStatus gives its decision; and that decision is the one the gate
// itself gives for the same release and ring.
func FuzzFlaggerRequest(f *testing.F) {
	h, g := fuzzGate(f)
	for _, s := range []struct{ hook, authz, body string }{
		{"confirm-promotion", "Bearer " + fuzzToken, `{"name":"shop","namespace":"prod","phase":"Progressing","metadata":{"release":"r-pass","ring":"H2"}}`},
		{"confirm-rollout", "", `{"name":"shop","metadata":{"release":"r-halt","token":"` + fuzzToken + `"}}`},
		{"rollback", "", `{"name":"shop","metadata":{"token":"` + fuzzToken + `"}}`},
		{"pre-rollout", "Bearer nope", `{"name":"shop","metadata":{"token":"` + fuzzToken + `"}}`},
		{"rollout", "Bearer " + fuzzToken, `{"name":"shop","metadata":{"release":"r-none","ring":"a.b"}}`},
		{"event", "Bearer " + fuzzToken, `{"name":"nothing-here"}`},
		{"post-rollout", "Bearer " + fuzzToken, `{"metadata":{"release":"gone"}}`},
		{"confirm-traffic-increase", "Bearer " + fuzzToken, "{\"name\":\"\xff\xfe\",\"metadata\":{\"ring\":\"H\xc3\"}}"},
		{"teleport", "Bearer " + fuzzToken, `{}`},
		{"confirm-promotion", "Bearer " + fuzzToken, `{"metadata":{"release":"r-broke"}}`},
		{"confirm-promotion", "Bearer " + fuzzToken, `not json`},
	} {
		f.Add(s.hook, s.authz, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, hook, authz string, body []byte) {
		path := "/v1/flagger/" + hook
		u, err := url.Parse(path)
		if err != nil || u.Path != path || u.RawQuery != "" || strings.Contains(hook, "/") || pathpkg.Clean(path) != path {
			return // not one path segment
		}
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.URL = u
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		status, out := serveFuzz(t, h, req)
		var q FlaggerRequest
		decodeErr := json.Unmarshal(body, &q)
		if decodeErr == nil && !utf8.Valid(body) {
			// encoding/json would read it, quietly replacing bytes; the
			// handler refuses it (before auth, like any unreadable body).
			decodeErr = errors.New("invalid UTF-8")
		}
		authorised := authz == "Bearer "+fuzzToken || (authz == "" && decodeErr == nil && q.Metadata["token"] == fuzzToken)
		known := true
		switch hook {
		case HookConfirmRollout, HookPreRollout, HookRollout, HookConfirmTrafficIncrease,
			HookConfirmPromotion, HookPostRollout, HookRollback, HookEvent:
		default:
			known = false
		}
		switch {
		case !known:
			if status != http.StatusNotFound {
				t.Fatalf("unknown hook %q: %d %s", hook, status, out)
			}
			return
		case status == http.StatusRequestEntityTooLarge:
			return
		case decodeErr != nil:
			if status != http.StatusBadRequest {
				t.Fatalf("body that is not a payload (%v): %d %s", decodeErr, status, out)
			}
			return
		case !authorised:
			if status != http.StatusUnauthorized {
				t.Fatalf("unauthorised request answered %d %s", status, out)
			}
			return
		case status == http.StatusBadRequest || status == http.StatusNotFound:
			var e ErrorResponse
			if err := json.Unmarshal(out, &e); err != nil || e.Error == "" {
				t.Fatalf("%d without an error: %s", status, out)
			}
			return
		}
		var a FlaggerResponse
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatal(err)
		}
		if a.Hook != hook || a.Message == "" {
			t.Fatalf("answer without hook or message: %s", out)
		}
		if a.Release == "" { // post-rollout and event note what they could not find
			if status != http.StatusOK || (hook != HookPostRollout && hook != HookEvent) {
				t.Fatalf("%s answered %d without a release: %s", hook, status, out)
			}
			return
		}
		if want := flaggerStatus(hook, a.Decision); status != want {
			t.Fatalf("%s with decision %s answered %d, want %d", hook, a.Decision, status, want)
		}
		if a.OK != (a.Decision == Proceed) {
			t.Fatalf("ok %v with decision %s", a.OK, a.Decision)
		}
		direct, err := g.Answer(context.Background(), a.Release, q.Metadata["ring"])
		if err != nil {
			t.Fatalf("flagger answered for %s but the gate cannot: %v", a.Release, err)
		}
		if direct.Decision != a.Decision || direct.Ring != a.Ring {
			t.Fatalf("flagger says %s on %s, gate says %s on %s", a.Decision, a.Ring, direct.Decision, direct.Ring)
		}
	})
}

// FuzzGateQuery asks GET /v1/releases/{id}/gate with arbitrary ids, query
// strings and tokens. Without the token it is 401; with it, format=argo is
// always 200 with a decision; otherwise a 200 answers for the release asked
// about with ok exactly when the decision is proceed, and a 400 names the
// bad ring or format.
func FuzzGateQuery(f *testing.F) {
	h, _ := fuzzGate(f)
	for _, s := range []struct{ id, query string }{
		{"r-pass", "ring=H2"},
		{"r-halt", ""},
		{"r-none", "format=json"},
		{"r-pass", "format=argo&ring=H2"},
		{"nope", "format=argo"},
		{"r-pass", "ring=a.b"},
		{"r-pass", "format=xml"},
		{"r-pass", "ring=H2&ring=H3&format=argo&format=json"},
		{"r-broke", "ring=%ff"},
		{"r-marginal", "ring=H1;format=argo"},
		{"r-pass", "ring=" + strings.Repeat("H", 300)},
	} {
		f.Add(s.id, s.query, true)
	}
	f.Add("r-pass", "ring=H2", false)
	f.Fuzz(func(t *testing.T, id, query string, withToken bool) {
		path := "/v1/releases/" + id + "/gate"
		u, err := url.Parse(path + "?" + query)
		if err != nil || u.Path != path || strings.Contains(id, "/") || pathpkg.Clean(path) != path {
			return // not one path segment
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.URL = u
		if withToken {
			req.Header.Set("Authorization", "Bearer "+fuzzToken)
		}
		status, out := serveFuzz(t, h, req)
		if !withToken {
			if status != http.StatusUnauthorized {
				t.Fatalf("no token: %d %s", status, out)
			}
			return
		}
		q := u.Query()
		format, ring := q.Get("format"), q.Get("ring")
		switch format {
		case "argo":
			var a ArgoResponse
			if status != http.StatusOK || json.Unmarshal(out, &a) != nil || a.Data.Decision == "" {
				t.Fatalf("argo: %d %s", status, out)
			}
			if a.Data.OK != (a.Data.Decision == Proceed) {
				t.Fatalf("argo ok %v with decision %s", a.Data.OK, a.Data.Decision)
			}
			return
		case "", "json":
		default:
			if status != http.StatusBadRequest || !bytes.Contains(out, []byte("format")) {
				t.Fatalf("format %q: %d %s", format, status, out)
			}
			return
		}
		switch status {
		case http.StatusOK:
			var a Answer
			if err := json.Unmarshal(out, &a); err != nil {
				t.Fatal(err)
			}
			if a.Release != id || (ring != "" && a.Ring != ring) || a.OK != (a.Decision == Proceed) {
				t.Fatalf("asked %s on %q, answered %s", id, ring, out)
			}
			if ring != "" && !bus.ValidToken(ring) {
				t.Fatalf("answered for invalid ring %q", ring)
			}
		case http.StatusBadRequest:
			if ring == "" || bus.ValidToken(ring) {
				t.Fatalf("400 for ring %q: %s", ring, out)
			}
		case http.StatusNotFound:
			if !bytes.Contains(out, []byte("not found")) {
				t.Fatalf("404 without saying what: %s", out)
			}
		default:
			t.Fatalf("status %d %s", status, out)
		}
	})
}
