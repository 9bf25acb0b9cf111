package bluesky_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/bluesky"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// now is the tests' clock: shortly after the fixtures' newest post.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// The account the fake PDS knows.
const (
	identifier = "watcher.bsky.social"
	password   = "abcd-efgh-ijkl-mnop"
)

// pds is a fake PDS over TLS. createSession and refreshSession hand out
// numbered tokens (access-jwt-N, refresh-jwt-N) and refuse stale ones the
// way bsky.social does (400 ExpiredToken). searchPosts replays the recorded
// answers of steps (testdata/<case>/NN.http) in order, repeating the last;
// without steps it answers from store like the real service: sort=latest,
// since on sortAt (inclusive), an offset cursor, limit, RateLimit headers.
type pds struct {
	*httptest.Server
	crawlertest.Script   // searchPosts steps, key ""
	crawlertest.Recorder // searchPosts requests
	t                    *testing.T

	mu        sync.Mutex
	store     []storedPost
	remaining int
	creates   int
	refreshes int
	access    string // the valid access token, "" once expired
	refresh   string // the valid refresh token, "" once expired
	gen       int
}

type storedPost struct {
	sortAt time.Time
	raw    json.RawMessage
}

func newPDS(t *testing.T) *pds {
	t.Helper()
	p := &pds{t: t, remaining: 3000}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// serveCase replays every searchPosts answer of a case.
func serveCase(t *testing.T, name string) *pds {
	t.Helper()
	p := newPDS(t)
	p.Set("", crawlertest.CaseFiles(t, name)...)
	return p
}

// add puts post views into the store.
func (p *pds) add(raws ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, raw := range raws {
		var pv struct {
			IndexedAt string `json:"indexedAt"`
			Record    struct {
				CreatedAt string `json:"createdAt"`
			} `json:"record"`
		}
		if err := json.Unmarshal([]byte(raw), &pv); err != nil {
			p.t.Fatalf("fixture post: %v", err)
		}
		at := mustTime(p.t, pv.IndexedAt)
		if c, err := time.Parse(time.RFC3339Nano, pv.Record.CreatedAt); err == nil && c.Before(at) {
			at = c
		}
		p.store = append(p.store, storedPost{sortAt: at, raw: json.RawMessage(raw)})
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("fixture time %q: %v", s, err)
	}
	return v
}

// expireAccess makes the current access token stale.
func (p *pds) expireAccess() {
	p.mu.Lock()
	p.access = ""
	p.mu.Unlock()
}

// expireAll makes both tokens stale: only createSession helps.
func (p *pds) expireAll() {
	p.mu.Lock()
	p.access, p.refresh = "", ""
	p.mu.Unlock()
}

func (p *pds) counts() (creates, refreshes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.creates, p.refreshes
}

func xrpcError(w http.ResponseWriter, status int, name, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"message":%q}`, name, msg)
}

func (p *pds) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.URL.Path {
	case "/xrpc/com.atproto.server.createSession":
		p.creates++
		var in struct{ Identifier, Password string }
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil {
			xrpcError(w, 400, "InvalidRequest", "Input must have the property \"identifier\"")
			return
		}
		if in.Identifier != identifier || in.Password != password {
			xrpcError(w, 401, "AuthenticationRequired", "Invalid identifier or password")
			return
		}
		p.issue(w)
	case "/xrpc/com.atproto.server.refreshSession":
		p.refreshes++
		if p.refresh == "" || r.Header.Get("Authorization") != "Bearer "+p.refresh {
			xrpcError(w, 400, "ExpiredToken", "Token has expired")
			return
		}
		p.issue(w)
	case "/xrpc/app.bsky.feed.searchPosts":
		p.Record(r)
		if p.access == "" || r.Header.Get("Authorization") != "Bearer "+p.access {
			xrpcError(w, 400, "ExpiredToken", "Token has expired")
			return
		}
		if step, ok := p.Next(""); ok {
			crawlertest.Play(p.t, w, r, step)
			return
		}
		p.search(w, r)
	default:
		xrpcError(w, 501, "MethodNotImplemented", "Method Not Implemented")
	}
}

// issue answers a new session (mu held).
func (p *pds) issue(w http.ResponseWriter) {
	p.gen++
	p.access = fmt.Sprintf("access-jwt-%d", p.gen)
	p.refresh = fmt.Sprintf("refresh-jwt-%d", p.gen)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("RateLimit-Limit", "30")
	w.Header().Set("RateLimit-Remaining", "29")
	w.Header().Set("RateLimit-Reset", strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10))
	w.Header().Set("RateLimit-Policy", "30;w=300")
	fmt.Fprintf(w, `{"accessJwt":%q,"refreshJwt":%q,"handle":%q,"did":"did:plc:watcher7h2kq4x3mzbd5vyl","email":"ops@example.com","emailConfirmed":true,"active":true}`,
		p.access, p.refresh, identifier)
}

// search answers searchPosts from the store (mu held).
func (p *pds) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("q") == "" {
		xrpcError(w, 400, "InvalidRequest", `Error: Params must have the property "q"`)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 25
	}
	offset, _ := strconv.Atoi(q.Get("cursor"))
	var since time.Time
	if s := q.Get("since"); s != "" {
		since = mustTime(p.t, s)
	}
	var sel []storedPost
	for _, sp := range p.store {
		if !sp.sortAt.Before(since) {
			sel = append(sel, sp)
		}
	}
	slices.SortStableFunc(sel, func(a, b storedPost) int { return b.sortAt.Compare(a.sortAt) })
	sel = sel[min(offset, len(sel)):]
	out := struct {
		Cursor    string            `json:"cursor,omitempty"`
		HitsTotal int               `json:"hitsTotal"`
		Posts     []json.RawMessage `json:"posts"`
	}{HitsTotal: offset + len(sel), Posts: []json.RawMessage{}}
	if len(sel) > limit {
		sel = sel[:limit]
		out.Cursor = strconv.Itoa(offset + limit)
	}
	for _, sp := range sel {
		out.Posts = append(out.Posts, sp.raw)
	}
	p.remaining--
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("RateLimit-Limit", "3000")
	h.Set("RateLimit-Remaining", strconv.Itoa(p.remaining))
	h.Set("RateLimit-Reset", strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10))
	h.Set("RateLimit-Policy", "3000;w=300")
	json.NewEncoder(w).Encode(out)
}

// mkPost is a well-formed post view; minute and second place it after
// 09:00 on the test day.
func mkPost(did, rkey string, minute, second int, text string) string {
	at := fmt.Sprintf("2026-11-24T09:%02d:%02d.000Z", minute, second)
	return fmt.Sprintf(`{"uri":"at://%s/app.bsky.feed.post/%s","cid":"bafyreib2rxk3rh6kzwq","author":{"did":%q,"handle":"kim.bsky.social","displayName":"Kim"},"record":{"$type":"app.bsky.feed.post","createdAt":%q,"langs":["en"],"text":%q},"replyCount":0,"repostCount":1,"likeCount":2,"quoteCount":0,"indexedAt":%q,"labels":[]}`,
		did, rkey, did, at, text, at)
}

// deps routes the source's requests to the fake's TLS listener.
func (p *pds) deps() crawlers.Deps { return crawlertest.TLSDeps(p.Server, clock) }

// specText is a polling source spec for the fake; options is extra YAML
// under `options:` (indented by four spaces).
func (p *pds) specText(options string) string {
	return fmt.Sprintf(`
name: sky
type: bluesky
service: shop
timeout: 2s
options:
    service: %s
    identifier: %s
    app_password: %s
    query: shopapp
%s`, p.URL, identifier, password, options)
}

func (p *pds) source(t *testing.T, options string) *bluesky.Source {
	t.Helper()
	src, err := bluesky.New(crawlertest.Spec(t, p.specText(options)), p.deps())
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

// noSecrets fails the test if msg holds the password or a token.
func noSecrets(t *testing.T, msg string) {
	t.Helper()
	for _, s := range []string{password, "access-jwt-", "refresh-jwt-"} {
		if strings.Contains(msg, s) {
			t.Errorf("message %q holds a secret (%s)", msg, s)
		}
	}
}
