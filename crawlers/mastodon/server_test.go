package mastodon_test

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
	"github.com/aftershock/aftershock/crawlers/mastodon"
)

// now is the tests' clock: shortly after the fixtures' newest status.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// token is the user token the fake instance accepts.
const token = "tok-7Gh2kQ"

// Special steps of a stream script.
const (
	stepDrop = "!drop" // cut the connection (no clean end of the chunked body)
	stepEnd  = "!end"  // end the response cleanly
	stepWait = "!wait" // pause 100ms
)

// instance is a fake Mastodon server over TLS. REST timelines replay the
// recorded responses of steps (testdata/<case>/NN.http) in order, repeating
// the last; without steps they are answered from store like the real
// server: newest first, min_id/max_id/limit, Link and X-RateLimit headers.
// The streaming endpoint plays one script per connection, then holds the
// connection open.
type instance struct {
	*httptest.Server
	crawlertest.Script   // REST steps, key ""
	crawlertest.Recorder // REST requests
	t                    *testing.T

	mu        sync.Mutex
	store     []stored
	remaining int
	scripts   [][]string
	conns     int
}

type stored struct {
	id   string
	tags []string
	raw  json.RawMessage
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	in := &instance{t: t, remaining: 300}
	in.Server = httptest.NewTLSServer(http.HandlerFunc(in.serve))
	t.Cleanup(in.Close)
	return in
}

// serveCase replays every response file of a case.
func serveCase(t *testing.T, name string) *instance {
	t.Helper()
	return serveSteps(t, crawlertest.CaseFiles(t, name)...)
}

// serveSteps replays the given fixture files (paths under testdata).
func serveSteps(t *testing.T, files ...string) *instance {
	t.Helper()
	in := newInstance(t)
	in.Set("", files...)
	return in
}

// serveStore answers from testdata/instance/statuses.json.
func serveStore(t *testing.T) *instance {
	t.Helper()
	in := newInstance(t)
	data, err := os.ReadFile("testdata/instance/statuses.json")
	if err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatal(err)
	}
	for _, r := range raws {
		in.add(r)
	}
	return in
}

// add puts a status into the store.
func (in *instance) add(raw json.RawMessage) {
	var st struct {
		ID   string `json:"id"`
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		in.t.Fatalf("fixture status: %v", err)
	}
	s := stored{id: st.ID, raw: raw}
	for _, tg := range st.Tags {
		s.tags = append(s.tags, strings.ToLower(tg.Name))
	}
	in.mu.Lock()
	in.store = append(in.store, s)
	in.mu.Unlock()
}

func (in *instance) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/v1/streaming/") {
		in.serveStream(w, r)
		return
	}
	in.Record(r)
	if step, ok := in.Next(""); ok {
		crawlertest.Play(in.t, w, r, step)
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.serveTimeline(w, r)
}

// numLess compares ids as numbers, as Mastodon does.
func numLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// serveTimeline answers a timeline request from the store (mu held).
func (in *instance) serveTimeline(w http.ResponseWriter, r *http.Request) {
	tag := ""
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/timelines/tag/"):
		tag = strings.ToLower(strings.TrimPrefix(r.URL.Path, "/api/v1/timelines/tag/"))
	case r.URL.Path == "/api/v1/timelines/public":
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"Record not found"}`)
		return
	}
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 40 {
		limit = 20
	}
	minID, maxID := q.Get("min_id"), q.Get("max_id")
	var sel []stored
	for _, s := range in.store {
		if tag != "" && !slices.Contains(s.tags, tag) {
			continue
		}
		if minID != "" && !numLess(minID, s.id) || maxID != "" && !numLess(s.id, maxID) {
			continue
		}
		sel = append(sel, s)
	}
	slices.SortFunc(sel, func(a, b stored) int {
		if numLess(a.id, b.id) {
			return 1
		}
		return -1
	})
	if len(sel) > limit {
		if minID != "" {
			sel = sel[len(sel)-limit:] // the statuses right after min_id
		} else {
			sel = sel[:limit]
		}
	}
	in.remaining--
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-RateLimit-Limit", "300")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(in.remaining))
	h.Set("X-RateLimit-Reset", now.Add(5*time.Minute).Format("2006-01-02T15:04:05.000Z"))
	if len(sel) > 0 {
		base := "https://" + r.Host + r.URL.Path
		h.Set("Link", fmt.Sprintf(`<%s?max_id=%s>; rel="next", <%s?min_id=%s>; rel="prev"`, base, sel[len(sel)-1].id, base, sel[0].id))
	}
	raws := make([]json.RawMessage, len(sel))
	for i, s := range sel {
		raws[i] = s.raw
	}
	json.NewEncoder(w).Encode(raws)
}

// serveStream plays the next stream script.
func (in *instance) serveStream(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"Missing access token"}`)
		return
	}
	in.mu.Lock()
	var script []string
	if in.conns < len(in.scripts) {
		script = in.scripts[in.conns]
	}
	in.conns++
	in.mu.Unlock()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ":)\n")
	w.(http.Flusher).Flush()
	for _, step := range script {
		switch step {
		case stepEnd:
			return
		case stepWait:
			time.Sleep(100 * time.Millisecond)
		case stepDrop:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				in.t.Errorf("hijacking: %v", err)
				return
			}
			conn.Close()
			return
		default:
			fmt.Fprint(w, step)
			w.(http.Flusher).Flush()
		}
	}
	<-r.Context().Done()
}

// update is the SSE text announcing a status.
func update(raw string) string { return "event: update\ndata: " + raw + "\n\n" }

// mkStatus is a minimal well-formed status tagged #shopapp.
func mkStatus(id string, minute int, text string) string {
	return fmt.Sprintf(`{"id":%q,"created_at":"2026-11-24T09:%02d:00.000Z","spoiler_text":"","language":"en","uri":"https://mastodon.example/users/kim/statuses/%s","url":"https://mastodon.example/@kim/%s","content":"<p>%s</p>","reblog":null,"account":{"id":"15","username":"kim","acct":"kim"},"tags":[{"name":"shopapp","url":"https://mastodon.example/tags/shopapp"}],"reblogs_count":0,"favourites_count":0}`, id, minute, id, id, text)
}

// deps routes the source's requests to the fake instance's TLS listener.
func (in *instance) deps() crawlers.Deps { return crawlertest.TLSDeps(in.Server, clock) }

// specText is a source spec for the instance; options is extra YAML
// under `options:` (indented by four spaces).
func (in *instance) specText(options string) string {
	return fmt.Sprintf(`
name: fedi
type: mastodon
service: shop
timeout: 2s
options:
    instance: %s
%s`, in.URL, options)
}

func (in *instance) source(t *testing.T, options string) *mastodon.Source {
	t.Helper()
	src, err := mastodon.New(crawlertest.Spec(t, in.specText(options)), in.deps())
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}
