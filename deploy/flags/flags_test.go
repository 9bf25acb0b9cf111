package flags

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/httpnotify"
	"github.com/aftershock/aftershock/deploy/notifiertest"
	"github.com/aftershock/aftershock/signals"
)

const (
	unleashToken = "*:production.7f3c9a1e0b5d4c2a8e6f1b3d5a7c9e0f"
	flagdToken   = "flagd-token-4b8e2c6a"
	gwKey        = "gw-key-0123456789"
	queryToken   = "query-token-123"
)

var fixedNow = time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC)

// flagOff is the checklist's sample notice turned into a switch-off of
// shop's checkout feature.
func flagOff() deploy.Notice {
	n := notifiertest.Sample()
	n.Key = "flag_off:shop-4.2.0:H2:checkout"
	n.Verdict.Action = signals.ActionFlagOff
	n.Verdict.Feature = "checkout"
	return n
}

func unleashFlag(url string) Flag {
	return Flag{Template: TemplateUnleash, URL: url, Token: unleashToken, Environment: "production", Flag: "checkout-v2"}
}

func flagdFlag(url string) Flag {
	return Flag{Template: TemplateFlagd, URL: url, Token: flagdToken, Flag: "checkout-v2"}
}

func genericFlag(url string) Flag {
	return Flag{
		Template: TemplateGeneric,
		Method:   "patch",
		URL:      url + "/v1/{{.Service}}/flags/{{pathescape .Flag}}?ring={{urlquery .Ring}}&token=" + queryToken,
		Headers:  map[string]string{"X-Api-Key": gwKey},
		Flag:     "checkout-v2",
		Body: `{"flag": {{json .Flag}}, "enabled": false, "service": {{json .Service}},
 "feature": {{json .Feature}}, "release": {{json .Release}}, "ring": {{json .Ring}},
 "score": {{.Score}}, "reason": {{json .Reason}}, "idempotency_key": {{json .Key}}}`,
	}
}

func newTest(t *testing.T, f Flag, dryRun bool, log *slog.Logger) *Notifier {
	t.Helper()
	n, err := New(Config{
		DryRun:   dryRun,
		Timeout:  2 * time.Second,
		Services: map[string]map[string]Flag{"shop": {"checkout": f}},
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	n.now = func() time.Time { return fixedNow }
	return n
}

func TestChecklist(t *testing.T) {
	for name, f := range map[string]func(string) Flag{
		"unleash": unleashFlag, "flagd": flagdFlag, "generic": genericFlag,
	} {
		t.Run(name, func(t *testing.T) {
			notifiertest.RunHTTP(t, notifiertest.HTTPTarget{
				New: func(t *testing.T, url string) deploy.Notifier {
					return newTest(t, f(url), false, nil)
				},
				Secrets: []string{unleashToken, flagdToken, gwKey, queryToken},
				Notice:  flagOff(),
			})
		})
	}
}

// fakeUnleash answers like Unleash's Admin API: the feature environment
// toggle-off route, an Authorization header holding the bare token, 401/403/
// 404 with Unleash's error bodies, 200 with no body on success (also when the
// flag is already off).
type fakeUnleash struct {
	token string
	mu    sync.Mutex
	// enabled holds project/feature/environment → on; absent means no such
	// feature.
	enabled map[string]bool
	reqs    []*http.Request
}

func (u *fakeUnleash) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/admin/projects/{project}/features/{feature}/environments/{environment}/off", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.reqs = append(u.reqs, r)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		switch auth := r.Header.Get("Authorization"); {
		case auth == "":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write(must(os.ReadFile("testdata/unleash-401.json")))
			return
		case auth != u.token:
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(must(os.ReadFile("testdata/unleash-403.json")))
			return
		}
		key := r.PathValue("project") + "/" + r.PathValue("feature") + "/" + r.PathValue("environment")
		if _, ok := u.enabled[key]; !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(must(os.ReadFile("testdata/unleash-404.json")))
			return
		}
		u.enabled[key] = false
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusOK)
	})
	mux.ServeHTTP(w, r)
}

func TestUnleash(t *testing.T) {
	fake := &fakeUnleash{token: unleashToken, enabled: map[string]bool{
		"default/checkout-v2/production": true,
		"web/checkout/production":        true,
	}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	tests := []struct {
		name     string
		flag     Flag
		path     string
		retry    bool
		errWants string // "" for success
	}{
		{"defaults: project default, custom flag key", unleashFlag(srv.URL), "/api/admin/projects/default/features/checkout-v2/environments/production/off", false, ""},
		{"again: already off is fine", unleashFlag(srv.URL + "/"), "/api/admin/projects/default/features/checkout-v2/environments/production/off", false, ""},
		{"project, flag defaults to feature", Flag{Template: TemplateUnleash, URL: srv.URL, Token: unleashToken, Project: "web", Environment: "production"},
			"/api/admin/projects/web/features/checkout/environments/production/off", false, ""},
		{"unknown environment", Flag{Template: TemplateUnleash, URL: srv.URL, Token: unleashToken, Environment: "staging", Flag: "checkout-v2"},
			"/api/admin/projects/default/features/checkout-v2/environments/staging/off", false, "404 Not Found: " + `{"id":"b1c2d3e4-5f60-4718-9a0b-1c2d3e4f5a6b","name":"NotFoundError"`},
		{"token of another environment", Flag{Template: TemplateUnleash, URL: srv.URL, Token: "*:development.0000000000", Environment: "production", Flag: "checkout-v2"},
			"/api/admin/projects/default/features/checkout-v2/environments/production/off", false, "403 Forbidden"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			retry, err := newTest(t, tc.flag, false, nil).Notify(context.Background(), flagOff())
			if retry != tc.retry || (err == nil) != (tc.errWants == "") || (err != nil && !strings.Contains(err.Error(), tc.errWants)) {
				t.Fatalf("Notify: retry=%v err=%v, want retry=%v and error containing %q", retry, err, tc.retry, tc.errWants)
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.reqs) != i+1 {
				t.Fatalf("Unleash got %d requests, want %d", len(fake.reqs), i+1)
			}
			r := fake.reqs[i]
			if r.URL.Path != tc.path {
				t.Errorf("path %s, want %s", r.URL.Path, tc.path)
			}
			if r.ContentLength != 0 {
				t.Errorf("Content-Length %d, want an empty body", r.ContentLength)
			}
			if got := r.Header.Get("Idempotency-Key"); got != "flag_off:shop-4.2.0:H2:checkout" {
				t.Errorf("Idempotency-Key = %q", got)
			}
			if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "aftershock/") {
				t.Errorf("User-Agent = %q, want aftershock/…", ua)
			}
		})
	}
	if on := fake.enabled["default/checkout-v2/production"]; on {
		t.Errorf("flag still on in the fake")
	}
	if got := fake.reqs[0].Header.Get("Authorization"); got != unleashToken {
		t.Errorf("Authorization = %q, want the bare token", got)
	}
}

// TestUnleashNoToken checks the fake really rejects a missing header, so
// TestUnleash's success cases mean the token was sent.
func TestUnleashNoToken(t *testing.T) {
	srv := httptest.NewServer(&fakeUnleash{token: unleashToken, enabled: map[string]bool{"default/checkout-v2/production": true}})
	defer srv.Close()
	n := newTest(t, unleashFlag(srv.URL), false, nil)
	n.targets["shop"]["checkout"].flag.Token = ""
	retry, err := n.Notify(context.Background(), flagOff())
	if retry || err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "AuthenticationRequired") {
		t.Errorf("got retry=%v err=%v, want a final 401 naming AuthenticationRequired", retry, err)
	}
}

func TestFlagd(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"state":"DISABLED","defaultVariant":"off","variants":{"on":true,"off":false}}`)
	}))
	defer srv.Close()
	retry, err := newTest(t, flagdFlag(srv.URL+"/api/"), false, nil).Notify(context.Background(), flagOff())
	if err != nil || retry {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
	if got.Method != http.MethodPut || got.URL.Path != "/api/flags/checkout-v2" {
		t.Errorf("request %s %s, want PUT /api/flags/checkout-v2", got.Method, got.URL.Path)
	}
	if !notifiertest.JSONEqual(t, body, []byte(`{"state":"DISABLED","defaultVariant":"off"}`)) {
		t.Errorf("body %s", body)
	}
	for name, want := range map[string]string{
		"Authorization":   "Bearer " + flagdToken,
		"Content-Type":    "application/json",
		"Idempotency-Key": "flag_off:shop-4.2.0:H2:checkout",
	} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}

	// Without a token there is no Authorization header at all.
	f := flagdFlag(srv.URL)
	f.Token = ""
	if _, err := newTest(t, f, false, nil).Notify(context.Background(), flagOff()); err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Header["Authorization"]; ok {
		t.Errorf("Authorization = %q without a token", v)
	}
}

func TestGeneric(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	notice := flagOff()
	notice.Verdict.Ring = "H2 & more" // must reach the query escaped
	retry, err := newTest(t, genericFlag(srv.URL), false, nil).Notify(context.Background(), notice)
	if err != nil || retry {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
	if got.Method != http.MethodPatch || got.URL.Path != "/v1/shop/flags/checkout-v2" {
		t.Errorf("request %s %s, want PATCH /v1/shop/flags/checkout-v2", got.Method, got.URL.Path)
	}
	if q := got.URL.Query(); q.Get("ring") != "H2 & more" || q.Get("token") != queryToken {
		t.Errorf("query %q", got.URL.RawQuery)
	}
	want := must(os.ReadFile("testdata/generic-body.json"))
	var w map[string]any
	_ = json.Unmarshal(want, &w)
	w["ring"] = "H2 & more"
	if !notifiertest.JSONEqual(t, body, must(json.Marshal(w))) {
		t.Errorf("body:\n%s\nwant (testdata/generic-body.json):\n%s", body, want)
	}
	for name, want := range map[string]string{
		"X-Api-Key":       gwKey,
		"Content-Type":    "application/json",
		"Idempotency-Key": "flag_off:shop-4.2.0:H2:checkout",
	} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}

	t.Run("reason with quotes and newlines stays valid JSON", func(t *testing.T) {
		n := flagOff()
		n.Verdict.Reasons = []string{"said \"broken\"\nagain", `back\slash`}
		if _, err := newTest(t, genericFlag(srv.URL), false, nil).Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		var b struct{ Reason string }
		if err := json.Unmarshal(body, &b); err != nil || b.Reason != "said \"broken\"\nagain; back\\slash" {
			t.Errorf("body %s: reason %q, %v", body, b.Reason, err)
		}
	})

	t.Run("no body, own content type, GET", func(t *testing.T) {
		f := Flag{Template: TemplateGeneric, Method: "DELETE", URL: srv.URL + "/flags/{{.Service}}.{{.Feature}}"}
		if _, err := newTest(t, f, false, nil).Notify(context.Background(), flagOff()); err != nil {
			t.Fatal(err)
		}
		if got.Method != http.MethodDelete || got.URL.Path != "/flags/shop.checkout" || len(body) != 0 || got.Header.Get("Content-Type") != "" {
			t.Errorf("got %s %s body %q content-type %q", got.Method, got.URL.Path, body, got.Header.Get("Content-Type"))
		}
		f = Flag{Template: TemplateGeneric, URL: srv.URL + "/kill", Body: "feature={{urlquery .Feature}}",
			Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		if _, err := newTest(t, f, false, nil).Notify(context.Background(), flagOff()); err != nil {
			t.Fatal(err)
		}
		if got.Method != http.MethodPost || string(body) != "feature=checkout" || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("got %s body %q content-type %q", got.Method, body, got.Header.Get("Content-Type"))
		}
	})
}

// countingServer counts requests.
func countingServer(t *testing.T) (*httptest.Server, func() int) {
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() int { mu.Lock(); defer mu.Unlock(); return hits }
}

func TestDryRun(t *testing.T) {
	srv, hits := countingServer(t)
	for name, f := range map[string]Flag{"unleash": unleashFlag(srv.URL), "flagd": flagdFlag(srv.URL), "generic": genericFlag(srv.URL)} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			n := newTest(t, f, true, slog.New(slog.NewJSONHandler(&buf, nil)))
			retry, err := n.Notify(context.Background(), flagOff())
			if err != nil || retry {
				t.Fatalf("dry run: retry=%v err=%v", retry, err)
			}
			if h := hits(); h != 0 {
				t.Fatalf("dry run made %d calls", h)
			}
			line := buf.String()
			for _, want := range []string{"dry run", `"flag":"checkout-v2"`, `"service":"shop"`, `"feature":"checkout"`, `"idempotency_key":"flag_off:shop-4.2.0:H2:checkout"`, srv.URL} {
				if !strings.Contains(line, want) {
					t.Errorf("log lacks %q: %s", want, line)
				}
			}
			for _, s := range []string{unleashToken, flagdToken, gwKey, queryToken} {
				if strings.Contains(line, s) {
					t.Errorf("log contains secret %q: %s", s, line)
				}
			}
			if name == "unleash" && !strings.Contains(line, "/api/admin/projects/default/features/checkout-v2/environments/production/off") {
				t.Errorf("log lacks the Unleash path: %s", line)
			}
		})
	}
}

func TestIgnoresOtherActions(t *testing.T) {
	srv, hits := countingServer(t)
	n := newTest(t, unleashFlag(srv.URL), false, nil)
	for _, action := range []string{signals.ActionHalt, signals.ActionReviewRequired, signals.ActionNone, ""} {
		notice := flagOff()
		notice.Verdict.Action = action
		if retry, err := n.Notify(context.Background(), notice); err != nil || retry {
			t.Errorf("action %q: retry=%v err=%v, want ignored", action, retry, err)
		}
	}
	if h := hits(); h != 0 {
		t.Errorf("%d calls for notices that are not flag_off", h)
	}
}

func TestUnknownFeature(t *testing.T) {
	srv, hits := countingServer(t)
	n := newTest(t, unleashFlag(srv.URL), false, nil)
	for _, tc := range []struct{ service, feature string }{
		{"shop", "search"}, {"web", "checkout"}, {"shop", ""}, {"", ""},
	} {
		notice := flagOff()
		notice.Verdict.Service, notice.Verdict.Feature = tc.service, tc.feature
		retry, err := n.Notify(context.Background(), notice)
		if retry || !errors.Is(err, ErrUnknownFeature) {
			t.Errorf("%s/%s: retry=%v err=%v, want ErrUnknownFeature without retry", tc.service, tc.feature, retry, err)
		}
	}
	if h := hits(); h != 0 {
		t.Errorf("%d calls for unknown features", h)
	}
	if _, err := n.Notify(context.Background(), deploy.Notice{Verdict: flagOff().Verdict}); err == nil || !strings.Contains(err.Error(), "idempotency key") {
		t.Errorf("notice without key: %v", err)
	}
}

func TestHas(t *testing.T) {
	n, err := New(Config{Services: map[string]map[string]Flag{
		"shop": {"checkout": unleashFlag("https://unleash.example"), "search": flagdFlag("https://flags.example")},
		"web":  {"dark-mode": genericFlag("https://kill.example")},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service, feature string
		want             bool
	}{
		{"shop", "checkout", true}, {"shop", "search", true}, {"web", "dark-mode", true},
		{"shop", "dark-mode", false}, {"web", "checkout", false}, {"api", "checkout", false}, {"", "", false},
	} {
		if got := n.Has(tc.service, tc.feature); got != tc.want {
			t.Errorf("Has(%q, %q) = %v, want %v", tc.service, tc.feature, got, tc.want)
		}
	}
	var none *Notifier
	if none.Has("shop", "checkout") {
		t.Errorf("nil Notifier has a flag")
	}
}

// TestSecretsNotInErrors covers what the checklist does not: a receiver
// echoing the Unleash token past the snippet cut, and a failing config.
func TestSecretsNotInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		// The token straddles the 4 KiB read limit, after whitespace the
		// snippet collapses.
		_, _ = io.WriteString(w, strings.Repeat(" \n", (httpnotify.MaxRead-10)/2)+r.Header.Get("Authorization")+" "+r.URL.RawQuery)
	}))
	defer srv.Close()
	for _, f := range []Flag{unleashFlag(srv.URL), genericFlag(srv.URL)} {
		_, err := newTest(t, f, false, nil).Notify(context.Background(), flagOff())
		if err == nil {
			t.Fatal("no error for a 401")
		}
		for _, s := range []string{unleashToken, unleashToken[:8], queryToken} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error contains %q: %v", s, err)
			}
		}
	}
	bad := Config{Services: map[string]map[string]Flag{"shop": {"checkout": {
		Template: TemplateUnleash, URL: "ftp://unleash.example", Token: "tok-secret\nvalue", Environment: "production",
		Headers: map[string]string{"X-Key": "hdr-secret\r\n"},
	}}}}
	err := bad.ValidateAt("notifiers[2].flags")
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"tok-secret", "hdr-secret"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("config error contains %q: %v", s, err)
		}
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	retry, err := newTest(t, unleashFlag(srv.URL), false, nil).Notify(context.Background(), flagOff())
	if err == nil || retry {
		t.Errorf("got retry=%v err=%v, want a final error", retry, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits["/elsewhere"] != 0 {
		t.Errorf("redirect was followed")
	}
}

func TestRetryAfterDate(t *testing.T) {
	for _, tc := range []struct {
		name string
		date string // the reply's Date header; "" uses the notifier's clock
		want time.Duration
	}{
		{"against the server's Date", fixedNow.Add(-time.Hour).Format(http.TimeFormat), time.Hour + 90*time.Second},
		{"against our clock without Date", "", 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Date"] = []string{tc.date}
				if tc.date == "" {
					w.Header()["Date"] = nil // suppress the server's own
				}
				w.Header().Set("Retry-After", fixedNow.Add(90*time.Second).Format(http.TimeFormat))
				w.WriteHeader(http.StatusServiceUnavailable)
			}))
			defer srv.Close()
			retry, err := newTest(t, flagdFlag(srv.URL), false, nil).Notify(context.Background(), flagOff())
			if d, ok := deploy.RetryAfter(err); !retry || !ok || d != tc.want {
				t.Errorf("got retry=%v RetryAfter=%s,%v (err %v), want true %s", retry, d, ok, err, tc.want)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	const p = "notifiers[2].flags.services.shop.checkout."
	tests := []struct {
		name string
		flag Flag
		cfg  func(*Config)
		want []string // substrings of the error; none for a valid config
	}{
		{name: "unleash ok", flag: unleashFlag("https://unleash.example/")},
		{name: "flagd ok without token", flag: Flag{Template: TemplateFlagd, URL: "http://flags.internal:8080"}},
		{name: "generic ok", flag: genericFlag("https://kill.example")},
		{name: "no template", flag: Flag{URL: "https://x.example"}, want: []string{p + "template: required: generic, flagd or unleash"}},
		{name: "unknown template", flag: Flag{Template: "launchdarkly", URL: "https://x.example"}, want: []string{p + `template: unknown template "launchdarkly"`}},
		{name: "bad scheme", flag: Flag{Template: TemplateUnleash, URL: "ftp://unleash.example", Token: "t", Environment: "production"}, want: []string{p + "url: must be an http(s) URL"}},
		{name: "missing url", flag: Flag{Template: TemplateFlagd}, want: []string{p + "url: required"}},
		{name: "base url with query", flag: Flag{Template: TemplateFlagd, URL: "https://flags.example/?x=1"}, want: []string{p + "url: must be a base URL without query"}},
		{name: "unleash needs environment and token", flag: Flag{Template: TemplateUnleash, URL: "https://unleash.example"},
			want: []string{p + "environment: required for template unleash", p + "token: required for template unleash"}},
		{name: "fields of other templates", flag: Flag{Template: TemplateFlagd, URL: "https://flags.example", Method: "PUT", Body: "x", Project: "p", Environment: "e"},
			want: []string{p + "method: only for template generic", p + "body: only for template generic", p + "project: only for template unleash", p + "environment: only for template unleash"}},
		{name: "generic token", flag: Flag{Template: TemplateGeneric, URL: "https://kill.example", Token: "t"}, want: []string{p + "token: not used by template generic"}},
		{name: "generic method", flag: Flag{Template: TemplateGeneric, URL: "https://kill.example", Method: "TRACE"}, want: []string{p + `method: "TRACE", want one of`}},
		{name: "generic url template field", flag: Flag{Template: TemplateGeneric, URL: "https://kill.example/{{.Feat}}"}, want: []string{p + "url: template: url:1:23: executing \"url\" at <.Feat>: can't evaluate field Feat"}},
		{name: "generic url renders to nothing", flag: Flag{Template: TemplateGeneric, URL: "{{.Feature}}"}, want: []string{p + "url: must be an http(s) URL (after rendering the template)"}},
		{name: "generic body syntax", flag: Flag{Template: TemplateGeneric, URL: "https://kill.example", Body: `{"f": {{json .Feature}`}, want: []string{p + "body: template: body:1: "}},
		{name: "generic body unknown func", flag: Flag{Template: TemplateGeneric, URL: "https://kill.example", Body: `{{yaml .Feature}}`}, want: []string{p + `body: template: body:1: function "yaml" not defined`}},
		{name: "headers", flag: Flag{Template: TemplateUnleash, URL: "https://unleash.example", Token: "t", Environment: "production",
			Headers: map[string]string{"Authorization": "x", "Idempotency-Key": "k", "bad header": "v", "Content-Type": "text/plain", "X-Ok": "a\nb"}},
			want: []string{p + "headers: Authorization is set from token", p + "headers: Idempotency-Key is set by the notifier", p + `headers: "bad header" is not a valid header name`,
				p + "headers: Content-Type is set by template unleash", p + "headers.X-Ok: value contains a line break or NUL"}},
		{name: "control characters in names", flag: Flag{Template: TemplateUnleash, URL: "https://unleash.example", Token: "t", Environment: "prod\n", Flag: "a\x00b"},
			want: []string{p + "environment: contains a control character", p + "flag: contains a control character"}},
		{name: "timeout", flag: unleashFlag("https://unleash.example"), cfg: func(c *Config) { c.Timeout = -time.Second },
			want: []string{"notifiers[2].flags.timeout: -1s, want more than 0 and at most 5m"}},
		{name: "no services", cfg: func(c *Config) { c.Services = nil }, want: []string{"notifiers[2].flags.services: required"}},
		{name: "service without features", cfg: func(c *Config) { c.Services = map[string]map[string]Flag{"shop": {}} }, want: []string{"notifiers[2].flags.services.shop: no features"}},
		{name: "empty feature name", cfg: func(c *Config) {
			c.Services = map[string]map[string]Flag{"shop": {"": unleashFlag("https://u.example")}}
		},
			want: []string{`notifiers[2].flags.services.shop[""]: feature name is empty`}},
		{name: "dotted names are quoted", cfg: func(c *Config) {
			c.Services = map[string]map[string]Flag{"shop.eu": {"new checkout": {Template: TemplateFlagd, URL: "x"}}}
		}, want: []string{`notifiers[2].flags.services["shop.eu"]["new checkout"].url: must be an http(s) URL`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Services: map[string]map[string]Flag{"shop": {"checkout": tc.flag}}}
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			err := c.ValidateAt("notifiers[2].flags")
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Services: map[string]map[string]Flag{
		"shop": {
			"checkout": {Template: TemplateUnleash, URL: "https://unleash.example", Token: "t", Environment: "production"},
			"search":   {Template: TemplateGeneric, URL: "https://kill.example/{{.Flag}}", Method: "put"},
		},
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Timeout != DefaultTimeout {
		t.Errorf("timeout %s, want %s", c.Timeout, DefaultTimeout)
	}
	if f := c.Services["shop"]["checkout"]; f.Project != "default" || f.Flag != "checkout" {
		t.Errorf("unleash defaults: project %q flag %q", f.Project, f.Flag)
	}
	if f := c.Services["shop"]["search"]; f.Method != "PUT" || f.Flag != "search" {
		t.Errorf("generic defaults: method %q flag %q", f.Method, f.Flag)
	}
	c.Services["shop"]["search"] = Flag{Template: TemplateGeneric, URL: "https://kill.example"}
	if err := c.Validate(); err != nil || c.Services["shop"]["search"].Method != "POST" {
		t.Errorf("default method %q (%v), want POST", c.Services["shop"]["search"].Method, err)
	}
	if _, err := New(Config{}, nil); err == nil || !strings.Contains(err.Error(), "flags config: services: required") {
		t.Errorf("New with no services: %v", err)
	}
}

// TestReadmeConfig validates every yaml block of README.md.
func TestReadmeConfig(t *testing.T) {
	blocks := yamlBlocks(t, "README.md")
	if len(blocks) < 3 {
		t.Fatalf("README.md has %d yaml blocks, want one per template at least", len(blocks))
	}
	templates := map[string]bool{}
	for i, b := range blocks {
		var f struct {
			Notifiers []struct {
				Name  string   `yaml:"name"`
				Type  string   `yaml:"type"`
				On    []string `yaml:"on"`
				Flags Config   `yaml:"flags"`
			} `yaml:"notifiers"`
		}
		if err := notifiertest.YAMLStrict([]byte(b), &f); err != nil {
			t.Errorf("README yaml block %d: %v", i, err)
			continue
		}
		for j, n := range f.Notifiers {
			if n.Type != "flags" {
				t.Errorf("README yaml block %d: type %q", i, n.Type)
			}
			if err := n.Flags.ValidateAt("notifiers[" + strconv.Itoa(j) + "].flags"); err != nil {
				t.Errorf("README yaml block %d: %v", i, err)
			}
			for _, feats := range n.Flags.Services {
				for _, fl := range feats {
					templates[fl.Template] = true
				}
			}
		}
	}
	for _, tpl := range []string{TemplateGeneric, TemplateFlagd, TemplateUnleash} {
		if !templates[tpl] {
			t.Errorf("README has no example for template %s", tpl)
		}
	}
}

func TestConfigLogValue(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("notifier", "config", Config{
		Timeout: time.Second,
		Services: map[string]map[string]Flag{"shop": {
			"checkout": unleashFlag("https://unleash.example/base"),
			"search":   genericFlag("https://kill.example/hooks/secret-path"),
		}},
	})
	for _, s := range []string{unleashToken, gwKey, queryToken, "secret-path"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log line contains %q: %s", s, buf.String())
		}
	}
	for _, s := range []string{"unleash.example", "kill.example", `"token":"<redacted>"`, `"headers":["X-Api-Key"]`, `"environment":"production"`} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("log line lacks %s: %s", s, buf.String())
		}
	}
}

func yamlBlocks(t *testing.T, name string) []string {
	t.Helper()
	text := string(must(os.ReadFile(filepath.Clean(name))))
	var blocks []string
	for {
		_, rest, ok := strings.Cut(text, "```yaml\n")
		if !ok {
			return blocks
		}
		block, after, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatalf("%s: unterminated yaml block", name)
		}
		blocks = append(blocks, block)
		text = after
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
