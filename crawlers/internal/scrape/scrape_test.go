package scrape

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// site serves /robots.txt (an HTTP status as a number, or a body) and
// /page (the body in page, with the headers in hdr).
type site struct {
	mu     sync.Mutex
	robots string
	page   string
	hdr    http.Header
	status int
	pages  int // requests of /page
}

func (s *site) set(f func(*site)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/robots.txt":
		switch s.robots {
		case "":
			http.NotFound(w, r)
		case "503":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			w.Write([]byte(s.robots))
		}
	case "/page":
		s.pages++
		for k, v := range s.hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(max(s.status, 200))
		w.Write([]byte(s.page))
	default:
		http.NotFound(w, r)
	}
}

func newFetcher(t *testing.T, s *site, cfg Config) (*Fetcher, string) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg.UserAgent = "test"
	cfg.Client = func() *http.Client { return crawlers.NewHTTPClient(5 * time.Second) }
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 10
	}
	return New(cfg), srv.URL + "/page"
}

func TestRobots(t *testing.T) {
	s := &site{robots: "503", page: "hello"}
	f, target := newFetcher(t, s, Config{})
	ctx := context.Background()

	// A robots.txt answering 5xx fails the fetch with a retryable error
	// and is not cached: the next fetch asks again.
	_, err := f.Fetch(ctx, target, nil)
	var perm *crawlers.PermanentError
	if err == nil || errors.As(err, &perm) || !strings.Contains(err.Error(), "robots.txt answered 503") {
		t.Fatalf("robots.txt 503: %v, want a retryable error naming it", err)
	}
	if s.pages != 0 {
		t.Errorf("%d page requests while robots.txt answered 503", s.pages)
	}

	s.set(func(s *site) { s.robots = "User-agent: *\nDisallow: /page\n" })
	if _, err := f.Fetch(ctx, target, nil); !errors.As(err, &perm) || !strings.Contains(err.Error(), "blocked by robots.txt") {
		t.Fatalf("disallowed page: %v, want a PermanentError", err)
	}

	// A refusal forgets robots.txt, so a lifted block is seen.
	s.set(func(s *site) { s.robots = "User-agent: *\nDisallow: /admin\n" })
	r, err := f.Fetch(ctx, target, nil)
	if err != nil || string(r.Body) != "hello" || !r.OK() || r.Target != target {
		t.Fatalf("allowed page: %+v, %v", r, err)
	}

	// Otherwise robots.txt is cached.
	s.set(func(s *site) { s.robots = "User-agent: *\nDisallow: /\n" })
	if _, err := f.Fetch(ctx, target, nil); err != nil {
		t.Errorf("robots.txt is cached, the fetch must not ask again: %v", err)
	}

	// IgnoreRobots reads the page anyway.
	g, target2 := newFetcher(t, s, Config{IgnoreRobots: true})
	if _, err := g.Fetch(ctx, target2, nil); err != nil {
		t.Errorf("IgnoreRobots: %v", err)
	}
}

func TestBody(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, page, charset, ctype string
		want                       string
		permanent                  bool
	}{
		{name: "at the cap", page: "0123456789", want: "0123456789"},
		{name: "over the cap", page: "0123456789!", permanent: true},
		{name: "charset forced", page: "\xc7\xd1", charset: "euc-kr", want: "한"},
		{name: "charset of the header", page: "\xc7\xd1", ctype: "text/html; charset=euc-kr", want: "한"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &site{page: tc.page, hdr: http.Header{}}
			if tc.ctype != "" {
				s.hdr.Set("Content-Type", tc.ctype)
			}
			f, target := newFetcher(t, s, Config{Charset: tc.charset})
			r, err := f.Fetch(ctx, target, nil)
			var perm *crawlers.PermanentError
			switch {
			case tc.permanent:
				if !errors.As(err, &perm) || !strings.Contains(err.Error(), "larger than 10 bytes") {
					t.Errorf("got %v, want a PermanentError naming the cap", err)
				}
			case err != nil:
				t.Errorf("fetch: %v", err)
			case string(r.Body) != tc.want:
				t.Errorf("body %q, want %q", r.Body, tc.want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status int
		want   string // rate, permanent or retry
	}{
		{http.StatusTooManyRequests, "rate"},
		{http.StatusNotFound, "permanent"},
		{http.StatusRequestTimeout, "retry"},
		{http.StatusBadGateway, "retry"},
	} {
		s := &site{status: tc.status, hdr: http.Header{"Retry-After": {"120"}}}
		f, target := newFetcher(t, s, Config{})
		r, err := f.Fetch(context.Background(), target, nil)
		if err != nil || r.OK() {
			t.Fatalf("%d: %+v, %v", tc.status, r, err)
		}
		err = r.StatusError(now)
		var rl *crawlers.RateLimitError
		var perm *crawlers.PermanentError
		got := "retry"
		switch {
		case errors.As(err, &rl):
			got = "rate"
			if rl.RetryAfter != 2*time.Minute {
				t.Errorf("%d: retry after %s, want 2m", tc.status, rl.RetryAfter)
			}
		case errors.As(err, &perm):
			got = "permanent"
		}
		if got != tc.want || !strings.Contains(err.Error(), target) {
			t.Errorf("%d: %v is %s, want %s naming the URL", tc.status, err, got, tc.want)
		}
	}
}
