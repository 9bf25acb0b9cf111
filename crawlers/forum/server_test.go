package forum_test

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/forum"
	"github.com/aftershock/aftershock/signals"
)

// now is the tests' clock: 19:00 in Seoul, shortly after the fixtures'
// newest rows.
var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// Special steps of a board server.
const (
	stepHang = "!hang" // answer only after the client gave up
	stepDie  = "!die"  // close the connection without answering
)

// Request URIs of the fixture boards.
const (
	gnuPage1  = "/bbs/board.php?bo_table=free&page=1"
	gnuPage2  = "/bbs/board.php?bo_table=free&page=2"
	commList  = "/community"
	commNext  = "/community?after=9003&sort=new"
	gnuURL    = "/bbs/board.php?bo_table=free&page={page}"
	robotsURI = "/robots.txt"
)

// gnuOptions describe the EUC-KR gnuboard fixture (under `options:`).
const gnuOptions = `
    item: "#bo_list tbody tr"
    skip: tr.bo_notice
    title: td.td_subject .bo_tit
    link: td.td_subject a
    author: td.td_name
    time: td.td_datetime
    id: 'wr_id=(\d+)'
    charset: euc-kr
    lang: ko
    delay: 0s
`

// commOptions describe the UTF-8 community fixture, read with follow.
const commOptions = `
    item: ul.board-list li.item
    skip: .notice
    title: .subject
    link: a.item-link
    author: .nick
    time: .date
    time_attr: title
    next: a.next
    follow: true
    view_body: .post-body
    lang: ko
    delay: 0s
`

// board replays recorded responses (raw HTTP/1.1 files under testdata)
// by request URI; each URI has a list of steps answered in order, the last
// repeating. Unknown URIs, robots.txt included, answer 404.
type board struct {
	*httptest.Server
	t *testing.T

	mu     sync.Mutex
	routes map[string][]string
	hits   map[string]int
	reqs   []seen
}

// seen is one request the board received.
type seen struct {
	uri string
	ua  string
	at  time.Time
}

func serveBoard(t *testing.T, routes map[string][]string) *board {
	t.Helper()
	b := &board{t: t, routes: map[string][]string{}, hits: map[string]int{}}
	for uri, steps := range routes {
		b.route(uri, steps...)
	}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

// route sets the steps of a URI: fixture files under testdata, special
// steps, or "robots:<body>" for a robots.txt body.
func (b *board) route(uri string, steps ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.routes[uri] = steps
	b.hits[uri] = 0
}

// requests returns the URIs requested so far, robots.txt left out.
func (b *board) requests() []seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []seen
	for _, r := range b.reqs {
		if r.uri != robotsURI {
			out = append(out, r)
		}
	}
	return out
}

func (b *board) uris() []string {
	var out []string
	for _, r := range b.requests() {
		out = append(out, r.uri)
	}
	return out
}

func (b *board) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	uri := r.URL.RequestURI()
	b.reqs = append(b.reqs, seen{uri: uri, ua: r.UserAgent(), at: time.Now()})
	steps := b.routes[uri]
	var step string
	if len(steps) > 0 {
		step = steps[min(b.hits[uri], len(steps)-1)]
		b.hits[uri]++
	}
	b.mu.Unlock()

	switch {
	case step == "":
		http.NotFound(w, r)
		return
	case strings.HasPrefix(step, "robots:"):
		fmt.Fprint(w, strings.TrimPrefix(step, "robots:"))
		return
	case step == stepHang:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	case step == stepDie:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			b.t.Errorf("hijacking: %v", err)
			return
		}
		conn.Close()
		return
	}
	raw, err := os.ReadFile(filepath.Join("testdata", step))
	if err != nil {
		b.t.Errorf("reading fixture: %v", err)
		http.Error(w, err.Error(), 500)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), r)
	if err != nil {
		b.t.Errorf("parsing fixture %s: %v", step, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// gnuBoard serves the gnuboard fixture: two list pages.
func gnuBoard(t *testing.T) *board {
	return serveBoard(t, map[string][]string{
		gnuPage1: {"gnuboard/list-1.http"},
		gnuPage2: {"gnuboard/list-2.http"},
	})
}

// commBoard serves the community fixture: two list pages by next link and
// the view pages (9002's is gone).
func commBoard(t *testing.T) *board {
	routes := map[string][]string{
		commList:                        {"community/list-1.http"},
		commNext:                        {"community/list-2.http"},
		"/community/post/9002?ref=list": {"community/view-gone.http"},
	}
	for _, n := range []int{9001, 9003, 9004, 9005, 9006} {
		routes[fmt.Sprintf("/community/post/%d?ref=list", n)] = []string{fmt.Sprintf("community/view-%d.http", n)}
	}
	return serveBoard(t, routes)
}

// newSource builds a forum source; options is YAML under `options:`
// (indented by four spaces) besides the url.
func newSource(t *testing.T, url, options string) *forum.Source {
	t.Helper()
	src, err := forum.New(spec(t, url, options), crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatalf("building source: %v", err)
	}
	return src
}

func spec(t *testing.T, url, options string) crawlers.Spec {
	t.Helper()
	return crawlertest.Spec(t, fmt.Sprintf(`
name: board
type: forum
service: shop
timeout: 2s
options:
    url: %q
%s`, url, options))
}

// readWant reads expected posts, with {server} standing for the board's URL.
func readWant(t *testing.T, server string, paths ...string) []signals.Post {
	t.Helper()
	var want []signals.Post
	for _, path := range paths {
		data, err := os.ReadFile(filepath.Join("testdata", path))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("{server}"), []byte(server))
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

// drain polls from cursor while More and returns the pages.
func drain(t *testing.T, src *forum.Source, cursor string) []crawlers.Page {
	t.Helper()
	var pages []crawlers.Page
	for range 20 {
		page, err := src.Poll(t.Context(), cursor)
		if err != nil {
			t.Fatalf("poll %d: %v", len(pages)+1, err)
		}
		pages = append(pages, page)
		cursor = page.Cursor
		if !page.More {
			return pages
		}
	}
	t.Fatal("still More after 20 polls")
	return nil
}

func allPosts(pages []crawlers.Page) []signals.Post {
	var out []signals.Post
	for _, p := range pages {
		out = append(out, p.Posts...)
	}
	return out
}

func last(pages []crawlers.Page) string { return pages[len(pages)-1].Cursor }
