package mastodon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/mastodon"
)

const (
	n0 = "113550240000000000"
	n5 = "113550240000000005"
	n6 = "113550240000000006"
	n7 = "113550240000000007"
	n9 = "113550240000000009"
)

func cursorOf(newest map[string]string, more ...string) string {
	data, _ := json.Marshal(struct {
		Newest map[string]string `json:"newest"`
		More   []string          `json:"more,omitempty"`
	}{newest, more})
	return string(data)
}

// TestFirstPoll reads the newest page: HTML to text, content warning first,
// a boost reported as the boosted status, a malformed status and a
// media-only one skipped, the rate-limit headers read, the token sent.
func TestFirstPoll(t *testing.T) {
	in := serveCase(t, "first")
	src := in.source(t, "    hashtags: ['#ShopApp']\n    token: "+token+"\n")
	page, err := src.Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	crawlertest.RequirePosts(t, page.Posts, 1)
	crawlertest.ComparePosts(t, page.Posts, crawlertest.ReadWant(t, "first/want.jsonl"), now)
	if page.Skipped.Total() != 2 {
		t.Errorf("skipped %d, want 2 (malformed time, media only)", page.Skipped.Total())
	}
	if want := cursorOf(map[string]string{"ShopApp": n5}); page.Cursor != want {
		t.Errorf("cursor %s, want %s", page.Cursor, want)
	}
	if page.More {
		t.Error("More after the first poll: it reads the newest page only")
	}
	wantRL := crawlers.RateLimit{Limit: 300, Remaining: 297, Reset: time.Date(2026, 11, 24, 10, 5, 0, 0, time.UTC)}
	if page.RateLimit == nil || page.RateLimit.Limit != wantRL.Limit || page.RateLimit.Remaining != wantRL.Remaining || !page.RateLimit.Reset.Equal(wantRL.Reset) {
		t.Errorf("rate limit %+v, want %+v", page.RateLimit, wantRL)
	}
	r := in.Requests()[0]
	if got, want := r.URL.RequestURI(), "/api/v1/timelines/tag/ShopApp?limit=40"; got != want {
		t.Errorf("request %s, want %s", got, want)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+token {
		t.Errorf("Authorization %q, want the bearer token", got)
	}
	if ua := r.Header.Get("User-Agent"); !strings.Contains(ua, "Aftershock") {
		t.Errorf("User-Agent %q does not name Aftershock", ua)
	}
}

// TestPages follows full pages forward with min_id until a short one.
func TestPages(t *testing.T) {
	in := serveCase(t, "pages")
	src := in.source(t, "    hashtags: [shopapp]\n    limit: 2\n    local: true\n")
	cursor := cursorOf(map[string]string{"shopapp": n5})
	var ids []string
	var mores []bool
	for range 3 {
		page, err := src.Poll(context.Background(), cursor)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, crawlertest.IDs(page.Posts)...)
		mores = append(mores, page.More)
		cursor = page.Cursor
	}
	want := []string{n7, n6, "113550240000000009", "113550240000000008", "113550240000000010"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("ids %q, want %q", ids, want)
	}
	if fmt.Sprint(mores) != "[true true false]" {
		t.Errorf("More per page %v, want [true true false]", mores)
	}
	if want := cursorOf(map[string]string{"shopapp": "113550240000000010"}); cursor != want {
		t.Errorf("final cursor %s, want %s", cursor, want)
	}
	var got []string
	for _, r := range in.Requests() {
		got = append(got, r.URL.RequestURI())
	}
	wantReqs := []string{
		"/api/v1/timelines/tag/shopapp?limit=2&local=true&min_id=" + n5,
		"/api/v1/timelines/tag/shopapp?limit=2&local=true&min_id=" + n7,
		"/api/v1/timelines/tag/shopapp?limit=2&local=true&min_id=" + n9,
	}
	if strings.Join(got, "\n") != strings.Join(wantReqs, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantReqs, "\n"))
	}
}

func TestEmptyPage(t *testing.T) {
	in := serveCase(t, "empty")
	src := in.source(t, "    public: true\n")
	cursor := cursorOf(map[string]string{"@public": n5})
	page, err := src.Poll(context.Background(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 0 || page.More || page.Cursor != cursor {
		t.Errorf("empty page: %d posts, More %v, cursor %s; want none, false, unchanged", len(page.Posts), page.More, page.Cursor)
	}
	if got := in.Requests()[0].URL.RequestURI(); got != "/api/v1/timelines/public?limit=40&min_id="+n5 {
		t.Errorf("request %s", got)
	}
}

// TestTwoHashtags: a status carrying both hashtags is returned once.
func TestTwoHashtags(t *testing.T) {
	in := serveCase(t, "two-tags")
	src := in.source(t, "    hashtags: [shopapp, shoppay]\n")
	page, err := src.Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(crawlertest.IDs(page.Posts), " "), "113550240000000012 "+n6+" 113550240000000013"; got != want {
		t.Errorf("ids %s, want %s", got, want)
	}
	want := cursorOf(map[string]string{"shopapp": "113550240000000012", "shoppay": "113550240000000013"})
	if page.Cursor != want {
		t.Errorf("cursor %s, want %s", page.Cursor, want)
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name    string
		check   []func(error) string // one per response of the case, nil = success
		message string               // the server's message, carried in the error
	}{
		{name: "rate-limit", check: []func(error) string{crawlertest.RateLimited(3 * time.Minute), nil}},
		{name: "unavailable", check: []func(error) string{crawlertest.Transient, nil}},
		{name: "not-json", check: []func(error) string{crawlertest.Transient}},
		{name: "status-401", check: []func(error) string{crawlertest.Permanent}, message: "The access token is invalid"},
		{name: "status-403", check: []func(error) string{crawlertest.Permanent}, message: "This action is not allowed"},
		{name: "status-422", check: []func(error) string{crawlertest.Permanent}, message: "This method requires an authenticated user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := serveCase(t, tt.name)
			src := in.source(t, "    hashtags: [shopapp]\n    token: "+token+"\n")
			checks := make([]crawlertest.ErrorCheck, len(tt.check))
			for i, check := range tt.check {
				if check != nil {
					checks[i] = noToken(crawlertest.Saying(check, tt.message))
				}
			}
			crawlertest.CheckErrors(t, src, 2, checks...)
		})
	}
}

// noToken adds to check that the error does not hold the token.
func noToken(check crawlertest.ErrorCheck) crawlertest.ErrorCheck {
	return func(err error) string {
		if strings.Contains(err.Error(), token) {
			return "contains the token"
		}
		return check(err)
	}
}

// TestRateLimitWithinPoll: when the limit runs out while timelines are
// left, the poll returns what it read, the reset, and the rest as More.
func TestRateLimitWithinPoll(t *testing.T) {
	tests := []struct {
		name  string
		steps []string
		reset time.Time
	}{
		{"remaining 0", []string{"exhausted/01.http", "exhausted/02.http"}, time.Date(2026, 11, 24, 10, 4, 0, 0, time.UTC)},
		{"429 on the second", []string{"pages/01.http", "rate-limit/01.http", "exhausted/02.http"}, time.Date(2026, 11, 24, 10, 3, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := serveSteps(t, tt.steps...)
			src := in.source(t, "    hashtags: [shopapp, shopappfail]\n")
			start := cursorOf(map[string]string{"shopapp": n5, "shopappfail": n5})
			p1, err := src.Poll(context.Background(), start)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(crawlertest.IDs(p1.Posts), " "); got != n7+" "+n6 {
				t.Errorf("first poll ids %s", got)
			}
			if !p1.More || p1.RateLimit == nil || p1.RateLimit.Remaining != 0 || !p1.RateLimit.Reset.Equal(tt.reset) {
				t.Errorf("first poll More %v, rate limit %+v; want More and 0 left until %v", p1.More, p1.RateLimit, tt.reset)
			}
			if want := cursorOf(map[string]string{"shopapp": n7, "shopappfail": n5}, "shopappfail"); p1.Cursor != want {
				t.Errorf("cursor %s, want %s", p1.Cursor, want)
			}
			// After the reset only the timeline left over is read.
			before := len(in.Requests())
			p2, err := src.Poll(context.Background(), p1.Cursor)
			if err != nil {
				t.Fatal(err)
			}
			reqs := in.Requests()[before:]
			if len(reqs) != 1 || reqs[0].URL.Path != "/api/v1/timelines/tag/shopappfail" {
				t.Errorf("second poll sent %d requests (first %v), want one for shopappfail", len(reqs), reqs[0].URL)
			}
			if want := cursorOf(map[string]string{"shopapp": n7, "shopappfail": "113550240000000011"}); p2.Cursor != want || p2.More {
				t.Errorf("second cursor %s (More %v), want %s", p2.Cursor, p2.More, want)
			}
		})
	}
}

// TestOneTimelineFails: a timeline that fails while another succeeds does
// not sink the poll; it is read again from where it was.
func TestOneTimelineFails(t *testing.T) {
	in := serveSteps(t, "pages/01.http", "unavailable/01.http")
	src := in.source(t, "    hashtags: [shopapp, shoppay]\n")
	start := cursorOf(map[string]string{"shopapp": n5, "shoppay": n0})
	page, err := src.Poll(context.Background(), start)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Posts) != 2 {
		t.Errorf("%d posts, want the 2 of the timeline that answered", len(page.Posts))
	}
	if want := cursorOf(map[string]string{"shopapp": n7, "shoppay": n0}); page.Cursor != want {
		t.Errorf("cursor %s, want %s", page.Cursor, want)
	}
	// Both failing is an error.
	in2 := serveSteps(t, "unavailable/01.http")
	if _, err := in2.source(t, "    hashtags: [shopapp, shoppay]\n").Poll(context.Background(), start); err == nil || crawlertest.Transient(err) != "" {
		t.Errorf("every timeline failing: error %v, want a retryable one", err)
	}
}

func TestPromises(t *testing.T) {
	for _, options := range []string{
		"    hashtags: [shopapp]\n    limit: 4\n",
		"    hashtags: [shopapp, shoppay]\n    public: true\n",
	} {
		in := serveStore(t)
		crawlertest.CheckPoller(t, in.source(t, options))
	}
}

// TestForward walks a growing timeline with a small page: nothing missed,
// nothing repeated, ids compared as numbers (999 < 1000).
func TestForward(t *testing.T) {
	in := newInstance(t)
	for _, id := range []string{"997", "998"} {
		in.add(json.RawMessage(mkStatus(id, 1, "old "+id)))
	}
	src := in.source(t, "    hashtags: [shopapp]\n    limit: 2\n")
	ctx := context.Background()
	var got []string
	cursor := ""
	drain := func() {
		for range 10 {
			page, err := src.Poll(ctx, cursor)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, crawlertest.IDs(page.Posts)...)
			cursor = page.Cursor
			if !page.More {
				return
			}
		}
		t.Fatal("still More after 10 pages")
	}
	drain()
	for _, id := range []string{"999", "1000", "1001", "1002", "1003"} {
		in.add(json.RawMessage(mkStatus(id, 2, "new "+id)))
	}
	drain()
	in.add(json.RawMessage(mkStatus("1004", 3, "newest")))
	drain()
	want := "998 997 1000 999 1002 1001 1003 1004"
	if strings.Join(got, " ") != want {
		t.Errorf("ids %s, want %s", strings.Join(got, " "), want)
	}
}

// TestBadCursor: an unreadable cursor starts over instead of failing forever.
func TestBadCursor(t *testing.T) {
	in := serveStore(t)
	src := in.source(t, "    hashtags: [shopapp]\n")
	for _, c := range []string{"not json", `{"newest":{"shopapp":"12abc"}}`} {
		page, err := src.Poll(context.Background(), c)
		if err != nil || len(page.Posts) == 0 {
			t.Errorf("cursor %q: %d posts, err %v; want a fresh start", c, len(page.Posts), err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name, options, want string
	}{
		{"no instance", `{hashtags: [a]}`, "options.instance: required"},
		{"http", `{instance: "http://mastodon.example", hashtags: [a]}`, `options.instance: "http://mastodon.example" must be an https URL`},
		{"nothing to read", `{instance: "https://m.example"}`, "options.hashtags: required unless options.public is true"},
		{"bad hashtag", `{instance: "https://m.example", hashtags: [ok, "two words"]}`, `options.hashtags[1]: "two words" is not a hashtag`},
		{"digits", `{instance: "https://m.example", hashtags: ["#2026"]}`, `options.hashtags[0]: "2026" is not a hashtag`},
		{"repeat", `{instance: "https://m.example", hashtags: [ShopApp, "#shopapp"]}`, `options.hashtags[1]: "shopapp" repeats options.hashtags[0]`},
		{"limit", `{instance: "https://m.example", public: true, limit: 80}`, "options.limit: 80, want 1 to 40"},
		{"stream without token", `{instance: "https://m.example", hashtags: [a], stream: true}`, "options.token: required when options.stream is true"},
		{"stream of two", `{instance: "https://m.example", hashtags: [a], public: true, stream: true, token: x}`, "options.stream: one connection follows one timeline"},
		{"streaming url", `{instance: "https://m.example", hashtags: [a], streaming_url: "ftp://s"}`, `options.streaming_url: "ftp://s" must be an https URL`},
		{"typo", `{instance: "https://m.example", hashtag: [a]}`, "options.hashtag: unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := crawlertest.Spec(t, "name: m\ntype: mastodon\nservice: shop\noptions: "+tt.options+"\n")
			_, err := mastodon.Constructor(spec, crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestConstructor: a Poller by default, a Streamer (and not a Poller) with
// stream: true, so the registry runs it as a stream.
func TestConstructor(t *testing.T) {
	for _, tc := range []struct {
		options string
		stream  bool
	}{
		{`{instance: "https://m.example", hashtags: [a]}`, false},
		{`{instance: "https://m.example", hashtags: [a], stream: true, token: x}`, true},
	} {
		spec := crawlertest.Spec(t, "name: m\ntype: mastodon\nservice: shop\noptions: "+tc.options+"\n")
		insts, err := crawlers.NewRegistry().Add(mastodon.Type, mastodon.Constructor).Build([]crawlers.Spec{spec}, crawlers.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		if got := insts[0].Streamer != nil; got != tc.stream || (insts[0].Poller != nil) == tc.stream {
			t.Errorf("%s: streamer %v, poller %v", tc.options, insts[0].Streamer != nil, insts[0].Poller != nil)
		}
	}
}

// TestFederatedCopiesAreOnePost: a status watched through two instances
// has a different id on each but one uri (its ActivityPub id); both
// sources report it and the runner publishes it once.
func TestFederatedCopiesAreOnePost(t *testing.T) {
	a, b := serveCase(t, "federated/a"), serveCase(t, "federated/b")
	pa, err := a.source(t, "    hashtags: [shopapp]\n").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.source(t, "    hashtags: [shopapp]\n").Poll(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pa.Posts) != 1 || len(pb.Posts) != 1 {
		t.Fatalf("posts %d and %d, want 1 each", len(pa.Posts), len(pb.Posts))
	}
	if pa.Posts[0].ID == pb.Posts[0].ID {
		t.Fatalf("both ids %s: the fixture must show two instances' ids", pa.Posts[0].ID)
	}
	const uri = "https://mstdn.kr/users/jiwoo/statuses/113550299000000042"
	if pa.Posts[0].URI != uri || pb.Posts[0].URI != uri || pa.Posts[0].MsgID() != pb.Posts[0].MsgID() {
		t.Fatalf("uris %q, %q; msg ids %q, %q: want one uri and one msg id", pa.Posts[0].URI, pb.Posts[0].URI, pa.Posts[0].MsgID(), pb.Posts[0].MsgID())
	}

	bs := crawlertest.StartBus(t)
	specA := crawlertest.Spec(t, strings.Replace(a.specText("    hashtags: [shopapp]\n"), "name: fedi", "name: fedi-a", 1))
	specB := crawlertest.Spec(t, strings.Replace(b.specText("    hashtags: [shopapp]\n"), "name: fedi", "name: fedi-b", 1))
	var insts []*crawlers.Instance
	for _, sp := range []crawlers.Spec{specA, specB} {
		src, err := mastodon.New(sp, a.deps())
		if err != nil {
			t.Fatal(err)
		}
		insts = append(insts, &crawlers.Instance{Spec: sp, Poller: src})
	}
	// One runner, the two sources one after the other, each until its
	// first wait.
	var cancel context.CancelFunc
	r := crawlertest.NewRunner(t, bs, clock, func(int, time.Duration) { cancel() })
	for _, inst := range insts {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
		err := r.Run(ctx, inst)
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		if err != nil || timedOut {
			t.Fatalf("running %s: %v (timed out: %v)", inst.Spec.Name, err, timedOut)
		}
	}
	if got := crawlertest.Stored(t, bs.JS, "POSTS"); got != 1 {
		t.Errorf("%d posts stored, want 1", got)
	}
	if c := r.PostCounts(t); c[crawlers.ResultPublished] != 1 || c[crawlers.ResultDuplicate] != 1 {
		t.Errorf("post counts %v, want 1 published and 1 duplicate", c)
	}
}
