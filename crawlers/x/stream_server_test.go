package x_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/x"
)

// streamServer plays X's filtered streams (testdata/<api>/stream): the v2
// rules endpoint over a rule list it keeps, the v2 stream and the v1.1
// statuses/filter stream, and v2 recent search for the backfill.
//
// Each connection to a stream plays the next script of conns (the last
// one repeats): a .http file is a raw response (an error status), a
// .stream file is a body sent line by line, each line ended by "\r\n" (an
// empty line is a keep-alive), with directives: "!wait <duration>",
// "!drop" (cut the connection), "!end" (end the response cleanly) and
// "!hold" (stay open until the client leaves). A script without a closing
// directive holds at its end.
type streamServer struct {
	*httptest.Server
	crawlertest.Recorder
	t *testing.T

	mu       sync.Mutex
	rules    []rule
	nextRule int
	// rulesStep, when set, answers every rules request (an error status).
	rulesStep string
	conns     []string
	connN     int
	// search answers recent search: the fixture for the query.
	search func(q url.Values) string
}

type rule struct {
	ID    string `json:"id"`
	Value string `json:"value"`
	Tag   string `json:"tag,omitempty"`
}

func newStreamServer(t *testing.T, conns ...string) *streamServer {
	t.Helper()
	ss := &streamServer{t: t, nextRule: 6}
	for _, c := range conns {
		ss.conns = append(ss.conns, filepath.Join("testdata", c))
	}
	data, err := os.ReadFile("testdata/v2/stream/rules.json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Data []rule }
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	ss.rules = list.Data
	ss.Server = httptest.NewServer(http.HandlerFunc(ss.serve))
	t.Cleanup(ss.Close)
	return ss
}

func (ss *streamServer) ruleList() []rule {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return slices.Clone(ss.rules)
}

func (ss *streamServer) serve(w http.ResponseWriter, r *http.Request) {
	body := []byte(ss.Record(r).Body)
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		ss.t.Errorf("%s %s: Authorization %q, want the bearer token", r.Method, r.URL.Path, got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
		ss.t.Errorf("%s %s: User-Agent %q does not name Aftershock", r.Method, r.URL.Path, ua)
	}
	switch {
	case r.URL.Path == "/2/tweets/search/stream/rules":
		ss.serveRules(w, r, body)
	case r.URL.Path == "/2/tweets/search/stream" && r.Method == http.MethodGet,
		r.URL.Path == "/1.1/statuses/filter.json" && r.Method == http.MethodPost:
		ss.mu.Lock()
		if len(ss.conns) == 0 {
			ss.mu.Unlock()
			ss.t.Errorf("unexpected stream connection")
			http.Error(w, "no script", http.StatusInternalServerError)
			return
		}
		script := ss.conns[min(ss.connN, len(ss.conns)-1)]
		ss.connN++
		ss.mu.Unlock()
		ss.play(w, r, script)
	case r.URL.Path == "/2/tweets/search/recent" && ss.search != nil:
		crawlertest.WriteHTTP(ss.t, w, crawlertest.FixturePath(ss.search(r.URL.Query())))
	default:
		ss.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// serveRules lists, adds and deletes rules like X does.
func (ss *streamServer) serveRules(w http.ResponseWriter, r *http.Request, body []byte) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.rulesStep != "" {
		crawlertest.WriteHTTP(ss.t, w, crawlertest.FixturePath(ss.rulesStep))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-rate-limit-limit", "450")
	w.Header().Set("x-rate-limit-remaining", "449")
	w.Header().Set("x-rate-limit-reset", "1795515012")
	const sent = "2026-11-24T10:00:00.000Z"
	type summary map[string]int
	out := map[string]any{}
	switch r.Method {
	case http.MethodGet:
		if len(ss.rules) > 0 {
			out["data"] = ss.rules
		}
		out["meta"] = map[string]any{"sent": sent, "result_count": len(ss.rules)}
	case http.MethodPost:
		var req struct {
			Add    []rule `json:"add"`
			Delete *struct {
				IDs []string `json:"ids"`
			} `json:"delete"`
		}
		if err := json.Unmarshal(body, &req); err != nil || (req.Add == nil) == (req.Delete == nil) {
			ss.t.Errorf("rules request %s: want one of add and delete", body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if req.Delete != nil {
			deleted := 0
			ss.rules = slices.DeleteFunc(ss.rules, func(r rule) bool {
				if slices.Contains(req.Delete.IDs, r.ID) {
					deleted++
					return true
				}
				return false
			})
			out["meta"] = map[string]any{"sent": sent, "summary": summary{"deleted": deleted, "not_deleted": len(req.Delete.IDs) - deleted}}
			break
		}
		var created []rule
		var errs []map[string]string
		for _, a := range req.Add {
			if a.ID != "" {
				ss.t.Errorf("added rule %+v carries an id", a)
			}
			if i := slices.IndexFunc(ss.rules, func(r rule) bool { return r.Value == a.Value }); i >= 0 {
				errs = append(errs, map[string]string{"value": a.Value, "id": ss.rules[i].ID, "title": "DuplicateRule", "type": "https://api.twitter.com/2/problems/duplicate-rules"})
				continue
			}
			a.ID = fmt.Sprintf("186110000000000000%d", ss.nextRule)
			ss.nextRule++
			ss.rules = append(ss.rules, a)
			created = append(created, a)
		}
		if len(created) > 0 {
			out["data"] = created
		}
		if len(errs) > 0 {
			out["errors"] = errs
		}
		out["meta"] = map[string]any{"sent": sent, "summary": summary{"created": len(created), "not_created": len(errs), "valid": len(created), "invalid": len(errs)}}
		w.WriteHeader(http.StatusCreated)
	}
	json.NewEncoder(w).Encode(out)
}

// play answers one stream connection with a script.
func (ss *streamServer) play(w http.ResponseWriter, r *http.Request, script string) {
	if strings.HasSuffix(script, ".http") {
		crawlertest.WriteHTTP(ss.t, w, script)
		return
	}
	data, err := os.ReadFile(script)
	if err != nil {
		ss.t.Errorf("reading script: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	flusher.Flush()
	hold := func() {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "!drop":
			crawlertest.Hangup(ss.t, w)
			return
		case line == "!end":
			return
		case line == "!hold":
			hold()
			return
		case strings.HasPrefix(line, "!wait "):
			d, err := time.ParseDuration(strings.TrimPrefix(line, "!wait "))
			if err != nil {
				ss.t.Errorf("script %s: %v", script, err)
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(d):
			}
			continue
		}
		if _, err := io.WriteString(w, line+"\r\n"); err != nil {
			return
		}
		flusher.Flush()
	}
	hold()
}

// streamOptions are the options of a v2 stream source (under options:).
const streamOptions = `    stream: true
    rules:
      - {value: '"acme shop" -is:retweet', tag: brand}
      - {value: '@AcmeShop lang:ko', tag: ko}
`

// newStreamSource builds a stream source for the server.
func newStreamSource(t *testing.T, ss *streamServer, api, options string) *x.StreamSource {
	t.Helper()
	src, err := x.NewStream(streamSpec(t, ss, api, options), crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatalf("building stream source: %v", err)
	}
	return src
}

func streamSpec(t *testing.T, ss *streamServer, api, options string) crawlers.Spec {
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
%s`, api, ss.URL, token, options))
}
