package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aftershock/aftershock/internal/config"
)

const (
	adminToken = "test-admin-token-0123456789"
	readToken  = "read-only-token-0123456789"
)

func startWith(t *testing.T, yaml string) *App {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a
}

func rolesConfig(dir string) string {
	return `
http:
  listen: 127.0.0.1:0
  tokens:
    - {name: deployer, token: "` + token + `", role: deploy-system}
    - {name: oncall, token: "` + adminToken + `", role: sre-admin}
    - {name: viewer, token: "` + readToken + `", role: read-only}
nats: {data_dir: "` + dir + `"}
services: [{name: shop, team: storefront}]
`
}

// TestInboundValidated: every inbound item is checked against the
// configuration, with a reason per refused item (issue 12, items 2 and 6).
func TestInboundValidated(t *testing.T) {
	a := startWith(t, rolesConfig(t.TempDir()))
	base := "http://" + a.Addr()

	// Pushed metrics: one good sample and one bad per reason.
	body := strings.Join([]string{
		`{"service":"shop","ring":"H2","name":"error_rate","value":0.01}`,
		`{"service":"web","name":"error_rate","value":0.01}`,
		`{"service":"shop","ring":"H9","name":"error_rate","value":0.01}`,
		`{"service":"shop","ring":"h1","name":"error_rate","value":0.01}`,
		`{"service":"shop","ring":"../..","name":"error_rate","value":0.01}`,
		`{"service":"shop","name":"error_rate","value":-0.5}`,
		`{"service":"shop","name":"error_rate","value":0.01,"time":"1970-01-01T00:00:00Z"}`,
		`{"service":"shop","name":"error_rate","value":0.01,"time":"2999-01-01T00:00:00Z"}`,
		`{"service":"shop","name":"error_rate","value":0.01,"colour":"red"}`,
	}, "\n")
	code, out := do(t, "POST", base+"/v1/metrics", token, body)
	var resp struct {
		Accepted int
		Rejected []struct {
			Index int
			Error string
		}
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("metrics: %d %s", code, out)
	}
	wantReasons := []string{"", `service: "web" is not a configured service`, `ring: "H9" is not a configured ring (configured: H1, H2, H3)`, `ring: "h1"`, `ring: "../.."`, "negative", "in the past", "in the future", `unknown field "colour"`}
	if code != 202 || resp.Accepted != 1 || len(resp.Rejected) != len(wantReasons)-1 {
		t.Fatalf("metrics: %d %s, want 202 with 1 accepted and %d rejected", code, out, len(wantReasons)-1)
	}
	for _, r := range resp.Rejected {
		if !strings.Contains(r.Error, wantReasons[r.Index]) {
			t.Errorf("metric %d refused with %q, want %q", r.Index, r.Error, wantReasons[r.Index])
		}
	}

	checks := []struct {
		name, method, path, tok, body string
		want                          int
		contains                      string
	}{
		{"release on unknown ring", "POST", "/v1/releases", token, `{"release":"shop-1","service":"shop","version":"1","ring":"H9"}`, 400, `configured: H1, H2, H3`},
		{"release of unconfigured service", "POST", "/v1/releases", token, `{"release":"web-1","service":"web","version":"1","ring":"H1"}`, 400, `not a configured service`},
		{"release started in 2999", "POST", "/v1/releases", token, `{"release":"shop-1","service":"shop","version":"1","ring":"H1","time":"2999-01-01T00:00:00Z"}`, 400, `in the future`},
		{"release unknown field", "POST", "/v1/releases", token, `{"release":"shop-1","service":"shop","version":"1","colour":"red"}`, 400, `unknown field`},
		{"release read-only", "POST", "/v1/releases", readToken, `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, 403, ""},
		{"metrics read-only", "POST", "/v1/metrics", readToken, `{"service":"shop","name":"error_rate","value":0.01}`, 403, ""},
		{"release", "POST", "/v1/releases", token, `{"release":"shop-1","service":"shop","version":"1","ring":"H1"}`, 201, "watching"},
		{"event on unknown ring", "POST", "/v1/releases/shop-1/events", token, `{"event":"promoted","ring":"H9"}`, 400, "configured: H1, H2, H3"},
		{"gate on unknown ring", "GET", "/v1/releases/shop-1/gate?ring=H9", token, "", 400, "configured: H1, H2, H3"},
		{"gate on lower-case ring", "GET", "/v1/releases/shop-1/gate?ring=h1", token, "", 400, "configured: H1, H2, H3"},
		{"flagger on unknown ring", "POST", "/v1/flagger/confirm-promotion", token, `{"name":"shop","namespace":"x","metadata":{"release":"shop-1","ring":"H9"}}`, 400, "configured: H1, H2, H3"},
		{"halt", "POST", "/v1/releases/shop-1/events", token, `{"event":"halted"}`, 200, "halted"},
		{"resume by deploy-system", "POST", "/v1/releases/shop-1/events", token, `{"event":"started","ring":"H1"}`, 403, "sre-admin"},
		{"resume by sre-admin", "POST", "/v1/releases/shop-1/events", adminToken, `{"event":"started","ring":"H1"}`, 200, `"by": "oncall"`},
		{"budget reset unknown team", "POST", "/v1/budgets/team/nobody/reset", adminToken, `{"to":3}`, 404, "nobody"},
		{"budget reset service team", "POST", "/v1/budgets/team/storefront/reset", adminToken, `{"to":3}`, 200, "reset"},
	}
	for _, c := range checks {
		code, body := do(t, c.method, base+c.path, c.tok, c.body)
		if code != c.want || !strings.Contains(body, c.contains) {
			t.Errorf("%s: %s %s: %d %q, want %d containing %q", c.name, c.method, c.path, code, body, c.want, c.contains)
		}
	}
}

// TestNoInvalidUTF8Echoed: whatever bytes arrive, every answer is valid
// UTF-8 and says what was wrong.
func TestNoInvalidUTF8Echoed(t *testing.T) {
	a := startWith(t, rolesConfig(t.TempDir()))
	base := "http://" + a.Addr()
	bad := "\xff\xfe"
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/flagger/confirm-promotion", `{"name":"shop` + bad + `","metadata":{"release":"x` + bad + `"}}`},
		{"POST", "/v1/flagger/rollout", `{"name":"shop","metadata":{"ring":"` + bad + `"}}`},
		{"POST", "/v1/flagger/" + bad, `{}`},
		{"POST", "/v1/releases", `{"release":"x` + bad + `","service":"shop","version":"1"}`},
		{"POST", "/v1/metrics", `{"service":"shop` + bad + `","name":"error_rate","value":1}`},
		{"GET", "/v1/releases/x" + bad + "/gate", ""},
	} {
		code, body := do(t, c.method, base+strings.ReplaceAll(c.path, bad, "%FF%FE"), token, c.body)
		if !utf8.ValidString(body) || strings.Contains(body, "\ufffd") || code < 400 {
			t.Errorf("%s %s: %d %q: want a 4xx in valid UTF-8 without echoing the bytes", c.method, c.path, code, body)
		}
	}
}
