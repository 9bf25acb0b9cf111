package reddit_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/reddit"
)

// TestTokenAndPages: the first poll fetches an app-only token with the
// client's credentials, then walks the search two pages deep via `after`;
// the next run reuses the token, fetches page 1 again and stops at the
// first post it saw.
func TestTokenAndPages(t *testing.T) {
	srv := crawlertest.Serve(t, routes{
		tokenPath: {"token/01.http"},
		"/search": {"search/01.http", "search/02.http", "search/03.http", "search/04.http"},
	})
	src := newSource(t, srv, nil, "    query: shop app\n")
	ctx := context.Background()

	p1, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, p1.Posts, 1)
	if !p1.More {
		t.Error("page 1 with an `after` and no seen post: want More")
	}
	p2, err := src.Poll(ctx, p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if p2.More {
		t.Error("page 2 has no `after`: want no More")
	}
	crawlertest.ComparePosts(t, append(p1.Posts, p2.Posts...), crawlertest.ReadWant(t, "search/want.jsonl"), now)

	p3, err := src.Poll(ctx, p2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p3.Posts, crawlertest.ReadWant(t, "search/want-03.jsonl"), now)
	if p3.More {
		t.Error("run reached a seen post but says More")
	}
	// A new post created in the same second as the newest seen one.
	p4, err := src.Poll(ctx, p3.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p4.Posts, crawlertest.ReadWant(t, "search/want-04.jsonl"), now)

	reqs := srv.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests, want 1 token + 4 listings", len(reqs))
	}
	tok := reqs[0]
	if tok.Method != "POST" || tok.Path != tokenPath || tok.Body != "grant_type=client_credentials" {
		t.Errorf("token request %s %s %q", tok.Method, tok.Path, tok.Body)
	}
	if id, sec, ok := basicAuth(tok); !ok || id != clientID || sec != secret {
		t.Errorf("token request without the client's basic auth")
	}
	for i, r := range reqs[1:] {
		if got := r.Header.Get("Authorization"); got != "bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.app-token-1.sig" {
			t.Errorf("listing %d: Authorization %q", i+1, got)
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "server:aftershock:") {
			t.Errorf("listing %d: User-Agent %q", i+1, ua)
		}
		q := r.Query
		if q.Get("q") != "shop app" || q.Get("sort") != "new" || q.Get("raw_json") != "1" || q.Get("limit") != "100" {
			t.Errorf("listing %d: query %v", i+1, q)
		}
	}
	if got := []string{reqs[1].Query.Get("after"), reqs[2].Query.Get("after"), reqs[3].Query.Get("after")}; got[0] != "" || got[1] != "t3_1p0bx10" || got[2] != "" {
		t.Errorf("after per request %q, want none, t3_1p0bx10, none", got)
	}
}

// basicAuth reads the credentials of a recorded request.
func basicAuth(r crawlertest.Request) (string, string, bool) {
	req := &http.Request{Header: r.Header}
	return req.BasicAuth()
}

// TestTokenRenewal: a token is used until shortly before it expires, and a
// 401 on a listing (revoked or expired early) gets one fresh token.
func TestTokenRenewal(t *testing.T) {
	srv := crawlertest.Serve(t, routes{
		tokenPath:        {"token/short.http", "token/02.http"},
		"/r/shopapp/new": {"sub/new.http", "sub/new.http", "status/401.http", "sub/new.http"},
	})
	c := crawlertest.NewClock(now)
	src := newSource(t, srv, c, "    subreddits: [shopapp]\n")
	ctx := context.Background()
	poll := func() {
		t.Helper()
		if _, err := src.Poll(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	poll()
	c.Add(8 * time.Minute) // the 10-minute token is still good
	poll()
	if n := srv.Count(tokenPath); n != 1 {
		t.Errorf("%d token requests within the token's life, want 1", n)
	}
	c.Add(2 * time.Minute) // within a minute of expiry: renewed, answered with token 2
	poll()                 // and the API answers 401 to it: once more with a new token
	if n := srv.Count(tokenPath); n != 3 {
		t.Errorf("%d token requests, want 3 (start, expiry, after the 401)", n)
	}
	reqs := srv.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != "/r/shopapp/new" || !strings.Contains(last.Header.Get("Authorization"), "app-token-2") {
		t.Errorf("last request %s with %q, want the listing with the fresh token", last.Path, last.Header.Get("Authorization"))
	}
}

func TestRateLimitHeaders(t *testing.T) {
	srv := crawlertest.Serve(t, routes{tokenPath: {"token/01.http"}, "/search": {"ratelimit/01.http", "ratelimit/02.http"}})
	c := crawlertest.NewClock(now)
	src := newSource(t, srv, c, "    query: shop\n")
	ctx := context.Background()

	p1, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := crawlers.RateLimit{Limit: 100, Remaining: 1, Reset: now.Add(42500 * time.Millisecond)}
	if p1.RateLimit == nil || *p1.RateLimit != want {
		t.Errorf("rate limit %+v, want %+v", p1.RateLimit, want)
	}
	// The last request of the window: its posts come back with Remaining 0
	// so the runner waits for the reset.
	c.Add(10 * time.Second)
	p2, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want = crawlers.RateLimit{Limit: 100, Remaining: 0, Reset: now.Add(40 * time.Second)}
	if p2.RateLimit == nil || *p2.RateLimit != want || len(p2.Posts) != 1 {
		t.Errorf("rate limit %+v with %d posts, want %+v and the post", p2.RateLimit, len(p2.Posts), want)
	}
	// Asked again before the reset, it does not spend a request.
	c.Add(5 * time.Second)
	_, err = src.Poll(ctx, p2.Cursor)
	var rl *crawlers.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 25*time.Second {
		t.Errorf("error %v, want a RateLimitError with RetryAfter 25s", err)
	}
	if n := srv.Count("/search"); n != 2 {
		t.Errorf("%d listing requests, want 2", n)
	}
	c.Add(25 * time.Second)
	if _, err := src.Poll(ctx, p2.Cursor); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name  string
		route routes
		check func(error) string
	}{
		{"429", routes{"/search": {"status/429.http"}}, crawlertest.RateLimited(17 * time.Second)},
		{"429 without headers", routes{"/search": {"status/429-bare.http"}}, crawlertest.RateLimited(time.Minute)},
		{"401 twice", routes{"/search": {"status/401.http"}}, permanent("401 Unauthorized")},
		{"403", routes{"/search": {"status/403.http"}}, permanent(`403 Forbidden ("private")`)},
		{"404", routes{"/search": {"status/404.http"}}, permanent(`404 Not Found ("banned")`)},
		{"redirect", routes{"/search": {"status/302.http"}}, permanent("does the subreddit exist?")},
		{"503", routes{"/search": {"status/503.http"}}, transient("503 Service Unavailable")},
		{"html page", routes{"/search": {"status/html.http"}}, transient("decoding listing")},
		{"bad client", routes{tokenPath: {"token/bad-client.http"}}, permanent("check options.client_id")},
		{"bad grant", routes{tokenPath: {"token/bad-grant.http"}}, permanent(`no access_token in the response (error "unsupported_grant_type")`)},
		{"token 429", routes{tokenPath: {"status/429.http"}}, crawlertest.RateLimited(17 * time.Second)},
		{"token 503", routes{tokenPath: {"status/503.http"}}, transient("fetching access token: 503")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := routes{tokenPath: {"token/01.http"}}
			for k, v := range tt.route {
				r[k] = v
			}
			srv := crawlertest.Serve(t, r)
			_, err := newSource(t, srv, nil, "    query: shop\n").Poll(context.Background(), "")
			if err == nil {
				t.Fatal("no error")
			}
			if msg := tt.check(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
			for _, s := range []string{secret, "app-token-1"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func permanent(text string) crawlertest.ErrorCheck {
	return crawlertest.Saying(crawlertest.Permanent, text)
}

func transient(text string) crawlertest.ErrorCheck {
	return crawlertest.Saying(crawlertest.Transient, text)
}

// TestRefusedSubreddit: a private subreddit is reported once as a
// PermanentError; after that it is skipped (and retried now and then)
// while the other subreddits go on.
func TestRefusedSubreddit(t *testing.T) {
	srv := crawlertest.Serve(t, routes{
		tokenPath:        {"token/01.http"},
		"/r/private/new": {"status/403.http"},
		"/r/shopapp/new": {"sub/new.http"},
	})
	c := crawlertest.NewClock(now)
	src := newSource(t, srv, c, "    subreddits: [private, shopapp]\n")
	ctx := context.Background()
	_, err := src.Poll(ctx, "")
	if msg := permanent("403")(err); msg != "" {
		t.Fatalf("first refusal: %v: %s", err, msg)
	}
	// The runner waits (PermanentFactor intervals) and polls the same cursor.
	c.Add(crawlers.PermanentFactor * time.Minute)
	page, err := src.Poll(ctx, "")
	if err != nil || len(page.Posts) != 1 || page.Posts[0].ID != "t3_1p0d001" {
		t.Fatalf("second poll: %d posts, err %v; want the other subreddit's post", len(page.Posts), err)
	}
	if n := srv.Count("/r/private/new"); n != 2 {
		t.Errorf("private subreddit asked %d times, want 2 (refused, retried once)", n)
	}
	// Until the bench ends it is not asked at all.
	c.Add(time.Minute)
	if _, err := src.Poll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("/r/private/new"); n != 2 {
		t.Errorf("private subreddit asked %d times while benched, want 2", n)
	}
}

func TestMalformedChildren(t *testing.T) {
	srv := crawlertest.Serve(t, routes{tokenPath: {"token/01.http"}, "/r/shopapp/new": {"malformed/01.http"}})
	page, err := newSource(t, srv, nil, "    subreddits: [shopapp]\n").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, page.Posts, crawlertest.ReadWant(t, "malformed/want.jsonl"), now)
	if page.Skipped.Total() != 5 {
		t.Errorf("skipped %d, want 5 (no time, a number, a string time, no id, no text)", page.Skipped.Total())
	}
}

// TestSubredditsAndComments: one run walks each subreddit's new posts and
// newest comments, one request per poll.
func TestSubredditsAndComments(t *testing.T) {
	srv := crawlertest.Serve(t, routes{
		tokenPath:             {"token/01.http"},
		"/r/ShopApp/new":      {"sub/new.http"},
		"/r/ShopApp/comments": {"sub/comments.http"},
	})
	src := newSource(t, srv, nil, "    subreddits: [r/ShopApp]\n    comments: true\n")
	ctx := context.Background()
	p1, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := src.Poll(ctx, p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if !p1.More || p2.More {
		t.Errorf("More %v then %v, want true then false", p1.More, p2.More)
	}
	crawlertest.ComparePosts(t, append(p1.Posts, p2.Posts...), crawlertest.ReadWant(t, "sub/want.jsonl"), now)
	if p2.Skipped.Total() != 0 {
		t.Errorf("a `more` stub counted as malformed")
	}
}

func TestPromises(t *testing.T) {
	// The search's two pages alternate like a live listing would not; serve
	// page 1 for a request without `after` and page 2 for the one with it.
	byAfter := func(r *http.Request) string {
		if r.URL.Path == "/search" {
			return "/search?after=" + r.URL.Query().Get("after")
		}
		return r.URL.Path
	}
	srv := crawlertest.ServeRoute(t, byAfter, routes{
		tokenPath:                  {"token/01.http"},
		"/search?after=":           {"search/01.http"},
		"/search?after=t3_1p0bx10": {"search/02.http"},
		"/r/shopapp/new":           {"malformed/01.http"},
		"/r/shopapp/comments":      {"sub/comments.http"},
	})
	crawlertest.CheckPoller(t, newSource(t, srv, nil, "    query: shop\n    subreddits: [shopapp]\n    comments: true\n"))
}

func TestOptionsValidate(t *testing.T) {
	const creds = "client_id: a, client_secret: b, "
	tests := []struct{ name, options, want string }{
		{"nothing to watch", "{" + creds + "limit: 10}", "options.query: required unless options.subreddits is set"},
		{"no client", "{query: x, client_secret: b}", "options.client_id: required"},
		{"no secret", "{query: x, client_id: a}", "options.client_secret: required"},
		{"bad base", "{" + creds + "query: x, base_url: ftp://x}", `options.base_url: "ftp://x" must be an http(s) URL`},
		{"bad token url", "{" + creds + "query: x, token_url: /token}", `options.token_url: "/token" must be an http(s) URL`},
		{"bad sub", "{" + creds + "subreddits: [ok_sub, 'no spaces']}", `options.subreddits[1]: "no spaces" is not a subreddit name`},
		{"dup sub", "{" + creds + "subreddits: [Shop, shop]}", `options.subreddits[1]: "shop" repeats options.subreddits[0]`},
		{"comments alone", "{" + creds + "query: x, comments: true}", "options.comments: set without options.subreddits"},
		{"limit", "{" + creds + "query: x, limit: 101}", "options.limit: 101, want 1-100"},
		{"pages", "{" + creds + "query: x, max_pages: 11}", "options.max_pages: 11, want 1-10"},
		{"long query", "{" + creds + "query: " + strings.Repeat("x", 513) + "}", "options.query: 513 bytes"},
		{"typo", "{" + creds + "query: x, subreddit: [a]}", "options.subreddit: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := crawlertest.Spec(t, "name: r\ntype: reddit\nservice: shop\noptions: "+tt.options+"\n")
			_, err := reddit.New(spec, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	spec := crawlertest.Spec(t, "name: r\ntype: reddit\nservice: shop\noptions: {client_id: a, client_secret: b, query: x}\n")
	if _, err := reddit.New(spec, crawlers.Deps{}); err != nil {
		t.Errorf("minimal options: %v", err)
	}
}
