package hackernews_test

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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/hackernews"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' clock: shortly after the fixtures' newest hit.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// algolia is a fake HN Search API. With steps it replays recorded responses
// (testdata/<case>/NN.http) in order, repeating the last; without, it
// answers /api/v1/search_by_date from store like the real service: newest
// first, numericFilters on created_at_i, page and hitsPerPage, nbPages.
type algolia struct {
	*httptest.Server
	t *testing.T

	mu    sync.Mutex
	steps []string
	next  int
	store []stored
	reqs  []*http.Request
}

type stored struct {
	id  string
	at  int64
	raw json.RawMessage
}

func newAlgolia(t *testing.T) *algolia {
	t.Helper()
	a := &algolia{t: t}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

// serveCase replays every response file of a case.
func serveCase(t *testing.T, name string) *algolia {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", name, "*.http"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures for case %s", name)
	}
	slices.Sort(files)
	a := newAlgolia(t)
	a.steps = files
	return a
}

// serveStore answers from testdata/algolia/hits.json.
func serveStore(t *testing.T) *algolia {
	t.Helper()
	a := newAlgolia(t)
	data, err := os.ReadFile("testdata/algolia/hits.json")
	if err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		a.add(r)
	}
	return a
}

func (a *algolia) add(raw json.RawMessage) {
	var h struct {
		ID string `json:"objectID"`
		At any    `json:"created_at_i"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		a.t.Fatalf("fixture hit: %v", err)
	}
	at, _ := h.At.(float64) // a malformed hit sorts last
	a.mu.Lock()
	a.store = append(a.store, stored{id: h.ID, at: int64(at), raw: raw})
	a.mu.Unlock()
}

// hit is a minimal well-formed comment hit.
func hit(id string, at int64, text string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"_tags":["comment","author_x","story_1"],"author":"x","comment_text":%q,"created_at":%q,"created_at_i":%d,"objectID":%q,"parent_id":1,"story_id":1,"story_title":"t"}`,
		text, time.Unix(at, 0).UTC().Format(time.RFC3339), at, id))
}

func (a *algolia) requests() []*http.Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

func (a *algolia) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, r.Clone(r.Context()))
	if len(a.steps) > 0 {
		step := a.steps[min(a.next, len(a.steps)-1)]
		a.next++
		a.replay(w, r, step)
		return
	}
	if r.URL.Path != "/api/v1/search_by_date" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not Found","status":404}`)
		return
	}
	q := r.URL.Query()
	hpp, _ := strconv.Atoi(q.Get("hitsPerPage"))
	if hpp <= 0 {
		hpp = 20
	}
	page, _ := strconv.Atoi(q.Get("page"))
	var sel []stored
	for _, s := range a.store {
		if matches(s.at, q.Get("numericFilters")) {
			sel = append(sel, s)
		}
	}
	slices.SortStableFunc(sel, func(x, y stored) int {
		if x.at != y.at {
			return int(y.at - x.at)
		}
		return strings.Compare(y.id, x.id)
	})
	nbPages := (len(sel) + hpp - 1) / hpp
	var hits []json.RawMessage
	for i := page * hpp; i < min(len(sel), (page+1)*hpp); i++ {
		hits = append(hits, sel[i].raw)
	}
	if hits == nil {
		hits = []json.RawMessage{}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{
		"hits": hits, "nbHits": len(sel), "page": page, "nbPages": nbPages, "hitsPerPage": hpp,
		"exhaustiveNbHits": true, "query": q.Get("query"), "params": r.URL.RawQuery, "processingTimeMS": 1,
	})
}

// matches applies numericFilters such as "created_at_i>=1795514280".
func matches(at int64, filters string) bool {
	if filters == "" {
		return true
	}
	for _, f := range strings.Split(filters, ",") {
		for _, op := range []string{">=", "<=", ">", "<", "="} {
			v, ok := strings.CutPrefix(f, "created_at_i"+op)
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			if !map[string]bool{">=": at >= n, "<=": at <= n, ">": at > n, "<": at < n, "=": at == n}[op] {
				return false
			}
			break
		}
	}
	return true
}

func (a *algolia) replay(w http.ResponseWriter, r *http.Request, step string) {
	raw, err := os.ReadFile(step)
	if err != nil {
		a.t.Errorf("reading fixture: %v", err)
		http.Error(w, err.Error(), 500)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
	if err != nil {
		a.t.Errorf("parsing fixture %s: %v", step, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

func (a *algolia) specText(options string) string {
	return fmt.Sprintf(`
name: hn
type: hackernews
service: shop
timeout: 2s
options:
    base_url: %s
    query: shopapp
%s`, a.URL, options)
}

func (a *algolia) source(t *testing.T, options string) *hackernews.Source {
	t.Helper()
	src, err := hackernews.New(crawlertest.Spec(t, a.specText(options)), crawlers.Deps{Now: clock})
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
