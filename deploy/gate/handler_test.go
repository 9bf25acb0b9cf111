package gate

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
)

func bearer(token string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+token }
}

// serve mounts the gate as the app does: next to the release API on one mux.
func serve(t *testing.T, f *fixture, auth func(*http.Request) bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	rel := releases.Handler(f.store, bus.Publisher{JS: f.b.JS}, auth, quiet(), nil)
	mux.Handle("/v1/releases", rel)
	mux.Handle("/v1/releases/", rel)
	g := Handler(f.gate, auth, quiet())
	mux.Handle("GET /v1/releases/{id}/gate", g)
	mux.Handle("/v1/flagger/", g)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: content type %q", method, url, ct)
	}
	return res.StatusCode, string(b)
}

func TestGateJSON(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f, bearer("s3cret"))
	tests := []struct {
		name, path, token string
		status            int
		want              string
	}{
		{"proceed", "/v1/releases/r-pass/gate?ring=H2", "s3cret", 200, `"decision":"proceed","score":42,"reasons":["verdict pass (score 42.0)","signal reason"],"time":"2026-11-24T09:00:00Z","status":"watching","ok":true}`},
		{"default ring", "/v1/releases/r-halt/gate", "s3cret", 200, `"ring":"H2","decision":"halt"`},
		{"wait has no score", "/v1/releases/r-none/gate?format=json", "s3cret", 200, `"decision":"wait","score":null,"reasons":["no verdict yet for ring H2"],"status":"watching","ok":false}`},
		{"unknown release", "/v1/releases/nope/gate", "s3cret", 404, `"error":"release not found: nope"`},
		{"bad ring", "/v1/releases/r-pass/gate?ring=a.b", "s3cret", 400, `not a valid ring name`},
		{"bad format", "/v1/releases/r-pass/gate?format=xml", "s3cret", 400, `want json or argo`},
		{"no token", "/v1/releases/r-pass/gate", "", 401, `bearer token`},
		{"release API still routed", "/v1/releases/r-pass", "s3cret", 200, `"id": "r-pass"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, "GET", srv.URL+tt.path, tt.token, "")
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("GET %s: %d %s; want %d with %s", tt.path, status, body, tt.status, tt.want)
			}
		})
	}
	if status, _ := do(t, "POST", srv.URL+"/v1/releases/r-pass/gate", "s3cret", ""); status != 405 && status != 404 {
		t.Fatalf("POST to the gate: %d", status)
	}
}

func TestGateArgoAlways200(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f, nil)
	tests := []struct {
		path     string
		ok       bool
		decision string
		reason   string
	}{
		{"/v1/releases/r-pass/gate?ring=H2&format=argo", true, Proceed, "verdict pass (score 42.0); signal reason"},
		{"/v1/releases/r-flag/gate?format=argo", true, Proceed, "feature new-checkout switched off"},
		{"/v1/releases/r-halt/gate?format=argo", false, Halt, "halt"},
		{"/v1/releases/r-marginal/gate?format=argo", false, ReviewRequired, "marginal"},
		{"/v1/releases/r-broke/gate?format=argo", false, ReviewRequired, "team broke has used up its reliability budget"},
		{"/v1/releases/r-none/gate?format=argo", false, Wait, "no verdict yet"},
		{"/v1/releases/nope/gate?format=argo", false, Wait, "release not found: nope"},
		{"/v1/releases/r-pass/gate?ring=a.b&format=argo", false, Wait, "not a valid ring name"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body := do(t, "GET", srv.URL+tt.path, "", "")
			var r ArgoResponse
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if status != 200 || r.Data.OK != tt.ok || r.Data.Decision != tt.decision || !strings.Contains(r.Data.Reason, tt.reason) {
				t.Fatalf("%d %s; want 200 ok=%v %s %q", status, body, tt.ok, tt.decision, tt.reason)
			}
		})
	}
}

func TestFlaggerHooks(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f, bearer("s3cret"))
	payload := func(meta string) string {
		return `{"name":"shop","namespace":"prod","phase":"Progressing","checksum":"85d557f47b","metadata":{` + meta + `}}`
	}
	tests := []struct {
		hook, release string
		status        int
	}{
		// confirm-*: only proceed passes.
		{"confirm-promotion", "r-pass", 200},
		{"confirm-promotion", "r-flag", 200},
		{"confirm-promotion", "r-none", 409},
		{"confirm-promotion", "r-marginal", 409},
		{"confirm-promotion", "r-broke", 409},
		{"confirm-promotion", "r-halt", 412},
		{"confirm-rollout", "r-pass", 200},
		{"confirm-rollout", "r-unconfirmed", 409},
		{"confirm-traffic-increase", "r-halted", 412},
		// pre-rollout and rollout: waiting is not a failed check.
		{"pre-rollout", "r-pass", 200},
		{"pre-rollout", "r-none", 200},
		{"pre-rollout", "r-wait", 200},
		{"pre-rollout", "r-marginal", 409},
		{"pre-rollout", "r-halt", 412},
		{"rollout", "r-unconfirmed", 200},
		{"rollout", "r-broke", 409},
		{"rollout", "r-broke-halt", 412},
		// rollback is inverted: 2xx rolls back.
		{"rollback", "r-halt", 200},
		{"rollback", "r-pass", 409},
		{"rollback", "r-none", 409},
		// informational hooks never fail.
		{"post-rollout", "r-halt", 200},
		{"event", "r-halt", 200},
		// an unknown release stops the rollout hooks
		{"rollout", "nope", 404},
	}
	for _, tt := range tests {
		t.Run(tt.hook+"/"+tt.release, func(t *testing.T) {
			status, body := do(t, "POST", srv.URL+"/v1/flagger/"+tt.hook, "s3cret", payload(`"release":"`+tt.release+`","ring":"H2"`))
			if status != tt.status {
				t.Fatalf("%d %s; want %d", status, body, tt.status)
			}
			if status != 404 && !strings.Contains(body, `"message":"aftershock: `+tt.release+` on H2: `) {
				t.Fatalf("body %s lacks the message", body)
			}
		})
	}
}

func TestFlaggerRequests(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f, bearer("s3cret"))
	tests := []struct {
		name, hook, token, body string
		status                  int
		want                    string
	}{
		{"no token", "rollout", "", `{"name":"shop","namespace":"prod","metadata":{"release":"r-pass"}}`, 401, "bearer token"},
		{"token in metadata", "rollout", "", `{"name":"shop","namespace":"prod","metadata":{"release":"r-halt","token":"s3cret"}}`, 412, `"decision":"halt"`},
		{"wrong token in metadata", "rollout", "", `{"name":"shop","namespace":"prod","metadata":{"release":"r-pass","token":"guess"}}`, 401, "bearer token"},
		{"ring defaults to the release's", "confirm-promotion", "s3cret", `{"name":"shop","namespace":"prod","metadata":{"release":"r-pass"}}`, 200, `"ring":"H2"`},
		{"other ring has no verdict", "confirm-promotion", "s3cret", `{"name":"shop","namespace":"prod","metadata":{"release":"r-pass","ring":"H3"}}`, 409, `no verdict yet for ring H3`},
		// Without metadata.release: the newest unfinished release of the service (all fixtures are "shop").
		{"service fallback", "confirm-promotion", "s3cret", `{"name":"shop","namespace":"prod","metadata":{}}`, -1, `"release":"r-`},
		{"service without releases", "rollout", "s3cret", `{"name":"cart","namespace":"prod"}`, 404, "no unfinished release of service cart"},
		{"bad ring", "rollout", "s3cret", `{"name":"shop","metadata":{"release":"r-pass","ring":"H 2"}}`, 400, "metadata.ring"},
		{"not json", "rollout", "s3cret", `name=shop`, 400, "not a flagger webhook payload"},
		{"unknown hook", "pre-flight", "s3cret", `{}`, 404, `unknown flagger hook`},
		{"huge body", "rollout", "s3cret", `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, "POST", srv.URL+"/v1/flagger/"+tt.hook, tt.token, tt.body)
			if (tt.status != -1 && status != tt.status) || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %s; want %d with %s", status, body, tt.status, tt.want)
			}
		})
	}
	if status, _ := do(t, "GET", srv.URL+"/v1/flagger/rollout", "s3cret", ""); status != 405 {
		t.Fatalf("GET on a hook: %d", status)
	}
}
