package feed_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/feed"
	"github.com/aftershock/aftershock/signals"
)

const jsonOptions = `
    json:
      items: data.posts
      id: id
      title: title
      text: body
      time: created_at
      url: permalink
      author: author.name
      lang: lang
      strip_html: true
`

func TestFirstPoll(t *testing.T) {
	tests := []struct {
		name, path, options string
		skipped             int
	}{
		{name: "rss", path: "/latest.rss"},
		{name: "atom", path: "/history.atom"},
		// Reddit's .rss is Atom: the post's text between SC_OFF and SC_ON,
		// a "submitted by /u/…" trailer, authors named /u/<name>.
		{name: "reddit-rss", path: "/r/shopapp/new/.rss"},
		{name: "json", path: "/api/posts", options: jsonOptions},
		{name: "euc-kr", path: "/rss/free", options: "    charset: euc-kr\n"},
		{name: "malformed", path: "/latest.rss", skipped: 4},
		{name: "empty", path: "/latest.rss"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveCase(t, tt.name)
			src := newSource(t, srv.URL+tt.path, tt.options)
			page, err := src.Poll(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			var want []signals.Post
			if tt.name != "empty" {
				want = crawlertest.ReadWant(t, tt.name+"/want.jsonl")
				crawlertest.RequirePosts(t, page.Posts, 1)
			}
			crawlertest.ComparePosts(t, page.Posts, want, now)
			if page.Skipped.Total() != tt.skipped {
				t.Errorf("skipped %d, want %d", page.Skipped.Total(), tt.skipped)
			}
			if page.Cursor == "" {
				t.Error("no cursor")
			}
			if page.More {
				t.Error("More on a single-page feed")
			}
		})
	}
}

func TestPromises(t *testing.T) {
	for _, tc := range []struct{ name, options string }{
		{"atom", ""},
		{"json", jsonOptions},
		{"euc-kr", "    charset: euc-kr\n"},
		{"malformed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveCase(t, tc.name)
			crawlertest.CheckPoller(t, newSource(t, srv.URL+"/feed", tc.options))
		})
	}
}

// TestSuccessivePolls: new items arrive between polls, one of them with the
// same timestamp as the newest item already seen; a conditional GET that is
// answered 304 is an empty page.
func TestSuccessivePolls(t *testing.T) {
	srv := serveSteps(t, "rss/01.http", "rss/02.http")
	src := newSource(t, srv.URL+"/latest.rss", "")
	ctx := context.Background()

	p1, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p1.Posts, crawlertest.ReadWant(t, "rss/want.jsonl"), now)

	p2, err := src.Poll(ctx, p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p2.Posts, crawlertest.ReadWant(t, "rss/want-02.jsonl"), now)

	p3, err := src.Poll(ctx, p2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(p3.Posts) != 0 || p3.Cursor != p2.Cursor {
		t.Errorf("third poll: %d posts, cursor %q; want none and the cursor unchanged %q", len(p3.Posts), p3.Cursor, p2.Cursor)
	}

	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, want := range []struct{ inm, ims string }{
		{"", ""},
		{`"latest-v1"`, "Tue, 24 Nov 2026 09:40:00 GMT"},
		{`"latest-v2"`, "Tue, 24 Nov 2026 09:40:00 GMT"},
	} {
		if got := reqs[i].Header.Get("If-None-Match"); got != want.inm {
			t.Errorf("request %d: If-None-Match %q, want %q", i, got, want.inm)
		}
		if got := reqs[i].Header.Get("If-Modified-Since"); got != want.ims {
			t.Errorf("request %d: If-Modified-Since %q, want %q", i, got, want.ims)
		}
		if ua := reqs[i].Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
			t.Errorf("request %d: User-Agent %q does not name Aftershock", i, ua)
		}
	}
}

func TestJSONPagination(t *testing.T) {
	const options = `
    query: shop
    json:
      items: result.items
      id: id
      text: text
      time: time
      url: url
      next: result.next
`
	srv := serveCase(t, "json-pages")
	src := newSource(t, srv.URL+"/api/v2/posts?q={query}", options)
	ctx := context.Background()

	var ids []string
	var mores []bool
	cursor := ""
	for i := 0; i < 3; i++ {
		page, err := src.Poll(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, crawlertest.IDs(page.Posts)...)
		mores = append(mores, page.More)
		cursor = page.Cursor
	}
	if got, want := strings.Join(ids, ","), "p6,p5,p4,p3,p2,p1"; got != want {
		t.Errorf("first run: ids %s, want %s", got, want)
	}
	if got := mores; got[0] != true || got[1] != true || got[2] != false {
		t.Errorf("More per page %v, want [true true false]", got)
	}

	// The next run fetches page 1 again and stops at the first item seen.
	page, err := src.Poll(ctx, cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(crawlertest.IDs(page.Posts), ","), "p8,p7"; got != want || page.More {
		t.Errorf("second run: ids %s (More %v), want %s and no More", got, page.More, want)
	}

	var urls []string
	for _, r := range srv.Requests() {
		urls = append(urls, r.URL.RequestURI())
	}
	want := "/api/v2/posts?q=shop /api/v2/posts?q=shop&page=2 /api/v2/posts?q=shop&page=3 /api/v2/posts?q=shop"
	if got := strings.Join(urls, " "); got != want {
		t.Errorf("requests\n%s\nwant\n%s", got, want)
	}
}

func TestMaxPages(t *testing.T) {
	srv := serveCase(t, "json-pages")
	src := newSource(t, srv.URL+"/api/v2/posts", `
    json: {items: result.items, id: id, text: text, time: time, next: result.next, max_pages: 2}
`)
	p1, err := src.Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := src.Poll(context.Background(), p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if !p1.More || p2.More || len(p2.Posts) != 2 {
		t.Errorf("More %v then %v with %d posts; want true, then false after page 2", p1.More, p2.More, len(p2.Posts))
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name       string
		check      []func(error) string // one per response of the case, nil = success
		recoverIDs int
	}{
		{name: "rate-limit", check: []func(error) string{crawlertest.RateLimited(120 * time.Second), crawlertest.RateLimited(5 * time.Minute), nil}},
		{name: "unavailable", check: []func(error) string{crawlertest.Transient, crawlertest.Transient, nil}},
		{name: "status-404", check: []func(error) string{crawlertest.Permanent}},
		{name: "status-401", check: []func(error) string{crawlertest.Permanent}},
		{name: "status-403", check: []func(error) string{crawlertest.Permanent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveCase(t, tt.name)
			src := newSource(t, srv.URL+"/latest.rss", "")
			crawlertest.CheckErrors(t, src, 1, tt.check...)
		})
	}
}

func TestCharset(t *testing.T) {
	srv := serveCase(t, "euc-kr")
	// Without the forced charset the EUC-KR bytes are not UTF-8: each item
	// is skipped, none is published as mojibake.
	page, err := newSource(t, srv.URL+"/rss", "").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 0 || page.Skipped.Total() != 2 {
		t.Errorf("unforced: %d posts, %d skipped; want 0 and 2", len(page.Posts), page.Skipped.Total())
	}
	page, err = newSource(t, srv.URL+"/rss", "    charset: euc-kr\n").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, page.Posts, crawlertest.ReadWant(t, "euc-kr/want.jsonl"), now)
}

func TestTimeout(t *testing.T) {
	srv := serveSteps(t, stepHang)
	spec := crawlertest.Spec(t, `
name: slow
type: feed
service: shop
timeout: 300ms
options: {url: "`+srv.URL+`/slow.rss"}
`)
	src, err := feed.New(spec, crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Poll(context.Background(), "")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("poll took %s with a 300ms timeout", took)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v, want a timeout", err)
	}
	if crawlertest.Transient(err) != "" {
		t.Errorf("a timeout must be retryable: %v", err)
	}
}

func TestCancel(t *testing.T) {
	srv := serveSteps(t, stepHang)
	src := newSource(t, srv.URL+"/slow.rss", "")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := src.Poll(ctx, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("poll took %s after cancel", took)
	}
}

func TestServerDies(t *testing.T) {
	for _, step := range []string{stepDie, stepCut} {
		t.Run(step[1:], func(t *testing.T) {
			srv := serveSteps(t, "rss/01.http")
			src := newSource(t, srv.URL+"/latest.rss", "")
			p1, err := src.Poll(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			srv.setSteps(step)
			_, err = src.Poll(context.Background(), p1.Cursor)
			if err == nil {
				t.Fatal("no error from a dead server")
			}
			if msg := crawlertest.Transient(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
			srv.setSteps("rss/02.http")
			p3, err := src.Poll(context.Background(), p1.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			crawlertest.ComparePosts(t, p3.Posts, crawlertest.ReadWant(t, "rss/want-02.jsonl"), now)
		})
	}
}

func TestRobots(t *testing.T) {
	srv := serveCase(t, "rss")
	srv.setRobots("User-agent: *\nDisallow: /\n")
	src := newSource(t, srv.URL+"/latest.rss", "")
	_, err := src.Poll(context.Background(), "")
	if msg := crawlertest.Permanent(err); msg != "" {
		t.Fatalf("disallowed by robots.txt: %v: %s", err, msg)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d feed requests despite robots.txt", n)
	}
	// robots.txt is asked again after a refusal, so a fixed site recovers.
	srv.setRobots("User-agent: *\nDisallow: /private\n")
	if page, err := src.Poll(context.Background(), ""); err != nil || len(page.Posts) != 3 {
		t.Errorf("after robots.txt allowed: %d posts, err %v", len(page.Posts), err)
	}
}

func TestOversizedBody(t *testing.T) {
	srv := serveCase(t, "rss")
	_, err := newSource(t, srv.URL+"/latest.rss", "    max_body: 1000\n").Poll(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Errorf("error %v, want one about the body size", err)
	}
}

func TestHeadersSent(t *testing.T) {
	srv := serveCase(t, "json")
	src := newSource(t, srv.URL+"/v1/search/cafearticle.json?query={query}", `
    query: 쇼핑 앱
    headers: {X-Naver-Client-Id: id-123, X-Naver-Client-Secret: s3cret}
`+jsonOptions)
	if _, err := src.Poll(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Header.Get("X-Naver-Client-Id") != "id-123" || r.Header.Get("X-Naver-Client-Secret") != "s3cret" {
		t.Errorf("headers %v lack the configured ones", r.Header)
	}
	if got := r.URL.Query().Get("query"); got != "쇼핑 앱" {
		t.Errorf("query %q, want the configured one", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name, options, want string
	}{
		{"no url", `{format: rss}`, "options.url: required"},
		{"ftp", `{url: "ftp://example.com/feed"}`, "options.url: \"ftp://example.com/feed\" must be an http(s) URL"},
		{"placeholder without query", `{url: "https://x.example/s?q={query}"}`, "options.query: required by the {query} placeholder"},
		{"query without placeholder", `{url: "https://x.example/s", query: shop}`, "options.query: set, but options.url has no {query} placeholder"},
		{"bad format", `{url: "https://x.example/", format: html}`, `options.format: "html", want rss, atom, json`},
		{"bad charset", `{url: "https://x.example/", charset: klingon}`, `options.charset: unknown charset "klingon"`},
		{"json without fields", `{url: "https://x.example/", format: json, json: {id: id}}`, "options.json.text: required"},
		{"typo", `{url: "https://x.example/", formt: rss}`, "options.formt: unknown option"},
		{"negative body", `{url: "https://x.example/", max_body: -1}`, "options.max_body: -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := crawlertest.Spec(t, "name: f\ntype: feed\nservice: shop\noptions: "+tt.options+"\n")
			_, err := feed.New(spec, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
