package x_test

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/x"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' clock: shortly after the fixtures' newest post. The
// fixtures' x-rate-limit-reset headers are counted from it (1795514400).
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

const token = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F"

// Special steps of a fixture server.
const (
	stepDie  = "!die"  // close the connection without answering
	stepHang = "!hang" // answer only after the client gave up
)

// fixtureServer replays recorded X API responses (testdata/<case>/NN.http,
// raw HTTP/1.1 responses). It answers only on the real paths and only to
// the configured bearer token.
//
// In sequence mode it replays its steps in order, repeating the last. In
// search mode it behaves like the API over a fixed set of posts: the first
// page comes without a page token, each page's next_token (v2) or
// next_results max_id (v1.1) leads to the following file, and a since_id
// at or after the newest post gets the case's empty answer.
type fixtureServer struct {
	*httptest.Server
	t    *testing.T
	path string

	mu     sync.Mutex
	steps  []string
	next   int
	search *searchCase
	reqs   []*http.Request
}

type searchCase struct {
	first  string
	pages  map[string]string // page token → file
	newest uint64
	empty  string
}

// serveSteps replays fixture files (paths under testdata) and special steps.
func serveSteps(t *testing.T, api string, steps ...string) *fixtureServer {
	t.Helper()
	fs := newServer(t, api)
	fs.setSteps(steps...)
	return fs
}

// serveSearch serves a case in search mode (see fixtureServer).
func serveSearch(t *testing.T, api, dir, empty string) *fixtureServer {
	t.Helper()
	fs := newServer(t, api)
	fs.setSearch(dir, empty)
	return fs
}

func newServer(t *testing.T, api string) *fixtureServer {
	fs := &fixtureServer{t: t, path: "/2/tweets/search/recent"}
	if api == x.APIv11 {
		fs.path = "/1.1/search/tweets.json"
	}
	fs.Server = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fixtureServer) setSteps(steps ...string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.steps, fs.next, fs.search = nil, 0, nil
	for _, s := range steps {
		if !strings.HasPrefix(s, "!") {
			s = filepath.Join("testdata", s)
		}
		fs.steps = append(fs.steps, s)
	}
}

func (fs *fixtureServer) setSearch(dir, empty string) {
	fs.t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.http"))
	if err != nil || len(files) == 0 {
		fs.t.Fatalf("no fixtures in %s", dir)
	}
	slices.Sort(files)
	sc := &searchCase{first: files[0], pages: make(map[string]string), empty: filepath.Join("testdata", empty)}
	for i, f := range files {
		_, body := readFixture(fs.t, f)
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			Statuses []struct {
				IDStr string `json:"id_str"`
			} `json:"statuses"`
			Meta struct {
				NextToken string `json:"next_token"`
			} `json:"meta"`
			Metadata struct {
				NextResults string `json:"next_results"`
			} `json:"search_metadata"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			fs.t.Fatalf("%s: %v", f, err)
		}
		for _, d := range page.Data {
			sc.newest = max(sc.newest, parseID(d.ID))
		}
		for _, s := range page.Statuses {
			sc.newest = max(sc.newest, parseID(s.IDStr))
		}
		tok := page.Meta.NextToken
		if page.Metadata.NextResults != "" {
			q, _ := url.ParseQuery(strings.TrimPrefix(page.Metadata.NextResults, "?"))
			tok = q.Get("max_id")
		}
		if tok != "" && i+1 < len(files) {
			sc.pages[tok] = files[i+1]
		}
	}
	fs.mu.Lock()
	fs.search, fs.steps = sc, nil
	fs.mu.Unlock()
}

func parseID(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// requests returns the search requests received so far.
func (fs *fixtureServer) requests() []*http.Request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.reqs)
}

func (fs *fixtureServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != fs.path {
		fs.t.Errorf("request to %s, want %s", r.URL.Path, fs.path)
		http.NotFound(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		fs.t.Errorf("Authorization %q, want the bearer token", got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fs.mu.Lock()
	fs.reqs = append(fs.reqs, r.Clone(r.Context()))
	var step string
	switch {
	case fs.search != nil:
		step = fs.search.pick(fs.t, r.URL.Query())
	case len(fs.steps) > 0:
		step = fs.steps[min(fs.next, len(fs.steps)-1)]
		fs.next++
	}
	fs.mu.Unlock()

	switch step {
	case "":
		http.Error(w, "no fixture for this request", http.StatusInternalServerError)
		return
	case stepDie:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			fs.t.Errorf("hijacking: %v", err)
			return
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
	resp, body := readFixture(fs.t, step)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// pick chooses the file answering a search request.
func (sc *searchCase) pick(t *testing.T, q url.Values) string {
	tok := q.Get("next_token")
	if tok == "" {
		tok = q.Get("max_id")
	}
	if tok != "" {
		f, ok := sc.pages[tok]
		if !ok {
			t.Errorf("unknown page token %q", tok)
		}
		return f
	}
	if since := q.Get("since_id"); since != "" && parseID(since) >= sc.newest {
		return sc.empty
	}
	return sc.first
}

func readFixture(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("parsing fixture %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading fixture body %s: %v", path, err)
	}
	return resp, body
}

// newSource builds an x source for a server; options is extra YAML under
// `options:` (indented by four spaces).
func newSource(t *testing.T, srv *fixtureServer, api, options string) *x.Source {
	t.Helper()
	src, err := x.New(specFor(t, srv, api, options), crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

func specFor(t *testing.T, srv *fixtureServer, api, options string) crawlers.Spec {
	t.Helper()
	return crawlertest.Spec(t, fmt.Sprintf(`
name: x-acme
type: x
service: shop
timeout: 2s
options:
    api: %q
    base_url: %q
    bearer_token: %q
    query: '"acme shop" -is:retweet'
%s`, api, srv.URL, token, options))
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
