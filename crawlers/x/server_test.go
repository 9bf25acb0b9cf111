package x_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/x"
)

// now is the tests' clock: shortly after the fixtures' newest post. The
// fixtures' x-rate-limit-reset headers are counted from it (1795514400).
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

const token = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F"

// Special steps of a fixture server (see crawlertest.Play).
const (
	stepDie  = crawlertest.StepDie
	stepHang = crawlertest.StepHang
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
	crawlertest.Script   // sequence mode, key ""
	crawlertest.Recorder // search requests
	t                    *testing.T
	path                 string

	mu     sync.Mutex
	search *searchCase
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
	fs.search = nil
	fs.Set("", steps...)
}

func (fs *fixtureServer) setSearch(dir, empty string) {
	fs.t.Helper()
	files := crawlertest.CaseFiles(fs.t, dir)
	sc := &searchCase{first: files[0], pages: make(map[string]string), empty: filepath.Join("testdata", empty)}
	for i, f := range files {
		body := crawlertest.ReadHTTP(fs.t, f).Body
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
	fs.search = sc
	fs.Set("")
	fs.mu.Unlock()
}

func parseID(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
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
	fs.Record(r)
	fs.mu.Lock()
	sc := fs.search
	fs.mu.Unlock()
	step, _ := fs.Next("")
	if sc != nil {
		step = sc.pick(fs.t, r.URL.Query())
	}
	if step == "" {
		http.Error(w, "no fixture for this request", http.StatusInternalServerError)
		return
	}
	crawlertest.Play(fs.t, w, r, step)
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
