package httpsrc

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"Tue, 24 Nov 2026 10:05:00 GMT", 5 * time.Minute, true},
		{"Tue, 24 Nov 2026 09:55:00 GMT", 0, true},
		{"soon", 0, false},
		{"", 0, false},
	} {
		if got, ok := RetryAfter(tc.in, now); got != tc.want || ok != tc.ok {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestStatusError(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string // rate, permanent or retry
	}{
		{http.StatusTooManyRequests, "rate"},
		{http.StatusBadRequest, "permanent"},
		{http.StatusUnauthorized, "permanent"},
		{http.StatusForbidden, "permanent"},
		{http.StatusNotFound, "permanent"},
		{http.StatusRequestTimeout, "retry"},
		{http.StatusInternalServerError, "retry"},
		{http.StatusServiceUnavailable, "retry"},
		{http.StatusFound, "retry"},
	} {
		cause := errors.New("asking: status")
		err := StatusError(tc.status, time.Minute, cause)
		var rl *crawlers.RateLimitError
		var perm *crawlers.PermanentError
		got := "retry"
		switch {
		case errors.As(err, &rl):
			got = "rate"
			if rl.RetryAfter != time.Minute {
				t.Errorf("%d: retry after %s, want 1m", tc.status, rl.RetryAfter)
			}
		case errors.As(err, &perm):
			got = "permanent"
		}
		if got != tc.want || !errors.Is(err, cause) {
			t.Errorf("%d: %v is %s, want %s wrapping the cause", tc.status, err, got, tc.want)
		}
	}
}

func TestReadCapped(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    io.Reader
		want string // body, or a part of the error
		fail bool
	}{
		{name: "under", r: strings.NewReader("abc"), want: "abc"},
		{name: "at the cap", r: strings.NewReader("abcde"), want: "abcde"},
		{name: "over", r: strings.NewReader("abcdef"), want: "response larger than 5 bytes", fail: true},
		{name: "broken", r: iotest.ErrReader(errors.New("reset")), want: "reading response: reset", fail: true},
	} {
		body, err := ReadCapped(tc.r, 5)
		switch {
		case tc.fail && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %q, %v; want an error saying %q", tc.name, body, err, tc.want)
		case !tc.fail && (err != nil || string(body) != tc.want):
			t.Errorf("%s: %q, %v; want %q", tc.name, body, err, tc.want)
		}
	}
	var tl *TooLargeError
	if _, err := ReadCapped(strings.NewReader("abcdef"), 5); !errors.As(err, &tl) || tl.Limit != 5 {
		t.Errorf("over the cap: %v, want a *TooLargeError", err)
	}
}

func TestBench(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	b := NewBench([]string{"a", "b"}, clock, 10*time.Minute)

	if _, ok := b.Benched("a"); ok {
		t.Fatal("a benched before any refusal")
	}
	if b.Refuse("a") {
		t.Error("first refusal of a skipped; it must be reported")
	}
	if until, ok := b.Benched("a"); !ok || !until.Equal(now.Add(10*time.Minute)) {
		t.Errorf("a benched %v until %v, want until +10m", ok, until)
	}
	now = now.Add(11 * time.Minute)
	if _, ok := b.Benched("a"); ok {
		t.Error("a still benched after the pause")
	}
	if !b.Refuse("a") {
		t.Error("second refusal of a reported; it must be skipped while b answers")
	}
	if b.Refuse("b") {
		t.Error("first refusal of b skipped")
	}
	if b.Refuse("b") {
		t.Error("refusal with every target benched skipped; the poll must fail")
	}
	b.Accept("a")
	if _, ok := b.Benched("a"); ok {
		t.Error("a benched after it answered")
	}
	if b.Refuse("a") {
		t.Error("refusal of a after it answered skipped; it must be reported again")
	}

	err := Refused(errors.New("r/x: 403"))
	var perm *crawlers.PermanentError
	var re *RefusedError
	if !errors.As(err, &perm) || !errors.As(err, &re) || err.Error() != "r/x: 403" {
		t.Errorf("Refused: %v, want a RefusedError around a PermanentError", err)
	}
}
