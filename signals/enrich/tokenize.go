package enrich

import (
	"unicode"
	"unicode/utf8"
)

// kind is what a token is made of.
type kind uint8

const (
	kWord     kind = iota // Latin letters and digits ("can't", "4.2.1", "v4")
	kHangul               // a run of Hangul syllables or jamo ("로그인이", "ㅠㅠ")
	kOther                // letters of another script
	kMention              // "@shopapp", "@user@instance.social"
	kHashtag              // "#shopdown"
	kURL                  // "https://…", "www.…"
	kEmoji                // one emoji ("😡")
	kEmoticon             // ":)", ":-(", "<3"
)

// token is a span of the lowered text buffer; it owns no memory of its own.
type token struct {
	lo, hi int32
	kind   kind
	caps   bool    // written in capitals ("AMAZING"), at least two letters
	elong  bool    // had a letter repeated three times or more ("sooooo"), squeezed to two
	val    float32 // valence of an emoji or emoticon
}

// scan is the reusable state of one enrichment: the lowered text with the
// tokens pointing into it, and counts the later steps need. It is pooled, so
// the scanner does not allocate per token.
type scan struct {
	buf   []byte
	toks  []token
	excl  int // '!' in the text
	quest int // '?' in the text

	latin, hangul, other  int // letters per script, for language detection
	capsWords, casedWords int

	// per-token results of the later steps, parallel to toks
	ents  []*entry
	sent  []float64
	seq   []int32
	squee [64]byte // scratch for the squeezed form of an elongated word
}

func (s *scan) reset() {
	s.buf = s.buf[:0]
	s.toks = s.toks[:0]
	s.excl, s.quest = 0, 0
	s.latin, s.hangul, s.other = 0, 0, 0
	s.capsWords, s.casedWords = 0, 0
	s.ents = s.ents[:0]
	s.sent = s.sent[:0]
	s.seq = s.seq[:0]
}

func isHangul(r rune) bool {
	return (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0x1100 && r <= 0x11FF) ||
		(r >= 0x3130 && r <= 0x318F) || (r >= 0xA960 && r <= 0xA97F) || (r >= 0xD7B0 && r <= 0xD7FF)
}

// isEmoji reports whether r is a pictographic emoji that stands on its own.
// Modifiers (skin tones, variation selectors, joiners, flags' letters) are not.
func isEmoji(r rune) bool {
	switch {
	case r >= 0x1F3FB && r <= 0x1F3FF, r >= 0x1F1E6 && r <= 0x1F1FF:
		return false
	case r >= 0x1F000 && r <= 0x1FAFF:
		return true
	case r >= 0x2600 && r <= 0x27BF:
		return true
	case r == 0x2B50 || r == 0x2B55 || r == 0x231A || r == 0x231B || r == 0x23F0 || r == 0x23F3 || r == 0x2705 || r == 0x274C:
		return true
	}
	return false
}

func isASCIIWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// tokenize splits text into social-media tokens, lowering them into s.buf.
// Tokens are separated by one space in s.buf, so that adjacent tokens form a
// phrase substring ("build 1234"). The splitting of ordinary words follows
// prose's tokenizer (leading/trailing punctuation split off, contractions and
// decimals kept inside the word), with these additions: @mentions, #hashtags,
// URLs, emoji and emoticons are single tokens, hyphens and slashes split
// words, runs of three or more equal letters are squeezed to two, and a
// Hangul run is its own token.
func (a *Analyzer) tokenize(s *scan, text string) {
	n := len(text)
	atStart := true // previous rune was whitespace (or start of text)
	for i := 0; i < n; {
		c := text[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
				i++
				atStart = true
				continue
			case c == '!':
				s.excl++
			case c == '?':
				s.quest++
			}
			if atStart {
				if j, val, ok := a.emoticonAt(text, i); ok {
					s.push(token{kind: kEmoticon, val: val}, text[i:j])
					i = j
					atStart = false
					continue
				}
			}
			switch {
			case (c == '@' || c == '#') && i+1 < n && (isASCIIWordByte(text[i+1]) || text[i+1] >= utf8.RuneSelf):
				if j := a.scanTag(s, text, i); j > i {
					i = j
					atStart = false
					continue
				}
			case (c == 'h' || c == 'H' || c == 'w' || c == 'W') && atStart &&
				(hasPrefixFold(text[i:], "https://") || hasPrefixFold(text[i:], "http://") || hasPrefixFold(text[i:], "www.")):
				j := i
				for j < n && text[j] != ' ' && text[j] != '\n' && text[j] != '\t' && text[j] != '\r' {
					j++
				}
				for j > i && (text[j-1] == '.' || text[j-1] == ',' || text[j-1] == ')' || text[j-1] == '!' || text[j-1] == '?') {
					j--
				}
				s.push(token{kind: kURL}, text[i:j])
				i = j
				atStart = false
				continue
			}
			if isWordRune(rune(c)) {
				i = s.scanWord(text, i)
			} else {
				i++
			}
			atStart = false
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
			atStart = true
			continue
		case isEmoji(r):
			var val float32
			if v, ok := a.emoji[r]; ok {
				val = v
			}
			s.push(token{kind: kEmoji, val: val}, text[i:i+size])
			i += size
		case isWordRune(r) || isHangul(r):
			i = s.scanWord(text, i)
		default:
			i += size // punctuation, symbols, joiners, variation selectors
		}
		atStart = false
	}
}

// push appends a token whose text is copied as is (not lowered).
func (s *scan) push(t token, raw string) {
	if len(s.buf) > 0 {
		s.buf = append(s.buf, ' ')
	}
	t.lo = int32(len(s.buf))
	s.buf = append(s.buf, raw...)
	t.hi = int32(len(s.buf))
	s.toks = append(s.toks, t)
}

// scanTag scans a mention or hashtag starting at text[i] and returns the end.
func (a *Analyzer) scanTag(s *scan, text string, i int) int {
	c := text[i]
	j := i + 1
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if r == '_' || isWordRune(r) || isHangul(r) {
			j += size
			continue
		}
		// user@instance.social and dotted names, but not a trailing dot
		if c == '@' && (r == '.' || r == '@' || r == '-') && j+1 < len(text) && isASCIIWordByte(text[j+1]) {
			j += size
			continue
		}
		break
	}
	if j == i+1 {
		return i
	}
	k := kMention
	if c == '#' {
		k = kHashtag
	}
	if len(s.buf) > 0 {
		s.buf = append(s.buf, ' ')
	}
	t := token{kind: k, lo: int32(len(s.buf))}
	for _, r := range text[i:j] {
		s.buf = utf8.AppendRune(s.buf, unicode.ToLower(r))
	}
	t.hi = int32(len(s.buf))
	s.toks = append(s.toks, t)
	return j
}

// scanWord scans a word of Latin (or other) letters and digits, or a Hangul
// run, starting at text[i], and returns its end.
func (s *scan) scanWord(text string, i int) int {
	if len(s.buf) > 0 {
		s.buf = append(s.buf, ' ')
	}
	t := token{kind: kWord, lo: int32(len(s.buf))}
	first, _ := utf8.DecodeRuneInString(text[i:])
	hangul := isHangul(first)
	if hangul {
		t.kind = kHangul
	}
	var upper, lower, letters int
	var prev rune = -1
	run := 0
	prevDigit := false
	j := i
	for j < len(text) {
		r, size := utf8.DecodeRuneInString(text[j:])
		if !hangul && (r == '\'' || r == '’') && letters > 0 && j+size < len(text) {
			// keep contractions inside the word: can't, it's, don’t
			nr, _ := utf8.DecodeRuneInString(text[j+size:])
			if unicode.IsLetter(nr) && !isHangul(nr) {
				s.buf = append(s.buf, '\'')
				j += size
				prev, run, prevDigit = '\'', 0, false
				continue
			}
			break
		}
		if !hangul && r == '.' && prevDigit && j+1 < len(text) && text[j+1] >= '0' && text[j+1] <= '9' {
			s.buf = append(s.buf, '.')
			j++
			prev, run, prevDigit = '.', 0, false
			continue
		}
		if isHangul(r) != hangul || !isWordRune(r) && !isHangul(r) {
			break
		}
		isDigit := r >= '0' && r <= '9'
		lr := r
		if r < utf8.RuneSelf {
			lr = rune(lowerASCII(byte(r)))
			if lr != r {
				upper++
			} else if r >= 'a' && r <= 'z' {
				lower++
			}
		} else if !hangul {
			lr = unicode.ToLower(r)
			if lr != r {
				upper++
			} else if unicode.IsLower(r) {
				lower++
			}
		}
		if !isDigit {
			letters++
			switch {
			case hangul:
				s.hangul++
			case r < 0x250:
				s.latin++
			default:
				s.other++
			}
			if lr == prev {
				run++
				if run >= 2 {
					t.elong = true
					j += size
					continue
				}
			} else {
				run = 0
			}
		} else {
			run = 0
		}
		prev = lr
		prevDigit = isDigit
		if lr < utf8.RuneSelf {
			s.buf = append(s.buf, byte(lr))
		} else {
			s.buf = utf8.AppendRune(s.buf, lr)
		}
		j += size
	}
	if j == i { // cannot happen for a word rune, but never loop forever
		_, size := utf8.DecodeRuneInString(text[i:])
		s.buf = s.buf[:t.lo]
		if t.lo > 0 {
			s.buf = s.buf[:t.lo-1]
		}
		return i + size
	}
	if !hangul && upper+lower > 0 {
		s.casedWords++
		if upper >= 2 && lower == 0 {
			t.caps = true
			s.capsWords++
		}
	}
	if !hangul && letters > 0 && s.other > s.latin && first >= 0x250 {
		t.kind = kOther
	}
	t.hi = int32(len(s.buf))
	s.toks = append(s.toks, t)
	return j
}

// emoticonAt reports whether an emoticon starts at text[i] and runs to the
// next space (trailing '!', '.', ',' allowed), returning its end and valence.
func (a *Analyzer) emoticonAt(text string, i int) (int, float32, bool) {
	j := i
	for j < len(text) && j-i <= 12 && text[j] != ' ' && text[j] != '\n' && text[j] != '\t' && text[j] != '\r' {
		j++
	}
	if j-i > 12 || j == i {
		return 0, 0, false
	}
	end := j
	for end > i {
		if v, ok := a.emoticons[text[i:end]]; ok {
			return j, v, true
		}
		c := text[end-1]
		if c != '!' && c != '.' && c != ',' && c != '?' {
			break
		}
		end--
	}
	return 0, 0, false
}
