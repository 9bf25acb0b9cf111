package storephase_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
	keyFile, key := asctest.NewKey(t)
	asc := asctest.New(t, &key.PublicKey, asctest.StateActive)
	asc.SetDay(1)
	ascSrv := httptest.NewServer(asc)
	defer ascSrv.Close()
	gp := playtest.New(t, playtest.TrackInProgress) // 4.2.0 at userFraction 0.05
	gpSrv := httptest.NewServer(gp)
	defer gpSrv.Close()
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
nats: {data_dir: "`+t.TempDir()+`"}
services: [{name: shop-ios}, {name: shop-android}]
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
	defer a.Stop()
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
