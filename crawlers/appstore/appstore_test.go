package appstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/appstore"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// TestPages: the first run reads two pages (an app metadata entry first is
// left out); the next run reads page 1 again, keeps the one new review,
// passes over an old review edited since, and stops at the reviews it saw.
func TestPages(t *testing.T) {
	srv := crawlertest.Serve(t, routes{page("us", 1): {"us/01.http", "us/03.http"}, page("us", 2): {"us/02.http"}})
	src := newSource(t, srv, nil, "")
	ctx := context.Background()

	p1, err := src.Poll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := src.Poll(ctx, p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, p1.Posts, 1)
	if !p1.More || p2.More {
		t.Errorf("More %v then %v, want true then false (pages: 2)", p1.More, p2.More)
	}
	if p1.Skipped.Total()+p2.Skipped.Total() != 0 {
		t.Errorf("the metadata entry was counted as malformed")
	}
	crawlertest.ComparePosts(t, append(p1.Posts, p2.Posts...), crawlertest.ReadWant(t, "us/want.jsonl"), now)

	p3, err := src.Poll(ctx, p2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p3.Posts, crawlertest.ReadWant(t, "us/want-03.jsonl"), now)
	if p3.More {
		t.Error("run reached seen reviews but says More")
	}
	if n := srv.Count(page("us", 2)); n != 1 {
		t.Errorf("page 2 fetched %d times, want once", n)
	}
	for _, r := range srv.Requests() {
		if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
			t.Errorf("User-Agent %q does not name Aftershock", ua)
		}
	}
}

// TestEntryShapes: `entry` is an array, one object, one metadata object,
// or absent; malformed reviews are skipped and counted.
func TestEntryShapes(t *testing.T) {
	tests := []struct {
		name, want    string
		skipped, reqs int
	}{
		{name: "single", want: "single/want.jsonl", reqs: 1}, // its rel=last link says page 1
		{name: "meta-only", reqs: 1},
		{name: "absent", reqs: 1},
		{name: "malformed", want: "malformed/want.jsonl", skipped: 7, reqs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := crawlertest.Serve(t, routes{page("us", 1): {tt.name + "/01.http"}, page("us", 2): {"absent/01.http"}})
			src := newSource(t, srv, nil, "    pages: 3\n") // an empty page 2 ends the run
			var got []crawlers.Page
			cursor := ""
			for i := 0; i < 3; i++ {
				p, err := src.Poll(context.Background(), cursor)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p)
				cursor = p.Cursor
				if !p.More {
					break
				}
			}
			var want = crawlertest.ReadWant(t, "absent/want.jsonl")
			if tt.want != "" {
				want = crawlertest.ReadWant(t, tt.want)
			}
			crawlertest.ComparePosts(t, got[0].Posts, want, now)
			if got[0].Skipped.Total() != tt.skipped {
				t.Errorf("skipped %d, want %d", got[0].Skipped.Total(), tt.skipped)
			}
			if n := len(srv.Requests()); n != tt.reqs {
				t.Errorf("%d requests, want %d", n, tt.reqs)
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		file  string
		check func(error) string
	}{
		{"status/503.http", transient("fetching us reviews page 1: 503 Service Unavailable")},
		{"status/html.http", transient("decoding feed")},
		{"status/404.http", permanent("404 Not Found")},
		{"status/429.http", crawlertest.RateLimited(120 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			srv := crawlertest.Serve(t, routes{page("us", 1): {tt.file, "us/01.http"}})
			c := crawlertest.NewClock(now)
			src := newSource(t, srv, c, "    pages: 1\n")
			_, err := src.Poll(context.Background(), "")
			if err == nil {
				t.Fatal("no error")
			}
			if msg := tt.check(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
			c.Add(crawlers.PermanentFactor * time.Minute) // the runner's longest wait
			if page, err := src.Poll(context.Background(), ""); err != nil || len(page.Posts) != 3 {
				t.Errorf("recovery: %d posts, err %v; want 3", len(page.Posts), err)
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

// TestCountries: each country has its own cursor; a run reads one country
// per poll.
func TestCountries(t *testing.T) {
	srv := crawlertest.Serve(t, routes{page("us", 1): {"us/01.http", "us/03.http"}, page("de", 1): {"de/01.http"}})
	src := newSource(t, srv, nil, "    countries: [US, de]\n    pages: 1\n")
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
	crawlertest.ComparePosts(t, p1.Posts, crawlertest.ReadWant(t, "us/want.jsonl")[:3], now)
	crawlertest.ComparePosts(t, p2.Posts, crawlertest.ReadWant(t, "de/want.jsonl"), now)

	// Next run: one new review in us, the same one in de.
	p3, err := src.Poll(ctx, p2.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	p4, err := src.Poll(ctx, p3.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, p3.Posts, crawlertest.ReadWant(t, "us/want-03.jsonl"), now)
	if len(p4.Posts) != 0 {
		t.Errorf("de repeated %q", crawlertest.IDs(p4.Posts))
	}
}

// TestRefusedCountry: a storefront that answers 404 is reported once as a
// PermanentError; after that it is skipped while the others go on.
func TestRefusedCountry(t *testing.T) {
	srv := crawlertest.Serve(t, routes{page("xx", 1): {"status/404.http"}, page("de", 1): {"de/01.http"}})
	c := crawlertest.NewClock(now)
	src := newSource(t, srv, c, "    countries: [xx, de]\n")
	ctx := context.Background()
	if _, err := src.Poll(ctx, ""); permanent("404")(err) != "" {
		t.Fatalf("first refusal: %v, want a PermanentError", err)
	}
	c.Add(crawlers.PermanentFactor * time.Minute) // the runner's wait
	page1, err := src.Poll(ctx, "")
	if err != nil || len(page1.Posts) != 1 {
		t.Fatalf("second poll: %d posts, err %v; want de's review", len(page1.Posts), err)
	}
	c.Add(time.Minute)
	if _, err := src.Poll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count(page("xx", 1)); n != 2 {
		t.Errorf("refused country asked %d times, want 2 (refused, retried once)", n)
	}
}

func TestPromises(t *testing.T) {
	srv := crawlertest.Serve(t, routes{page("us", 1): {"us/01.http"}, page("us", 2): {"us/02.http"}, page("de", 1): {"de/01.http"}})
	crawlertest.CheckPoller(t, newSource(t, srv, nil, "    countries: [us, de]\n"))
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct{ name, options, want string }{
		{"no app", "{countries: [us]}", "options.app_id: required"},
		{"bad app", "{app_id: shop}", `options.app_id: "shop" is not a numeric App Store id`},
		{"bad country", "{app_id: '1', countries: [usa]}", `options.countries[0]: "usa" is not a two-letter country code`},
		{"dup country", "{app_id: '1', countries: [us, US]}", `options.countries[1]: "us" repeats options.countries[0]`},
		{"pages", "{app_id: '1', pages: 11}", "options.pages: 11, want 1-10"},
		{"base", "{app_id: '1', base_url: 'itunes.apple.com'}", `options.base_url: "itunes.apple.com" must be an http(s) URL`},
		{"typo", "{app_id: '1', country: [us]}", "options.country: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := crawlertest.Spec(t, "name: a\ntype: appstore\nservice: shop\noptions: "+tt.options+"\n")
			_, err := appstore.New(spec, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	spec := crawlertest.Spec(t, "name: a\ntype: appstore\nservice: shop\noptions: {app_id: id389801252}\n")
	if _, err := appstore.New(spec, crawlers.Deps{}); err != nil {
		t.Errorf("minimal options: %v", err)
	}
}

// TestUndatedReviews: a page shaped like the JSON feed as public clients
// recorded it, whose reviews carry no `updated` (no app metadata entry
// either; the feed's own updated, rights, icon and six links). Every review
// with text is kept, dated when it was read and marked so; the next run
// stops at the ids it has seen instead of paging on.
func TestUndatedReviews(t *testing.T) {
	srv := crawlertest.Serve(t, routes{page("kr", 1): {"kr-undated/01.http"}})
	src := newSource(t, srv, nil, "    countries: [kr]\n")
	p1, err := src.Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, p1.Posts, 3)
	crawlertest.ComparePosts(t, p1.Posts, crawlertest.ReadWant(t, "kr-undated/want.jsonl"), now)
	if p1.Skipped[crawlers.SkipNoText] != 1 || p1.Skipped.Total() != 1 {
		t.Errorf("skipped %v, want the one review without text", p1.Skipped)
	}
	if state, reason := crawlers.Assess(p1, nil); state != crawlers.StateOK {
		t.Errorf("health of the page %s (%s), want ok", state, reason)
	}
	p2, err := src.Poll(context.Background(), p1.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.Posts) != 0 || p2.More {
		t.Errorf("second run: %d posts, More %v; want none and done", len(p2.Posts), p2.More)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2 (page 1 twice)", n)
	}
}
