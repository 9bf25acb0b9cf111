package bluesky

import (
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// FuzzMessage feeds one Jetstream message to the stream's handler, and the
// same bytes to the searchPosts post-view decoder: no panic, every post
// either accepts is publishable, a post's time is its event's time_us, and
// the cursor never goes back. Seeds: testdata/fuzz/FuzzMessage.
func FuzzMessage(f *testing.F) {
	f.Add([]byte(`{"did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","time_us":1795514400000002,"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"3lbccccccc001","record":{"$type":"app.bsky.feed.post","createdAt":"2026-11-24T09:59:59.500Z","langs":["en-US"],"text":"ShopApp crashed"},"cid":"c"}}`))
	f.Add([]byte(`{"uri":"at://did:plc:abc/app.bsky.feed.post/3lbqzm2jjj22k","cid":"c","author":{"did":"did:plc:abc","handle":"a.bsky.social"},"record":{"$type":"app.bsky.feed.post","text":"shopapp","createdAt":"2026-11-24T00:55:00Z","langs":["en"]},"indexedAt":"2026-11-24T00:55:01Z","likeCount":3}`))
	spec := crawlertest.Spec(f, "name: sky\ntype: bluesky\nservice: shop\noptions:\n    stream: true\n    terms: [shopapp, 쇼핑앱]\n")
	src, err := NewStream(spec, crawlers.Deps{Now: func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := batch{timeUS: 1}
		src.handle(data, &b)
		if b.timeUS < 1 {
			t.Fatalf("cursor went back to %d", b.timeUS)
		}
		for _, p := range b.posts {
			crawlertest.CheckDecoded(t, p)
			if p.Time.UnixMicro() > b.timeUS {
				t.Fatalf("post time %s after the event's time_us %d", p.Time, b.timeUS)
			}
		}
		if d, err := decodePostView(data); err == nil && d.post.Text != "" {
			p := d.post
			p.Source, p.Service = "sky", "shop"
			crawlertest.CheckDecoded(t, p)
		}
	})
}
