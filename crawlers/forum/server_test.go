package forum_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

// Special steps of a board server (see crawlertest.Play).
const (
	stepHang = crawlertest.StepHang
	stepDie  = crawlertest.StepDie
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
	crawlertest.Script
	crawlertest.Recorder
	t *testing.T
}

func serveBoard(t *testing.T, routes map[string][]string) *board {
	t.Helper()
	b := &board{t: t}
	for uri, steps := range routes {
		b.route(uri, steps...)
	}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.Close)
	return b
}

// route sets the steps of a URI: fixture files under testdata, special
// steps, or "robots:<body>" for a robots.txt body.
func (b *board) route(uri string, steps ...string) { b.Set(uri, steps...) }

// requests returns the requests so far, robots.txt left out.
func (b *board) requests() []crawlertest.Request {
	var out []crawlertest.Request
	for _, r := range b.Requests() {
		if r.URI != robotsURI {
			out = append(out, r)
		}
	}
	return out
}

func (b *board) uris() []string {
	var out []string
	for _, r := range b.requests() {
		out = append(out, r.URI)
	}
	return out
}

func (b *board) serve(w http.ResponseWriter, r *http.Request) {
	b.Record(r)
	step, ok := b.Next(r.URL.RequestURI())
	switch {
	case !ok:
		http.NotFound(w, r)
	case strings.HasPrefix(step, "robots:"):
		fmt.Fprint(w, strings.TrimPrefix(step, "robots:"))
	default:
		crawlertest.Play(b.t, w, r, step)
	}
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
		want = append(want, crawlertest.ParseWant(t, path, bytes.ReplaceAll(data, []byte("{server}"), []byte(server)))...)
	}
	return want
}

func last(pages []crawlers.Page) string { return pages[len(pages)-1].Cursor }
