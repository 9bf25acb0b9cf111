package scenarios

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Product is a service as people name it in posts.
type Product struct {
	// Service is the service token of the stream ("shopr").
	Service string
	// Display is the proper name ("Shopr"), Korean how Korean posts write it.
	Display, Korean string
	// Misspelled are names people type instead (generated from Display by
	// typo rules, plus the lower-case form).
	Misspelled []string
}

// catalog lists the fictional products scenarios are about. None of the
// names is an English or Korean complaint word.
var catalog = []struct{ display, korean string }{
	{"Shopr", "쇼퍼"}, {"Payd", "페이드"}, {"Tunely", "튠리"}, {"Mapsy", "맵시"},
	{"Ridely", "라이들리"}, {"Kiosko", "키오스코"}, {"Lumo", "루모"}, {"Dashly", "대쉴리"},
	{"Notara", "노타라"}, {"Fotobox", "포토박스"},
}

// others are other companies that have outages of their own.
var others = []struct{ display, korean string }{
	{"Nexbank", "넥스뱅크"}, {"Cloudia", "클라우디아"}, {"TelcoOne", "텔코원"}, {"Streamz", "스트림즈"},
	{"Bytepost", "바이트포스트"}, {"Cardly", "카들리"},
}

func newProduct(rng *rand.Rand, display, korean string) Product {
	p := Product{Service: strings.ToLower(display), Display: display, Korean: korean}
	seen := map[string]bool{display: true}
	add := func(s string) {
		if !seen[s] && s != "" {
			seen[s] = true
			p.Misspelled = append(p.Misspelled, s)
		}
	}
	add(strings.ToLower(display))
	for len(p.Misspelled) < 4 {
		add(typoWord(rng, display))
	}
	return p
}

// name returns how one post names the product: mostly right, sometimes
// misspelled, in Korean posts mostly in Hangul.
func (p Product) name(rng *rand.Rand, lang string) string {
	if lang == "ko" && rng.Float64() < 0.7 {
		return p.Korean
	}
	if rng.Float64() < 0.25 {
		return p.Misspelled[rng.IntN(len(p.Misspelled))]
	}
	return p.Display
}

// typoWord makes one typing mistake in w: two letters swapped, one
// dropped, one doubled, or a neighbouring key hit instead.
func typoWord(rng *rand.Rand, w string) string {
	rs := []rune(w)
	if len(rs) < 3 {
		return w
	}
	i := 1 + rng.IntN(len(rs)-2) // keep the first letter: people rarely miss it
	switch rng.IntN(4) {
	case 0:
		rs[i], rs[i+1] = rs[i+1], rs[i]
	case 1:
		rs = append(rs[:i], rs[i+1:]...)
	case 2:
		rs = append(rs[:i+1], rs[i:]...)
	default:
		if n, ok := neighbour[unicode.ToLower(rs[i])]; ok {
			rs[i] = rune(n[rng.IntN(len(n))])
		} else {
			rs = append(rs[:i], rs[i+1:]...)
		}
	}
	return string(rs)
}

// neighbour are the keys next to each letter on a QWERTY keyboard.
var neighbour = map[rune]string{
	'q': "wa", 'w': "qes", 'e': "wrd", 'r': "etf", 't': "ryg", 'y': "tuh", 'u': "yij", 'i': "uok", 'o': "ipl", 'p': "ol",
	'a': "qsz", 's': "awdz", 'd': "sefx", 'f': "drgc", 'g': "fthv", 'h': "gyjb", 'j': "hukn", 'k': "jilm", 'l': "kop",
	'z': "asx", 'x': "zsdc", 'c': "xdfv", 'v': "cfgb", 'b': "vghn", 'n': "bhjm", 'm': "njk",
}

// typos adds typing mistakes to a text: each word of three letters or more
// gets one with probability rate. Real texts have their own typos already;
// this adds the ones a phone keyboard makes in a hurry.
func typos(rng *rand.Rand, text string, rate float64) string {
	if rate <= 0 {
		return text
	}
	words := strings.Split(text, " ")
	for i, w := range words {
		if utf8.RuneCountInString(w) >= 3 && rng.Float64() < rate {
			words[i] = typoWord(rng, w)
		}
	}
	return strings.Join(words, " ")
}

// clip shortens a text to at most n runes, at a sentence or word end when
// there is one, as a post quoting a longer review would.
func clip(text string, n int) string {
	rs := []rune(text)
	if len(rs) <= n {
		return text
	}
	cut := string(rs[:n])
	if i := strings.LastIndexAny(cut, ".!?"); i > n/2 {
		return cut[:i+1]
	}
	if i := strings.LastIndex(cut, " "); i > n/2 {
		return cut[:i]
	}
	return cut
}

// mention puts a product name into a text the way posts do: replacing
// "this app" or "이 영화", or as a tag or address before or after.
func mention(rng *rand.Rand, text, name, lang string) string {
	if lang == "en" && rng.Float64() < 0.6 {
		for _, old := range []string{"this app", "This app", "the app", "The app", "this App"} {
			if strings.Contains(text, old) {
				return strings.Replace(text, old, name, 1)
			}
		}
	}
	if lang == "ko" && rng.Float64() < 0.5 {
		for _, old := range []string{"이 영화", "이영화", "영화"} {
			if strings.Contains(text, old) {
				return strings.Replace(text, old, name, 1)
			}
		}
	}
	switch rng.IntN(5) {
	case 0:
		return "@" + name + " " + text
	case 1:
		return text + " #" + strings.ReplaceAll(name, " ", "")
	case 2:
		return name + ": " + text
	case 3:
		return text + " " + name
	}
	return name + " " + text
}

// versionNote is how a post names a version: bare, with a "v", in
// brackets, or in Korean with 버전. It never adds a complaint word.
func versionNote(rng *rand.Rand, version, lang string) string {
	short := version
	if i := strings.LastIndexByte(version, '.'); i > 0 && strings.Count(version, ".") == 2 {
		short = version[:i]
	}
	if lang == "ko" {
		switch rng.IntN(3) {
		case 0:
			return short + " 버전"
		case 1:
			return "v" + short
		}
		return version
	}
	switch rng.IntN(4) {
	case 0:
		return "v" + short
	case 1:
		return "(" + version + ")"
	case 2:
		return "on " + version
	}
	return version
}

// withVersion adds a version note before or after the text.
func withVersion(rng *rand.Rand, text, version, lang string) string {
	note := versionNote(rng, version, lang)
	if rng.IntN(2) == 0 {
		return note + " " + text
	}
	return text + " " + note
}

// angryEmoji and happyEmoji are appended to some posts, as people do.
var (
	angryEmoji = []string{"😡", "🙄", "😤", "🤬", "😩", "💀", "ㅠㅠ", "ㅡㅡ"}
	happyEmoji = []string{"🎉", "😍", "🔥", "👍", "🙌", "ㅋㅋㅋ", "❤️"}
)

func emoji(rng *rand.Rand, set []string, lang string) string {
	for {
		e := set[rng.IntN(len(set))]
		if lang == "ko" || !strings.ContainsRune(e, 'ㅠ') && !strings.ContainsRune(e, 'ㅡ') && !strings.ContainsRune(e, 'ㅋ') {
			return e
		}
	}
}

// versionString formats a semantic version.
func versionString(major, minor, patch int) string {
	return fmt.Sprintf("%d.%d.%d", major, minor, patch)
}
