package forum_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/forum"
)

// TestKoreanBoard reads an EUC-KR gnuboard list that names no charset,
// two pages by {page}: pinned notices are left out, the deleted-post row
// (no link) is skipped and counted, "[12]" comment counts leave titles,
// "18:52" is today in Seoul and "11-23" the end of that day.
func TestKoreanBoard(t *testing.T) {
	b := gnuBoard(t)
	src := newSource(t, b.URL+gnuURL, gnuOptions)

	p1, err := src.Poll(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, p1.Posts, 1)
	crawlertest.ComparePosts(t, p1.Posts, readWant(t, b.URL, "gnuboard/want-1.jsonl"), now)
	if p1.Skipped.Total() != 1 || !p1.More {
		t.Errorf("page 1: skipped %d, More %v; want 1 and true", p1.Skipped.Total(), p1.More)
	}
	p2, err := src.Poll(t.Context(), p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p2.Posts, readWant(t, b.URL, "gnuboard/want-2.jsonl"), now)
	if p2.Skipped.Total() != 0 || p2.More {
		t.Errorf("page 2: skipped %d, More %v; want 0 and false (max_pages 2)", p2.Skipped.Total(), p2.More)
	}
	if got, want := b.uris(), []string{gnuPage1, gnuPage2}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
	for _, r := range b.requests() {
		if !strings.Contains(r.UserAgent(), "Aftershock") {
			t.Errorf("User-Agent %q does not name Aftershock", r.UserAgent())
		}
	}
}

func TestCharset(t *testing.T) {
	tests := []struct {
		name, fixture, charset string
		posts, skipped         int
	}{
		// Not decoded: each row is skipped, none published as mojibake.
		{name: "unforced", fixture: "gnuboard/list-1.http", posts: 0, skipped: 7},
		{name: "forced euc-kr", fixture: "gnuboard/list-1.http", charset: "euc-kr", posts: 6, skipped: 1},
		{name: "forced cp949", fixture: "gnuboard/list-1.http", charset: "CP949", posts: 6, skipped: 1},
		// colly reads only the header; the <meta> is honoured by us.
		{name: "meta only", fixture: "gnuboard/meta.http", posts: 6, skipped: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := serveBoard(t, map[string][]string{gnuPage1: {tt.fixture}})
			options := strings.Replace(gnuOptions, "charset: euc-kr", "max_pages: 1", 1)
			if tt.charset != "" {
				options += "    charset: " + tt.charset + "\n"
			}
			page, err := newSource(t, b.URL+gnuURL, options).Poll(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Posts) != tt.posts || page.Skipped.Total() != tt.skipped {
				t.Errorf("%d posts, %d skipped; want %d and %d", len(page.Posts), page.Skipped.Total(), tt.posts, tt.skipped)
			}
			if tt.posts > 0 {
				crawlertest.ComparePosts(t, page.Posts, readWant(t, b.URL, "gnuboard/want-1.jsonl"), now)
			}
		})
	}
}

// TestNextLinkAndFollow reads a UTF-8 board with relative times ("방금",
// "3분 전", "어제 22:10") by its next link, and each new post's view page
// for the body; a view page that is gone leaves the title alone.
func TestNextLinkAndFollow(t *testing.T) {
	b := commBoard(t)
	src := newSource(t, b.URL+commList, commOptions)
	pages := crawlertest.Pages(t, src, "", 20)
	if len(pages) != 2 || !pages[0].More {
		t.Fatalf("%d pages, want 2, the first with More", len(pages))
	}
	crawlertest.ComparePosts(t, crawlertest.AllPosts(pages), readWant(t, b.URL, "community/want-1.jsonl", "community/want-2.jsonl"), now)
	want := []string{
		commList, "/community/post/9006?ref=list", "/community/post/9005?ref=list", "/community/post/9004?ref=list", "/community/post/9003?ref=list",
		commNext, "/community/post/9002?ref=list", "/community/post/9001?ref=list",
	}
	if got := b.uris(); !slices.Equal(got, want) {
		t.Errorf("requests\n%q\nwant\n%q", got, want)
	}
	// Nothing new: one request, for the first list page.
	again := crawlertest.Pages(t, src, last(pages), 20)
	if n := len(crawlertest.AllPosts(again)); n != 0 || len(b.uris()) != len(want)+1 {
		t.Errorf("second run: %d posts, %d requests; want none and one list request", n, len(b.uris())-len(want))
	}
}

// TestSuccessivePolls: new rows arrive on top; the next run stops at the
// first row seen before and does not read page 2.
func TestSuccessivePolls(t *testing.T) {
	b := gnuBoard(t)
	src := newSource(t, b.URL+gnuURL, gnuOptions)
	first := crawlertest.Pages(t, src, "", 20)

	b.route(gnuPage1, "gnuboard/list-1b.http")
	before := len(b.uris())
	second := crawlertest.Pages(t, src, last(first), 20)
	crawlertest.ComparePosts(t, crawlertest.AllPosts(second), readWant(t, b.URL, "gnuboard/want-1b.jsonl"), now)
	if got := b.uris()[before:]; !slices.Equal(got, []string{gnuPage1}) {
		t.Errorf("second run requested %q, want page 1 alone", got)
	}
	third := crawlertest.Pages(t, src, last(second), 20)
	if n := len(crawlertest.AllPosts(third)); n != 0 || last(third) != last(second) {
		t.Errorf("third run: %d posts, cursor moved; want none and the same cursor", n)
	}
}

// TestDayPrecision: a board that prints only dates. A new row of the same
// day is told by its id; an old thread bumped to the top, never seen but
// days older than what was seen, is not news.
func TestDayPrecision(t *testing.T) {
	b := serveBoard(t, map[string][]string{"/days": {"gnuboard/days-1.http"}})
	options := strings.Replace(gnuOptions, "charset: euc-kr", "max_pages: 1", 1)
	src := newSource(t, b.URL+"/days", options)
	p1, err := src.Poll(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := crawlertest.IDs(p1.Posts); !slices.Equal(got, []string{"500", "499", "498"}) {
		t.Errorf("first poll %q", got)
	}
	// Today's date: the fetch time (the latest it can mean); older: the day's end.
	if !p1.Posts[0].Time.Equal(now) || !p1.Posts[2].Time.Equal(time.Date(2026, 11, 23, 14, 59, 59, 0, time.UTC)) {
		t.Errorf("times %v and %v", p1.Posts[0].Time, p1.Posts[2].Time)
	}
	b.route("/days", "gnuboard/days-2.http")
	p2, err := src.Poll(t.Context(), p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got := crawlertest.IDs(p2.Posts); !slices.Equal(got, []string{"501"}) {
		t.Errorf("second poll %q, want the new row alone", got)
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name  string
		steps []string
		check []func(error) string // one per poll, nil = success with posts
	}{
		{"429 seconds", []string{"status/429-seconds.http", "gnuboard/list-1.http"}, []func(error) string{crawlertest.RateLimited(2 * time.Minute), nil}},
		{"429 date", []string{"status/429-date.http"}, []func(error) string{crawlertest.RateLimited(5 * time.Minute)}},
		{"503 then recovery", []string{"status/503.http", "status/503.http", "gnuboard/list-1.http"}, []func(error) string{crawlertest.Transient, crawlertest.Transient, nil}},
		// Go's transport retries a GET once on a reused connection that died.
		{"connection dropped", []string{stepDie, stepDie, "gnuboard/list-1.http"}, []func(error) string{crawlertest.Transient, nil}},
		{"404", []string{"status/404.http"}, []func(error) string{crawlertest.Permanent}},
		{"403", []string{"status/403.http"}, []func(error) string{crawlertest.Permanent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := serveBoard(t, map[string][]string{gnuPage1: tt.steps})
			src := newSource(t, b.URL+gnuURL, gnuOptions+"    max_pages: 1\n")
			crawlertest.CheckErrors(t, src, 6, tt.check...)
		})
	}
}

// TestViewErrors: a view page answering 503 fails the poll (its post must
// not lose its body); the retry from the same cursor reads it.
func TestViewErrors(t *testing.T) {
	b := commBoard(t)
	b.route("/community/post/9005?ref=list", "status/503.http", "community/view-9005.http")
	src := newSource(t, b.URL+commList, commOptions)
	_, err := src.Poll(t.Context(), "")
	if msg := crawlertest.Transient(err); err == nil || msg != "" {
		t.Fatalf("view page 503: err %v, want a retryable error", err)
	}
	page, err := src.Poll(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, page.Posts, readWant(t, b.URL, "community/want-1.jsonl"), now)
}

func TestRobots(t *testing.T) {
	b := gnuBoard(t)
	b.route(robotsURI, "robots:User-agent: *\nDisallow: /bbs/\n")
	src := newSource(t, b.URL+gnuURL, gnuOptions)
	_, err := src.Poll(t.Context(), "")
	if msg := crawlertest.Permanent(err); msg != "" {
		t.Fatalf("disallowed by robots.txt: %v: %s", err, msg)
	}
	if n := len(b.uris()); n != 0 {
		t.Errorf("%d board requests despite robots.txt", n)
	}

	// robots.txt is asked again after a refusal. A robots.txt answering
	// 5xx means "not now" (colly alone would read it as "no rules" and keep
	// that for the collector's life): a retryable error, then asked again.
	b.route(robotsURI, "status/503.http")
	_, err = src.Poll(t.Context(), "")
	if err == nil || crawlertest.Transient(err) != "" || !strings.Contains(err.Error(), "robots.txt answered 503") {
		t.Errorf("robots.txt 503: %v, want a retryable error naming it", err)
	}
	if n := len(b.uris()); n != 0 {
		t.Errorf("%d board requests while robots.txt answered 503", n)
	}
	b.route(robotsURI, "robots:User-agent: *\nDisallow: /admin/\n")
	if page, err := src.Poll(t.Context(), ""); err != nil || len(page.Posts) != 6 {
		t.Errorf("after robots.txt allowed: %d posts, err %v", len(page.Posts), err)
	}
	b.route(robotsURI, "robots:User-agent: *\nDisallow: /bbs/\n")
	if _, err := src.Poll(t.Context(), ""); err != nil {
		t.Errorf("robots.txt is cached for a day, the next poll must not ask again: %v", err)
	}

	// respect_robots: false reads the board anyway.
	b.route(robotsURI, "robots:User-agent: *\nDisallow: /\n")
	page, err := newSource(t, b.URL+gnuURL, gnuOptions+"    respect_robots: false\n").Poll(t.Context(), "")
	if err != nil || len(page.Posts) != 6 {
		t.Errorf("respect_robots false: %d posts, err %v", len(page.Posts), err)
	}
}

func TestTimeout(t *testing.T) {
	b := serveBoard(t, map[string][]string{gnuPage1: {stepHang}})
	s := spec(t, b.URL+gnuURL, gnuOptions)
	s.Timeout = 300 * time.Millisecond
	src, err := forum.New(s, crawlers.Deps{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = src.Poll(t.Context(), "")
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("poll took %s with a 300ms timeout", took)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v, want a timeout", err)
	}
	if msg := crawlertest.Transient(err); msg != "" {
		t.Errorf("a timeout must be retryable: %v", err)
	}
}

func TestCancel(t *testing.T) {
	b := serveBoard(t, map[string][]string{gnuPage1: {stepHang}})
	src := newSource(t, b.URL+gnuURL, gnuOptions)
	ctx, cancel := context.WithCancel(t.Context())
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

// TestPolite: one request at a time with the configured pause after
// each, and the configured User-Agent.
func TestPolite(t *testing.T) {
	b := gnuBoard(t)
	options := strings.Replace(gnuOptions, "delay: 0s", "delay: 250ms", 1) + "    user_agent: ShopWatch/2 (+mailto:ops@example.com)\n"
	crawlertest.Pages(t, newSource(t, b.URL+gnuURL, options), "", 20)
	reqs := b.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 250*time.Millisecond {
		t.Errorf("second request %s after the first, want at least the 250ms delay", gap)
	}
	if reqs[0].UserAgent() != "ShopWatch/2 (+mailto:ops@example.com)" {
		t.Errorf("User-Agent %q, want the configured one", reqs[0].UserAgent())
	}
}

// TestRestartResume: a new source (as after a restart) given the saved
// cursor neither repeats nor misses, also in the middle of a run.
func TestRestartResume(t *testing.T) {
	b := gnuBoard(t)
	p1, err := newSource(t, b.URL+gnuURL, gnuOptions).Poll(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	// Restarted between page 1 and page 2.
	rest := crawlertest.Pages(t, newSource(t, b.URL+gnuURL, gnuOptions), p1.Cursor, 20)
	crawlertest.ComparePosts(t, crawlertest.AllPosts(rest), readWant(t, b.URL, "gnuboard/want-2.jsonl"), now)
	// Restarted after the run, with new rows on the board.
	b.route(gnuPage1, "gnuboard/list-1b.http")
	next := crawlertest.Pages(t, newSource(t, b.URL+gnuURL, gnuOptions), last(rest), 20)
	crawlertest.ComparePosts(t, crawlertest.AllPosts(next), readWant(t, b.URL, "gnuboard/want-1b.jsonl"), now)
}

func TestPromises(t *testing.T) {
	t.Run("gnuboard", func(t *testing.T) {
		b := gnuBoard(t)
		crawlertest.CheckPoller(t, newSource(t, b.URL+gnuURL, gnuOptions))
	})
	t.Run("community", func(t *testing.T) {
		b := commBoard(t)
		crawlertest.CheckPoller(t, newSource(t, b.URL+commList, commOptions))
	})
}

func TestBadCursor(t *testing.T) {
	b := gnuBoard(t)
	page, err := newSource(t, b.URL+gnuURL, gnuOptions).Poll(t.Context(), "{not json")
	if err != nil || len(page.Posts) != 6 {
		t.Errorf("unreadable cursor: %d posts, err %v; want a fresh start", len(page.Posts), err)
	}
}

func TestOversizedBody(t *testing.T) {
	b := gnuBoard(t)
	_, err := newSource(t, b.URL+gnuURL, gnuOptions+"    max_body: 1000\n").Poll(t.Context(), "")
	if err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") || crawlertest.Permanent(err) != "" {
		t.Errorf("error %v, want a PermanentError about the body size", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	const base = `url: "https://board.example.kr/list?page={page}", item: tr, title: .t, link: a, time: .d`
	tests := []struct {
		name, options, want string
	}{
		{"no url", `{item: tr, title: .t, link: a, time: .d}`, "options.url: required"},
		{"ftp", `{url: "ftp://x.example/", item: tr, title: .t, link: a, time: .d}`, `options.url: "ftp://x.example/" must be an http(s) URL`},
		{"no item", `{url: "https://x.example/", title: .t, link: a, time: .d}`, "options.item: required"},
		{"no time", `{url: "https://x.example/", item: tr, title: .t, link: a}`, "options.time: required"},
		{"bad selector", `{` + base + `, skip: "tr[class="}`, `options.skip: bad CSS selector "tr[class="`},
		{"follow without view_body", `{` + base + `, follow: true}`, "options.view_body: required when options.follow is true"},
		{"view_body without follow", `{` + base + `, view_body: .b}`, "options.view_body: set, but options.follow is false"},
		{"next with page", `{` + base + `, next: a.next}`, "options.next: set, but options.url pages with {page}"},
		{"bad id", `{` + base + `, id: "no=(\\d+"}`, "options.id: bad regular expression"},
		{"max_pages", `{` + base + `, max_pages: 50}`, "options.max_pages: 50, want 1 to 10"},
		{"time_format", `{` + base + `, time_format: ["2006.01.02", "nonsense"]}`, "options.time_format[1]:"},
		{"timezone", `{` + base + `, timezone: Mars/Olympus}`, `options.timezone: unknown time zone "Mars/Olympus"`},
		{"charset", `{` + base + `, charset: klingon}`, `options.charset: unknown charset "klingon"`},
		{"delay", `{` + base + `, delay: -1s}`, "options.delay: -1s is negative"},
		{"max_body", `{` + base + `, max_body: -1}`, "options.max_body: -1 is negative"},
		{"typo", `{` + base + `, tiem: .d}`, "options.tiem: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := crawlertest.Spec(t, "name: f\ntype: forum\nservice: shop\noptions: "+tt.options+"\n")
			_, err := forum.New(s, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	s := crawlertest.Spec(t, "name: f\ntype: forum\nservice: shop\noptions: {"+base+"}\n")
	if _, err := forum.New(s, crawlers.Deps{}); err != nil {
		t.Errorf("minimal options: %v", err)
	}
}

// TestFollowBatches: view pages beyond the per-poll bound wait in the
// cursor; the next polls read them before the next list page.
func TestFollowBatches(t *testing.T) {
	b := commBoard(t)
	src := newSource(t, b.URL+commList, commOptions)
	forum.SetFollowBatch(src, 3)
	pages := crawlertest.Pages(t, src, "", 20)
	var sizes []int
	for _, p := range pages {
		sizes = append(sizes, len(p.Posts))
	}
	if !slices.Equal(sizes, []int{3, 1, 2}) {
		t.Errorf("posts per poll %v, want [3 1 2]", sizes)
	}
	crawlertest.ComparePosts(t, crawlertest.AllPosts(pages), readWant(t, b.URL, "community/want-1.jsonl", "community/want-2.jsonl"), now)
	// A restart between batches reads the waiting view page, then page 2.
	p1, err := src.Poll(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	rest := crawlertest.Pages(t, newSource(t, b.URL+commList, commOptions), p1.Cursor, 20)
	if got := crawlertest.IDs(crawlertest.AllPosts(rest)); len(got) != 3 || !strings.HasSuffix(got[0], "/9003?ref=list") {
		t.Errorf("after a restart between batches: %q, want 9003, 9002, 9001", got)
	}
}

// TestLayoutChanged: a first list page where options.item matches nothing
// is an error to look at, not a quiet empty board.
func TestLayoutChanged(t *testing.T) {
	b := serveBoard(t, map[string][]string{gnuPage1: {"community/list-1.http"}})
	_, err := newSource(t, b.URL+gnuURL, gnuOptions).Poll(t.Context(), "")
	if crawlertest.Permanent(err) != "" || !strings.Contains(err.Error(), "matched no rows") {
		t.Errorf("error %v, want a PermanentError saying the item selector matched no rows", err)
	}
}
