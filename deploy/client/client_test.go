package client

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
)

const token = "s3cret"

// newServer runs the real release API over an embedded NATS.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), Retention: time.Hour, Replicas: 1}, log)
	if err != nil {
		t.Fatalf("bus.Open: %v", err)
	}
	kv, err := b.KV(ctx, bus.BucketReleases)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	store := releases.NewStore(kv, log, now)
	srv := httptest.NewServer(releases.Handler(store, bus.Publisher{JS: b.JS}, releases.BearerAuth(token), log, now))
	t.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	return srv
}

func TestClient(t *testing.T) {
	srv := newServer(t)
	ctx := context.Background()
	c := &Client{BaseURL: srv.URL + "/", Token: token, HTTP: srv.Client()}

	start := Start{Release: "shop-4.2.0", Service: "shop", Version: "4.2.0", Team: "payments", Authors: []string{"kim"}, Ring: "H1"}
	for i := range 2 { // the retry answers with the same release
		r, err := c.Start(ctx, start)
		if err != nil {
			t.Fatalf("Start %d: %v", i, err)
		}
		if r.ID != "shop-4.2.0" || r.Status != releases.StatusWatching || r.Ring != "H1" || len(r.Events) != 1 {
			t.Fatalf("Start %d: %+v", i, r)
		}
	}
	r, err := c.Event(ctx, "shop-4.2.0", "promoted", "H2")
	if err != nil || r.Status != releases.StatusPromoted || r.Ring != "H2" {
		t.Fatalf("Event promoted: %+v, %v", r, err)
	}
	if r, err = c.Get(ctx, "shop-4.2.0"); err != nil || r.Ring != "H2" || r.Team != "payments" {
		t.Fatalf("Get: %+v, %v", r, err)
	}
	if _, err := c.Start(ctx, Start{Release: "api-1", Service: "api", Version: "1"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, releases.Filter{Service: "shop"}, 10)
	if err != nil || len(list) != 1 || list[0].ID != "shop-4.2.0" {
		t.Fatalf("List shop: %+v, %v", list, err)
	}
	if list, err = c.List(ctx, releases.Filter{}, 0); err != nil || len(list) != 2 {
		t.Fatalf("List all: %d, %v", len(list), err)
	}

	tests := []struct {
		name    string
		call    func() error
		status  int
		message string
	}{
		{"unknown release", func() error { _, err := c.Event(ctx, "nope-1", "halted", ""); return err }, 404, "release not found"},
		{"bad transition", func() error { _, err := c.Event(ctx, "shop-4.2.0", "promoted", "H2"); return err }, 200, ""},
		{"promote back", func() error {
			if _, err := c.Event(ctx, "shop-4.2.0", "halted", ""); err != nil {
				return err
			}
			_, err := c.Event(ctx, "shop-4.2.0", "promoted", "H2")
			return err
		}, 409, "already on ring H2"},
		{"validation", func() error { _, err := c.Start(ctx, Start{Release: "x", Service: "shop"}); return err }, 400, "version: required"},
		{"bad token", func() error {
			bad := *c
			bad.Token = "nope"
			_, err := bad.Event(ctx, "shop-4.2.0", "halted", "")
			return err
		}, 401, "bearer token"},
		{"id with a slash is escaped", func() error { _, err := c.Get(ctx, "a/b"); return err }, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.status == 200 {
				if err != nil {
					t.Fatalf("want success (duplicate), got %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("err = %v, want *Error %d containing %q", err, tt.status, tt.message)
			}
			if !IsStatus(err, tt.status) {
				t.Errorf("IsStatus(%v, %d) = false", err, tt.status)
			}
		})
	}
}

func TestClientNonAPIErrors(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer proxy.Close()
	c := &Client{BaseURL: proxy.URL}
	_, err := c.Get(context.Background(), "shop-1")
	var e *Error
	if !errors.As(err, &e) || e.Status != 502 || !strings.Contains(e.Message, "bad gateway") {
		t.Fatalf("err = %v, want a 502 *Error with the body", err)
	}

	dead := &Client{BaseURL: "http://127.0.0.1:1", HTTP: &http.Client{Timeout: time.Second}}
	if _, err := dead.Get(context.Background(), "shop-1"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("dead server: %v, want an error naming the URL", err)
	}
}

func TestRunCLI(t *testing.T) {
	srv := newServer(t)
	env := func(k string) string {
		return map[string]string{"AFTERSHOCK_SERVER": srv.URL, "AFTERSHOCK_TOKEN": token}[k]
	}
	tests := []struct {
		name       string
		args       []string
		env        func(string) string
		code       int
		wantStatus string // status of the printed release
		wantOut    string // substring of stdout
		wantErr    string // substring of stderr
	}{
		{name: "start", args: []string{"release", "start", "--service", "shop", "--version", "4.2.0", "--ring", "H1", "--team", "payments", "--author", "kim", "--author", "lee,max", "--time", "2026-11-24T09:30:00Z"},
			env: env, wantStatus: "watching", wantOut: `"max"`},
		{name: "start retry", args: []string{"start", "--service", "shop", "--version", "4.2.0", "--ring", "H1", "--team", "payments", "--author", "kim,lee,max"},
			env: env, wantStatus: "watching"},
		{name: "promote with flag after id", args: []string{"promote", "shop-4.2.0", "--ring", "H2"}, env: env, wantStatus: "promoted", wantOut: `"ring": "H2"`},
		{name: "exposure", args: []string{"exposure", "shop-4.2.0", "--share", "0.05"}, env: env, wantStatus: "promoted", wantOut: `"exposure": 0.05`},
		{name: "exposure of another ring", args: []string{"exposure", "shop-4.2.0", "--ring", "H3", "--share", "0.5"}, env: env, code: 1, wantErr: "exposure only applies to its current ring H2 (see docs/lifecycle.md) (HTTP 409)"},
		{name: "exposure without share", args: []string{"exposure", "shop-4.2.0"}, env: env, code: 2, wantErr: "--share must be in (0, 1]"},
		{name: "get", args: []string{"get", "shop-4.2.0"}, env: env, wantStatus: "promoted"},
		{name: "halt", args: []string{"halt", "shop-4.2.0"}, env: env, wantStatus: "halted"},
		{name: "fix forward", args: []string{"fix-forward", "shop-4.2.0"}, env: env, wantStatus: "fixed_forward"},
		{name: "complete after fix forward", args: []string{"complete", "shop-4.2.0"}, env: env, code: 1, wantErr: "accepts no more events (HTTP 409)"},
		{name: "start other", args: []string{"start", "--service", "api", "--version", "1.0", "--id", "api-1.0-rc1"}, env: env, wantStatus: "pending"},
		{name: "list", args: []string{"list", "--service", "shop"}, env: env, wantOut: `"id": "shop-4.2.0"`},
		{name: "list empty", args: []string{"list", "--service", "web"}, env: env, wantOut: "[]"},
		{name: "server flag wins", args: []string{"--server", srv.URL, "get", "api-1.0-rc1"}, env: func(string) string { return "" }, wantStatus: "pending"},
		{name: "unknown release", args: []string{"halt", "nope"}, env: env, code: 1, wantErr: "release not found: nope (HTTP 404)"},
		{name: "missing token", args: []string{"halt", "api-1.0-rc1"}, env: func(k string) string {
			if k == "AFTERSHOCK_SERVER" {
				return srv.URL
			}
			return ""
		}, code: 1, wantErr: "HTTP 401"},
		{name: "server without scheme", args: []string{"--server", strings.TrimPrefix(srv.URL, "http://"), "get", "api-1.0-rc1"}, env: func(string) string { return "" }, wantStatus: "pending"},
		{name: "token flag", args: []string{"rollback", "api-1.0-rc1", "--token", token, "--server", srv.URL}, env: func(string) string { return "" }, wantStatus: "rolled_back"},
		{name: "no command", args: nil, env: env, code: 2, wantErr: "missing command"},
		{name: "unknown command", args: []string{"explode"}, env: env, code: 2, wantErr: `unknown command "explode"`},
		{name: "promote without ring", args: []string{"promote", "shop-4.2.0"}, env: env, code: 2, wantErr: "--ring is required"},
		{name: "get without id", args: []string{"get"}, env: env, code: 2, wantErr: "exactly one release id"},
		{name: "start without version", args: []string{"start", "--service", "shop"}, env: env, code: 2, wantErr: "--version are required"},
		{name: "start bad time", args: []string{"start", "--service", "shop", "--version", "1", "--time", "noon"}, env: env, code: 2, wantErr: "RFC 3339"},
		{name: "unknown flag", args: []string{"list", "--colour", "red"}, env: env, code: 2, wantErr: "colour"},
		{name: "stray argument", args: []string{"list", "shop"}, env: env, code: 2, wantErr: `unexpected argument "shop"`},
		{name: "help", args: []string{"-h"}, env: env, wantOut: "usage: aftershock release"},
		{name: "dead server", args: []string{"get", "x"}, env: func(k string) string {
			return map[string]string{"AFTERSHOCK_SERVER": "http://127.0.0.1:1"}[k]
		}, code: 1, wantErr: "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := RunCLI(context.Background(), tt.args, &stdout, &stderr, tt.env)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("stdout %q, stderr %q; want %q and %q", stdout.String(), stderr.String(), tt.wantOut, tt.wantErr)
			}
			if tt.wantStatus != "" {
				var r releases.Release
				if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
					t.Fatalf("stdout is not a release: %v\n%s", err, stdout.String())
				}
				if r.Status != tt.wantStatus {
					t.Errorf("status %q, want %q", r.Status, tt.wantStatus)
				}
			}
			if tt.code != 0 && stdout.Len() > 0 {
				t.Errorf("stdout on failure: %s", stdout.String())
			}
		})
	}
}

// TestRunCLIWithCA: an https server whose certificate a private CA signed
// is reached with --ca (or AFTERSHOCK_CA) and refused without it.
func TestRunCLIWithCA(t *testing.T) {
	plain := newServer(t)
	srv := httptest.NewTLSServer(plain.Config.Handler)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := []string{"start", "--service", "shop", "--version", "4.2.0", "--ring", "H1"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		wantErr string
	}{
		{name: "ca flag", args: append([]string{"--ca", ca}, start...), env: map[string]string{"AFTERSHOCK_TOKEN": token}},
		{name: "ca env", args: []string{"get", "shop-4.2.0"}, env: map[string]string{"AFTERSHOCK_TOKEN": token, "AFTERSHOCK_CA": ca}},
		{name: "without ca", args: []string{"get", "shop-4.2.0"}, env: map[string]string{"AFTERSHOCK_TOKEN": token}, code: 1, wantErr: "certificate"},
		{name: "missing ca file", args: []string{"get", "shop-4.2.0", "--ca", filepath.Join(dir, "nope.pem")}, env: map[string]string{}, code: 1, wantErr: "reading the CA file"},
		{name: "not pem", args: []string{"get", "shop-4.2.0", "--ca", notPEM}, env: map[string]string{}, code: 1, wantErr: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["AFTERSHOCK_SERVER"] = srv.URL
			var stdout, stderr bytes.Buffer
			code := RunCLI(context.Background(), tt.args, &stdout, &stderr, func(k string) string { return tt.env[k] })
			if code != tt.code || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.wantErr)
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := RunDeliveriesCLI(context.Background(), []string{"list", "--ca", ca}, &stdout, &stderr, func(k string) string {
		return map[string]string{"AFTERSHOCK_SERVER": srv.URL, "AFTERSHOCK_TOKEN": token}[k]
	}); code == ExitUsage || strings.Contains(stderr.String(), "certificate") {
		t.Errorf("deliveries with --ca: exit %d, stderr %q", code, stderr.String())
	}
}
