package plaintext

import (
	"testing"
	"unicode/utf8"
)

func TestFromHTML(t *testing.T) {
	for in, want := range map[string]string{
		"plain  text\n here":                            "plain text here",
		"<p>One</p><p>Two<br/>Three</p>":                "One Two Three",
		"a <b>bold</b> move":                            "a bold move",
		"Tom &amp; Jerry &lt;3 &#39;x&#39; &nbsp;":      "Tom & Jerry <3 'x'",
		"x<script>alert(1)</script>y<style>p{}</style>": "xy",
		"1 < 2 and 3 > 2":                               "1 < 2 and 3 > 2",
		"<table><tr><td>a</td><td>b</td></tr></table>":  "a b",
		"above<hr>below":                                "above below",
		"It&#x27;s a &#x2F;path":                        "It's a /path",
		`<p><a href="https://x.example/a/b"><span class="invisible">https://</span><span class="ellipsis">x.example/a</span><span class="invisible">/b</span></a></p>`: "https://x.example/a/b",
	} {
		if got := FromHTML(in); got != want {
			t.Errorf("FromHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	s := "가나다" // 3 bytes each
	for n := 0; n <= len(s)+1; n++ {
		got := Truncate(s, n)
		if len(got) > n || !utf8.ValidString(got) || len(got) < min(n, len(s))-2 {
			t.Errorf("Truncate(%q, %d) = %q", s, n, got)
		}
	}
	if got := Truncate("abc", 2); got != "ab" {
		t.Errorf("Truncate(abc, 2) = %q", got)
	}
}
