package hackernews

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// FuzzHits decodes an Algolia search answer's hits as Poll does and turns
// them into posts: no panic, and every post it accepts is publishable.
// Seeds: testdata/fuzz/FuzzHits.
func FuzzHits(f *testing.F) {
	f.Add([]byte(`{"hits":[{"objectID":"46032110","created_at_i":1795514280,"author":"mina","comment_text":"Since 4.2 the <i>checkout</i> hangs","story_id":46032000},{"objectID":"1","created_at":"2026-11-24T09:50:00Z","title":"Ask HN","url":null}],"nbPages":1}`))
	spec := crawlertest.Spec(f, "name: hn\ntype: hackernews\nservice: shop\noptions:\n    query: shopapp\n")
	src, err := New(spec, crawlers.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var res struct {
			Hits []json.RawMessage `json:"hits"`
		}
		if json.Unmarshal(body, &res) != nil {
			return
		}
		for _, raw := range res.Hits {
			h, err := decodeHit(raw)
			if err != nil {
				continue
			}
			if p, ok := src.post(h, now); ok {
				crawlertest.CheckDecoded(t, p)
			}
		}
	})
}
