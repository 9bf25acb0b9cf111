package x

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/crawlertest"
)

// FuzzV2Response decodes a v2 recent-search body as pollV2 does: the
// envelope, then each post on its own with the includes' users. Whatever
// the bytes, it must not panic, and every post it accepts must be
// publishable. Seeds: testdata/fuzz/FuzzV2Response.
func FuzzV2Response(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":"2125168421237686277","text":"hi","author_id":"1","created_at":"2026-11-24T10:03:30.000Z","lang":"en-GB"}],"includes":{"users":[{"id":"1","username":"a"}]},"meta":{"result_count":1}}`))
	f.Add([]byte(`{"data":[{"id":"2125168421237686277","text":"no time, no includes","author_id":"1"}],"meta":{"result_count":1}}`))
	spec := crawlertest.Spec(f, "name: x-fuzz\ntype: x\nservice: shop\noptions:\n    bearer_token: t\n    query: shop\n")
	src, err := New(spec, crawlers.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var res v2Response
		if json.Unmarshal(body, &res) != nil {
			return
		}
		users := make(map[string]string)
		for _, u := range res.Includes.Users {
			users[u.ID] = u.Username
		}
		var page crawlers.Page
		next := cursorState{}
		for i, raw := range res.Data {
			p, err := src.v2Post(raw, users, now)
			if err == nil {
				crawlertest.CheckDecoded(t, p)
				if !validID(p.ID) {
					t.Fatalf("accepted post id %q", p.ID)
				}
			}
			src.take(&page, &next, "", i, p, err)
		}
		if len(page.Posts)+page.Skipped.Total() != len(res.Data) {
			t.Fatalf("%d posts and %d skipped of %d", len(page.Posts), page.Skipped.Total(), len(res.Data))
		}
	})
}
