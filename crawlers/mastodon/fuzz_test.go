package mastodon

import (
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// FuzzStatus decodes one status of a timeline page or stream event as the
// source does and turns it into a post: no panic, and every post it
// accepts is publishable. Seeds: testdata/fuzz/FuzzStatus.
func FuzzStatus(f *testing.F) {
	f.Add([]byte(`{"id":"113550240000000005","created_at":"2026-11-24T09:58:00.000Z","language":"en-US","uri":"https://a.example/users/m/statuses/1","url":"https://a.example/@m/1?utm_source=x","content":"<p>hi</p>","account":{"acct":"m"},"reblog":null}`))
	f.Add([]byte(`{"id":"2","created_at":"2026-11-24T09:58:00Z","content":"","reblog":{"id":"1","created_at":"2026-11-24T09:00:00Z","content":"<p>boosted</p>","uri":"x","account":{"acct":"b"}}}`))
	spec := crawlertest.Spec(f, "name: m\ntype: mastodon\nservice: shop\noptions:\n    instance: https://mastodon.example\n    hashtags: [shopapp]\n")
	src, err := New(spec, crawlers.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := decodeStatus(raw)
		if err != nil {
			return
		}
		p, ok := src.post(st, now)
		if !ok {
			return
		}
		crawlertest.CheckDecoded(t, p)
		if !validID(p.ID) {
			t.Fatalf("accepted status id %q", p.ID)
		}
	})
}
