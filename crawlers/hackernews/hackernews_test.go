package hackernews_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/hackernews"
	"github.com/aftershock/aftershock/internal/bus"
)

// t0958 is 2026-11-24T09:58:00Z, the newest hit of the first page.
const t0958 = 1795514280

// TestFirstPoll reads the newest page: title and HTML text to plain text,
// the item URL, points as reach; a malformed hit and one with no text nor
// title are skipped and counted.
func TestFirstPoll(t *testing.T) {
	a := serveCase(t, "first")
	page, err := a.source(t, "").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, page.Posts, 1)
	crawlertest.ComparePosts(t, page.Posts, crawlertest.ReadWant(t, "first/want.jsonl"), now)
	if page.Skipped.Total() != 2 {
		t.Errorf("skipped %d, want 2", page.Skipped.Total())
	}
	if want := `{"mark":{"time":1795514280,"ids":["46032110"]}}`; page.Cursor != want {
		t.Errorf("cursor %s, want %s", page.Cursor, want)
	}
	if page.More || page.RateLimit != nil {
		t.Errorf("More %v, rate limit %v; want neither", page.More, page.RateLimit)
	}
	r := a.Requests()[0]
	if got, want := r.URL.RequestURI(), "/api/v1/search_by_date?hitsPerPage=100&page=0&query=shopapp&tags=%28story%2Ccomment%29"; got != want {
		t.Errorf("request %s, want %s", got, want)
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
		t.Errorf("User-Agent %q does not name Aftershock", ua)
	}
}

// TestTwoPages reads the second page of a run with the same lower bound and
// stops at nbPages.
func TestTwoPages(t *testing.T) {
	a := serveCase(t, "pages")
	src := a.source(t, "    hits_per_page: 2\n")
	cursor := `{"mark":{"time":1795514280,"ids":["46032110"]}}`
	p1, err := src.Poll(context.Background(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := src.Poll(context.Background(), p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	ids := append(crawlertest.IDs(p1.Posts), crawlertest.IDs(p2.Posts)...)
	if got := strings.Join(ids, " "); got != "46032130 46032120 46032115" {
		t.Errorf("ids %s", got)
	}
	if !p1.More || p2.More {
		t.Errorf("More %v then %v, want true then false", p1.More, p2.More)
	}
	if want := `{"mark":{"time":1795514370,"ids":["46032130"]}}`; p2.Cursor != want {
		t.Errorf("cursor after the run %s, want %s", p2.Cursor, want)
	}
	var got []string
	for _, r := range a.Requests() {
		q := r.URL.Query()
		got = append(got, q.Get("numericFilters")+" page="+q.Get("page"))
	}
	if want := "created_at_i>=1795514280 page=0|created_at_i>=1795514280 page=1"; strings.Join(got, "|") != want {
		t.Errorf("requests %s, want %s", strings.Join(got, "|"), want)
	}
}

// TestEqualSeconds: a hit created in the same second as the newest one read,
// but indexed later, is read next time; those already read are not.
func TestEqualSeconds(t *testing.T) {
	a := newAlgolia(t)
	a.add(hit("100", 5000, "a"))
	a.add(hit("101", 5000, "b"))
	a.add(hit("99", 4000, "old"))
	src := a.source(t, "")
	ctx := context.Background()
	p1, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	a.add(hit("102", 5000, "same second, indexed late"))
	a.add(hit("103", 5001, "next second"))
	p2, err := src.Poll(ctx, p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	p3, err := src.Poll(ctx, p2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		got  []string
		want string
	}{
		{crawlertest.IDs(p1.Posts), "101 100 99"},
		{crawlertest.IDs(p2.Posts), "103 102"},
		{crawlertest.IDs(p3.Posts), ""},
	} {
		if got := strings.Join(tc.got, " "); got != tc.want {
			t.Errorf("poll %d: ids %q, want %q", i+1, got, tc.want)
		}
	}
	if want := `{"mark":{"time":5001,"ids":["103"]}}`; p3.Cursor != want {
		t.Errorf("cursor %s, want %s", p3.Cursor, want)
	}
}

// TestBurst: a burst larger than a page is read page by page; a hit that
// arrives during the run is left to the next run, not read twice.
func TestBurst(t *testing.T) {
	a := newAlgolia(t)
	a.add(hit("1", 1000, "seen"))
	src := a.source(t, "    hits_per_page: 2\n")
	ctx := context.Background()
	p, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	cursor := p.Cursor
	for i, at := range []int64{1001, 1002, 1003, 1004, 1005} {
		a.add(hit(strconv.Itoa(20+i), at, "burst"))
	}
	var ids []string
	for i := 0; i < 10; i++ {
		p, err := src.Poll(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, crawlertest.IDs(p.Posts)...)
		cursor = p.Cursor
		if i == 0 {
			a.add(hit("30", 1006, "arrived during the run"))
		}
		if !p.More {
			break
		}
	}
	if got := strings.Join(ids, " "); got != "24 23 22 21 20" {
		t.Errorf("run read %s, want 24 23 22 21 20", got)
	}
	p, err = src.Poll(ctx, cursor)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(crawlertest.IDs(p.Posts), " "); got != "30" {
		t.Errorf("next run read %q, want 30", got)
	}
}

func TestEmpty(t *testing.T) {
	a := serveCase(t, "empty")
	cursor := `{"mark":{"time":1795514280,"ids":["46032110"]}}`
	page, err := a.source(t, "").Poll(context.Background(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 0 || page.More || page.Cursor != cursor {
		t.Errorf("%d posts, More %v, cursor %s; want none and the cursor unchanged", len(page.Posts), page.More, page.Cursor)
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name    string
		check   []func(error) string // one per response, nil = success
		message string
	}{
		{name: "unavailable", check: []func(error) string{crawlertest.Transient, nil}},
		{name: "rate-limit", check: []func(error) string{crawlertest.RateLimited(time.Minute), nil}, message: "Too many requests"},
		{name: "status-400", check: []func(error) string{crawlertest.Permanent}, message: "Invalid value for numericFilters"},
		{name: "not-json", check: []func(error) string{crawlertest.Transient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := serveCase(t, tt.name)
			src := a.source(t, "")
			checks := make([]crawlertest.ErrorCheck, len(tt.check))
			for i, check := range tt.check {
				if check != nil {
					checks[i] = crawlertest.Saying(check, tt.message)
				}
			}
			crawlertest.CheckErrors(t, src, 1, checks...)
		})
	}
}

func TestPromises(t *testing.T) {
	for _, options := range []string{"", "    hits_per_page: 3\n"} {
		crawlertest.CheckPoller(t, serveStore(t).source(t, options))
	}
}

// TestRestartResume runs the source in the real runner against the embedded
// bus: the API answers 503 once and recovers; then Aftershock restarts and
// publishes exactly the hits that are new, a same-second one included.
func TestRestartResume(t *testing.T) {
	b := crawlertest.StartBus(t)
	a := newAlgolia(t)
	a.add(hit("10", 2000, "first"))
	a.add(hit("11", 2000, "second, same second"))
	spec := crawlertest.Spec(t, a.specText(""))
	reg := crawlers.NewRegistry().Add(hackernews.Type, hackernews.Constructor)

	run := func(script func(n int, cancel func())) []time.Duration {
		t.Helper()
		inst := crawlertest.Build(t, reg, spec, crawlers.Deps{Now: clock})
		return crawlertest.RunThrough(t, b, inst, clock, func(n int, _ time.Duration, cancel func()) { script(n, cancel) }).Waits()
	}

	waits := run(func(n int, cancel func()) {
		switch n {
		case 1: // after the first poll: the API fails once
			a.Set("", "unavailable/01.http")
		case 2: // it recovers with a new hit
			a.Set("")
			a.add(hit("12", 2001, "third"))
		case 3:
			cancel()
		}
	})
	if want := []time.Duration{time.Minute, time.Second, time.Minute}; !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	posts := crawlertest.CollectPosts(t, b.JS, 3, 5*time.Second)
	if got := strings.Join(crawlertest.IDs(posts), " "); got != "11 10 12" {
		t.Errorf("published %s, want 11 10 12", got)
	}

	// Restart: a new source and runner on the same cursor bucket.
	a.add(hit("13", 2001, "same second as the newest, indexed later"))
	a.add(hit("14", 2002, "newest"))
	before := len(a.Requests())
	run(func(n int, cancel func()) { cancel() })
	reqs := a.Requests()[before:]
	if len(reqs) != 1 || reqs[0].URL.Query().Get("numericFilters") != "created_at_i>=2001" {
		t.Errorf("restarted run sent %d requests; want one from the stored cursor (created_at_i>=2001)", len(reqs))
	}
	posts = crawlertest.CollectPosts(t, b.JS, 5, 5*time.Second)
	if got := strings.Join(crawlertest.IDs(posts[3:]), " "); got != "14 13" {
		t.Errorf("after restart published %s, want 14 13", got)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 5 {
		t.Errorf("stream holds %d posts, want 5: nothing missed, nothing repeated", n)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name, options, want string
	}{
		{"nothing to search", `{hits_per_page: 10}`, "options.query: required unless options.tags"},
		{"bad base", `{query: x, base_url: "ftp://hn"}`, `options.base_url: "ftp://hn" must be an http(s) URL`},
		{"page too big", `{query: x, hits_per_page: 5000}`, "options.hits_per_page: 5000, want 1 to 1000"},
		{"typo", `{query: x, tag: story}`, "options.tag: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := crawlertest.Spec(t, "name: h\ntype: hackernews\nservice: shop\noptions: "+tt.options+"\n")
			_, err := hackernews.Constructor(spec, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	// Tags alone are enough; defaults are applied.
	spec := crawlertest.Spec(t, "name: h\ntype: hackernews\nservice: shop\noptions: {tags: story_46032000}\n")
	if _, err := hackernews.New(spec, crawlers.Deps{}); err != nil {
		t.Errorf("tags without query: %v", err)
	}
}
