package bluesky

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestMatcher(t *testing.T) {
	m := newMatcher([]string{"ShopApp", "#shoppay", "쇼핑앱", "4.2.1"})
	for text, want := range map[string]bool{
		"The SHOPAPP update broke login": true,
		"shopapp":                        true,
		"(shopapp)":                      true,
		"my shopapps list":               false, // a Latin term ends on a word boundary
		"reshopapp":                      false,
		"paying with #ShopPay failed":    true,
		"#shoppayment":                   false,
		"쇼핑앱이 또 안 열려요":                   true, // Hangul matches inside a word
		"새쇼핑앱":                           true,
		"version 4.2.1 crashes":          true,
		"version 14.2.1":                 false,
		"shop app":                       false,
		"":                               false,
	} {
		if got := m.match(text); got != want {
			t.Errorf("match(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestRateLimitHeaders(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	h := http.Header{}
	if rateLimit(h, now) != nil {
		t.Error("rate limit without headers")
	}
	h.Set("RateLimit-Remaining", "12")
	h.Set("RateLimit-Policy", "3000;w=300")
	h.Set("RateLimit-Reset", "1795514700")
	if rl := rateLimit(h, now); rl == nil || rl.Limit != 3000 || rl.Remaining != 12 || !rl.Reset.Equal(now.Add(5*time.Minute)) {
		t.Errorf("epoch reset, limit from policy: %+v", rl)
	}
	h.Set("RateLimit-Limit", "100")
	h.Set("RateLimit-Reset", "42") // the IETF draft's delta seconds
	if rl := rateLimit(h, now); rl == nil || rl.Limit != 100 || !rl.Reset.Equal(now.Add(42*time.Second)) {
		t.Errorf("delta reset: %+v", rl)
	}
}

func TestPruneKeepsNewest(t *testing.T) {
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	c := cursorState{Seen: map[string]int64{}}
	for i := range 10 {
		c.Seen[fmt.Sprintf("did:plc:a/%d", i)] = base.Add(time.Duration(i) * time.Minute).UnixMilli()
	}
	c.prune(base.Add(2*time.Minute), 5)
	if len(c.Seen) != 5 {
		t.Fatalf("%d ids kept, want 5", len(c.Seen))
	}
	for i := 5; i < 10; i++ {
		if _, ok := c.Seen[fmt.Sprintf("did:plc:a/%d", i)]; !ok {
			t.Errorf("newest id %d forgotten", i)
		}
	}
}

func TestParseURI(t *testing.T) {
	for uri, ok := range map[string]bool{
		"at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbqzq4pkd22k": true,
		"at://did:web:shop.example.com/app.bsky.feed.post/3lbqzq4pkd22k":         true,
		"at://did:plc:x/app.bsky.feed.like/3lbqzq4pkd22k":                        false,
		"at://kim.bsky.social/app.bsky.feed.post/3lbqzq4pkd22k":                  false,
		"at://did:plc:x/app.bsky.feed.post/a/b":                                  false,
		"https://bsky.app/profile/x/post/y":                                      false,
		"at://did:plc:x/app.bsky.feed.post/..":                                   false,
	} {
		if _, _, err := parseURI(uri); (err == nil) != ok {
			t.Errorf("parseURI(%q): %v, want ok=%v", uri, err, ok)
		}
	}
}

func TestPageText(t *testing.T) {
	html := "<html>\n<head><title>403 Forbidden</title><style>p{}</style></head>\n<body><h1>403 Forbidden</h1>\n<p>Request forbidden by administrative rules.</p></body></html>"
	if got, want := pageText([]byte(html)), "403 Forbidden Request forbidden by administrative rules."; got != want {
		t.Errorf("pageText = %q, want %q", got, want)
	}
	if got := pageText([]byte{0xff, 0xfe}); got != "" {
		t.Errorf("binary body gave %q", got)
	}
}
