package mastodon_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
	"github.com/aftershock/aftershock/crawlers/mastodon"
	"github.com/aftershock/aftershock/internal/bus"
)

func (in *instance) stream(t *testing.T, options string) *mastodon.StreamSource {
	t.Helper()
	src, err := mastodon.NewStream(crawlertest.Spec(t, in.specText(options)), in.deps())
	if err != nil {
		t.Fatalf("building stream: %v", err)
	}
	return src
}

const streamOptions = "    hashtags: [shopapp]\n    stream: true\n    token: " + token + "\n"

// TestStreamEvents: after the REST backfill, updates become posts;
// heartbeats, deletes and edits are ignored; a malformed and an oversized
// update are skipped and counted; a dropped connection ends the stream with
// a retryable error.
func TestStreamEvents(t *testing.T) {
	in := serveStore(t)
	huge := "event: update\ndata: {\"id\":\"113550240000000030\",\"content\":\"" + strings.Repeat("x", mastodon.MaxEvent) + "\"}\n\n"
	in.scripts = [][]string{{
		":thump\n\n",
		update(mkStatus("113550240000000020", 59, "live one")),
		"event: delete\ndata: 113550240000000020\n\n",
		":thump\n\n",
		"event: update\ndata: {\"id\":\"113550240000000022\",\n\n",
		huge,
		"event: status.update\ndata: " + mkStatus("113550240000000020", 59, "live one, edited") + "\n\n",
		"event: update\r\ndata: " + mkStatus("113550240000000021", 59, "live two") + "\r\n\r\n",
		stepDrop,
	}}
	src := in.stream(t, streamOptions)
	var pages []crawlers.Page
	err := src.Stream(context.Background(), "", func(p crawlers.Page) error {
		pages = append(pages, p)
		return nil
	})
	if err == nil || crawlertest.Transient(err) != "" {
		t.Errorf("dropped stream: error %v, want a retryable one", err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages")
	}
	backfill := pages[0]
	if len(backfill.Posts) != 10 || backfill.Skipped.Total() != 2 {
		t.Errorf("backfill: %d posts, %d skipped; want the newest page (10 posts, 2 skipped)", len(backfill.Posts), backfill.Skipped.Total())
	}
	var live []string
	skipped := 0
	for _, p := range pages[1:] {
		live = append(live, crawlertest.IDs(p.Posts)...)
		skipped += p.Skipped.Total()
	}
	if got := strings.Join(live, " "); got != "113550240000000020 113550240000000021" {
		t.Errorf("streamed ids %s, want the two updates", got)
	}
	if skipped != 2 {
		t.Errorf("streamed skipped %d, want 2 (malformed, oversized)", skipped)
	}
	if got, want := pages[len(pages)-1].Cursor, `{"newest":{"shopapp":"113550240000000021"}}`; got != want {
		t.Errorf("last cursor %s, want %s", got, want)
	}
	if r := in.Requests(); len(r) != 1 || r[0].Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("%d REST requests, want one backfill with the token", len(r))
	}
}

// TestStreamHeartbeat: heartbeats keep a quiet stream open; silence ends it
// after idle_timeout.
func TestStreamHeartbeat(t *testing.T) {
	in := serveStore(t)
	in.scripts = [][]string{{stepWait, ":thump\n\n", stepWait, ":thump\n\n", stepWait, ":thump\n\n", stepWait, ":thump\n\n", stepWait, ":thump\n\n"}}
	src := in.stream(t, streamOptions+"    idle_timeout: 250ms\n")
	start := time.Now()
	err := src.Stream(context.Background(), "", func(crawlers.Page) error { return nil })
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "nothing received for 250ms") {
		t.Errorf("error %v, want an idle timeout", err)
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("stream ended after %s; want it kept open by 500ms of heartbeats, then closed 250ms later", took)
	}
}

func TestStreamUnauthorized(t *testing.T) {
	in := serveStore(t)
	src := in.stream(t, "    hashtags: [shopapp]\n    stream: true\n    token: wrong-token-x\n")
	err := src.Stream(context.Background(), "", func(crawlers.Page) error { return nil })
	if msg := crawlertest.Permanent(err); msg != "" {
		t.Fatalf("%v: %s", err, msg)
	}
	if !strings.Contains(err.Error(), "Missing access token") || strings.Contains(err.Error(), "wrong-token-x") {
		t.Errorf("error %q: want the server's message and no token", err)
	}
	if n := len(in.Requests()); n != 0 {
		t.Errorf("%d REST requests before the stream was open", n)
	}
}

func TestStreamCancel(t *testing.T) {
	in := serveStore(t)
	src := in.stream(t, streamOptions)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	err := src.Stream(ctx, "", func(crawlers.Page) error { return nil })
	if err != context.Canceled {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestStreamThroughRunner runs the stream in the real runner against the
// embedded bus. The connection drops; a status is posted while it is away;
// on reconnect the source backfills it over REST (min_id = the cursor) and
// does not publish it again when the stream announces it too.
func TestStreamThroughRunner(t *testing.T) {
	b := crawlertest.StartBus(t)
	kv := crawlertest.Cursors(t, b)
	in := newInstance(t)
	in.add(json.RawMessage(mkStatus("1000", 10, "before we started")))
	in.add(json.RawMessage(mkStatus("1001", 20, "announced live")))
	in.scripts = [][]string{
		{":thump\n\n", update(mkStatus("1001", 20, "announced live")), "event: delete\ndata: 999\n\n", "event: update\ndata: []\n\n", stepDrop},
		{":thump\n\n", update(mkStatus("1002", 30, "posted while away")), update(mkStatus("1003", 40, "announced after reconnect"))},
	}
	spec := crawlertest.Spec(t, in.specText(streamOptions))
	reg := crawlers.NewRegistry().Add(mastodon.Type, mastodon.Constructor)
	inst := crawlertest.Build(t, reg, spec, in.deps())
	r := crawlertest.NewRunner(t, b, clock, func(int, time.Duration) {
		in.add(json.RawMessage(mkStatus("1002", 30, "posted while away")))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, inst) }()

	posts := crawlertest.CollectPosts(t, b.JS, 4, 10*time.Second)
	// The first backfill reads the newest page, newest first.
	if got, want := strings.Join(crawlertest.IDs(posts), " "), "1001 1000 1002 1003"; got != want {
		t.Errorf("published %s, want %s", got, want)
	}
	// The stored cursor follows the stream.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, err := kv.Get(context.Background(), "fedi")
		if err == nil && string(e.Value()) == `{"newest":{"shopapp":"1003"}}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored cursor %v (err %v), want newest 1003", e, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := crawlertest.Stored(t, b.JS, bus.StreamPosts); n != 4 {
		t.Errorf("stream holds %d posts, want 4", n)
	}
	if waits := r.Waits(); len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("runner waits %v, want one 1s backoff after the drop", waits)
	}
	var uris []string
	for _, r := range in.Requests() {
		uris = append(uris, r.URL.RequestURI())
	}
	want := "/api/v1/timelines/tag/shopapp?limit=40 /api/v1/timelines/tag/shopapp?limit=40&min_id=1001"
	if got := strings.Join(uris, " "); got != want {
		t.Errorf("REST requests %s, want %s", got, want)
	}
	// 1001 and 1002 each came from a backfill and then from the stream;
	// the source published neither twice (JetStream saw no duplicate).
	counts := r.PostCounts(t)
	if counts["published"] != 4 || counts["duplicate"] != 0 || counts["skipped"] != 1 {
		t.Errorf("post counts %v, want 4 published, 0 duplicate, 1 skipped (the malformed update)", counts)
	}
}
