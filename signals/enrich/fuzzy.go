package enrich

import "slices"

// Typo matching (issue 11): a Latin word that no lexicon knows, five letters
// or more, matches a keyword of six letters or more at one edit (insertion,
// deletion, substitution or swap of two neighbours) with the same first
// letter: "crahses", "brokn", "pasword". It follows SymSpell's symmetric
// delete method (Garbe 2012): every keyword is indexed under its one-letter
// deletions, so a lookup makes only the deletions of the word, then checks
// the edit distance of each candidate. An unknown word of four or five
// letters matches a keyword of its own length with two neighbouring letters
// swapped, the commonest slip in fast typing.
const (
	fuzzySwapMin    = 4 // shorter unknown words match a keyword of their length by one swap
	fuzzyMinWord    = 5
	fuzzyMinKeyword = 6
	fuzzyMaxWord    = 24
)

// buildFuzzy indexes the first words of the Latin keywords.
func (a *Analyzer) buildFuzzy() {
	a.fuzzy = map[string][]*entry{}
	var keys []string
	for w, e := range a.words {
		if a.fuzzyKeyword(e) && len(w) >= fuzzyMinKeyword && len(w) <= fuzzyMaxWord && asciiLetters(w) {
			keys = append(keys, w)
		}
	}
	slices.Sort(keys) // the first keyword in order wins a tie
	for _, w := range keys {
		e := a.words[w]
		a.fuzzy[w] = append(a.fuzzy[w], e)
		for i := range len(w) {
			d := w[:i] + w[i+1:]
			if !slices.Contains(a.fuzzy[d], e) {
				a.fuzzy[d] = append(a.fuzzy[d], e)
			}
		}
	}
}

// fuzzyKeyword reports whether e starts a phrase a typo may stand for: a
// complaint keyword, not a cue of news, fixes or someone else's trouble
// (those must be spelled right; "states" is no typo of "status").
func (a *Analyzer) fuzzyKeyword(e *entry) bool {
	for _, id := range e.phrases {
		switch a.phrases[id].kind {
		case pReport, pResolved, pElse:
		default:
			return true
		}
	}
	return false
}

func asciiLetters(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// fuzzyEntry returns the keyword entry at one edit from the unknown word w,
// or nil. It does not allocate: deletions are built in s.squee.
func (a *Analyzer) fuzzyEntry(s *scan, w string) *entry {
	if len(w) >= fuzzySwapMin && len(w) < fuzzyMinKeyword && asciiLetters(w) {
		// short words: two neighbouring letters swapped ("lgoin", "crsah",
		// "slwo"), the first letter kept
		for i := 1; i+1 < len(w); i++ {
			if w[i] == w[i+1] {
				continue
			}
			b := append(s.squee[:0], w...)
			b[i], b[i+1] = b[i+1], b[i]
			if e := a.words[string(b)]; e != nil && len(e.phrases) > 0 {
				return e
			}
		}
	}
	if len(w) < fuzzyMinWord || len(w) > fuzzyMaxWord || !asciiLetters(w) {
		return nil
	}
	try := func(es []*entry) *entry {
		for _, e := range es {
			if e.word[0] == w[0] && oneEdit(e.word, w) {
				return e
			}
		}
		return nil
	}
	if e := try(a.fuzzy[w]); e != nil { // a letter left out of a keyword
		return e
	}
	for i := range len(w) {
		b := s.squee[:0]
		b = append(b, w[:i]...)
		b = append(b, w[i+1:]...)
		if e := try(a.fuzzy[string(b)]); e != nil {
			return e
		}
	}
	return nil
}

// oneEdit reports whether a and b differ by exactly one insertion, deletion,
// substitution or swap of neighbouring letters.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) < len(b) {
		a, b = b, a
	}
	switch len(a) - len(b) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(b) && a[i] == b[i] {
			i++
		}
		return a[i+1:] == b[i:]
	}
	return false
}

// realWords are English dictionary words at one edit from a keyword, which
// typo matching must leave alone: "they changed the logo" is not about a
// charge, "usable" is not "unable", "looked" is not "locked". Listed by
// TestRealWordsAreNotTypos from Debian's wamerican word list (plurals of a
// keyword, "passwords", are left to match). New added them as known words.
var realWords = []string{
	"balled", "balling", "batter", "batters", "beaks", "belled", "belling", "bilked", "bilking", "billet",
	"bluffers", "breads", "break", "breaks", "broker", "buffeting", "buffets", "bulled", "bulling", "buttery",
	"cannon", "cashed", "cashes", "cashing", "change", "changed", "changes", "changing", "charger", "chargers",
	"charred", "charring", "charted", "charting", "cheeking", "chocking", "chucking", "clashed", "clashes",
	"clashing", "clones", "closer", "closest", "closet", "closets", "cloves", "coed", "confection", "convection",
	"corrupter", "crass", "decline", "declines", "delete", "deletes", "depleted", "doable", "docent", "dose",
	"doubled", "doublet", "doubly", "downgraded", "duplicate", "duplicates", "east", "erase", "eraser", "erases",
	"fabled", "filed", "filing", "flailed", "flailing", "foiled", "foiling", "freezer", "friezes", "glitched",
	"goggle", "googled", "grayed", "greyer", "haven", "havens", "imagined", "imaging", "issued", "journalism", "juts", "kicker", "kinked", "kinking",
	"lacked", "lading", "latent", "laxest", "leading", "legged", "leggin", "legging", "licked", "loafing",
	"loaning", "locker", "locket", "lodged", "lodging", "logger", "logins", "longed", "looked", "loping",
	"lording", "lots", "lugged", "lugging", "lunch break", "massed", "meshed", "messes", "mien", "minuet", "minuets",
	"minuses", "minuted", "minuter", "minutest", "mussed", "noshing", "notching", "noting", "pacing", "paging",
	"paling", "papal", "parched", "paring", "patches", "paving", "pawing", "pitched", "plying", "pots", "prying",
	"purchased", "purchaser", "rained", "reined", "released", "remove", "remover", "removes", "reported", "rests", "serer", "serve", "served", "serves",
	"serviced", "servile", "sever", "severs", "shinning", "shopped", "showed", "shower", "sighed", "sighing",
	"signer", "signet", "singed", "singing", "sings", "sinned", "sinner", "sinning", "skinning", "slewed",
	"sloped", "slopped", "slowed", "snowed", "sopped", "sowed", "sower", "spanner", "spanning", "spinier",
	"stepped", "stomped", "stooped", "stopper", "stowed", "stropped", "subscribe", "subscriber", "subscribes",
	"swopped", "tacking", "talking", "taming", "tanking", "taping", "taring", "tasking", "taxing", "tiding",
	"tieing", "tiling", "tiring", "toking", "undated", "updater", "usable", "vanishes", "varnished",
	"versification", "wafting", "wailing", "waiving", "wanting", "weer", "whiting", "writing",
}
