package reddit

import (
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// FuzzListing parses a listing body (search, /new, /comments) and turns
// its items into posts: no panic, and every post it accepts is
// publishable. Seeds: testdata/fuzz/FuzzListing.
func FuzzListing(f *testing.F) {
	f.Add([]byte(`{"kind":"Listing","data":{"after":null,"children":[{"kind":"t3","data":{"name":"t3_abc","title":"Checkout crashes","selftext":"since 4.2","author":"mina","created_utc":1795514100.0,"permalink":"/r/shopapp/comments/abc/x/?ref=search_posts","score":4}},{"kind":"t1","data":{"name":"t1_def","body":"[removed]","created_utc":1795514100}}]}}`))
	spec := crawlertest.Spec(f, "name: r\ntype: reddit\nservice: shop\noptions:\n    client_id: id\n    client_secret: secret\n    query: shopapp\n")
	src, err := New(spec, crawlers.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		ls, err := parseListing(body)
		if err != nil {
			return
		}
		for _, it := range ls.items {
			crawlertest.CheckDecoded(t, src.post(it, now))
		}
	})
}
