package appstore

import (
	"context"
	"crypto/ecdsa"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/appstore/asctest"
	"github.com/aftershock/aftershock/deploy/notifiertest"
	"github.com/aftershock/aftershock/signals"
)

var update = flag.Bool("update", false, "rewrite testdata/calls-*.txt from what was sent")

var testNow = time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC)

func newFake(t *testing.T, pub *ecdsa.PublicKey, state string) *asctest.Server {
	f := asctest.New(t, pub, state)
	f.Now = func() time.Time { return testNow }
	return f
}

func config(keyFile, url string) Config {
	return Config{
		IssuerID:       asctest.Issuer,
		KeyID:          asctest.KeyID,
		PrivateKeyFile: keyFile,
		Apps:           []App{{Service: "shop", AppID: asctest.AppID}},
		BaseURL:        url,
		Timeout:        2 * time.Second,
	}
}

func newNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	n, err := New(cfg, func() time.Time { return testNow }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// setup starts a fake App Store Connect whose phased release is in state.
func setup(t *testing.T, state string) (*asctest.Server, *Notifier) {
	t.Helper()
	keyFile, key := asctest.NewKey(t)
	f := newFake(t, &key.PublicKey, state)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, newNotifier(t, config(keyFile, srv.URL))
}

// golden compares the calls sent with testdata/name (headers redacted);
// -update rewrites it.
func golden(t *testing.T, name string, calls []asctest.Call) {
	t.Helper()
	var b strings.Builder
	for i, c := range calls {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(c.String())
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(b.String(), "aftershock/dev", "aftershock/<version>"); got != strings.ReplaceAll(string(want), "aftershock/dev", "aftershock/<version>") {
		t.Errorf("calls sent differ from %s:\n%s", path, got)
	}
}

func TestPausesActivePhasedRelease(t *testing.T) {
	f, n := setup(t, StateActive)
	retry, err := n.Notify(context.Background(), notifiertest.Sample())
	if err != nil || retry {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
	if got := f.State(); got != StatePaused {
		t.Fatalf("phased release is %s, want PAUSED", got)
	}
	calls := f.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want lookup, read, PATCH: %v", len(calls), calls)
	}
	golden(t, "calls-pause.txt", calls)

	// A second halt (another ring, or a redelivery) changes nothing.
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil || retry {
		t.Fatalf("second Notify: retry=%v err=%v", retry, err)
	}
	if got := len(f.Calls()); got != 5 {
		t.Errorf("%d calls after a second halt, want 5 (two reads, no PATCH)", got)
	}
}

func TestNotPausable(t *testing.T) {
	for _, tc := range []struct {
		state string
		want  string
	}{
		{StateComplete, "COMPLETE and cannot be paused"},
		{StateInactive, "INACTIVE and cannot be paused"},
		{"", "has no phased release"},
	} {
		t.Run(tc.state, func(t *testing.T) {
			f, n := setup(t, tc.state)
			retry, err := n.Notify(context.Background(), notifiertest.Sample())
			if err == nil || retry || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got retry=%v err=%v, want a final error with %q", retry, err, tc.want)
			}
			for _, c := range f.Calls() {
				if c.Method != "GET" {
					t.Errorf("sent %s %s", c.Method, c.Path)
				}
			}
		})
	}
}

func TestUnknownVersionAndService(t *testing.T) {
	f, n := setup(t, StateActive)
	notice := notifiertest.Sample()
	notice.Verdict.Version = "9.9.9"
	retry, err := n.Notify(context.Background(), notice)
	if err == nil || retry || !strings.Contains(err.Error(), `no IOS version "9.9.9"`) {
		t.Fatalf("unknown version: retry=%v err=%v", retry, err)
	}
	calls := len(f.Calls())
	notice = notifiertest.Sample()
	notice.Verdict.Service = "web-checkout"
	if retry, err := n.Notify(context.Background(), notice); err != nil || retry {
		t.Fatalf("service with no app: retry=%v err=%v, want it ignored", retry, err)
	}
	notice = notifiertest.Sample()
	notice.Verdict.Action = signals.ActionReviewRequired
	if retry, err := n.Notify(context.Background(), notice); err != nil || retry {
		t.Fatalf("review notice: retry=%v err=%v, want it ignored", retry, err)
	}
	if got := len(f.Calls()); got != calls {
		t.Errorf("ignored notices made %d calls", got-calls)
	}
	if f.State() != StateActive {
		t.Errorf("state %s, want ACTIVE", f.State())
	}
}

// TestAPIErrors covers App Store Connect's JSON:API error replies.
func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		on        string // method and path the fixture answers
		fixtures  []string
		retry     bool
		after     time.Duration
		want      string
		wantState string
	}{
		{"409 state error on PATCH", "PATCH /v1/appStoreVersionPhasedReleases/" + asctest.PhasedID, []string{"409-state-error"}, false, 0, "409 Conflict: STATE_ERROR: The request cannot be fulfilled", StateActive},
		{"429 rate limit", "GET /v1/apps/" + asctest.AppID + "/appStoreVersions", []string{"429-rate-limit"}, true, rateLimitWait, "RATE_LIMIT_EXCEEDED", StateActive},
		{"403 key without permission", "PATCH /v1/appStoreVersionPhasedReleases/" + asctest.PhasedID, []string{"403-forbidden"}, false, 0, "403 Forbidden: FORBIDDEN_ERROR: This request is forbidden", StateActive},
		{"401 twice is final", "GET /v1/apps/" + asctest.AppID + "/appStoreVersions", []string{"401-not-authorized", "401-not-authorized"}, false, 0, "NOT_AUTHORIZED: Authentication credentials are missing or invalid.", StateActive},
		{"401 once: fresh token", "GET /v1/apps/" + asctest.AppID + "/appStoreVersions", []string{"401-not-authorized"}, false, 0, "", StatePaused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n := setup(t, StateActive)
			f.Fail(tc.on, tc.fixtures...)
			retry, err := n.Notify(context.Background(), notifiertest.Sample())
			if tc.want == "" {
				if err != nil || retry {
					t.Fatalf("got retry=%v err=%v, want success", retry, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want it to contain %q", err, tc.want)
			}
			if retry != tc.retry {
				t.Errorf("retry=%v, want %v", retry, tc.retry)
			}
			if d, _ := deploy.RetryAfter(err); d != tc.after {
				t.Errorf("retry after %s, want %s", d, tc.after)
			}
			if err != nil && strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error carries a token: %v", err)
			}
			if got := f.State(); got != tc.wantState {
				t.Errorf("state %s, want %s", got, tc.wantState)
			}
		})
	}
}

// TestExpiredTokenRenewed: a 401 for a token App Store Connect considers
// expired is answered with a fresh token in the same attempt.
func TestExpiredTokenRenewed(t *testing.T) {
	f, n := setup(t, StateActive)
	f.ExpireFirst = true
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil || retry {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if f.State() != StatePaused {
		t.Fatalf("state %s", f.State())
	}
}

func TestDryRun(t *testing.T) {
	keyFile, key := asctest.NewKey(t)
	f := newFake(t, &key.PublicKey, StateActive)
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := config(keyFile, srv.URL)
	cfg.DryRun = true
	n := newNotifier(t, cfg)
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil || retry {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	for _, c := range f.Calls() {
		if c.Method != "GET" {
			t.Errorf("dry run sent %s %s", c.Method, c.Path)
		}
	}
	if f.State() != StateActive {
		t.Errorf("dry run changed the state to %s", f.State())
	}
}

func TestResume(t *testing.T) {
	f, n := setup(t, StatePaused)
	rel := deploy.Release{ID: "shop-4.2.0", Service: "shop", Version: asctest.Version}
	msg, handled, err := n.Resume(context.Background(), rel)
	if err != nil || !handled || !strings.Contains(msg, "resumed: ACTIVE") {
		t.Fatalf("Resume = %q, %v, %v", msg, handled, err)
	}
	if f.State() != StateActive {
		t.Fatalf("state %s, want ACTIVE", f.State())
	}
	golden(t, "calls-resume.txt", f.Calls())
	if msg, _, err := n.Resume(context.Background(), rel); err != nil || !strings.Contains(msg, "already active") {
		t.Errorf("second Resume = %q, %v", msg, err)
	}
	if _, handled, err := n.Resume(context.Background(), deploy.Release{ID: "web-1", Service: "web"}); handled || err != nil {
		t.Errorf("other service: handled=%v err=%v", handled, err)
	}
}

func TestChecklist(t *testing.T) {
	keyFile, key := asctest.NewKey(t)
	notifiertest.RunHTTP(t, notifiertest.HTTPTarget{
		New: func(t *testing.T, url string) deploy.Notifier {
			return newNotifier(t, config(keyFile, url))
		},
		// Every token starts with the base64 of {"alg":"ES256","kid":…
		Secrets: []string{"eyJhbGciOiJFUzI1NiIs"},
		Success: newFake(t, &key.PublicKey, StateActive),
	})
}

func TestToken(t *testing.T) {
	keyFile, key := asctest.NewKey(t)
	now := testNow
	n, err := New(config(keyFile, "http://127.0.0.1:1"), func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFake(t, &key.PublicKey, "")
	tok, err := n.sign.token()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckToken(tok); err != nil {
		t.Fatalf("token refused: %v", err)
	}
	if again, _ := n.sign.token(); again != tok {
		t.Error("token not reused within its lifetime")
	}
	now = now.Add(TokenLifetime - renewBefore)
	if again, _ := n.sign.token(); again == tok {
		t.Error("token reused close to its expiry")
	}
}

func TestConfig(t *testing.T) {
	keyFile, _ := asctest.NewKey(t)
	rsaLike := filepath.Join(t.TempDir(), "bad.p8")
	if err := os.WriteFile(rsaLike, []byte("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"issuer", func(c *Config) { c.IssuerID = "team" }, "issuer_id"},
		{"key id", func(c *Config) { c.KeyID = "abc" }, "key_id"},
		{"no key", func(c *Config) { c.PrivateKeyFile = "" }, "private_key_file: required"},
		{"both keys", func(c *Config) { c.PrivateKey = "x" }, "not both"},
		{"bad key", func(c *Config) { c.PrivateKeyFile = rsaLike }, "not a PKCS#8 EC private key"},
		{"no apps", func(c *Config) { c.Apps = nil }, "apps: at least one"},
		{"app id", func(c *Config) { c.Apps[0].AppID = "com.example.shop" }, "app_id"},
		{"platform", func(c *Config) { c.Apps[0].Platform = "ANDROID" }, "platform"},
		{"dup", func(c *Config) { c.Apps = append(c.Apps, c.Apps[0]) }, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config(keyFile, "")
			tc.edit(&c)
			err := c.ValidateAt("notifiers[0].appstore-phased")
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
			if tc.want == "" && (c.BaseURL != DefaultBaseURL || c.Apps[0].Platform != "IOS") {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}

func TestDayFraction(t *testing.T) {
	for day, want := range map[int]float64{0: 0, 1: 0.01, 3: 0.05, 6: 0.5, 7: 1, 9: 1} {
		if got := DayFraction(day); got != want {
			t.Errorf("day %d: %v, want %v", day, got, want)
		}
	}
}
