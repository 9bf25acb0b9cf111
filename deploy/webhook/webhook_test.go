package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/notifiertest"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var fixedNow = time.Date(2026, 11, 24, 9, 31, 0, 0, time.UTC)

func newTest(t *testing.T, url string) *Notifier {
	t.Helper()
	n, err := New(Config{
		URL:     url,
		Secret:  testSecret,
		Timeout: 2 * time.Second,
		Headers: map[string]string{"Authorization": "Bearer gw-token-0123456789"},
	}, func() time.Time { return fixedNow })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestChecklist(t *testing.T) {
	notifiertest.RunHTTP(t, notifiertest.HTTPTarget{
		New: func(t *testing.T, url string) deploy.Notifier {
			return newTest(t, url+"/hooks?token=query-token-123")
		},
		Secrets: []string{testSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "gw-token-0123456789", "query-token-123"},
	})
}

// TestRequest pins the body (testdata/halt.json) and headers a receiver gets.
func TestRequest(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	retry, err := newTest(t, srv.URL+"/halt").Notify(context.Background(), notifiertest.Sample())
	if err != nil || retry {
		t.Fatalf("Notify: retry=%v err=%v", retry, err)
	}
	want := must(os.ReadFile("testdata/halt.json"))
	if !notifiertest.JSONEqual(t, body, want) {
		t.Errorf("body:\n%s\nwant (testdata/halt.json):\n%s", body, want)
	}
	for name, want := range map[string]string{
		"Content-Type":      "application/json",
		"Idempotency-Key":   "halt:shop-4.2.0:H2",
		"Webhook-Id":        "halt:shop-4.2.0:H2",
		"Webhook-Timestamp": strconv.FormatInt(fixedNow.Unix(), 10),
		"Authorization":     "Bearer gw-token-0123456789",
	} {
		if v := got.Header.Get(name); v != want {
			t.Errorf("header %s = %q, want %q", name, v, want)
		}
	}
	if ua := got.Header.Get("User-Agent"); !strings.HasPrefix(ua, "aftershock/") {
		t.Errorf("User-Agent = %q, want aftershock/…", ua)
	}
	key := must(ParseSecret(testSecret))
	if err := Verify(key, got.Header, body, fixedNow.Add(time.Minute), 0); err != nil {
		t.Errorf("Verify on what the receiver got: %v", err)
	}
}

func TestVerify(t *testing.T) {
	key := must(ParseSecret(testSecret))
	body := []byte(`{"release":"shop-4.2.0","ring":"H2"}`)
	signed := func(id string, ts time.Time, sig string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, sig)
		return h
	}
	good := Sign(key, "k1", fixedNow, body)
	other := Sign([]byte("another-secret-of-enough-bytes"), "k1", fixedNow, body)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", signed("k1", fixedNow, good), body, fixedNow, nil},
		{"valid within tolerance", signed("k1", fixedNow, good), body, fixedNow.Add(4 * time.Minute), nil},
		{"rotation: second signature matches", signed("k1", fixedNow, other+" "+good), body, fixedNow, nil},
		{"tampered body", signed("k1", fixedNow, good), []byte(`{"release":"shop-4.2.1","ring":"H2"}`), fixedNow, ErrSignature},
		{"wrong secret", signed("k1", fixedNow, other), body, fixedNow, ErrSignature},
		{"other id", signed("k2", fixedNow, good), body, fixedNow, ErrSignature},
		{"old timestamp", signed("k1", fixedNow, good), body, fixedNow.Add(6 * time.Minute), ErrTimestamp},
		{"future timestamp", signed("k1", fixedNow, good), body, fixedNow.Add(-6 * time.Minute), ErrTimestamp},
		{"unknown version", signed("k1", fixedNow, "v2,"+strings.TrimPrefix(good, "v1,")), body, fixedNow, ErrSignature},
		{"garbage signature", signed("k1", fixedNow, "v1,%%%"), body, fixedNow, ErrSignature},
		{"missing headers", http.Header{}, body, fixedNow, ErrMissingHeaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(key, tc.header, tc.body, tc.now, 5*time.Minute)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("non-numeric timestamp", func(t *testing.T) {
		h := signed("k1", fixedNow, good)
		h.Set(HeaderTimestamp, "yesterday")
		if err := Verify(key, h, body, fixedNow, 0); !errors.Is(err, ErrTimestamp) {
			t.Errorf("Verify = %v, want ErrTimestamp", err)
		}
	})
}

// TestShellExample runs example/verify.sh (the README's shell receiver) on a
// real request.
func TestShellExample(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed (apt-get install openssl)")
	}
	for _, secret := range []string{testSecret, "a-raw-secret-of-32-bytes-length!"} {
		var hdr http.Header
		var body []byte
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hdr, body = r.Header.Clone(), must(io.ReadAll(r.Body))
		}))
		n := must(New(Config{URL: srv.URL, Secret: secret}, time.Now))
		if _, err := n.Notify(context.Background(), notifiertest.Sample()); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		run := func(body []byte) error {
			cmd := exec.Command("sh", filepath.Join("example", "verify.sh"), hdr.Get(HeaderID), hdr.Get(HeaderTimestamp), hdr.Get(HeaderSignature))
			cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret)
			cmd.Stdin = bytes.NewReader(body)
			out, err := cmd.CombinedOutput()
			if err != nil {
				return errors.New(strings.TrimSpace(string(out)))
			}
			return nil
		}
		if err := run(body); err != nil {
			t.Errorf("verify.sh rejected a genuine webhook: %v", err)
		}
		if err := run(append(body, ' ')); err == nil {
			t.Errorf("verify.sh accepted a tampered body")
		}
	}
}

func TestRetryAfterDate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", fixedNow.Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	retry, err := newTest(t, srv.URL).Notify(context.Background(), notifiertest.Sample())
	if d, ok := deploy.RetryAfter(err); !retry || !ok || d != 90*time.Second {
		t.Errorf("got retry=%v RetryAfter=%s,%v (err %v), want true 90s", retry, d, ok, err)
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
	retry, err := newTest(t, srv.URL+"/halt").Notify(context.Background(), notifiertest.Sample())
	if err == nil || retry {
		t.Errorf("got retry=%v err=%v, want a permanent error", retry, err)
	}
	if hits["/elsewhere"] != 0 {
		t.Errorf("redirect was followed")
	}
}

func TestConfig(t *testing.T) {
	load := func(name string) []Config {
		var f struct {
			Notifiers []Config `yaml:"notifiers"`
		}
		if err := yaml.Unmarshal(must(os.ReadFile(filepath.Join("testdata", name))), &f); err != nil {
			t.Fatal(err)
		}
		return f.Notifiers
	}
	for i, c := range load("good.yml") {
		if err := c.ValidateAt("notifiers[" + strconv.Itoa(i) + "]"); err != nil {
			t.Errorf("good.yml notifiers[%d]: %v", i, err)
		}
	}
	good := load("good.yml")
	if good[0].Timeout != 5*time.Second {
		t.Errorf("timeout = %s, want 5s from yaml", good[0].Timeout)
	}
	if err := good[1].Validate(); err != nil || good[1].Timeout != DefaultTimeout {
		t.Errorf("default timeout = %s (%v), want %s", good[1].Timeout, err, DefaultTimeout)
	}

	bad := load("bad.yml")
	want := [][]string{
		{"notifiers[0].url: must be an http(s) URL", "notifiers[0].secret: shorter than 16 bytes"},
		{"notifiers[1].url: required", "notifiers[1].secret: whsec_ secret is not valid base64", "notifiers[1].timeout: -1s"},
		{"notifiers[2].secret: required", "notifiers[2].headers: Webhook-Signature is set by the notifier", `notifiers[2].headers: "bad header" is not a valid header name`},
	}
	for i, c := range bad {
		err := c.ValidateAt("notifiers[" + strconv.Itoa(i) + "]")
		if err == nil {
			t.Errorf("bad.yml notifiers[%d]: no error", i)
			continue
		}
		for _, w := range want[i] {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("bad.yml notifiers[%d]: error %q lacks %q", i, err, w)
			}
		}
		if strings.Contains(err.Error(), "short-secret") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestConfigLogValue(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("notifier", "config", Config{
		URL:     "https://deploy.example/hooks/T0/secret-path?token=abc",
		Secret:  testSecret,
		Headers: map[string]string{"Authorization": "Bearer gw-token-0123456789"},
	})
	for _, s := range []string{testSecret, "gw-token", "secret-path", "abc"} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log line contains %q: %s", s, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "deploy.example") {
		t.Errorf("log line lacks the host: %s", buf.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
