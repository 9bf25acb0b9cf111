// Package plaintext turns the text sources find (HTML fragments, padded
// titles, long bodies) into the plain text a post carries.
package plaintext

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// FromHTML turns an HTML fragment into plain text: tags dropped (script and
// style with their content), entities decoded, block elements and line
// breaks turned into spaces, runs of white space collapsed. Text hidden by
// CSS (Mastodon's `invisible` link spans) is kept, so a shortened link
// reads as the full URL.
func FromHTML(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return Collapse(s)
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return Collapse(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr":
				b.WriteByte(' ')
			}
		}
	}
}

// Collapse trims s and turns each run of white space into one space.
func Collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Truncate cuts s to at most n bytes on a rune boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
