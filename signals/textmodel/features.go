// Package textmodel is a linear text classifier over hashed features: word
// unigrams and bigrams, character n-grams of the text with its spaces, and
// character n-grams of the text with its spaces removed (so that "안 돼요",
// "안돼요" and "안되요" share most features). Feature strings are never
// stored: each one is hashed into one of 2^Bits buckets and the model holds a
// weight per bucket (the hashing trick, Weinberger et al. 2009), so a model
// file holds learned numbers and no text.
//
// Training is logistic regression by AdaGrad SGD (Duchi et al. 2011) over
// optionally NB-scaled features: each bucket's log-count ratio between the
// classes (Wang & Manning 2012, "Baselines and Bigrams", NBSVM) multiplies its
// value, which they found to help on short sentiment snippets. Training is
// single-threaded and visits examples in a fixed order, so the same input
// gives the same model bytes.
//
// Scoring normalises the text into a pooled rune buffer and sums one weight
// per feature: no allocation per text or per token.
package textmodel

import (
	"unicode"
	"unicode/utf8"
)

// Features says which hashed features a model uses. It is stored in the
// model file, so inference always matches training.
type Features struct {
	Bits        uint8 // 2^Bits buckets
	CharMin     uint8 // character n-grams over the text with spaces, CharMin..CharMax (0: none)
	CharMax     uint8
	JoinMin     uint8 // character n-grams over the text without spaces, JoinMin..JoinMax (0: none)
	JoinMax     uint8
	Words       bool // word unigrams
	WordBigrams bool // word bigrams
}

const (
	seedChar   = 0x9e3779b9
	seedJoin   = 0x85ebca6b
	seedWord   = 0xc2b2ae35
	seedBigram = 0x27d4eb2f
	maxRunes   = 1024 // longer texts are cut
	maxRepeat  = 2    // runs of one rune longer than this are cut ("ㅋㅋㅋㅋ" -> "ㅋㅋ")
)

// mix is a 32-bit finaliser (murmur3's fmix32).
func mix(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// step folds one rune into a running hash (FNV-1a over the rune value).
func step(h uint32, r rune) uint32 {
	return (h ^ uint32(r)) * 16777619
}

// normalize writes text's runes into buf: lowered, every run of spaces one
// space, a space at both ends, runs of one rune cut to maxRepeat. It returns
// the filled buffer.
func normalize(buf []rune, text string) []rune {
	buf = append(buf[:0], ' ')
	var prev rune = ' '
	rep := 1
	for _, r := range text {
		if len(buf) >= maxRunes {
			break
		}
		if r == utf8.RuneError {
			continue
		}
		switch {
		case r < utf8.RuneSelf:
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			} else if r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v' {
				r = ' '
			}
		case unicode.IsSpace(r):
			r = ' '
		case unicode.IsUpper(r):
			r = unicode.ToLower(r)
		case r >= 0xFE00 && r <= 0xFE0F, r == 0x200D: // variation selectors, joiner
			continue
		}
		if r == prev {
			rep++
			if r == ' ' || rep > maxRepeat {
				continue
			}
		} else {
			rep = 1
		}
		buf = append(buf, r)
		prev = r
	}
	if prev != ' ' {
		buf = append(buf, ' ')
	}
	return buf
}

// each calls fn with every feature bucket of the normalized runes rs.
func (f *Features) each(rs []rune, fn func(uint32)) {
	mask := uint32(1)<<f.Bits - 1
	if f.CharMin > 0 {
		lo, hi := int(f.CharMin), int(f.CharMax)
		for i := range rs {
			h := uint32(seedChar)
			for n := 1; n <= hi && i+n <= len(rs); n++ {
				h = step(h, rs[i+n-1])
				if n >= lo && !(n == 1 && rs[i] == ' ') {
					fn(mix(h^uint32(n)) & mask)
				}
			}
		}
	}
	if f.JoinMin > 0 {
		lo, hi := int(f.JoinMin), int(f.JoinMax)
		for i := range rs {
			if rs[i] == ' ' {
				continue
			}
			h := uint32(seedJoin)
			n := 0
			for j := i; j < len(rs) && n < hi; j++ {
				if rs[j] == ' ' {
					continue
				}
				h = step(h, rs[j])
				n++
				if n >= lo {
					fn(mix(h^uint32(n)) & mask)
				}
			}
		}
	}
	if f.Words || f.WordBigrams {
		var prev uint32
		have := false
		start := -1
		for i, r := range rs {
			if r != ' ' {
				if start < 0 {
					start = i
				}
				continue
			}
			if start < 0 {
				continue
			}
			h := uint32(seedWord)
			for _, c := range rs[start:i] {
				h = step(h, c)
			}
			h = mix(h)
			if f.Words {
				fn(h & mask)
			}
			if f.WordBigrams && have {
				fn(mix(prev*31^h^seedBigram) & mask)
			}
			prev, have = h, true
			start = -1
		}
	}
}
