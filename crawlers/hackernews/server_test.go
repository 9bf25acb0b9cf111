package hackernews_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/hackernews"
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
	crawlertest.Script // key ""
	crawlertest.Recorder
	t *testing.T

	mu    sync.Mutex
	store []stored
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
	a := newAlgolia(t)
	a.Set("", crawlertest.CaseFiles(t, name)...)
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

func (a *algolia) serve(w http.ResponseWriter, r *http.Request) {
	a.Record(r)
	if step, ok := a.Next(""); ok {
		crawlertest.Play(a.t, w, r, step)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
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
