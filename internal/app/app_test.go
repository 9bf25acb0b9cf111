package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/internal/config"
)

const token = "test-deploy-token-0123456789"

func start(t *testing.T, dir string) *App {
	t.Helper()
	cfg, err := config.Parse([]byte(`
http:
  listen: 127.0.0.1:0
  tokens: [{name: t, token: "`+token+`", role: deploy-system}, {name: r, token: "read-only-token-0123456789", role: read-only}]
nats: {data_dir: "`+dir+`"}
services: [{name: shop}]
`), func(string) (string, bool) { return "", false })
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
	return a
}

func do(t *testing.T, method, url, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeEndpointsAndRestart(t *testing.T) {
	dir := t.TempDir()
	a := start(t, dir)
	base := "http://" + a.Addr()
	waitReady(t, base) // the detector's start-up rebuild has caught up
	checks := []struct {
		name, method, path, tok, body string
		want                          int
		contains                      string
	}{
		{"healthz", "GET", "/healthz", "", "", 200, "ok"},
		{"readyz", "GET", "/readyz", "", "", 200, "ready"},
		{"release without token", "POST", "/v1/releases", "", `{"release":"shop-1.0","service":"shop","version":"1.0","ring":"H1"}`, 401, ""},
		{"release with read-only token", "POST", "/v1/releases", "read-only-token-0123456789", `{"release":"shop-1.0","service":"shop","version":"1.0","ring":"H1"}`, 403, "role"},
		{"release with deploy token", "POST", "/v1/releases", token, `{"release":"shop-1.0","service":"shop","version":"1.0","ring":"H1"}`, 201, `watching`},
		{"metric push", "POST", "/v1/metrics", token, `{"service":"shop","name":"error_rate","value":0.01}`, 202, `accepted`},
		{"metric push without token", "POST", "/v1/metrics", "", `{"service":"shop","name":"error_rate","value":0.01}`, 401, ""},
		{"metrics", "GET", "/metrics", "", "", 200, "aftershock_detector_bad_messages_total"},
		{"build info metric", "GET", "/metrics", "", "", 200, `aftershock_build_info{goversion="go`},
		{"gate with a wrong method", "DELETE", "/v1/releases/shop-1.0/gate", token, "", 405, "use GET"},
		{"resend with a wrong method", "GET", "/v1/deliveries/deploy:halt:x/resend", token, "", 405, "use POST"},
		{"gate with read-only token", "GET", "/v1/releases/shop-1.0/gate?ring=H1", "read-only-token-0123456789", "", 200, `"decision":"wait"`},
		{"gate without token", "GET", "/v1/releases/shop-1.0/gate", "", "", 401, ""},
		{"argo gate", "GET", "/v1/releases/shop-1.0/gate?format=argo", token, "", 200, `"ok":false`},
		{"budgets need a token", "GET", "/v1/budgets", "", "", 401, ""},
		{"budget reset needs sre-admin", "POST", "/v1/budgets/team/storefront/reset", token, `{"to":3}`, 403, ""},
		{"openapi", "GET", "/v1/openapi.yaml", "", "", 200, "openapi: 3"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, c.method, base+c.path, c.tok, c.body)
			if code != c.want || !strings.Contains(body, c.contains) {
				t.Fatalf("%s %s: %d %q, want %d containing %q", c.method, c.path, code, body, c.want, c.contains)
			}
		})
	}
	a.Stop()

	a = start(t, dir) // the release survives a restart
	defer a.Stop()
	code, body := do(t, "GET", "http://"+a.Addr()+"/v1/releases/shop-1.0", "", "")
	if code != 200 || !strings.Contains(body, `"shop-1.0"`) {
		t.Fatalf("after restart: %d %s", code, body)
	}
}

func TestFlagsNotifierConfigured(t *testing.T) {
	cfg, err := config.Parse([]byte(`
http: {listen: 127.0.0.1:0, insecure_no_auth: true}
nats: {data_dir: "`+t.TempDir()+`"}
notifiers:
  - name: flags
    type: flags
    flags:
      dry_run: true
      services:
        shop:
          checkout: {template: unleash, url: "https://unleash.example", token: "secret-token-123", environment: production}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Notifiers[0].On; len(got) != 1 || got[0] != "flag_off" {
		t.Fatalf("flags notifier default events %v, want [flag_off]", got)
	}
	a, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Stop()
}
