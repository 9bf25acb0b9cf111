package crawlertest

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

func TestReadHTTP(t *testing.T) {
	r := ReadHTTP(t, "testdata/429.http")
	if r.Status != 429 || r.Header.Get("Retry-After") != "30" || string(r.Body) != "{\"error\":\"slow down\"}\n" {
		t.Errorf("read %d %v %q", r.Status, r.Header, r.Body)
	}
	if _, err := LoadHTTP("testdata/missing.http"); err == nil {
		t.Error("no error for a missing fixture")
	}
}

func TestScript(t *testing.T) {
	var s Script
	if _, ok := s.Next("a"); ok {
		t.Error("the zero Script has steps")
	}
	s.Set("a", "1", "2")
	var got []string
	for range 3 {
		step, _ := s.Next("a")
		got = append(got, step)
	}
	s.Set("a", "3")
	step, _ := s.Next("a")
	if got = append(got, step); !slices.Equal(got, []string{"1", "2", "2", "3"}) {
		t.Errorf("steps %q, want 1 2 2 (the last repeats) then 3 (Set restarts)", got)
	}
}

func TestServer(t *testing.T) {
	srv := Serve(t, map[string][]string{"/a": {"ok.http", "429.http"}})
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/a?x=1", "application/x-www-form-urlencoded", strings.NewReader("q=up"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for i, want := range []int{200, 429, 429} {
		if status, body := get(); status != want {
			t.Errorf("request %d: %d %q, want %d", i+1, status, body, want)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 || srv.Count("/a") != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	r := reqs[0]
	if r.String() != "POST /a" || r.URI != "/a?x=1" || r.Query.Get("x") != "1" || r.Body != "q=up" || !slices.Equal(r.Form["q"], []string{"up"}) || r.At.IsZero() {
		t.Errorf("recorded %+v", r)
	}
}

func TestErrorChecks(t *testing.T) {
	rate := &crawlers.RateLimitError{RetryAfter: time.Minute, Err: errors.New("429")}
	perm := &crawlers.PermanentError{Err: errors.New("404 gone")}
	plain := errors.New("503")
	tests := []struct {
		name  string
		check ErrorCheck
		err   error
		pass  bool
	}{
		{"rate limited", RateLimited(time.Minute), rate, true},
		{"rate limited, other wait", RateLimited(time.Second), rate, false},
		{"rate limited, plain", RateLimited(time.Minute), plain, false},
		{"permanent", Permanent, perm, true},
		{"permanent, rate limited", Permanent, rate, false},
		{"transient", Transient, plain, true},
		{"transient, permanent", Transient, perm, false},
		{"saying", Saying(Permanent, "gone"), perm, true},
		{"not saying", Saying(Permanent, "private"), perm, false},
	}
	for _, tt := range tests {
		if msg := tt.check(tt.err); (msg == "") != tt.pass {
			t.Errorf("%s: %q, want pass %v", tt.name, msg, tt.pass)
		}
	}
}

func TestFixturePath(t *testing.T) {
	for in, want := range map[string]string{"a/01.http": "testdata/a/01.http", "testdata/a/01.http": "testdata/a/01.http"} {
		if got := FixturePath(in); got != want {
			t.Errorf("FixturePath(%q) = %q, want %q", in, got, want)
		}
	}
}
