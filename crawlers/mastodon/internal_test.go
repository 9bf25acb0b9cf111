package mastodon

import (
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftershock/aftershock/crawlers/internal/plaintext"
)

func TestIDLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"99", "100", true},
		{"100", "99", false},
		{"113550240000000005", "113550240000000010", true},
		{"7", "7", false},
		{"007", "8", true},
	} {
		if got := idLess(tc.a, tc.b); got != tc.want {
			t.Errorf("idLess(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		`<p>a &amp; b</p><p>c<br/>d</p>`: "a & b c d",
		`<p><a href="https://x.example/a/b"><span class="invisible">https://</span><span class="ellipsis">x.example/a</span><span class="invisible">/b</span></a></p>`: "https://x.example/a/b",
		"plain  text\n": "plain text",
	} {
		if got := plaintext.FromHTML(in); got != want {
			t.Errorf("plaintext.FromHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	s := "가나다" // 3 bytes each
	for n := 0; n <= len(s)+1; n++ {
		got := plaintext.Truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) || len(got) < min(n, len(s))-2 {
			t.Errorf("plaintext.Truncate(%q, %d) = %q", s, n, got)
		}
	}
}

func TestRateLimitHeaders(t *testing.T) {
	h := http.Header{}
	if rateLimit(h) != nil {
		t.Error("rate limit without headers")
	}
	h.Set("X-RateLimit-Limit", "300")
	h.Set("X-RateLimit-Remaining", "12")
	h.Set("X-RateLimit-Reset", "1795514700")
	rl := rateLimit(h)
	if rl == nil || rl.Remaining != 12 || !rl.Reset.Equal(time.Unix(1795514700, 0)) {
		t.Errorf("epoch reset: %+v", rl)
	}
}

func TestPrevMinID(t *testing.T) {
	links := []string{`<https://m.example/api/v1/timelines/tag/x?max_id=7163058>; rel="next", <https://m.example/api/v1/timelines/tag/x?min_id=7275607>; rel="prev"`}
	if got := prevMinID(links); got != "7275607" {
		t.Errorf("prevMinID = %q", got)
	}
	if got := prevMinID([]string{`<https://m.example/x?min_id=abc>; rel="prev"`}); got != "" {
		t.Errorf("non-numeric min_id accepted: %q", got)
	}
}
