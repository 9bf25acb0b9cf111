package appstore_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/appstore"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' start time: shortly after the fixtures' newest item.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: now} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// request is what the fixture server received.
type request struct {
	Method, Path string
	Header       http.Header
	Query        url.Values
	Body         string
}

// fixtureServer replays recorded raw HTTP responses (testdata/...) per path,
// in order, repeating the last one, and records every request.
type fixtureServer struct {
	*httptest.Server
	t *testing.T

	mu     sync.Mutex
	routes map[string][]string
	served map[string]int
	reqs   []request
}

// routes maps a path (see page) to fixture files.
type routes map[string][]string

func serve(t *testing.T, r routes) *fixtureServer {
	t.Helper()
	fs := &fixtureServer{t: t, routes: r, served: make(map[string]int)}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

// set replaces the fixtures of a path and restarts its sequence.
func (fs *fixtureServer) set(path string, files ...string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.routes[path] = files
	fs.served[path] = 0
}

func (fs *fixtureServer) requests() []request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

// count returns how many requests went to path.
func (fs *fixtureServer) count(path string) int {
	n := 0
	for _, r := range fs.requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

func (fs *fixtureServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fs.mu.Lock()
	fs.reqs = append(fs.reqs, request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Query: r.URL.Query(), Body: string(body)})
	files := fs.routes[r.URL.Path]
	if len(files) == 0 {
		fs.mu.Unlock()
		fs.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
		return
	}
	file := files[min(fs.served[r.URL.Path], len(files)-1)]
	fs.served[r.URL.Path]++
	fs.mu.Unlock()

	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		fs.t.Errorf("reading fixture: %v", err)
		http.Error(w, err.Error(), 500)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
	if err != nil {
		fs.t.Errorf("parsing fixture %s: %v", file, err)
		return
	}
	data, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
}

// appID is the fixtures' app.
const appID = "389801252"

// page is the feed path of a country's page.
func page(cc string, n int) string {
	return fmt.Sprintf("/%s/rss/customerreviews/page=%d/id=%s/sortby=mostrecent/json", cc, n, appID)
}

// newSource builds an appstore source against the fixture server; options
// is extra YAML under `options:` (indented by four spaces).
func newSource(t *testing.T, srv *fixtureServer, c *clock, options string) *appstore.Source {
	t.Helper()
	spec := crawlertest.Spec(t, fmt.Sprintf(`
name: appstore-shop
type: appstore
service: shop
timeout: 2s
options:
    base_url: %q
    app_id: "%s"
%s`, srv.URL, appID, options))
	if c == nil {
		c = newClock()
	}
	src, err := appstore.New(spec, crawlers.Deps{Now: c.Now})
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
		want = append(want, p)
	}
	return want
}

// comparePosts checks got against want field by field; Fetched must be
// fetched.
func comparePosts(t *testing.T, got, want []signals.Post, fetched time.Time) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d posts %q, want %d %q", len(got), crawlertest.IDs(got), len(want), crawlertest.IDs(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if !g.Fetched.Equal(fetched) {
			t.Errorf("post %d: fetched %v, want %v", i, g.Fetched, fetched)
		}
		g.Fetched = time.Time{}
		g.Time, w.Time = g.Time.UTC(), w.Time.UTC()
		if !reflect.DeepEqual(g, w) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("post %d:\ngot  %s\nwant %s", i, gj, wj)
		}
	}
}
