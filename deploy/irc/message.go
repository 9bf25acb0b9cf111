package irc

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/slack"
)

// MaxLines is the most PRIVMSG lines one notice takes; the rest is cut
// with "…".
const MaxLines = 4

// Text renders a notice as one line, release id first: headline, reasons,
// top keywords, up to two example posts with links, the dashboard link.
// Everything is inert: control characters (CR, LF, NUL, IRC formatting and
// CTCP bytes) and line separators become spaces, so a post text cannot
// inject IRC commands; invalid UTF-8 becomes U+FFFD.
func Text(n deploy.Notice) string {
	v := n.Verdict
	parts := []string{slack.Headline(v)}
	if len(v.Reasons) > 0 {
		rs := v.Reasons
		if len(rs) > 5 {
			rs = rs[:5]
		}
		parts = append(parts, strings.Join(rs, "; "))
	}
	if len(v.Keywords) > 0 {
		kw := v.Keywords
		if len(kw) > 5 {
			kw = kw[:5]
		}
		parts = append(parts, "keywords: "+strings.Join(kw, ", "))
	}
	shown := 0
	for _, e := range v.Examples {
		if shown == 2 {
			break
		}
		t := cut(clean(e.Text), 160)
		if t == "" && e.URL == "" {
			continue
		}
		ex := "e.g."
		if t != "" {
			ex += " “" + t + "”"
		}
		if e.URL != "" {
			ex += " " + e.URL
		}
		parts = append(parts, ex)
		shown++
	}
	if n.Dashboard != "" {
		parts = append(parts, "dashboard: "+n.Dashboard)
	}
	return clean(strings.Join(parts, " — "))
}

// Lines splits text into at most MaxLines lines of at most budget bytes,
// each starting with the release id (continuations with "<id> ↳ "). It cuts
// at a space when one is near, otherwise between two UTF-8 characters, and
// ends a cut last line with "…".
func Lines(id, text string, budget int) []string {
	text = clean(text)
	id = clean(id)
	if len(text) <= budget {
		return []string{text}
	}
	prefix := id + " ↳ "
	if len(prefix) > budget/2 {
		prefix = "↳ "
	}
	var lines []string
	rest := text
	for len(lines) < MaxLines {
		room := budget
		if len(lines) > 0 {
			room -= len(prefix)
		}
		if len(rest) <= room {
			lines = append(lines, cont(prefix, len(lines), rest))
			return lines
		}
		if len(lines) == MaxLines-1 {
			room -= len("…")
			lines = append(lines, cont(prefix, len(lines), strings.TrimRight(rest[:boundary(rest, room)], " ")+"…"))
			return lines
		}
		i := boundary(rest, room)
		if sp := strings.LastIndexByte(rest[:i], ' '); sp > room*2/3 {
			i = sp
		}
		lines = append(lines, cont(prefix, len(lines), strings.TrimRight(rest[:i], " ")))
		rest = strings.TrimLeft(rest[i:], " ")
	}
	return lines
}

func cont(prefix string, i int, s string) string {
	if i == 0 {
		return s
	}
	return prefix + s
}

// boundary is the largest index ≤ max that does not split a UTF-8
// character of s.
func boundary(s string, max int) int {
	if max >= len(s) {
		return len(s)
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return max
}

// clean makes s one line of valid UTF-8 without control characters.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}), " ")
}

// cut keeps at most max characters of s, ending in "…" when it cut.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
