package crawlers_test

import (
	"testing"

	"github.com/aftershock/aftershock/crawlers"
)

func TestLang(t *testing.T) {
	for in, want := range map[string]string{
		"en": "en", "en-US": "en", "EN-us": "en", "pt_BR": "pt", "zh-Hant-TW": "zh", "ko": "ko",
		"KO": "ko", "fil": "fil", "und": "", "": "", " en ": "en", "x-klingon": "", "e": "", "english": "", "1a": "",
	} {
		if got := crawlers.Lang(in); got != want {
			t.Errorf("Lang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.reddit.com/r/shop/comments/abc/title/?ref=search_posts":                  "https://www.reddit.com/r/shop/comments/abc/title/",
		"https://example.com/a?id=7&utm_source=x&utm_medium=y&ref_source=share&fbclid=z#frag": "https://example.com/a?id=7#frag",
		"https://example.com/a?UTM_Campaign=x&q=%E2%9C%93":                                    "https://example.com/a?q=%E2%9C%93",
		"https://example.com/a?q=1&b=%20":                                                     "https://example.com/a?q=1&b=%20",
		"https://example.com/a?reference=1&prefix_ref=2":                                      "https://example.com/a?reference=1&prefix_ref=2",
		"https://example.com/a":                                                               "https://example.com/a",
		"":                                                                                    "",
	} {
		if got := crawlers.CleanURL(in); got != want {
			t.Errorf("CleanURL(%q) = %q, want %q", in, got, want)
		}
	}
}
