package feed_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/feed"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' clock: shortly after the fixtures' newest item.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// Special steps of a fixture server.
const (
	stepDie  = "!die"  // close the connection without answering
	stepHang = "!hang" // answer only after the client gave up
	stepCut  = "!cut"  // send headers and half a body, then close
)

// fixtureServer replays recorded responses (testdata/<case>/NN.http, raw
// HTTP/1.1 responses) in order, one per feed request, repeating the last.
// Like a real server it answers a matching If-None-Match with 304 and
// /robots.txt with 404 unless told otherwise.
type fixtureServer struct {
	*httptest.Server
	t *testing.T

	mu     sync.Mutex
	steps  []string
	next   int
	robots string // body of /robots.txt; "" answers 404; "503" answers 503
	reqs   []*http.Request
}

// serveCase replays every response file of a case.
func serveCase(t *testing.T, name string) *fixtureServer {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", name, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures for case %s", name)
	}
	slices.Sort(files)
	return serveSteps(t, files...)
}

// serveSteps replays fixture files (paths under testdata) and special steps.
func serveSteps(t *testing.T, steps ...string) *fixtureServer {
	t.Helper()
	for i, s := range steps {
		if !strings.HasPrefix(s, "!") && !strings.HasPrefix(s, "testdata") {
			steps[i] = filepath.Join("testdata", s)
		}
	}
	fs := &fixtureServer{t: t, steps: steps}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fixtureServer) setSteps(steps ...string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, s := range steps {
		if !strings.HasPrefix(s, "!") {
			steps[i] = filepath.Join("testdata", s)
		}
	}
	fs.steps, fs.next = steps, 0
}

func (fs *fixtureServer) setRobots(body string) {
	fs.mu.Lock()
	fs.robots = body
	fs.mu.Unlock()
}

// requests returns the feed requests received so far.
func (fs *fixtureServer) requests() []*http.Request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

func (fs *fixtureServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	if r.URL.Path == "/robots.txt" {
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
	fs.reqs = append(fs.reqs, r.Clone(r.Context()))
	step := fs.steps[min(fs.next, len(fs.steps)-1)]
	fs.next++
	fs.mu.Unlock()

	switch step {
	case stepDie, stepCut:
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			fs.t.Errorf("hijacking: %v", err)
			return
		}
		if step == stepCut {
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<?xml version=\"1.0\"?><rss><channel><item><title>half")
			buf.Flush()
		}
		conn.Close()
		return
	case stepHang:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	raw, err := os.ReadFile(step)
	if err != nil {
		fs.t.Errorf("reading fixture: %v", err)
		http.Error(w, err.Error(), 500)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
	if err != nil {
		fs.t.Errorf("parsing fixture %s: %v", step, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	etag := resp.Header.Get("ETag")
	if etag != "" && r.Header.Get("If-None-Match") == etag {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
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

// readWant reads the expected posts of a case.
func readWant(t *testing.T, path string) []signals.Post {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	var want []signals.Post
	for line := range bytes.Lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var p signals.Post
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p.Time = p.Time.UTC()
		want = append(want, p)
	}
	return want
}

// comparePosts checks got against want, field by field.
func comparePosts(t *testing.T, got, want []signals.Post) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d posts %q, want %d %q", len(got), crawlertest.IDs(got), len(want), crawlertest.IDs(want))
	}
	for i := range min(len(got), len(want)) {
		g := got[i]
		if !g.Fetched.Equal(now) {
			t.Errorf("post %d: fetched %v, want %v", i, g.Fetched, now)
		}
		g.Fetched = time.Time{}
		g.Time = g.Time.UTC()
		if !reflect.DeepEqual(g, want[i]) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(want[i])
			t.Errorf("post %d:\ngot  %s\nwant %s", i, gj, wj)
		}
	}
}
