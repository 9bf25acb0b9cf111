package appstore

import (
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// FuzzFeed parses a customer-reviews feed page and turns its reviews into
// posts: no panic, every entry is a review, app metadata or a counted
// skip, and every post is publishable. Seeds: testdata/fuzz/FuzzFeed.
func FuzzFeed(f *testing.F) {
	f.Add([]byte(`{"feed":{"entry":[{"author":{"name":{"label":"a"}},"im:version":{"label":"4.2.0"},"im:rating":{"label":"1"},"id":{"label":"13020000121"},"title":{"label":"crash"},"content":{"label":"closes","attributes":{"type":"text"}},"im:voteCount":{"label":"2"}}],"updated":{"label":"2026-11-24T01:58:12-07:00"}}}`))
	f.Add([]byte(`{"feed":{"entry":{"im:rating":{"label":"5"},"id":{"label":"7"},"updated":{"label":"2026-11-24T01:52:10-08:00"},"title":{"label":"ok"}},"link":[{"attributes":{"rel":"last","href":"https://itunes.apple.com/us/rss/customerreviews/page=3/id=1/sortby=mostrecent/json"}}]}}`))
	spec := crawlertest.Spec(f, "name: as\ntype: appstore\nservice: shop\noptions:\n    app_id: \"389801252\"\n")
	src, err := New(spec, crawlers.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseFeed(body, "us")
		if err != nil {
			return
		}
		if len(p.reviews)+p.skipped.Total() > p.entries {
			t.Fatalf("%d reviews and %d skipped of %d entries", len(p.reviews), p.skipped.Total(), p.entries)
		}
		for _, r := range p.reviews {
			post := src.post(r, now)
			crawlertest.CheckDecoded(t, post)
			if post.Rating < 1 || post.Rating > 5 {
				t.Fatalf("rating %v", post.Rating)
			}
			if r.updated.IsZero() != (post.TimeFrom == "fetched") {
				t.Fatalf("undated review %s marked %q", r.id, post.TimeFrom)
			}
		}
	})
}
