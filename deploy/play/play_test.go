package play

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/notifiertest"
	"github.com/aftershock/aftershock/deploy/play/playtest"
)

var update = flag.Bool("update", false, "rewrite testdata/calls-*.txt from what was sent")

func testConfig(sa []byte, url string) Config {
	return Config{
		ServiceAccountJSON: string(sa),
		Apps:               []App{{Service: "shop", PackageName: playtest.Package}},
		Endpoint:           url,
		Timeout:            5 * time.Second,
	}
}

func newNotifier(t *testing.T, cfg Config) *Notifier {
	t.Helper()
	n, err := New(cfg, time.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func setup(t *testing.T, production string) (*playtest.Server, *Notifier, Config) {
	t.Helper()
	f := playtest.New(t, production)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	sa, key := playtest.ServiceAccount(t, srv.URL+"/token")
	f.Pub = &key.PublicKey
	cfg := testConfig(sa, srv.URL)
	return f, newNotifier(t, cfg), cfg
}

func golden(t *testing.T, name string, calls []playtest.Call) {
	t.Helper()
	var b strings.Builder
	for i, c := range calls {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(c.String())
	}
	got := b.String()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("calls sent differ from %s:\n%s", path, got)
	}
}

func TestHaltsStagedRollout(t *testing.T) {
	f, n, _ := setup(t, playtest.TrackInProgress)
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil || retry {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
	got := f.Release("4.2.0")
	want := map[string]any{"name": "4.2.0", "versionCodes": []any{"4203"}, "status": "halted", "userFraction": 0.05,
		"releaseNotes": []any{map[string]any{"language": "en-US", "text": "Faster checkout."}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("live 4.2.0 release = %v\nwant %v", got, want)
	}
	if got := f.Release("4.1.2"); got["status"] != "completed" || !reflect.DeepEqual(got["versionCodes"], []any{"4120"}) {
		t.Errorf("the completed release changed: %v", got)
	}
	golden(t, "calls-halt.txt", f.Calls())

	// A second halt finds it halted and commits nothing.
	before := len(f.Calls())
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil || retry {
		t.Fatalf("second Notify: retry=%v err=%v", retry, err)
	}
	for _, c := range f.Calls()[before:] {
		if c.Method == "PUT" || strings.HasSuffix(c.Path, ":commit") {
			t.Errorf("second halt sent %s %s", c.Method, c.Path)
		}
	}
	if f.Tokens() != 1 {
		t.Errorf("%d token requests, want 1 (cached)", f.Tokens())
	}
}

func TestResume(t *testing.T) {
	halted := strings.Replace(playtest.TrackInProgress, `"status":"inProgress"`, `"status":"halted"`, 1)
	f, n, _ := setup(t, halted)
	msg, handled, err := n.Resume(context.Background(), deploy.Release{ID: "shop-4.2.0", Service: "shop", Version: "4.2.0"})
	if err != nil || !handled || !strings.Contains(msg, "halted → inProgress") {
		t.Fatalf("Resume = %q %v %v", msg, handled, err)
	}
	if got := f.Release("4.2.0"); got["status"] != "inProgress" || got["userFraction"] != 0.05 {
		t.Errorf("after resume: %v", got)
	}
	golden(t, "calls-resume.txt", f.Calls())
	if _, handled, _ := n.Resume(context.Background(), deploy.Release{ID: "web-1", Service: "web"}); handled {
		t.Error("resumed a service with no app")
	}
}

func TestMatchesByVersionCode(t *testing.T) {
	f, n, _ := setup(t, playtest.TrackInProgress)
	notice := notifiertest.Sample()
	notice.Verdict.Version = "4203"
	if retry, err := n.Notify(context.Background(), notice); err != nil || retry {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if f.Release("4.2.0")["status"] != "halted" {
		t.Error("not halted")
	}
}

func TestNoMatchingRelease(t *testing.T) {
	f, n, _ := setup(t, playtest.TrackInProgress)
	notice := notifiertest.Sample()
	notice.Verdict.Version = "4.3.0"
	retry, err := n.Notify(context.Background(), notice)
	if err == nil || retry || !strings.Contains(err.Error(), `no inProgress release named "4.3.0"`) || !strings.Contains(err.Error(), `"4.2.0" (inProgress, versionCodes 4203)`) {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if f.Release("4.2.0")["status"] != "inProgress" {
		t.Error("changed the wrong release")
	}
}

// TestAPIErrors covers Play's error replies: permission, quota, backend
// errors, and edits that another client committed or deleted.
func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		on       string
		fixtures []string
		retry    bool
		after    time.Duration
		want     string
		status   string // live status of 4.2.0 afterwards
	}{
		{"403 missing permission", "PUT update", []string{"403-permission"}, false, 0, "403 Forbidden: The caller does not have permission (forbidden) (the service account needs release permission", "inProgress"},
		{"429 quota", "POST insert", []string{"429-quota"}, true, 30 * time.Second, "429 Too Many Requests: Quota exceeded", "inProgress"},
		{"500 backend", "GET get", []string{"500-backend"}, true, 0, "500 Internal Server Error: Internal error encountered. (backendError)", "inProgress"},
		{"400 bad request", "PUT update", []string{"400-bad-request"}, false, 0, "400 Bad Request: Release with version codes", "inProgress"},
		{"edit committed elsewhere, redone", "POST commit", []string{"400-edit-committed"}, false, 0, "", "halted"},
		{"edit deleted twice", "POST commit", []string{"410-edit-deleted", "410-edit-deleted"}, true, 0, "410 Gone: This Edit has been deleted. (editDeleted)", "inProgress"},
		{"token endpoint down", "POST token", []string{"500-backend"}, true, 0, "getting an access token: 500 Internal Server Error", "inProgress"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, n, _ := setup(t, playtest.TrackInProgress)
			f.Fail(tc.on, tc.fixtures...)
			retry, err := n.Notify(context.Background(), notifiertest.Sample())
			if tc.want == "" {
				if err != nil || retry {
					t.Fatalf("got retry=%v err=%v, want success", retry, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v\nwant it to contain %q", err, tc.want)
			}
			if retry != tc.retry {
				t.Errorf("retry=%v, want %v", retry, tc.retry)
			}
			if d, _ := deploy.RetryAfter(err); d != tc.after {
				t.Errorf("retry after %s, want %s", d, tc.after)
			}
			if err != nil && strings.Contains(err.Error(), playtest.Token) {
				t.Errorf("error carries the access token: %v", err)
			}
			if got := f.Release("4.2.0")["status"]; got != tc.status {
				t.Errorf("live status %v, want %s", got, tc.status)
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	f := playtest.New(t, playtest.TrackInProgress)
	srv := httptest.NewServer(f)
	defer srv.Close()
	sa, key := playtest.ServiceAccount(t, srv.URL+"/token")
	f.Pub = &key.PublicKey
	cfg := testConfig(sa, srv.URL)
	cfg.DryRun = true
	n := newNotifier(t, cfg)
	if retry, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil || retry {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if f.Release("4.2.0")["status"] != "inProgress" {
		t.Error("dry run changed the track")
	}
	var methods []string
	for _, c := range f.Calls() {
		methods = append(methods, c.Method)
	}
	if want := []string{"POST", "POST", "GET", "DELETE"}; !reflect.DeepEqual(methods, want) {
		t.Errorf("dry run calls %v, want %v (token, insert, get, delete)", methods, want)
	}
}

func TestChecklist(t *testing.T) {
	success := playtest.New(t, playtest.TrackInProgress)
	notifiertest.RunHTTP(t, notifiertest.HTTPTarget{
		New: func(t *testing.T, url string) deploy.Notifier {
			sa, key := playtest.ServiceAccount(t, url+"/token")
			success.Pub = &key.PublicKey
			return newNotifier(t, testConfig(sa, url))
		},
		Secrets: []string{playtest.Token, "BEGIN PRIVATE KEY"},
		Success: success,
	})
}

func TestConfig(t *testing.T) {
	sa, _ := playtest.ServiceAccount(t, "https://oauth2.googleapis.com/token")
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"valid", func(*Config) {}, ""},
		{"no key", func(c *Config) { c.ServiceAccountJSON = "" }, "service_account_file: required"},
		{"both", func(c *Config) { c.ServiceAccountFile = "/x.json" }, "not both"},
		{"not json", func(c *Config) { c.ServiceAccountJSON = "-----BEGIN PRIVATE KEY-----" }, "not a JSON service account key"},
		{"user creds", func(c *Config) { c.ServiceAccountJSON = `{"type":"authorized_user","client_id":"x"}` }, `type "authorized_user"`},
		{"no apps", func(c *Config) { c.Apps = nil }, "apps: at least one"},
		{"package", func(c *Config) { c.Apps[0].PackageName = "shop" }, "package_name"},
		{"track", func(c *Config) { c.Apps[0].Track = "prod track" }, "track"},
		{"endpoint", func(c *Config) { c.Endpoint = "ftp://x" }, "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(sa, "")
			tc.edit(&c)
			err := c.ValidateAt("notifiers[0].play-rollout")
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes the key: %v", err)
			}
			if tc.want == "" && (c.Apps[0].Track != DefaultTrack || c.Endpoint != DefaultEndpoint) {
				t.Errorf("defaults not applied: %+v", c.Apps)
			}
		})
	}
}
