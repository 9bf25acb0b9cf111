// Package notifiertest is the checklist every notifier's tests reuse: which
// HTTP statuses are worth a retry, that secrets stay out of error text, that
// a Retry-After reaches the delivery stage and that a cancelled context ends
// an attempt at once.
//
// A notifier test calls RunHTTP with a constructor that points the notifier
// at the kit's receiver:
//
//	notifiertest.RunHTTP(t, notifiertest.HTTPTarget{
//		New: func(t *testing.T, url string) deploy.Notifier { ... },
//		Secrets: []string{secret},
//	})
package notifiertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/signals"
)

// HTTPTarget describes the notifier under test.
type HTTPTarget struct {
	// New builds the notifier under test so that it sends to url (it may
	// add a path or query of its own, for example a token).
	New func(t *testing.T, url string) deploy.Notifier
	// Secrets are strings that must never appear in an error: signing keys,
	// tokens, passwords.
	Secrets []string
	// Notice is what is sent; the zero value uses Sample().
	Notice deploy.Notice
	// Success, when set, is the receiver for the success case: a fake of
	// the real API for notifiers that look things up before they change
	// them (store APIs), where a bare 2xx with no body is not a success.
	// The other cases still answer every request with the failure.
	Success http.Handler
}

// Sample is a realistic halt notice.
func Sample() deploy.Notice {
	at := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	return deploy.Notice{
		Key: "halt:shop-4.2.0:H2",
		Verdict: signals.Verdict{
			Type:     signals.TypeVerdict,
			Time:     at,
			Release:  "shop-4.2.0",
			Service:  "shop",
			Version:  "4.2.0",
			Ring:     "H2",
			Score:    37.5,
			Decision: signals.DecisionFail,
			Action:   signals.ActionHalt,
			Reasons:  []string{"error_rate 3.1% vs 0.4% expected", "complaints about checkout up 9x"},
			Signals: []signals.SignalResult{
				{Name: "error_rate", Group: "errors", Outcome: signals.OutcomeFail, Observed: 0.031, Expected: 0.004, Critical: true},
			},
			Keywords: []string{"checkout", "payment"},
			Examples: []signals.Example{{ID: "109", Source: "mastodon", URL: "https://mastodon.social/@a/109", Text: "checkout broken since the update"}},
			Team:     "shop-team",
		},
		Dashboard: "https://grafana.example/d/aftershock?var-release=shop-4.2.0",
		Created:   at,
	}
}

// Status cases: whether a reply with this status is worth retrying.
var statusCases = []struct {
	status int
	retry  bool
}{
	{http.StatusInternalServerError, true},
	{http.StatusBadGateway, true},
	{http.StatusServiceUnavailable, true},
	{http.StatusTooManyRequests, true},
	{http.StatusBadRequest, false},
	{http.StatusUnauthorized, false},
	{http.StatusNotFound, false},
}

// RunHTTP runs the checklist against a notifier that speaks HTTP.
func RunHTTP(t *testing.T, tgt HTTPTarget) {
	t.Helper()
	if tgt.New == nil {
		t.Fatal("notifiertest: HTTPTarget.New is nil")
	}
	if tgt.Notice.Key == "" {
		tgt.Notice = Sample()
	}

	t.Run("success", func(t *testing.T) {
		if tgt.Success != nil {
			srv := httptest.NewServer(tgt.Success)
			retry, err := notify(t, tgt, srv.URL, context.Background())
			srv.Close()
			if err != nil || retry {
				t.Errorf("got retry=%v err=%v, want success", retry, err)
			}
			return
		}
		for _, status := range []int{http.StatusOK, http.StatusAccepted, http.StatusNoContent} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(status)
			}))
			retry, err := notify(t, tgt, srv.URL, context.Background())
			srv.Close()
			if err != nil || retry {
				t.Errorf("status %d: got retry=%v err=%v, want success", status, retry, err)
			}
		}
	})

	t.Run("statuses", func(t *testing.T) {
		for _, tc := range statusCases {
			t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
				srv := httptest.NewServer(echoHandler(tc.status, ""))
				defer srv.Close()
				retry, err := notify(t, tgt, srv.URL, context.Background())
				if err == nil {
					t.Fatalf("status %d: got no error", tc.status)
				}
				if retry != tc.retry {
					t.Errorf("status %d: retry=%v, want %v (err: %v)", tc.status, retry, tc.retry, err)
				}
				checkSecrets(t, tgt, err)
			})
		}
	})

	t.Run("retry after", func(t *testing.T) {
		for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			srv := httptest.NewServer(echoHandler(status, "7"))
			retry, err := notify(t, tgt, srv.URL, context.Background())
			srv.Close()
			if !retry {
				t.Errorf("status %d with Retry-After: retry=false", status)
			}
			if d, ok := deploy.RetryAfter(err); !ok || d != 7*time.Second {
				t.Errorf("status %d: deploy.RetryAfter(%v) = %s, %v; want 7s, true", status, err, d, ok)
			}
		}
	})

	t.Run("oversized error body", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, strings.Repeat("\xff<html>bad gateway</html>", 40000))
		}))
		defer srv.Close()
		retry, err := notify(t, tgt, srv.URL, context.Background())
		if err == nil || !retry {
			t.Fatalf("got retry=%v err=%v, want a retryable error", retry, err)
		}
		if n := len(err.Error()); n > 2048 {
			t.Errorf("error text is %d bytes, want at most 2048", n)
		}
	})

	t.Run("receiver down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		retry, err := notify(t, tgt, url, context.Background())
		if err == nil || !retry {
			t.Fatalf("got retry=%v err=%v, want a retryable error", retry, err)
		}
		checkSecrets(t, tgt, err)
	})

	t.Run("context cancel", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		retry, err := notify(t, tgt, srv.URL, ctx)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("Notify returned %s after the context ended", took)
		}
		if err == nil || !retry {
			t.Errorf("got retry=%v err=%v, want a retryable error", retry, err)
		}
		checkSecrets(t, tgt, err)
	})
}

func notify(t *testing.T, tgt HTTPTarget, url string, ctx context.Context) (bool, error) {
	t.Helper()
	n := tgt.New(t, url)
	return n.Notify(ctx, tgt.Notice)
}

// echoHandler answers with status and a body that repeats the request line
// and headers, as some proxies and APIs do ("invalid token xoxb-…"), so a
// notifier that copies reply bodies into errors must redact its secrets.
func echoHandler(status int, retryAfter string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "rejected %s %s", r.Method, r.URL.RequestURI())
		for name, vals := range r.Header {
			fmt.Fprintf(&b, " %s=%s", name, strings.Join(vals, ","))
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, b.String())
	})
}

func checkSecrets(t *testing.T, tgt HTTPTarget, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range tgt.Secrets {
			if s != "" && strings.Contains(e.Error(), s) {
				t.Errorf("error text contains a secret: %q", e.Error())
				return
			}
		}
	}
}
