package bluesky_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/bluesky"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// Dids of the store-backed tests.
const (
	didKim = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	didLee = "did:plc:lee5rmbb4mxumzd6hb7fh2xv"
)

// cursorOf decodes a cursor for inspection.
func cursorOf(t *testing.T, s string) (c struct {
	Newest time.Time        `json:"newest"`
	Seen   map[string]int64 `json:"seen"`
	Walk   *struct {
		Since  string `json:"since"`
		Cursor string `json:"cursor"`
	} `json:"walk"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		t.Fatalf("cursor %q: %v", s, err)
	}
	return c
}

// TestFirstPoll reads the newest page: post views to posts, a bad uri, a
// record that is not an object and an image-only post skipped, a bad
// createdAt read as indexedAt, handle.invalid replaced by the did, the
// rate-limit headers read, the session token sent.
func TestFirstPoll(t *testing.T) {
	p := serveCase(t, "first")
	src := p.source(t, "    lang: en\n    overlap: 10m\n")
	page, err := src.Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, page.Posts, 1)
	crawlertest.ComparePosts(t, page.Posts, crawlertest.ReadWant(t, "first/want.jsonl"), now)
	if page.Skipped.Total() != 3 {
		t.Errorf("skipped %d, want 3 (bad uri, record not an object, no text)", page.Skipped.Total())
	}
	if page.More {
		t.Error("More after the first poll: it reads the newest page only")
	}
	wantRL := crawlers.RateLimit{Limit: 3000, Remaining: 2987, Reset: now.Add(5 * time.Minute)}
	if rl := page.RateLimit; rl == nil || rl.Limit != wantRL.Limit || rl.Remaining != wantRL.Remaining || !rl.Reset.Equal(wantRL.Reset) {
		t.Errorf("rate limit %+v, want %+v", rl, wantRL)
	}
	c := cursorOf(t, page.Cursor)
	if want := time.Date(2026, 11, 24, 9, 58, 30, 123e6, time.UTC); !c.Newest.Equal(want) {
		t.Errorf("cursor newest %v, want %v (the first post's createdAt, before its indexedAt)", c.Newest, want)
	}
	// Every readable id inside the overlap is remembered, the skipped ones
	// too, by the later of createdAt and indexedAt.
	wantSeen := map[string]int64{
		didKim + "/3lbqzq4pkd22k":                        time.Date(2026, 11, 24, 9, 58, 30, 456e6, time.UTC).UnixMilli(),
		"did:plc:4u3jw6qb6znqfj3b5fxtqkxw/3lbqzp7mwn22c": time.Date(2026, 11, 24, 9, 57, 2, 0, time.UTC).UnixMilli(),
		didKim + "/3lbqzo3xyz22k":                        time.Date(2026, 11, 24, 9, 56, 10, 300e6, time.UTC).UnixMilli(),
		"did:web:shop.example.com/3lbqzn5kkk22k":         time.Date(2026, 11, 24, 9, 55, 40, 0, time.UTC).UnixMilli(),
		"did:web:shop.example.com/3lbqzm2jjj22k":         time.Date(2026, 11, 24, 9, 55, 1, 0, time.UTC).UnixMilli(),
	}
	if !reflect.DeepEqual(c.Seen, wantSeen) {
		t.Errorf("cursor remembers %v\nwant %v", c.Seen, wantSeen)
	}
	r := p.Requests()[0]
	if got, want := r.URL.RawQuery, "lang=en&limit=100&q=shopapp&sort=latest"; got != want {
		t.Errorf("query %s, want %s", got, want)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer access-jwt-1" {
		t.Errorf("Authorization %q, want the session's access token", got)
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
		t.Errorf("User-Agent %q does not name Aftershock", ua)
	}
}

// TestBurstPagesUntilSeen: a burst larger than a page is paged back with
// the search cursor until a post already read; each poll asks since the
// newest post less the overlap and returns nothing twice.
func TestBurstPagesUntilSeen(t *testing.T) {
	p := newPDS(t)
	p.add(mkPost(didKim, "3lbaaaaaaaa01", 50, 0, "shopapp one"),
		mkPost(didKim, "3lbaaaaaaaa02", 50, 30, "shopapp two"),
		mkPost(didLee, "3lbaaaaaaaa03", 51, 0, "shopapp three"))
	src := p.source(t, "    limit: 2\n    overlap: 30s\n")
	ctx := context.Background()
	first, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(crawlertest.IDs(first.Posts), " "); got != didLee+"/3lbaaaaaaaa03 "+didKim+"/3lbaaaaaaaa02" || first.More {
		t.Fatalf("first poll %s (More %v), want the newest page only", got, first.More)
	}
	// A burst: five posts, one of them at the same second as the newest read.
	p.add(mkPost(didLee, "3lbaaaaaaaa04", 51, 0, "shopapp four"),
		mkPost(didLee, "3lbaaaaaaaa05", 52, 0, "shopapp five"),
		mkPost(didKim, "3lbaaaaaaaa06", 53, 0, "shopapp six"),
		mkPost(didKim, "3lbaaaaaaaa07", 54, 0, "shopapp seven"),
		mkPost(didLee, "3lbaaaaaaaa08", 55, 0, "shopapp eight"))
	cursor := first.Cursor
	var ids, mores []string
	for range 4 {
		page, err := src.Poll(ctx, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, post := range page.Posts {
			ids = append(ids, strings.TrimPrefix(strings.TrimPrefix(post.ID, didKim+"/"), didLee+"/"))
		}
		mores = append(mores, fmt.Sprint(page.More))
		cursor = page.Cursor
	}
	if got, want := strings.Join(ids, " "), "3lbaaaaaaaa08 3lbaaaaaaaa07 3lbaaaaaaaa06 3lbaaaaaaaa05 3lbaaaaaaaa04"; got != want {
		t.Errorf("burst ids %s, want %s", got, want)
	}
	if got, want := strings.Join(mores, " "), "true true false false"; got != want {
		t.Errorf("More per poll %s, want %s", got, want)
	}
	var queries []string
	for _, r := range p.Requests()[1:] {
		q := r.URL.Query()
		queries = append(queries, "since="+q.Get("since")+" cursor="+q.Get("cursor"))
	}
	want := []string{
		"since=2026-11-24T09:50:30.000Z cursor=",  // 09:51:00 less 30s
		"since=2026-11-24T09:50:30.000Z cursor=2", // the walk keeps its since
		"since=2026-11-24T09:50:30.000Z cursor=4", // ... and meets posts read before
		"since=2026-11-24T09:54:30.000Z cursor=",  // 09:55:00 less 30s
	}
	if strings.Join(queries, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(queries, "\n"), strings.Join(want, "\n"))
	}
	c := cursorOf(t, cursor)
	if c.Walk != nil || len(c.Seen) != 1 {
		t.Errorf("final cursor %s: want no walk and only the post inside the overlap remembered", cursor)
	}
}

// TestSessionCached: createSession runs once for many polls.
func TestSessionCached(t *testing.T) {
	p := newPDS(t)
	p.add(mkPost(didKim, "3lbaaaaaaaa01", 50, 0, "shopapp one"))
	src := p.source(t, "")
	cursor := ""
	for range 5 {
		page, err := src.Poll(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		cursor = page.Cursor
	}
	if creates, refreshes := p.counts(); creates != 1 || refreshes != 0 {
		t.Errorf("%d createSession, %d refreshSession for 5 polls; want 1 and 0", creates, refreshes)
	}
}

// TestExpiredTokenRefreshes: an expired access token is refreshed and the
// search repeated; only when the refresh token is refused too does the
// source sign in again.
func TestExpiredTokenRefreshes(t *testing.T) {
	p := newPDS(t)
	p.add(mkPost(didKim, "3lbaaaaaaaa01", 50, 0, "shopapp one"))
	src := p.source(t, "")
	ctx := context.Background()
	if _, err := src.Poll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	p.expireAccess()
	page, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatalf("poll with an expired access token: %v", err)
	}
	if len(page.Posts) != 1 {
		t.Errorf("%d posts after the refresh, want 1", len(page.Posts))
	}
	if creates, refreshes := p.counts(); creates != 1 || refreshes != 1 {
		t.Errorf("%d createSession, %d refreshSession; want 1 and 1", creates, refreshes)
	}
	reqs := p.Requests()
	if len(reqs) != 3 || reqs[2].Header.Get("Authorization") != "Bearer access-jwt-2" {
		t.Errorf("%d searches, want 3 with the last on the refreshed token", len(reqs))
	}

	p.expireAll()
	if _, err := src.Poll(ctx, ""); err != nil {
		t.Fatalf("poll with both tokens expired: %v", err)
	}
	if creates, refreshes := p.counts(); creates != 2 || refreshes != 2 {
		t.Errorf("%d createSession, %d refreshSession; want 2 and 2", creates, refreshes)
	}
}

func TestWrongPassword(t *testing.T) {
	p := newPDS(t)
	spec := crawlertest.Spec(t, strings.Replace(p.specText(""), password, "wxyz-wxyz-wxyz-wxyz", 1))
	src, err := bluesky.New(spec, p.deps())
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Poll(context.Background(), "")
	if msg := crawlertest.Permanent(err); msg != "" {
		t.Fatalf("%v: %s", err, msg)
	}
	if !strings.Contains(err.Error(), "Invalid identifier or password") || strings.Contains(err.Error(), "wxyz-wxyz") {
		t.Errorf("error %q: want the server's message and no password", err)
	}
	if n := len(p.Requests()); n != 0 {
		t.Errorf("%d searches without a session", n)
	}
}

// TestErrors: each failing answer becomes the error the runner acts on,
// with a clear message and no secret.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kind      string // "rate", "permanent" or "retry"
		retry     time.Duration
		wantInMsg string
	}{
		{"rate-limit", "rate", 2 * time.Minute, "RateLimitExceeded"},
		{"forbidden", "permanent", 0, "Request forbidden by administrative rules"},
		{"bad-query", "permanent", 0, "BadQueryString"},
		{"echo", "permanent", 0, "is not allowed here"},
		{"unavailable", "retry", 0, "502 Bad Gateway: UpstreamFailure Upstream Failure"},
		{"not-json", "retry", 0, "not a searchPosts output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := serveCase(t, tc.name)
			_, err := p.source(t, "").Poll(context.Background(), "")
			if err == nil {
				t.Fatal("no error")
			}
			var rl *crawlers.RateLimitError
			var pe *crawlers.PermanentError
			switch {
			case tc.kind == "rate" && !errors.As(err, &rl):
				t.Errorf("%v: want a RateLimitError", err)
			case tc.kind == "rate" && rl.RetryAfter != tc.retry:
				t.Errorf("retry after %s, want %s (until RateLimit-Reset)", rl.RetryAfter, tc.retry)
			case tc.kind == "permanent" && !errors.As(err, &pe):
				t.Errorf("%v: want a PermanentError", err)
			case tc.kind == "retry" && (errors.As(err, &pe) || errors.As(err, &rl)):
				t.Errorf("%v: want a plain, retryable error", err)
			}
			if !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantInMsg)
			}
			noSecrets(t, err.Error())
		})
	}
}

func TestEmptyPage(t *testing.T) {
	p := serveCase(t, "empty")
	src := p.source(t, "")
	cursor := `{"newest":"2026-11-24T09:58:30.123Z","seen":{"` + didKim + `/3lbqzq4pkd22k":1795514310456}}`
	page, err := src.Poll(context.Background(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 0 || page.More || page.Skipped.Total() != 0 {
		t.Errorf("empty page: %d posts, More %v, skipped %d", len(page.Posts), page.More, page.Skipped.Total())
	}
	if page.Cursor != cursor {
		t.Errorf("cursor %s, want it unchanged %s", page.Cursor, cursor)
	}
	if got := p.Requests()[0].URL.Query().Get("since"); got != "2026-11-24T09:57:30.123Z" {
		t.Errorf("since %s, want the newest less the 1m overlap", got)
	}
}

func TestUnreadableCursorStartsOver(t *testing.T) {
	p := serveCase(t, "first")
	page, err := p.source(t, "").Poll(context.Background(), `{"walk":{"cursor":""}}`)
	if err != nil || len(page.Posts) != 3 {
		t.Fatalf("poll from a bad cursor: %d posts, %v; want the newest page", len(page.Posts), err)
	}
	if q := p.Requests()[0].URL.Query(); q.Has("since") || q.Has("cursor") {
		t.Errorf("query %s, want a first poll", q.Encode())
	}
}

func TestCheckPoller(t *testing.T) {
	p := newPDS(t)
	for i := range 7 {
		p.add(mkPost(didKim, fmt.Sprintf("3lbbbbbbbbb%02d", i), 50+i, 0, fmt.Sprintf("shopapp post %d", i)))
	}
	crawlertest.CheckPoller(t, p.source(t, "    limit: 5\n"))
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		options string
		want    string // "" = valid
	}{
		{"{identifier: a, app_password: b, query: shopapp}", ""},
		{"{identifier: a, app_password: b}", "options.query: required"},
		{"{query: shopapp}", "options.identifier: required"},
		{"{identifier: a, query: shopapp}", "options.app_password: required"},
		{"{identifier: a, app_password: b, query: x, limit: 101}", "options.limit: 101, want 1 to 100"},
		{"{identifier: a, app_password: b, query: x, service: 'ftp://x'}", "options.service:"},
		{"{identifier: a, app_password: b, query: x, lang: 'not a lang'}", "options.lang:"},
		{"{identifier: a, app_password: b, query: x, terms: [a]}", "options.terms: only used with options.stream"},
		{"{identifier: a, app_password: b, query: x, overlap: 2h}", "options.overlap:"},
		{"{stream: true, terms: [shopapp, 쇼핑앱]}", ""},
		{"{stream: true}", "options.terms: required"},
		{"{stream: true, terms: [' ']}", "options.terms[0]: empty"},
		{"{stream: true, terms: [a], query: a}", "options.query: not used"},
		{"{stream: true, terms: [a], jetstream_url: 'https://x/subscribe'}", "options.jetstream_url:"},
		{"{identifier: a, app_password: b, query: x, querry: y}", "options.querry: unknown option"},
	} {
		spec := crawlertest.Spec(t, "name: sky\ntype: bluesky\nservice: shop\noptions: "+tc.options+"\n")
		_, err := bluesky.Constructor(spec, crawlers.Deps{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.options, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.options, err, tc.want)
		}
	}
}
