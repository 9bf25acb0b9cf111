package storeresume_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy/appstore/asctest"
	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/deploy/play/playtest"
	"github.com/aftershock/aftershock/internal/app"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"
)

const (
	deployToken = "deploy-token-0123456789abcdef"
	adminToken  = "sre-admin-token-0123456789abcdef"
)

// TestStoreHaltAndResume runs the daemon with both store notifiers against
// fake App Store Connect and Play servers: a halt verdict pauses the
// phased release and halts the staged rollout once (through dispatch and
// the durable delivery stage, retrying a failed Play commit), a repeated
// halt sends nothing more, and only an sre-admin resume-store starts them
// again.
func TestStoreHaltAndResume(t *testing.T) {
	keyFile, key := asctest.NewKey(t)
	asc := asctest.New(t, &key.PublicKey, asctest.StateActive)
	ascSrv := httptest.NewServer(asc)
	defer ascSrv.Close()

	gp := playtest.New(t, playtest.TrackInProgress)
	gpSrv := httptest.NewServer(gp)
	defer gpSrv.Close()
	sa, saKey := playtest.ServiceAccount(t, gpSrv.URL+"/token")
	gp.Pub = &saKey.PublicKey
	saFile := filepath.Join(t.TempDir(), "play.json")
	if err := os.WriteFile(saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	gp.Fail("POST commit", "500-backend") // the first commit fails; delivery retries

	env := map[string]string{"ASC_KEY": keyFile, "PLAY_SA": saFile}
	cfg, err := config.Parse([]byte(`
http:
  listen: 127.0.0.1:0
  tokens:
    - {name: deployer, token: "`+deployToken+`", role: deploy-system}
    - {name: oncall, token: "`+adminToken+`", role: sre-admin}
nats: {data_dir: "`+t.TempDir()+`"}
services: [{name: shop-ios}, {name: shop-android}]
delivery: {base_backoff: 20ms, max_backoff: 100ms}
notifiers:
  - name: ios-store
    type: appstore-phased
    appstore-phased:
      issuer_id: `+asctest.Issuer+`
      key_id: `+asctest.KeyID+`
      private_key_file: ${ASC_KEY}
      base_url: `+ascSrv.URL+`
      apps: [{service: shop-ios, app_id: "`+asctest.AppID+`"}]
  - name: android-store
    type: play-rollout
    play-rollout:
      service_account_file: ${PLAY_SA}
      endpoint: `+gpSrv.URL+`
      apps: [{service: shop-android, package_name: `+playtest.Package+`}]
`), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if on := cfg.Notifiers[0].On; len(on) != 1 || on[0] != "halt" {
		t.Errorf("store notifiers default to %v, want [halt]", on)
	}
	a, err := app.New(cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	ctx := context.Background()
	deployer := &client.Client{BaseURL: "http://" + a.Addr(), Token: deployToken}
	admin := &client.Client{BaseURL: "http://" + a.Addr(), Token: adminToken}
	for _, svc := range []string{"shop-ios", "shop-android"} {
		if _, err := deployer.Start(ctx, client.Start{Release: svc + "-4.2.0", Service: svc, Version: "4.2.0", Ring: "H2"}); err != nil {
			t.Fatal(err)
		}
	}

	pub := bus.Publisher{JS: a.Bus().JS}
	halt := func(svc string, at ...time.Time) {
		t.Helper()
		when := time.Now()
		if len(at) > 0 {
			when = at[0]
		}
		v := signals.Verdict{Type: signals.TypeVerdict, Time: when, Release: svc + "-4.2.0", Service: svc, Version: "4.2.0",
			Ring: "H2", Score: 31, Decision: signals.DecisionFail, Action: signals.ActionHalt, Reasons: []string{"complaints about login up 12x"}}
		if err := pub.Verdict(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	halt("shop-ios")
	halt("shop-android")
	halt("shop-ios") // a re-computed halt of the same ring goes out once
	waitFor(t, "App Store phased release paused", func() bool { return asc.State() == asctest.StatePaused })
	waitFor(t, "Play release halted", func() bool { return gp.Release("4.2.0")["status"] == "halted" })
	time.Sleep(300 * time.Millisecond) // room for a duplicate to show up
	if n := countCalls(asc.Calls(), "PATCH"); n != 1 {
		t.Errorf("%d PATCH calls to App Store Connect, want 1", n)
	}
	if got := gp.Release("4.2.0"); got["userFraction"] != 0.05 {
		t.Errorf("halted release lost its userFraction: %v", got)
	}

	// Resuming needs an sre-admin token.
	if _, err := deployer.ResumeStore(ctx, "shop-ios-4.2.0", ""); !client.IsStatus(err, http.StatusForbidden) {
		t.Fatalf("resume with a deploy-system token: %v, want 403", err)
	}
	if _, err := admin.ResumeStore(ctx, "shop-ios-9.9", ""); !client.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("resume of an unknown release: %v, want 404", err)
	}
	resumedAfter := time.Now()
	res, err := admin.ResumeStore(ctx, "shop-ios-4.2.0", "")
	if err != nil || len(res.Results) != 1 || res.Results[0].Notifier != "ios-store" {
		t.Fatalf("resume-store shop-ios-4.2.0 = %+v, %v", res, err)
	}
	if asc.State() != asctest.StateActive {
		t.Errorf("phased release %s after resume, want ACTIVE", asc.State())
	}
	if !strings.HasPrefix(res.Rearmed, "ring H2: its next halt is sent again (resume 1); watched again from ") {
		t.Errorf("resume-store re-armed %q", res.Rearmed)
	}
	// The registry records the store pause and the resume; the detector
	// gets both and watches H2 afresh.
	rel, err := admin.Get(ctx, "shop-ios-4.2.0")
	if err != nil {
		t.Fatal(err)
	}
	// The store-phase poller reads the stores at start and then hourly: when
	// its first read comes after the release started, it records the
	// phased release's day as an exposure event (day 3: 5 %), when before,
	// nothing. Either is right; any exposure recorded must be that one.
	var evs []string
	for _, e := range rel.Events {
		if e.Event == signals.EventExposure {
			if e.Ring != "H2" || e.Exposure != 0.05 {
				t.Errorf("exposure event %+v, want H2 at 0.05 (the phased release's day 3)", e)
			}
			continue
		}
		evs = append(evs, e.Event+"/"+e.Ring)
	}
	if rel.Status != "watching" || strings.Join(evs, " ") != "started/H2 halted/H2 started/H2" || len(rel.Resumes) != 1 || rel.Resumes[0].By != "oncall" {
		t.Errorf("registry after resume-store: status %s, events %v, resumes %+v", rel.Status, evs, rel.Resumes)
	}

	// The person decided the incident was over: a halt verdict of the old
	// incident (computed before the resume, redelivered) pauses nothing; a
	// new halt of the same ring pauses the phased release again, once.
	halt("shop-ios", resumedAfter.Add(-time.Second))
	time.Sleep(300 * time.Millisecond)
	if n := countCalls(asc.Calls(), "PATCH"); n != 2 || asc.State() != asctest.StateActive {
		t.Fatalf("after an old halt: %d PATCH calls (want 2: pause, resume), state %s", n, asc.State())
	}
	halt("shop-ios")
	halt("shop-ios")
	waitFor(t, "App Store phased release paused again", func() bool { return asc.State() == asctest.StatePaused })
	time.Sleep(300 * time.Millisecond)
	if n := countCalls(asc.Calls(), "PATCH"); n != 3 {
		t.Errorf("%d PATCH calls after a new halt, want 3 (pause, resume, pause)", n)
	}
	if _, err := admin.ResumeStore(ctx, "shop-ios-4.2.0", ""); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	code := client.RunCLI(ctx, []string{"release", "--server", "http://" + a.Addr(), "--token", adminToken, "resume-store", "shop-android-4.2.0", "--notifier", "android-store"}, &out, &errOut, func(string) string { return "" })
	if code != client.ExitOK || !strings.Contains(out.String(), "halted → inProgress") {
		t.Fatalf("aftershock release resume-store: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if got := gp.Release("4.2.0"); got["status"] != "inProgress" || got["userFraction"] != 0.05 {
		t.Errorf("after resume: %v", got)
	}
}

func countCalls(calls []asctest.Call, method string) int {
	n := 0
	for _, c := range calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDocsMobileConfig loads docs/mobile.md's configuration block with
// real key files, as the daemon would.
func TestDocsMobileConfig(t *testing.T) {
	raw, err := os.ReadFile("../../docs/mobile.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "```yaml\n")
	if start < 0 {
		t.Fatal("docs/mobile.md has no yaml block")
	}
	block := text[start+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	keyFile, _ := asctest.NewKey(t)
	sa, _ := playtest.ServiceAccount(t, "https://oauth2.googleapis.com/token")
	saFile := filepath.Join(t.TempDir(), "play.json")
	if err := os.WriteFile(saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"AFTERSHOCK_DEPLOY_TOKEN": deployToken, "AFTERSHOCK_ADMIN_TOKEN": adminToken,
		"ASC_KEY_FILE": keyFile, "PLAY_SERVICE_ACCOUNT_FILE": saFile,
	}
	cfg, err := config.Parse([]byte(block), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("docs/mobile.md config: %v", err)
	}
	types := map[string]bool{}
	for _, n := range cfg.Notifiers {
		types[n.Type] = true
		if len(n.On) != 1 || n.On[0] != "halt" {
			t.Errorf("%s: on %v, want [halt]", n.Name, n.On)
		}
	}
	if !types["appstore-phased"] || !types["play-rollout"] {
		t.Errorf("docs/mobile.md config lacks a store notifier: %v", types)
	}
}
