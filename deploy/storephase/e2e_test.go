package storephase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/aftershock/aftershock/deploy/appstore/asctest"
	"github.com/aftershock/aftershock/deploy/client"
	"github.com/aftershock/aftershock/deploy/play/playtest"
	"github.com/aftershock/aftershock/internal/app"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/internal/config"
	"github.com/aftershock/aftershock/signals"

	"net/http/httptest"
)

const token = "deploy-token-0123456789abcdef"

// TestDaemonReportsStorePhases runs the daemon with both store notifiers
// against fake App Store Connect and Play servers: with no one sending
// anything, each watched release's phase becomes an exposure event of its
// ring — in the registry and on releases.<service>, where the detector
// reads it — and moves as the phased release moves on a day and the
// staged rollout's userFraction is raised.
func TestDaemonReportsStorePhases(t *testing.T) {
	a, asc, gp := startStoreDaemon(t, "", "")
	ctx := context.Background()
	c := &client.Client{BaseURL: "http://" + a.Addr(), Token: token}
	for _, svc := range []string{"shop-ios", "shop-android"} {
		if _, err := c.Start(ctx, client.Start{Release: svc + "-4.2.0", Service: svc, Version: "4.2.0", Ring: "H3"}); err != nil {
			t.Fatal(err)
		}
	}
	exposure := func(id string, want float64) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			r, err := c.Get(ctx, id)
			if err == nil && r.Exposure == want && r.Status == "watching" && r.Ring == "H3" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: exposure %g (%v), want %g", id, r.Exposure, err, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	exposure("shop-ios-4.2.0", 0.01)
	exposure("shop-android-4.2.0", 0.05)
	asc.SetDay(2)
	gp.SetProduction(strings.Replace(playtest.TrackInProgress, `"userFraction":0.05`, `"userFraction":0.2`, 1))
	exposure("shop-ios-4.2.0", 0.02)
	exposure("shop-android-4.2.0", 0.2)
	asc.SetDay(6)
	exposure("shop-ios-4.2.0", 0.5)

	// The detector's input: the exposure events on releases.shop-ios, one
	// per change, for the ring.
	s, err := a.Bus().JS.Stream(ctx, bus.StreamReleases)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for seq := uint64(1); seq <= s.CachedInfo().State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil || m.Subject != bus.ReleaseSubject("shop-ios") {
			continue
		}
		var ev signals.ReleaseEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == signals.EventExposure {
			if ev.Ring != "H3" || ev.Version != "4.2.0" {
				t.Errorf("exposure event %+v", ev)
			}
			got = append(got, ev.Exposure)
		}
	}
	if len(got) != 3 || got[0] != 0.01 || got[1] != 0.02 || got[2] != 0.5 {
		t.Errorf("exposure events on releases.shop-ios: %v, want [0.01 0.02 0.5]", got)
	}
	for _, call := range asc.Calls() {
		if call.Method != "GET" {
			t.Errorf("reading phases sent %s %s", call.Method, call.Path)
		}
	}
}

// startStoreDaemon starts a daemon with an App Store notifier for shop-ios
// and a Play notifier for shop-android, each against its fake store, with
// extra appended to the config's top level, on an embedded broker or on
// the nats-server at natsURL.
func startStoreDaemon(t *testing.T, extra, natsURL string) (*app.App, *asctest.Server, *playtest.Server) {
	t.Helper()
	keyFile, key := asctest.NewKey(t)
	asc := asctest.New(t, &key.PublicKey, asctest.StateActive)
	asc.SetDay(1)
	ascSrv := httptest.NewServer(asc)
	t.Cleanup(ascSrv.Close)
	gp := playtest.New(t, playtest.TrackInProgress) // 4.2.0 at userFraction 0.05
	gpSrv := httptest.NewServer(gp)
	t.Cleanup(gpSrv.Close)
	sa, saKey := playtest.ServiceAccount(t, gpSrv.URL+"/token")
	gp.Pub = &saKey.PublicKey
	saFile := filepath.Join(t.TempDir(), "play.json")
	if err := os.WriteFile(saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ASC_KEY": keyFile, "PLAY_SA": saFile}
	cfg, err := config.Parse([]byte(`
http:
  listen: 127.0.0.1:0
  tokens: [{name: ci, token: "`+token+`", role: deploy-system}]
nats: {data_dir: "`+t.TempDir()+`", url: "`+natsURL+`"}
services: [{name: shop-ios}, {name: shop-android}]
`+extra+`
notifiers:
  - name: ios-store
    type: appstore-phased
    appstore-phased:
      issuer_id: `+asctest.Issuer+`
      key_id: `+asctest.KeyID+`
      private_key_file: ${ASC_KEY}
      base_url: `+ascSrv.URL+`
      apps: [{service: shop-ios, app_id: "`+asctest.AppID+`"}]
      phase_every: 1s
  - name: android-store
    type: play-rollout
    play-rollout:
      service_account_file: ${PLAY_SA}
      endpoint: `+gpSrv.URL+`
      apps: [{service: shop-android, package_name: `+playtest.Package+`}]
      phase_every: 1s
`), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a, asc, gp
}

// TestOnlyTheOwnerReadsTheStores: with processes sharing the services,
// each reads the stores only for the services it judges (the other's
// releases get no exposure from it, and its store gets no calls for them).
func TestOnlyTheOwnerReadsTheStores(t *testing.T) {
	c := config.Cluster{Members: 4} // of four, one member owns shop-ios and another shop-android
	for c.Index = 0; c.Index < c.Members && !(c.Owns("shop-ios") && !c.Owns("shop-android")); c.Index++ {
	}
	if c.Index == c.Members {
		t.Fatal("no member of four owns shop-ios without shop-android: pick another member count")
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(t.TempDir(), "js"), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	a, asc, gp := startStoreDaemon(t, fmt.Sprintf("cluster: {members: %d, index: %d}", c.Members, c.Index), ns.ClientURL())
	ctx := context.Background()
	cl := &client.Client{BaseURL: "http://" + a.Addr(), Token: token}
	for _, svc := range []string{"shop-ios", "shop-android"} {
		if _, err := cl.Start(ctx, client.Start{Release: svc + "-4.2.0", Service: svc, Version: "4.2.0", Ring: "H3"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := cl.Get(ctx, "shop-ios-4.2.0")
		if err == nil && r.Exposure == 0.01 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shop-ios: exposure %g (%v), want 0.01 from the owner", r.Exposure, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // two more phase reads (phase_every 1s)
	if r, err := cl.Get(ctx, "shop-android-4.2.0"); err != nil || r.Exposure != 0 {
		t.Errorf("shop-android (not owned): exposure %g (%v), want none", r.Exposure, err)
	}
	if n := len(gp.Calls()); n != 0 {
		t.Errorf("%d calls to Play for a service this process does not judge", n)
	}
	if len(asc.Calls()) == 0 {
		t.Error("no App Store calls for the owned service")
	}
}
