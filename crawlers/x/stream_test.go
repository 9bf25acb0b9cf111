package x_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/x"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Ids of the stream fixtures.
const (
	idStreamB = "2125165778826166275" // v2/stream: the last post before the drop
	idStreamN = "2125166282142646277" // v2/stream/live: the last post, without created_at
	idStreamE = "2125167037117366280" // v2/stream/conn2: the newest post
)

// collect runs a stream and returns its pages and error.
func collect(ctx context.Context, src *x.StreamSource, cursor string) ([]crawlers.Page, error) {
	var pages []crawlers.Page
	err := src.Stream(ctx, cursor, func(p crawlers.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

func pageStats(pages []crawlers.Page) (posts []signals.Post, skipped int, cursor string) {
	for _, p := range pages {
		posts = append(posts, p.Posts...)
		skipped += p.Skipped.Total()
		if p.Cursor != "" {
			cursor = p.Cursor
		}
	}
	return posts, skipped, cursor
}

// TestStreamRulesSync: on start the source deletes its rules that are no
// longer configured, adds the missing ones and leaves other apps' rules
// (and another Aftershock source's) alone; once in sync it only lists.
func TestStreamRulesSync(t *testing.T) {
	ss := newStreamServer(t, "v2/stream/quiet.stream")
	src := newStreamSource(t, ss, x.APIv2, streamOptions)
	for run := range 2 {
		before := len(ss.Requests())
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := collect(ctx, src, "")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("run %d: error %v, want the context's", run, err)
		}
		reqs := ss.Requests()[before:]
		var got []string
		for _, r := range reqs {
			got = append(got, r.String())
		}
		want := []string{"GET /2/tweets/search/stream/rules", "GET /2/tweets/search/stream"}
		if run == 0 {
			want = []string{"GET /2/tweets/search/stream/rules", "POST /2/tweets/search/stream/rules", "POST /2/tweets/search/stream/rules", "GET /2/tweets/search/stream"}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: requests %q, want %q", run, got, want)
		}
		if run == 0 {
			for i, w := range map[int]string{
				1: `{"delete":{"ids":["1861100000000000003"]}}`,
				2: `{"add":[{"value":"@AcmeShop lang:ko","tag":"aftershock:x-acme:ko"}]}`,
			} {
				if b := reqs[i].Body; b != w {
					t.Errorf("request %d body %s, want %s", i, b, w)
				}
				if ct := reqs[i].Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("request %d Content-Type %q", i, ct)
				}
			}
		}
		q := reqs[len(reqs)-1].Query
		for k, v := range map[string]string{
			"tweet.fields": "created_at,author_id,lang,public_metrics,note_tweet",
			"expansions":   "author_id",
			"user.fields":  "username",
		} {
			if q.Get(k) != v {
				t.Errorf("run %d: stream %s=%q, want %q", run, k, q.Get(k), v)
			}
		}
	}
	var ids []string
	for _, r := range ss.ruleList() {
		ids = append(ids, r.ID+" "+r.Tag+" "+r.Value)
	}
	want := []string{
		"1861100000000000001 other-app:brand from:OtherBrand",
		"1861100000000000002  cats has:images",
		`1861100000000000004 aftershock:x-acme:brand "acme shop" -is:retweet`,
		"1861100000000000005 aftershock:x-acme-staging:brand acme",
		"1861100000000000006 aftershock:x-acme:ko @AcmeShop lang:ko",
	}
	if !slices.Equal(ids, want) {
		t.Errorf("rules on X:\n%s\nwant\n%s", strings.Join(ids, "\n"), strings.Join(want, "\n"))
	}
}

// TestStreamV2Messages: keep-alives are skipped, posts matching this
// source's rules become posts (also one matching a foreign rule too),
// posts matching only another app's rule are ignored, a malformed line is
// skipped and counted, a post without created_at takes the time of its
// snowflake id, and a dropped connection ends the stream with a retryable
// error.
func TestStreamV2Messages(t *testing.T) {
	ss := newStreamServer(t, "v2/stream/live.stream")
	pages, err := collect(context.Background(), newStreamSource(t, ss, x.APIv2, streamOptions), "")
	if err == nil || crawlertest.Transient(err) != "" {
		t.Errorf("dropped stream: error %v, want a retryable one", err)
	}
	posts, skipped, cursor := pageStats(pages)
	crawlertest.ComparePosts(t, posts, crawlertest.ReadWant(t, "v2/stream/live.want.jsonl"), now)
	if skipped != 1 {
		t.Errorf("skipped %d, want 1 (a cut line)", skipped)
	}
	if want := `{"since_id":"` + idStreamN + `"}`; cursor != want {
		t.Errorf("cursor %s, want %s", cursor, want)
	}
	for _, r := range ss.Requests() {
		if r.Path == "/2/tweets/search/recent" {
			t.Error("backfilled on a first start without a cursor")
		}
	}
}

// TestStreamThroughRunner: the v2 stream in the real runner on the
// embedded bus. The first connection delivers two posts and drops; the
// runner reconnects after its backoff; the source backfills the gap
// through recent search with since_id = the cursor, then follows the
// stream, which delivers one backfilled post again and a new one. Every
// post is published once and the stored cursor is the newest id.
func TestStreamThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	ss := newStreamServer(t, "v2/stream/conn1.stream", "v2/stream/conn2.stream")
	var searchMu sync.Mutex
	var searches []string
	ss.search = func(q url.Values) string {
		searchMu.Lock()
		defer searchMu.Unlock()
		searches = append(searches, strings.Join(q["since_id"], ","))
		return "v2/stream/backfill.http"
	}
	spec := streamSpec(t, ss, x.APIv2, streamOptions)
	inst := crawlertest.Build(t, crawlers.NewRegistry().Add(x.Type, x.Constructor), spec, crawlers.Deps{Now: clock})
	if inst.Streamer == nil {
		t.Fatalf("stream: true built a %T poller, want a Streamer", inst.Poller)
	}
	r := crawlertest.NewRunner(t, b, clock, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, inst) }()

	posts := crawlertest.CollectPosts(t, b.JS, 5, 10*time.Second)
	// Wait for the cursor of the last post, then stop.
	deadline := time.Now().Add(5 * time.Second)
	var cursor string
	for time.Now().Before(deadline) {
		if e, err := kv.Get(context.Background(), spec.Name); err == nil {
			if cursor = string(e.Value()); cursor == `{"since_id":"`+idStreamE+`"}` {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	crawlertest.ComparePosts(t, posts, crawlertest.ReadWant(t, "v2/stream/reconnect.want.jsonl"), now)
	if want := `{"since_id":"` + idStreamE + `"}`; cursor != want {
		t.Errorf("stored cursor %s, want %s", cursor, want)
	}
	searchMu.Lock()
	defer searchMu.Unlock()
	if !slices.Equal(searches, []string{idStreamB}) {
		t.Errorf("recent searches with since_id %q, want one with %s (the newest post before the drop)", searches, idStreamB)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 5 {
		t.Errorf("stream holds %d posts, want 5: nothing missed, nothing repeated", n)
	}
	if dups := r.PostCounts(t)[crawlers.ResultDuplicate]; dups != 0 {
		t.Errorf("%v duplicates offered; want the backfilled post dropped before publishing", dups)
	}
	if waits := r.Waits(); len(waits) != 1 || waits[0] != crawlers.BackoffBase {
		t.Errorf("waits %v, want one backoff of %s before the reconnect", waits, crawlers.BackoffBase)
	}
}

// TestStreamIdle: keep-alives keep a quiet stream open; silence ends it
// after idle_timeout with a retryable error.
func TestStreamIdle(t *testing.T) {
	ss := newStreamServer(t, "v2/stream/idle.stream")
	src := newStreamSource(t, ss, x.APIv2, streamOptions+"    idle_timeout: 250ms\n")
	start := time.Now()
	_, err := collect(context.Background(), src, "")
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "nothing received for 250ms") || crawlertest.Transient(err) != "" {
		t.Errorf("error %v, want a retryable idle timeout", err)
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("stream ended after %s; want it kept open by 500ms of keep-alives, then closed 250ms later", took)
	}
}

func TestStreamOperationalDisconnect(t *testing.T) {
	ss := newStreamServer(t, "v2/stream/disconnect.stream")
	start := time.Now()
	pages, err := collect(context.Background(), newStreamSource(t, ss, x.APIv2, streamOptions), "")
	if err == nil || !strings.Contains(err.Error(), "operational-disconnect: This stream has been disconnected upstream") || crawlertest.Transient(err) != "" {
		t.Errorf("error %v, want a retryable operational disconnect", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s: the disconnect message must end the stream at once", took)
	}
	if posts, _, _ := pageStats(pages); len(posts) != 1 {
		t.Errorf("%d posts before the disconnect, want 1", len(posts))
	}
}

// TestStreamV2Refused: errors connecting or syncing rules.
func TestStreamV2Refused(t *testing.T) {
	tests := []struct {
		name, conn, rules string
		check             func(error) string
		contains          string
	}{
		// A second connection: x-rate-limit-reset is 120 s after the clock.
		{"second connection", "v2/stream/too-many-connections.http", "", crawlertest.RateLimited(120 * time.Second), "maximum allowed connection limit"},
		{"unauthorized", "v2/unauthorized/01.http", "", crawlertest.Permanent, "401 Unauthorized"},
		{"forbidden", "v2/forbidden/01.http", "", crawlertest.Permanent, "Client Forbidden"},
		{"unavailable", "v2/unavailable/01.http", "", crawlertest.Transient, "503 Service Unavailable"},
		{"rules rate limited", "", "v2/rate-limit-problem/01.http", crawlertest.RateLimited(840 * time.Second), "listing X stream rules: 429"},
		{"rules unauthorized", "", "v2/unauthorized/01.http", crawlertest.Permanent, "listing X stream rules: 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ss *streamServer
			if tt.conn != "" {
				ss = newStreamServer(t, tt.conn)
			} else {
				ss = newStreamServer(t)
			}
			ss.rulesStep = tt.rules
			_, err := collect(context.Background(), newStreamSource(t, ss, x.APIv2, streamOptions), "")
			if err == nil {
				t.Fatal("no error")
			}
			if msg := tt.check(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not say %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestStreamCancel(t *testing.T) {
	for _, tc := range []struct{ api, conn, options string }{
		{x.APIv2, "v2/stream/quiet.stream", streamOptions},
		{x.APIv11, "v1.1/stream/quiet.stream", v11Options},
	} {
		t.Run(tc.api, func(t *testing.T) {
			ss := newStreamServer(t, tc.conn)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			_, err := collect(ctx, newStreamSource(t, ss, tc.api, tc.options), "")
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("stream took %s to end after cancel", took)
			}
		})
	}
}

const v11Options = "    stream: true\n    track: [acme shop, \"@AcmeShop\"]\n"

// TestStreamV11Messages: go-twitter reads "\r\n"-delimited messages; posts
// (a truncated one with extended_tweet, a retweet) become posts; keep-
// alives, a delete notice, a limit notice and a stall warning are not;
// a malformed message and a post without id are skipped and counted.
// When X ends the response, go-twitter's own reconnect is refused and the
// stream ends with a retryable error for the runner to reconnect.
func TestStreamV11Messages(t *testing.T) {
	ss := newStreamServer(t, "v1.1/stream/filter.stream")
	// The timeout catches a stream that never ends (go-twitter reconnecting
	// on its own and replaying the script).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pages, err := collect(ctx, newStreamSource(t, ss, x.APIv11, v11Options), "")
	if err == nil || !strings.Contains(err.Error(), "closed by X") || crawlertest.Transient(err) != "" {
		t.Errorf("error %v, want a retryable end of stream", err)
	}
	posts, skipped, cursor := pageStats(pages)
	crawlertest.ComparePosts(t, posts, crawlertest.ReadWant(t, "v1.1/stream/want.jsonl"), now)
	if skipped != 2 {
		t.Errorf("skipped %d, want 2 (not JSON, no id)", skipped)
	}
	if want := `{"since_id":"2125166030484406276"}`; cursor != want {
		t.Errorf("cursor %s, want %s", cursor, want)
	}
	reqs := ss.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests %v, want one connection", len(reqs), reqs)
	}
	q := reqs[0].Query
	if q.Get("track") != "acme shop,@AcmeShop" || q.Get("stall_warnings") != "true" {
		t.Errorf("stream query %v, want track and stall_warnings", q)
	}
}

// TestStreamV11Refused: on 401/403 go-twitter closes its channel without
// an error; the source reports a PermanentError naming the way out. 503
// and 420, on which go-twitter would sleep seconds to minutes on its own,
// come back at once for the runner's backoff.
func TestStreamV11Refused(t *testing.T) {
	tests := []struct {
		file     string
		check    func(error) string
		contains []string
	}{
		{"forbidden.http", crawlertest.Permanent, []string{"403 Forbidden: code 453 You currently have access", "switch to api: v2"}},
		{"unauthorized.http", crawlertest.Permanent, []string{"401 Unauthorized", "switch to api: v2"}},
		{"unavailable.http", crawlertest.Transient, []string{"503 Service Unavailable"}},
		{"enhance-your-calm.http", crawlertest.RateLimited(time.Minute), []string{"420 Enhance Your Calm"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ss := newStreamServer(t, "v1.1/stream/"+tt.file)
			start := time.Now()
			_, err := collect(context.Background(), newStreamSource(t, ss, x.APIv11, v11Options), "")
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %s", took)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if msg := tt.check(err); msg != "" {
				t.Errorf("%v: %s", err, msg)
			}
			for _, c := range tt.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not say %q", err, c)
				}
			}
			if n := len(ss.Requests()); n != 1 {
				t.Errorf("%d connections, want 1 (no retry behind the runner's back)", n)
			}
		})
	}
}

func TestStreamV11Idle(t *testing.T) {
	ss := newStreamServer(t, "v1.1/stream/quiet.stream")
	start := time.Now()
	_, err := collect(context.Background(), newStreamSource(t, ss, x.APIv11, v11Options+"    idle_timeout: 300ms\n"), "")
	if err == nil || !strings.Contains(err.Error(), "nothing received for 300ms") || crawlertest.Transient(err) != "" {
		t.Errorf("error %v, want a retryable idle timeout", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s", took)
	}
}

func TestStreamOptions(t *testing.T) {
	long := strings.Repeat("a", x.MaxRuleLength+1)
	tests := []struct{ name, options, want string }{
		{"no rules", `{stream: true, bearer_token: t}`, "options.rules: required with stream: true"},
		{"empty rule", `{stream: true, bearer_token: t, rules: [{value: " ", tag: a}]}`, "options.rules[0].value: required"},
		{"long rule", `{stream: true, bearer_token: t, rules: [{value: ` + long + `}]}`, "options.rules[0].value: 1025 characters, X takes at most 1024"},
		{"duplicate rule", `{stream: true, bearer_token: t, rules: [{value: acme}, {value: acme, tag: b}]}`, "options.rules[1].value: repeats an earlier rule"},
		{"track on v2", `{stream: true, bearer_token: t, rules: [{value: acme}], track: [acme]}`, "options.track: only for api v1.1"},
		{"rules without stream", `{bearer_token: t, query: acme, rules: [{value: acme}]}`, "options.rules: only with options.stream: true"},
		{"idle without stream", `{bearer_token: t, query: acme, idle_timeout: 1m}`, "options.idle_timeout: only with options.stream: true"},
		{"negative idle", `{stream: true, bearer_token: t, rules: [{value: acme}], idle_timeout: -1s}`, "options.idle_timeout: -1s is negative"},
		{"no track", `{api: v1.1, stream: true, bearer_token: t}`, "options.track: required with api v1.1"},
		{"comma track", `{api: v1.1, stream: true, bearer_token: t, track: ["a,b"]}`, "options.track[0]: contains a comma"},
		{"query on v1.1 stream", `{api: v1.1, stream: true, bearer_token: t, track: [a], query: acme}`, "options.query: not used by a v1.1 stream"},
		{"rules on v1.1", `{api: v1.1, stream: true, bearer_token: t, track: [a], rules: [{value: a}]}`, "options.rules: only for api v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := x.Constructor(crawlertest.Spec(t, "name: x-acme\ntype: x\nservice: shop\noptions: "+tt.options+"\n"), crawlers.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}

	// Defaults: the backfill query is the rules joined with OR; v1.1
	// streams go to the stream host.
	o := x.Options{Stream: true, BearerToken: "t", Rules: []x.Rule{{Value: `"acme shop"`}, {Value: "@AcmeShop lang:ko", Tag: "ko"}}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.Query != `("acme shop") OR (@AcmeShop lang:ko)` || o.IdleTimeout != x.DefaultIdleTimeout {
		t.Errorf("v2 stream defaults: query %q, idle %s", o.Query, o.IdleTimeout)
	}
	o = x.Options{API: x.APIv11, Stream: true, BearerToken: "t", Track: []string{" acme "}}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.BaseURL != x.DefaultV11StreamURL || o.IdleTimeout != x.DefaultV11IdleTimeout || o.Track[0] != "acme" {
		t.Errorf("v1.1 stream defaults: %+v", o)
	}
	if _, err := x.NewStream(crawlertest.Spec(t, "name: x-acme\ntype: x\nservice: shop\noptions: {bearer_token: t, query: acme}\n"), crawlers.Deps{}); err == nil {
		t.Error("NewStream accepted options without stream: true")
	}
}
