package bluesky_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/bluesky"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Special steps of a Jetstream script.
const (
	stepDrop  = "!drop"  // cut the connection without a close frame
	stepClose = "!close" // close normally (1000)
	stepWait  = "!wait"  // pause 50ms
)

// t0 is the time_us of the tests' first event: the test clock.
var t0 = now.UnixMicro()

// jet is a fake Jetstream over TLS (wss): each connection to /subscribe
// plays the next script, then stays open until the client leaves. It
// records each connection's query.
type jet struct {
	*httptest.Server
	t *testing.T

	mu      sync.Mutex
	scripts [][]string
	queries []url.Values
	refuse  int // answer the handshake with this status instead
}

func newJet(t *testing.T, scripts ...[]string) *jet {
	t.Helper()
	j := &jet{t: t, scripts: scripts}
	j.Server = httptest.NewTLSServer(http.HandlerFunc(j.serve))
	t.Cleanup(j.Close)
	return j
}

func (j *jet) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/subscribe" {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	j.mu.Lock()
	n := len(j.queries)
	j.queries = append(j.queries, r.URL.Query())
	refuse := j.refuse
	var script []string
	if n < len(j.scripts) {
		script = j.scripts[n]
	}
	j.mu.Unlock()
	if refuse != 0 {
		w.Header().Set("Retry-After", "30")
		http.Error(w, http.StatusText(refuse), refuse)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		j.t.Errorf("accepting: %v", err)
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	for _, step := range script {
		switch step {
		case stepDrop:
			return
		case stepClose:
			c.Close(websocket.StatusNormalClosure, "")
			return
		case stepWait:
			time.Sleep(50 * time.Millisecond)
		default:
			if err := c.Write(ctx, websocket.MessageText, []byte(step)); err != nil {
				return
			}
		}
	}
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

func (j *jet) connQueries() []url.Values {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.queries)
}

// specText is a streaming source spec for the fake.
func (j *jet) specText(options string) string {
	return fmt.Sprintf(`
name: sky-live
type: bluesky
service: shop
timeout: 2s
options:
    stream: true
    jetstream_url: wss%s/subscribe
    terms: [shopapp, "#ShopPay", 쇼핑앱]
%s`, strings.TrimPrefix(j.URL, "https"), options)
}

func (j *jet) stream(t *testing.T, options string) *bluesky.StreamSource {
	t.Helper()
	src, err := bluesky.NewStream(crawlertest.Spec(t, j.specText(options)), crawlertest.TLSDeps(j.Server, clock))
	if err != nil {
		t.Fatalf("building stream: %v", err)
	}
	return src
}

// create is a Jetstream commit creating a post at t0+dt µs.
func create(did, rkey string, dt int64, text string, langs ...string) string {
	ls := `"` + strings.Join(langs, `","`) + `"`
	if len(langs) == 0 {
		ls = ""
	}
	return fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"3lbrev%s","operation":"create","collection":"app.bsky.feed.post","rkey":%q,"record":{"$type":"app.bsky.feed.post","createdAt":"2026-11-24T09:59:59.500Z","langs":[%s],"text":%q},"cid":"bafyreiq%s"}}`,
		did, t0+dt, rkey, rkey, ls, text, rkey)
}

// collectStream runs src from cursor until it ends and returns its pages.
func collectStream(t *testing.T, src *bluesky.StreamSource, cursor string) ([]crawlers.Page, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var pages []crawlers.Page
	err := src.Stream(ctx, cursor, func(p crawlers.Page) error {
		pages = append(pages, p)
		return nil
	})
	if ctx.Err() != nil {
		t.Fatal("stream did not end within 10s")
	}
	return pages, err
}

// TestStreamEvents: matching creates become posts; identity and account
// events, deletes, updates, other collections and posts that do not match
// only move the cursor; malformed messages are skipped and counted; a
// dropped connection ends the stream with a retryable error.
func TestStreamEvents(t *testing.T) {
	j := newJet(t, []string{
		fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"identity","identity":{"did":%q,"handle":"kim.bsky.social","seq":1409,"time":"2026-11-24T09:59:59.000Z"}}`, didKim, t0+1, didKim),
		create(didKim, "3lbccccccc001", 2, "ShopApp crashed on launch", "en"),
		create(didLee, "3lbccccccc002", 3, "I love shopping apps", "en"),
		create(didLee, "3lbccccccc003", 4, "my shopapps list", "en"),
		fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"3lbrevd","operation":"delete","collection":"app.bsky.feed.post","rkey":"3lbccccccc001"}}`, didKim, t0+5),
		strings.Replace(create(didKim, "3lbccccccc001", 6, "ShopApp crashed on launch (edit)"), `"create"`, `"update"`, 1),
		strings.Replace(create(didKim, "3lbccccccc004", 7, "shopapp"), "app.bsky.feed.post", "app.bsky.feed.like", 2),
		`{"did":"did:plc:x","time_us":`,
		fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"3lbccccccc005","record":{"text":42},"cid":"c"}}`, didLee, t0+8),
		create(didLee, "3lbccccccc006", 9, "쇼핑앱이 또 안 열려요", "ko"),
		fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"account","account":{"active":true,"did":%q,"seq":1410,"time":"2026-11-24T10:00:00.000Z"}}`, didLee, t0+10, didLee),
		stepDrop,
	})
	pages, err := collectStream(t, j.stream(t, ""), "")
	var pe *crawlers.PermanentError
	if err == nil || errors.As(err, &pe) {
		t.Errorf("dropped stream: error %v, want a retryable one", err)
	}
	var posts []signals.Post
	skipped := 0
	for _, p := range pages {
		posts = append(posts, p.Posts...)
		skipped += p.Skipped.Total()
	}
	crawlertest.RequirePosts(t, posts, 2)
	crawlertest.ComparePosts(t, posts, []signals.Post{
		// Time is the server's time_us; createdAt is the author's time.
		{Type: "post", Time: time.UnixMicro(t0 + 2).UTC(), TimeFrom: signals.TimeFromServer, AuthorTime: time.Date(2026, 11, 24, 9, 59, 59, 500e6, time.UTC),
			Source: "sky-live", ID: didKim + "/3lbccccccc001", Service: "shop",
			Text: "ShopApp crashed on launch", Lang: "en", URL: "https://bsky.app/profile/" + didKim + "/post/3lbccccccc001", Author: didKim},
		{Type: "post", Time: time.UnixMicro(t0 + 9).UTC(), TimeFrom: signals.TimeFromServer, AuthorTime: time.Date(2026, 11, 24, 9, 59, 59, 500e6, time.UTC),
			Source: "sky-live", ID: didLee + "/3lbccccccc006", Service: "shop",
			Text: "쇼핑앱이 또 안 열려요", Lang: "ko", URL: "https://bsky.app/profile/" + didLee + "/post/3lbccccccc006", Author: didLee},
	}, now)
	if skipped != 2 {
		t.Errorf("skipped %d, want 2 (not JSON, text not a string)", skipped)
	}
	if len(pages) == 0 || pages[len(pages)-1].Cursor != strconv.FormatInt(t0+10, 10) {
		t.Errorf("last page %+v, want the cursor at the last event (%d)", pages[len(pages)-1], t0+10)
	}
	q := j.connQueries()[0]
	if q.Get("wantedCollections") != "app.bsky.feed.post" || q.Has("cursor") || q.Has("compress") || q.Get("maxMessageSizeBytes") != "1048576" {
		t.Errorf("subscribed with %s, want posts only, live, uncompressed, a size cap", q.Encode())
	}
}

// TestStreamResume: a reconnect asks for the stored cursor less Rewind.
func TestStreamResume(t *testing.T) {
	j := newJet(t, []string{stepClose})
	_, err := collectStream(t, j.stream(t, ""), strconv.FormatInt(t0+10_000_000, 10))
	if err == nil || !strings.Contains(err.Error(), "closed by the server (1000)") {
		t.Errorf("error %v, want a normal close", err)
	}
	if got, want := j.connQueries()[0].Get("cursor"), strconv.FormatInt(t0+5_000_000, 10); got != want {
		t.Errorf("cursor %s, want %s (5s before the stored one)", got, want)
	}
}

// TestStreamBatching: posts arriving together share a page; the cursor
// moves with events that match nothing; a matching post is not held back
// by a quiet stream; silence ends the stream after idle_timeout.
func TestStreamBatching(t *testing.T) {
	script := []string{
		create(didKim, "3lbddddddd001", 1, "shopapp one"),
		create(didKim, "3lbddddddd002", 2, "#shoppay two"),
		create(didKim, "3lbddddddd003", 3, "ShopApp three"),
	}
	for i := range 50 {
		script = append(script, create(didLee, fmt.Sprintf("3lbeeeeeee%03d", i), int64(10+i), "nothing to see"))
	}
	j := newJet(t, script)
	start := time.Now()
	var pages []crawlers.Page
	var times []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := j.stream(t, "    idle_timeout: 1500ms\n").Stream(ctx, "", func(p crawlers.Page) error {
		pages = append(pages, p)
		times = append(times, time.Since(start))
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "nothing received for 1.5s") {
		t.Errorf("error %v, want the idle timeout", err)
	}
	var withPosts int
	var ids []string
	for i, p := range pages {
		if len(p.Posts) > 0 {
			withPosts++
			if times[i] > time.Second {
				t.Errorf("posts emitted %s after the start, want within FlushDelay", times[i])
			}
		}
		ids = append(ids, crawlertest.IDs(p.Posts)...)
	}
	if len(ids) != 3 || withPosts > 2 {
		t.Errorf("%d posts in %d pages, want 3 sharing a page", len(ids), withPosts)
	}
	if last := pages[len(pages)-1]; last.Cursor != strconv.FormatInt(t0+59, 10) {
		t.Errorf("last cursor %q, want the last event's %d", last.Cursor, t0+59)
	}
}

func TestStreamLang(t *testing.T) {
	j := newJet(t, []string{
		create(didKim, "3lbfffffff001", 1, "shopapp en", "en-US"),
		create(didKim, "3lbfffffff002", 2, "shopapp ko", "ko"),
		create(didKim, "3lbfffffff003", 3, "shopapp none"),
		stepClose,
	})
	pages, _ := collectStream(t, j.stream(t, "    lang: en\n"), "")
	var ids []string
	for _, p := range pages {
		ids = append(ids, crawlertest.IDs(p.Posts)...)
	}
	if len(ids) != 1 || ids[0] != didKim+"/3lbfffffff001" {
		t.Errorf("ids %v, want only the en-US post", ids)
	}
}

func TestStreamRefused(t *testing.T) {
	for _, tc := range []struct {
		status int
		check  func(error) string
	}{
		{http.StatusNotFound, crawlertest.Permanent},
		{http.StatusTooManyRequests, func(err error) string {
			var rl *crawlers.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
				return "want a RateLimitError waiting 30s"
			}
			return ""
		}},
		{http.StatusBadGateway, func(err error) string {
			var pe *crawlers.PermanentError
			var rl *crawlers.RateLimitError
			if errors.As(err, &pe) || errors.As(err, &rl) {
				return "want a plain, retryable error"
			}
			return ""
		}},
	} {
		j := newJet(t)
		j.refuse = tc.status
		_, err := collectStream(t, j.stream(t, ""), "")
		if err == nil {
			t.Errorf("%d: no error", tc.status)
			continue
		}
		if msg := tc.check(err); msg != "" {
			t.Errorf("%d: %v: %s", tc.status, err, msg)
		}
	}
}

func TestStreamCancel(t *testing.T) {
	j := newJet(t, []string{create(didKim, "3lbggggggg001", 1, "shopapp")})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	err := j.stream(t, "").Stream(ctx, "", func(crawlers.Page) error { return nil })
	if err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestStreamThroughRunner runs the stream in the real runner against the
// embedded bus. The connection drops; the reconnect resumes 5 s before the
// stored cursor and Jetstream sends a post again; JetStream drops the
// repeat by its Nats-Msg-Id and the stored cursor follows the stream.
func TestStreamThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	postB := create(didLee, "3lbhhhhhhh002", 2, "shopapp B")
	j := newJet(t,
		[]string{create(didKim, "3lbhhhhhhh001", 1, "shopapp A"), postB, create(didKim, "3lbhhhhhhh009", 3, "unrelated"), stepDrop},
		[]string{postB, create(didKim, "3lbhhhhhhh003", 4, "shopapp C")},
	)
	spec := crawlertest.Spec(t, j.specText(""))
	reg := crawlers.NewRegistry().Add(bluesky.Type, bluesky.Constructor)
	inst := crawlertest.Build(t, reg, spec, crawlertest.TLSDeps(j.Server, clock))
	if inst.Streamer == nil {
		t.Fatal("stream: true did not build a Streamer")
	}
	r := crawlertest.NewRunner(t, b, clock, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, inst) }()

	posts := crawlertest.CollectPosts(t, b.JS, 3, 10*time.Second)
	if got, want := strings.Join(crawlertest.IDs(posts), " "), didKim+"/3lbhhhhhhh001 "+didLee+"/3lbhhhhhhh002 "+didKim+"/3lbhhhhhhh003"; got != want {
		t.Errorf("published %s, want %s", got, want)
	}
	want := strconv.FormatInt(t0+4, 10)
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, err := kv.Get(context.Background(), "sky-live")
		if err == nil && string(e.Value()) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored cursor %v (err %v), want %s", e, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 3 {
		t.Errorf("stream holds %d posts, want 3", n)
	}
	qs := j.connQueries()
	if len(qs) != 2 || qs[1].Get("cursor") != strconv.FormatInt(t0+3-5_000_000, 10) {
		t.Errorf("connections %v, want a second one resuming 5s before %d", qs, t0+3)
	}
	if waits := r.Waits(); len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("runner waits %v, want one 1s backoff after the drop", waits)
	}
	counts := r.PostCounts(t)
	if counts["published"] != 3 || counts["duplicate"] != 1 {
		t.Errorf("post counts %v, want 3 published and 1 duplicate (the rewind)", counts)
	}
}
