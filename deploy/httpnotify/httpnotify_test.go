package httpnotify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
)

var now = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        time.Duration
		ok          bool
	}{
		{"missing", "", 0, false},
		{"seconds", "7", 7 * time.Second, true},
		{"seconds with spaces", " 7 ", 7 * time.Second, true},
		{"zero", "0", 0, false},
		{"negative", "-3", 0, false},
		{"date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0, false},
		{"garbage", "soon", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			d, ok := RetryAfter(h, now)
			if d != tc.want || ok != tc.ok {
				t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", tc.value, d, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFailed(t *testing.T) {
	cause := errors.New("posting: reply")
	for _, tc := range []struct {
		status     int
		retryAfter string
		retry      bool
		after      time.Duration
	}{
		{http.StatusBadRequest, "", false, 0},
		{http.StatusNotFound, "5", false, 0}, // Retry-After on a final status is ignored
		{http.StatusFound, "", false, 0},
		{http.StatusTooManyRequests, "", true, 0},
		{http.StatusTooManyRequests, "5", true, 5 * time.Second},
		{http.StatusInternalServerError, "", true, 0},
		{http.StatusServiceUnavailable, now.Add(time.Minute).Format(http.TimeFormat), true, time.Minute},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		retry, err := Failed(resp, cause, now)
		if retry != tc.retry || !errors.Is(err, cause) {
			t.Errorf("status %d: retry=%v err=%v, want retry=%v wrapping the cause", tc.status, retry, err, tc.retry)
		}
		if d, _ := deploy.RetryAfter(err); d != tc.after {
			t.Errorf("status %d, Retry-After %q: deploy.RetryAfter = %s, want %s", tc.status, tc.retryAfter, d, tc.after)
		}
	}
}

func TestClean(t *testing.T) {
	const secret = "s3cr3t-t0ken-abcdef"
	r := NewRedactor("", "t0ken", secret) // a part of the secret listed first
	for _, tc := range []struct {
		name string
		body string
		want string
	}{
		{"empty", "", ""},
		{"blank", " \n\t ", ""},
		{"one line", "bad\nrequest\r\n  here", ": bad request here"},
		{"secret whole, not its part", "echo " + secret, ": echo <redacted>"},
		{"part alone", "t0ken", ": <redacted>"},
		{"invalid utf-8", "a\xffb", ": a\uFFFDb"},
		{"long", strings.Repeat("é", 300), ": " + strings.Repeat("é", MaxSnippet/2) + "…"},
		// A full read may end in the first half of a secret: that tail goes.
		{"secret cut by the read", strings.Repeat("x", MaxRead-8) + secret[:8], ": " + strings.Repeat("x", MaxSnippet) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Clean([]byte(tc.body))
			if got != tc.want {
				t.Errorf("Clean = %q, want %q", got, tc.want)
			}
			if !utf8.ValidString(got) || strings.Contains(got, secret[:8]) {
				t.Errorf("Clean = %q: invalid UTF-8 or part of the secret", got)
			}
		})
	}
	if got := (Redactor{}).Clean([]byte("plain")); got != ": plain" {
		t.Errorf("zero Redactor: Clean = %q", got)
	}
}

func TestCleanDropsCutSecretAtReadLimit(t *testing.T) {
	const secret = "abcdefghijklmnop"
	r := NewRedactor(secret)
	// Spaces collapse, so the cut tail would be the only text left.
	body := strings.Repeat(" ", MaxRead-6) + secret[:6]
	if got := r.Clean([]byte(body)); got != "" {
		t.Errorf("Clean = %q, want the cut secret dropped", got)
	}
}

func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL + "/hooks/tok3n-in-path?key=tok3n-in-query"
	srv.Close() // connection refused from here on

	_, err := NewClient(time.Second).Get(url)
	if err == nil {
		t.Fatal("request to a closed server succeeded")
	}
	if got := TransportError(context.Background(), err); strings.Contains(got.Error(), "tok3n") {
		t.Errorf("TransportError = %q, contains the URL", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := TransportError(ctx, err); !errors.Is(got, context.Canceled) {
		t.Errorf("TransportError after cancel = %v, want context.Canceled", got)
	}
}

func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := NewClient(time.Second).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits != 1 {
		t.Errorf("status %d after %d requests, want 302 after 1", resp.StatusCode, hits)
	}
}

func TestReadSnippet(t *testing.T) {
	body := strings.NewReader(strings.Repeat("a", MaxRead+100))
	if got := ReadSnippet(body); len(got) != MaxRead {
		t.Errorf("read %d bytes, want %d", len(got), MaxRead)
	}
	if body.Len() != 0 {
		t.Errorf("%d bytes left unread, want the body drained", body.Len())
	}
}

func TestTarget(t *testing.T) {
	for raw, want := range map[string]string{
		"https://hooks.example/services/T0/B0/secret?x=1": "https://hooks.example",
		"http://user:pw@example:8080/p":                   "http://example:8080",
		"not a url":                                       "<invalid url>",
	} {
		if got := Target(raw); got != want {
			t.Errorf("Target(%q) = %q, want %q", raw, got, want)
		}
	}
}
