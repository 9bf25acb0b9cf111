package bluesky

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// matcher selects streamed posts by their text. A post matches when any
// term occurs in it, case-insensitively. Where a term begins or ends with a
// letter or digit of a script written with spaces between words (Latin,
// Cyrillic, ...), that end must fall on a word boundary, so "app" matches
// "the app crashed" but not "happy". Terms in scripts without spaces
// between words (Hangul, Han, kana, Thai, ...) match as substrings, so
// "쇼핑앱" matches "쇼핑앱이 또 안 열려요".
type matcher struct {
	terms []term
}

type term struct {
	text           string // lower-cased
	atStart, atEnd bool   // the term must start / end on a word boundary
}

func newMatcher(terms []string) *matcher {
	m := &matcher{}
	for _, t := range terms {
		t = strings.ToLower(t)
		first, _ := utf8.DecodeRuneInString(t)
		last, _ := utf8.DecodeLastRuneInString(t)
		m.terms = append(m.terms, term{text: t, atStart: spacedWordRune(first), atEnd: spacedWordRune(last)})
	}
	return m
}

// match reports whether text holds any term.
func (m *matcher) match(text string) bool {
	lower := strings.ToLower(text)
	for _, t := range m.terms {
		if t.in(lower) {
			return true
		}
	}
	return false
}

func (t term) in(s string) bool {
	for from := 0; from <= len(s); {
		i := strings.Index(s[from:], t.text)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(t.text)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if (!t.atStart || i == 0 || !wordRune(before)) && (!t.atEnd || end == len(s) || !wordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		from = i + max(size, 1)
	}
	return false
}

// wordRune reports whether r continues a word.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

// spacedWordRune reports whether r is a word rune of a script that puts
// spaces between words.
func spacedWordRune(r rune) bool {
	if !wordRune(r) {
		return false
	}
	return !unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana,
		unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Tibetan)
}
