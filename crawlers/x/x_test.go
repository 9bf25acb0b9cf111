package x_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/x"
)

// Ids of the fixtures' posts: 64-bit snowflakes above 2^53, so a float
// anywhere on the way would change them.
const (
	idNewest = "2125167087449014277" // v2/pages and v1.1/pages, first post
	idNew    = "2125168421237686277" // v2/new
)

func TestPages(t *testing.T) {
	tests := []struct {
		api, dir, empty string
		more            []bool
		skipped         []int
		// params every request carries, and the page parameter per request
		params    map[string]string
		pageParam string
		pageVals  []string
		remaining int
	}{
		{
			api: x.APIv2, dir: "v2/pages", empty: "v2/empty/01.http",
			more: []bool{true, true, false}, skipped: []int{0, 1, 0},
			params: map[string]string{
				"query":        `"acme shop" -is:retweet`,
				"max_results":  "100",
				"tweet.fields": "created_at,author_id,lang,public_metrics,note_tweet",
				"expansions":   "author_id",
				"user.fields":  "username",
			},
			pageParam: "next_token",
			pageVals:  []string{"", "b26v89c19zqg8o3fpds2mh7kvx4nfemxmh6wmijtnzilp", "b26v89c19zqg8o3fo7gesq314yb9l2l4ptqy8gelo6ssd"},
			remaining: 447,
		},
		{
			api: x.APIv11, dir: "v1.1/pages", empty: "v1.1/empty/01.http",
			more: []bool{true, false}, skipped: []int{1, 0},
			params: map[string]string{
				"q":                `"acme shop" -is:retweet`,
				"count":            "100",
				"tweet_mode":       "extended",
				"result_type":      "recent",
				"include_entities": "false",
			},
			pageParam: "max_id",
			pageVals:  []string{"", "2125166294725558276"},
			remaining: 178,
		},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			srv := serveSearch(t, tt.api, tt.dir, tt.empty)
			src := newSource(t, srv, tt.api, "")
			pages := crawlertest.Pages(t, src, "", 10)
			crawlertest.RequirePosts(t, pages[0].Posts, 1)
			crawlertest.ComparePosts(t, crawlertest.AllPosts(pages), crawlertest.ReadWant(t, tt.dir+"/want.jsonl"), now)

			var more []bool
			var skipped []int
			for _, p := range pages {
				more = append(more, p.More)
				skipped = append(skipped, p.Skipped.Total())
			}
			if !slices.Equal(more, tt.more) || !slices.Equal(skipped, tt.skipped) {
				t.Errorf("More %v, Skipped %v per page; want %v, %v", more, skipped, tt.more, tt.skipped)
			}
			last := pages[len(pages)-1]
			if want := `{"since_id":"` + idNewest + `"}`; last.Cursor != want {
				t.Errorf("cursor after the run %s, want %s", last.Cursor, want)
			}
			wantRL := crawlers.RateLimit{Limit: map[string]int{x.APIv2: 450, x.APIv11: 180}[tt.api], Remaining: tt.remaining, Reset: now.Add(612 * time.Second)}
			if rl := last.RateLimit; rl == nil || *rl != wantRL {
				t.Errorf("rate limit %+v, want %+v", rl, wantRL)
			}

			reqs := srv.Requests()
			if len(reqs) != len(tt.pageVals) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.pageVals))
			}
			for i, r := range reqs {
				q := r.URL.Query()
				for k, v := range tt.params {
					if q.Get(k) != v {
						t.Errorf("request %d: %s=%q, want %q", i, k, q.Get(k), v)
					}
				}
				if got := q.Get(tt.pageParam); got != tt.pageVals[i] {
					t.Errorf("request %d: %s=%q, want %q", i, tt.pageParam, got, tt.pageVals[i])
				}
				if q.Has("since_id") {
					t.Errorf("request %d: since_id on a first run", i)
				}
				if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
					t.Errorf("request %d: User-Agent %q does not name Aftershock", i, ua)
				}
			}

			// The next run asks for what is newer than the newest post, exactly.
			page, err := src.Poll(context.Background(), last.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Posts) != 0 || page.More || page.Cursor != last.Cursor {
				t.Errorf("poll after the run: %d posts, More %v, cursor %s; want nothing new and the same cursor", len(page.Posts), page.More, page.Cursor)
			}
			reqs = srv.Requests()
			if got := reqs[len(reqs)-1].URL.Query().Get("since_id"); got != idNewest {
				t.Errorf("since_id=%q, want %s", got, idNewest)
			}
		})
	}
}

func TestPromises(t *testing.T) {
	for _, tc := range []struct{ api, dir, empty string }{
		{x.APIv2, "v2/pages", "v2/empty/01.http"},
		{x.APIv11, "v1.1/pages", "v1.1/empty/01.http"},
	} {
		t.Run(tc.api, func(t *testing.T) {
			crawlertest.CheckPoller(t, newSource(t, serveSearch(t, tc.api, tc.dir, tc.empty), tc.api, ""))
		})
	}
}

// TestResumeMidRun: a restart between pages goes on with the stored page
// token and the old since_id, and moves since_id only at the end.
func TestResumeMidRun(t *testing.T) {
	srv := serveSearch(t, x.APIv2, "v2/pages", "v2/empty/01.http")
	src := newSource(t, srv, x.APIv2, "")
	ctx := context.Background()
	const old = "2125150000000000000"
	p1, err := src.Poll(ctx, `{"since_id":"`+old+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh source, as after a restart, with the stored cursor.
	src = newSource(t, srv, x.APIv2, "")
	pages := crawlertest.Pages(t, src, p1.Cursor, 10)
	if got := len(p1.Posts) + len(crawlertest.AllPosts(pages)); got != 6 {
		t.Errorf("%d posts over the run, want 6", got)
	}
	for i, r := range srv.Requests() {
		if got := r.URL.Query().Get("since_id"); got != old {
			t.Errorf("request %d: since_id=%q, want the old %s on every page", i, got, old)
		}
	}
	if want := `{"since_id":"` + idNewest + `"}`; pages[len(pages)-1].Cursor != want {
		t.Errorf("cursor %s, want %s", pages[len(pages)-1].Cursor, want)
	}
}

func TestMaxPages(t *testing.T) {
	srv := serveSearch(t, x.APIv2, "v2/pages", "v2/empty/01.http")
	pages := crawlertest.Pages(t, newSource(t, srv, x.APIv2, "    max_pages: 2\n"), "", 10)
	if len(pages) != 2 {
		t.Fatalf("%d pages, want 2", len(pages))
	}
	if want := `{"since_id":"` + idNewest + `"}`; pages[1].Cursor != want {
		t.Errorf("cursor %s, want %s: a cut run still moves to the newest post", pages[1].Cursor, want)
	}
}

func TestNoData(t *testing.T) {
	for _, api := range []string{x.APIv2, x.APIv11} {
		t.Run(api, func(t *testing.T) {
			dir := map[string]string{x.APIv2: "v2", x.APIv11: "v1.1"}[api]
			srv := serveSteps(t, api, dir+"/empty/01.http")
			page, err := newSource(t, srv, api, "").Poll(context.Background(), "")
			if err != nil {
				t.Fatalf("zero results: %v", err)
			}
			if len(page.Posts) != 0 || page.More || page.Skipped.Total() != 0 {
				t.Errorf("zero results: %+v", page)
			}
			cursor := `{"since_id":"` + idNewest + `"}`
			page, err = newSource(t, srv, api, "").Poll(context.Background(), cursor)
			if err != nil || page.Cursor != cursor {
				t.Errorf("zero results with a cursor: cursor %s, err %v; want it kept", page.Cursor, err)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		api, file string
		check     func(error) string
		contains  string
	}{
		{x.APIv2, "v2/rate-limit-88/01.http", crawlertest.RateLimited(300 * time.Second), "code 88 Rate limit exceeded"},
		{x.APIv2, "v2/rate-limit-problem/01.http", crawlertest.RateLimited(840 * time.Second), "429 Too Many Requests"},
		{x.APIv2, "v2/unauthorized/01.http", crawlertest.Permanent, "401 Unauthorized"},
		{x.APIv2, "v2/forbidden/01.http", crawlertest.Permanent, "Client Forbidden: When authenticating"},
		{x.APIv2, "v2/credits/01.http", crawlertest.Permanent, "CreditsDepleted"},
		{x.APIv2, "v2/unavailable/01.http", crawlertest.Transient, "503 Service Unavailable"},
		{x.APIv2, "v2/bad-json/01.http", crawlertest.Transient, "decoding response"},
		{x.APIv11, "v1.1/rate-limit/01.http", crawlertest.RateLimited(420 * time.Second), "code 88 Rate limit exceeded"},
		{x.APIv11, "v1.1/unauthorized/01.http", crawlertest.Permanent, "401 Unauthorized: code 89 Invalid or expired token."},
		{x.APIv11, "v1.1/limited/01.http", crawlertest.Permanent, "set options.api: v2"},
		{x.APIv11, "v1.1/unavailable/01.http", crawlertest.Transient, "503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			srv := serveSteps(t, tt.api, tt.file)
			_, err := newSource(t, srv, tt.api, "").Poll(context.Background(), `{"since_id":"`+idNewest+`"}`)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := tt.check(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

// TestSinceIDTooOld: after more than the 7 days recent search covers, X
// refuses the stored since_id; the source reads on from the newest posts
// instead of failing forever.
func TestSinceIDTooOld(t *testing.T) {
	srv := serveSteps(t, x.APIv2, "v2/since-id-too-old/01.http", "v2/pages/03.http")
	page, err := newSource(t, srv, x.APIv2, "").Poll(context.Background(), `{"since_id":"2121000000000000000"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 1 || page.Cursor != `{"since_id":"2125160242860785669"}` {
		t.Errorf("%d posts, cursor %s; want the page read without since_id", len(page.Posts), page.Cursor)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || !reqs[0].URL.Query().Has("since_id") || reqs[1].URL.Query().Has("since_id") {
		t.Errorf("requests %v; want one with since_id, then one without", reqs)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	srv := serveSteps(t, x.APIv2, "v2/pages/03.http")
	page, err := newSource(t, srv, x.APIv2, "").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := crawlers.RateLimit{Limit: 450, Remaining: 447, Reset: time.Unix(1795515012, 0).UTC()}
	if page.RateLimit == nil || *page.RateLimit != want {
		t.Errorf("rate limit %+v, want %+v", page.RateLimit, want)
	}
}

func TestTransportFailures(t *testing.T) {
	for _, api := range []string{x.APIv2, x.APIv11} {
		t.Run(api+"/timeout", func(t *testing.T) {
			srv := serveSteps(t, api, stepHang)
			spec := specFor(t, srv, api, "")
			spec.Timeout = 300 * time.Millisecond
			src, err := x.New(spec, crawlers.Deps{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = src.Poll(context.Background(), "")
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("poll took %s with a 300ms timeout", took)
			}
			var ne net.Error
			if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
				t.Errorf("error %v, want a timeout", err)
			}
			if msg := crawlertest.Transient(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
		})
		t.Run(api+"/cancel", func(t *testing.T) {
			srv := serveSteps(t, api, stepHang)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			_, err := newSource(t, srv, api, "").Poll(ctx, "")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("poll took %s after cancel", took)
			}
		})
		t.Run(api+"/dies", func(t *testing.T) {
			srv := serveSteps(t, api, stepDie)
			_, err := newSource(t, srv, api, "").Poll(context.Background(), "")
			if err == nil {
				t.Fatal("no error from a dead server")
			}
			if msg := crawlertest.Transient(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
		})
	}
}

func TestOversizedBody(t *testing.T) {
	for _, api := range []string{x.APIv2, x.APIv11} {
		t.Run(api, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"data":[{"id":"1","text":"`)
				chunk := strings.Repeat("a", 64<<10)
				for written := 0; written <= x.MaxBody; written += len(chunk) {
					if _, err := fmt.Fprint(w, chunk); err != nil {
						return
					}
				}
				fmt.Fprint(w, `"}]}`)
			}))
			t.Cleanup(srv.Close)
			src, err := x.New(crawlertest.Spec(t, `
name: x-acme
type: x
service: shop
options: {api: "`+api+`", base_url: "`+srv.URL+`", bearer_token: t0ken, query: acme}
`), crawlers.Deps{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Poll(context.Background(), "")
			if err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Errorf("error %v, want one about the body size", err)
			}
		})
	}
}

// TestUnreadableCursor: a cursor that is not ours starts over instead of
// failing every poll.
func TestUnreadableCursor(t *testing.T) {
	for _, cursor := range []string{"not json", `{"since_id":"1.86e18"}`, `{"since_id":-5}`} {
		srv := serveSteps(t, x.APIv2, "v2/pages/03.http")
		page, err := newSource(t, srv, x.APIv2, "").Poll(context.Background(), cursor)
		if err != nil || len(page.Posts) != 1 {
			t.Errorf("cursor %q: %d posts, err %v; want a fresh start", cursor, len(page.Posts), err)
		}
		if q := srv.Requests()[0].URL.Query(); q.Has("since_id") {
			t.Errorf("cursor %q: sent since_id=%s", cursor, q.Get("since_id"))
		}
	}
}

// TestSwitchAPI: the cursor of one API is understood by the other (ids are
// the same); a run in progress restarts from its since_id.
func TestSwitchAPI(t *testing.T) {
	srv := serveSearch(t, x.APIv11, "v1.1/pages", "v1.1/empty/01.http")
	const old = "2125150000000000000"
	page, err := newSource(t, srv, x.APIv11, "").Poll(context.Background(), `{"since_id":"`+old+`","next_token":"b26v89c19zqg8o3fpds2mh7kvx4nfemxmh6wmijtnzilp","newest_id":"`+idNewest+`","pages":1}`)
	if err != nil {
		t.Fatal(err)
	}
	q := srv.Requests()[0].URL.Query()
	if q.Get("since_id") != old || q.Has("max_id") || len(page.Posts) != 2 {
		t.Errorf("since_id=%s max_id=%s, %d posts; want the v1.1 run to start at the v2 since_id", q.Get("since_id"), q.Get("max_id"), len(page.Posts))
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct{ name, options, want string }{
		{"no query", `{bearer_token: t}`, "options.query: required"},
		{"no token", `{query: acme}`, "options.bearer_token: required"},
		{"bad api", `{api: v3, bearer_token: t, query: acme}`, `options.api: "v3", want v2 or v1.1`},
		{"bad base", `{base_url: "ftp://x.example", bearer_token: t, query: acme}`, "options.base_url: \"ftp://x.example\" must be an http(s) URL"},
		{"small page", `{max_results: 5, bearer_token: t, query: acme}`, "options.max_results: 5, want 10-100"},
		{"big page", `{max_results: 500, bearer_token: t, query: acme}`, "options.max_results: 500, want 10-100"},
		{"count on v2", `{count: 50, bearer_token: t, query: acme}`, "options.count: only for api v1.1"},
		{"max_results on v1.1", `{api: v1.1, max_results: 50, bearer_token: t, query: acme}`, "options.max_results: only for api v2"},
		{"big count", `{api: v1.1, count: 101, bearer_token: t, query: acme}`, "options.count: 101, want 1-100"},
		{"pages", `{max_pages: -1, bearer_token: t, query: acme}`, "options.max_pages: -1, want at least 1"},
		{"token with space", `{bearer_token: "abc def", query: acme}`, "options.bearer_token: contains white space"},
		{"typo", `{bearer_token: t, query: acme, querry: acme}`, "options.querry: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := crawlertest.Spec(t, "name: x-acme\ntype: x\nservice: shop\noptions: "+tt.options+"\n")
			_, err := x.New(spec, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "abc def") {
				t.Errorf("error %q echoes the token", err)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	for _, tc := range []struct{ api, base string }{{"", x.DefaultBaseURL}, {x.APIv11, x.DefaultV11BaseURL}} {
		o := x.Options{API: tc.api, BearerToken: "t", Query: "acme"}
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
		if o.BaseURL != tc.base || o.MaxPages != x.DefaultMaxPages {
			t.Errorf("api %q: defaults %+v", tc.api, o)
		}
		if (o.API == x.APIv2) != (o.MaxResults == 100 && o.Count == 0) {
			t.Errorf("api %q: page sizes %+v", tc.api, o)
		}
	}
}

// TestPartialResponse: a response to exactly the request Aftershock sends,
// in which X left out what was asked for: no includes (the authors could
// not be found, reported as partial errors) and a post without created_at.
// Every post is kept: the author is its author_id, the time the one
// encoded in the snowflake id (marked time_from "id").
func TestPartialResponse(t *testing.T) {
	srv := serveSteps(t, x.APIv2, "v2/partial/01.http")
	page, err := newSource(t, srv, x.APIv2, "").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if page.Skipped.Total() != 0 {
		t.Errorf("skipped %v, want none", page.Skipped)
	}
	crawlertest.RequirePosts(t, page.Posts, 2)
	crawlertest.ComparePosts(t, page.Posts, crawlertest.ReadWant(t, "v2/partial/want.jsonl"), now)
}

func TestSnowflakeTimeMatchesCreatedAt(t *testing.T) {
	// The fixtures' ids encode their created_at, as X's do.
	srv := serveSteps(t, x.APIv2, "v2/new/01.http")
	page, err := newSource(t, srv, x.APIv2, "").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, page.Posts, 1)
	got, ok := x.SnowflakeTime(page.Posts[0].ID)
	if d := got.Sub(page.Posts[0].Time); !ok || d < 0 || d >= time.Second {
		t.Errorf("SnowflakeTime(%s) = %s, %v; want within a second after created_at %s", page.Posts[0].ID, got, ok, page.Posts[0].Time)
	}
	for _, id := range []string{"20", "29700859247", "x", "18446744073709551615"} {
		if ts, ok := x.SnowflakeTime(id); ok {
			t.Errorf("SnowflakeTime(%s) = %s, want none (pre-snowflake or invalid)", id, ts)
		}
	}
}
