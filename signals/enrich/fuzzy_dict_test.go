package enrich

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

// dictPath is an English word list (Debian's wamerican package installs it).
const dictPath = "/usr/share/dict/words"

// pluralPair reports whether one word is the other with -s or -es added:
// "passwords" for "password" is the same word, not a typo of another.
func pluralPair(a, b string) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	return a == b+"s" || a == b+"es"
}

// dictionaryCollisions lists the words of the word list that typo matching
// would take for a keyword they are not a plural of ("changed" for
// "charged", "usable" for "unable").
func dictionaryCollisions(t *testing.T, a *Analyzer) []string {
	t.Helper()
	f, err := os.Open(dictPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s absent (apt-get install wamerican)", dictPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &scan{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := sc.Text()
		if w != strings.ToLower(w) || !asciiLetters(w) {
			continue
		}
		if e := a.fuzzyEntry(s, w); e != nil && a.words[w] == nil && !pluralPair(w, e.word) {
			out = append(out, w)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestRealWordsAreNotTypos checks that no English dictionary word is taken
// for a keyword at one edit: "they changed the logo" is not about a charge,
// "the app is usable" does not say it is unable. The words found are listed
// in realWords; ENRICH_DICT_PRINT=1 prints the table again after keyword
// changes.
func TestRealWordsAreNotTypos(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	got := dictionaryCollisions(t, a)
	if os.Getenv("ENRICH_DICT_PRINT") != "" {
		var b strings.Builder
		for i, w := range got {
			if i%10 == 0 {
				b.WriteString("\n\t")
			} else {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "%q,", w)
		}
		t.Logf("new realWords entries:%s", b.String())
	}
	if len(got) > 0 {
		t.Errorf("%d dictionary words read as typos of keywords; add them to realWords: %q", len(got), got)
	}
}
