package feed_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/feed"
)

// now is the tests' clock: shortly after the fixtures' newest item.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// Special steps of a fixture server (see crawlertest.Play).
const (
	stepDie  = crawlertest.StepDie
	stepHang = crawlertest.StepHang
	stepCut  = "!cut" // send headers and half a body, then close
)

// fixtureServer replays recorded responses (testdata/<case>/NN.http, raw
// HTTP/1.1 responses) in order, one per feed request, repeating the last.
// Like a real server it answers a matching If-None-Match with 304 and
// /robots.txt with 404 unless told otherwise.
type fixtureServer struct {
	*httptest.Server
	crawlertest.Script
	crawlertest.Recorder
	t *testing.T

	mu     sync.Mutex
	robots string // body of /robots.txt; "" answers 404; "503" answers 503
}

// serveCase replays every response file of a case.
func serveCase(t *testing.T, name string) *fixtureServer {
	t.Helper()
	return serveSteps(t, crawlertest.CaseFiles(t, name)...)
}

// serveSteps replays fixture files (paths under testdata) and special steps.
func serveSteps(t *testing.T, steps ...string) *fixtureServer {
	t.Helper()
	fs := &fixtureServer{t: t}
	fs.setSteps(steps...)
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fixtureServer) setSteps(steps ...string) { fs.Set("", steps...) }

func (fs *fixtureServer) setRobots(body string) {
	fs.mu.Lock()
	fs.robots = body
	fs.mu.Unlock()
}

func (fs *fixtureServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		fs.mu.Lock()
		robots := fs.robots
		fs.mu.Unlock()
		switch robots {
		case "":
			http.NotFound(w, r)
		case "503":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			fmt.Fprint(w, robots)
		}
		return
	}
	fs.Record(r)
	step, _ := fs.Next("")
	switch step {
	case stepCut:
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			fs.t.Errorf("hijacking: %v", err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<?xml version=\"1.0\"?><rss><channel><item><title>half")
		buf.Flush()
		conn.Close()
		return
	case stepDie, stepHang:
		crawlertest.Play(fs.t, w, r, step)
		return
	}
	resp, err := crawlertest.LoadHTTP(crawlertest.FixturePath(step))
	if err != nil {
		fs.t.Errorf("%v", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if etag := resp.Header.Get("ETag"); etag != "" && r.Header.Get("If-None-Match") == etag {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	resp.Write(w)
}

// newSource builds a feed source for a server path; options is extra YAML
// under `options:` (indented by four spaces).
func newSource(t *testing.T, url string, options string) *feed.Source {
	t.Helper()
	spec := crawlertest.Spec(t, fmt.Sprintf(`
name: community
type: feed
service: shop
timeout: 2s
options:
    url: %q
%s`, url, options))
	src, err := feed.New(spec, crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}
