package enrich

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aftershock/aftershock/signals/realdata"
)

// TestFPPrint (ENRICH_FP_PRINT=fit|check) prints the app reviews of one tune
// part that are no complaint by their label but counted as one, with 3
// stars or more: the texts the judge's scenarios replay as praise and
// neutral chatter. ENRICH_FP_TYPOS=1 adds phone typos first (3 % of words,
// as the scenarios do). Diagnostic only: no assertions.
func TestFPPrint(t *testing.T) {
	part := os.Getenv("ENRICH_FP_PRINT")
	if part == "" {
		t.Skip("ENRICH_FP_PRINT unset")
	}
	if part != realdata.AppFit && part != realdata.AppCheck {
		t.Fatalf("ENRICH_FP_PRINT=%s: only the tune parts fit and check", part)
	}
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	a := newTestAnalyzer(t, Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	n, fp := 0, 0
	pool := map[string][2]int{}
	for _, r := range all {
		// only reviews of the judge's tune half (its held-out scenarios
		// replay the others)
		if realdata.AppSplit(r.Text) != part || r.Complaint() || r.Stars < 3 || r.Label == "Bug" || !r.ScenarioTune() {
			continue
		}
		text := r.Text
		if os.Getenv("ENRICH_FP_TYPOS") != "" {
			text = typoText(rng, text)
		}
		n++
		e := a.Enrich(text, "")
		name := "neutral"
		if r.Stars >= 4 && r.Label != "Feature" {
			name = "praise"
		}
		c := pool[name]
		c[0]++
		if e.Negative() {
			c[1]++
		}
		pool[name] = c
		if e.Negative() {
			fp++
			t.Logf("%d %s s%.2f p%.2f %v | %s", r.Stars, r.Label, e.Sentiment, a.en.Prob(text), e.Categories, text)
		}
	}
	t.Logf("%d of %d counted; by pool (all, counted) %v", fp, n, pool)
}

func typoText(rng *rand.Rand, text string) string {
	words := strings.Split(text, " ")
	for i, w := range words {
		rs := []rune(w)
		if utf8.RuneCountInString(w) < 3 || rng.Float64() >= 0.03 {
			continue
		}
		j := 1 + rng.IntN(len(rs)-2)
		switch rng.IntN(3) {
		case 0:
			rs[j], rs[j+1] = rs[j+1], rs[j]
		case 1:
			rs = append(rs[:j], rs[j+1:]...)
		default:
			rs = append(rs[:j+1], rs[j:]...)
		}
		words[i] = string(rs)
	}
	return strings.Join(words, " ")
}

// TestNotMineFlips (ENRICH_FLIPS=1) prints the tune-part app reviews (fit,
// check) and Korean train reviews whose complaint decision the not-mine
// rules (news, status, fixed, elsewhere, questions) change. Diagnostic only.
func TestNotMineFlips(t *testing.T) {
	if os.Getenv("ENRICH_FLIPS") == "" {
		t.Skip("ENRICH_FLIPS unset")
	}
	a := newTestAnalyzer(t, Config{})
	flip := func(text string) (bool, bool) {
		notMineRules = false
		e0 := a.Enrich(text, "")
		notMineRules = true
		e1 := a.Enrich(text, "")
		return e0.Negative(), e1.Negative()
	}
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, r := range all {
		if p := realdata.AppSplit(r.Text); p == realdata.AppHeldOut {
			continue
		}
		text := r.Text
		if os.Getenv("ENRICH_FLIPS") == "named" {
			// as the judge's scenarios name the product: "this app" -> "Shopr"
			for _, old := range []string{"this app", "This app", "the app", "The app", "this App"} {
				text = strings.Replace(text, old, "Shopr", 1)
			}
		}
		if os.Getenv("ENRICH_FLIPS") == "named" {
			text = clip240(text)
			if r.Stars <= 2 {
				// as incident posts: typos and a name or version in front, many draws
				for k := range 30 {
					v := typoText(rng, text)
					switch k % 4 {
					case 0:
						v = "@Shopr " + v
					case 1:
						v = "Shopr: " + v
					case 2:
						v = "v4.2 " + v
					}
					if b, f := flip(v); b != f {
						t.Logf("app %s variant complaint=%v %d %s: %v -> %v | %s", realdata.AppSplit(r.Text), r.Complaint(), r.Stars, r.Label, b, f, v)
					}
				}
			}
		}
		if b, f := flip(text); b != f {
			t.Logf("app %s complaint=%v %d %s: %v -> %v | %s", realdata.AppSplit(r.Text), r.Complaint(), r.Stars, r.Label, b, f, r.Text)
		}
	}
	ko, err := realdata.ReadKoReviews(sharedData, "train.tsv")
	skipAbsent(t, err)
	n := 0
	for _, r := range ko {
		if b, f := flip(r.Text); b != f {
			n++
			if n <= 60 {
				t.Logf("ko positive=%v: %v -> %v | %s", r.Positive, b, f, r.Text)
			}
		}
	}
	t.Logf("ko train: %d of %d flipped", n, len(ko))
}

// clip240 shortens a text as the judge's scenarios quote a review: at most
// 240 runes, at a sentence or word end past the middle.
func clip240(text string) string {
	const n = 240
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

// TestMissPrint (ENRICH_MISS_PRINT=fit|check) prints the 1–2 star app
// reviews of one tune part, in the judge's tune half only, that are not
// counted as complaints, clipped as the judge's scenarios quote them: what
// its incident (Bug) and background complaint pools lose. Diagnostic only.
func TestMissPrint(t *testing.T) {
	part := os.Getenv("ENRICH_MISS_PRINT")
	if part == "" {
		t.Skip("ENRICH_MISS_PRINT unset")
	}
	if part != realdata.AppFit && part != realdata.AppCheck {
		t.Fatalf("ENRICH_MISS_PRINT=%s: only the tune parts fit and check", part)
	}
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	a := newTestAnalyzer(t, Config{})
	pool := map[string][2]int{}
	for _, r := range all {
		if realdata.AppSplit(r.Text) != part || r.Stars > 2 || !r.ScenarioTune() {
			continue
		}
		text := clip240(r.Text)
		e := a.Enrich(text, "")
		name := "complaint"
		if r.Label == "Bug" {
			name = "incident"
		}
		c := pool[name]
		c[0]++
		if !e.Negative() {
			c[1]++
			t.Logf("%s %d %s s%.2f p%.2f %v | %s", name, r.Stars, r.Label, e.Sentiment, a.en.Prob(text), e.Categories, text)
		}
		pool[name] = c
	}
	t.Logf("missed by pool (all, missed) %v", pool)
}

// TestVariantMissPrint (ENRICH_VARIANT_PRINT=fit|check) scores 1–2 star
// Bug reviews of one tune part, in the judge's tune half only, in 40
// variants each made as the judge's scenarios make incident posts (named
// product, typos, a name or version in front, clipped) and prints those
// counted in fewer than all variants. Diagnostic only.
func TestVariantMissPrint(t *testing.T) {
	part := os.Getenv("ENRICH_VARIANT_PRINT")
	if part == "" {
		t.Skip("ENRICH_VARIANT_PRINT unset")
	}
	if part != realdata.AppFit && part != realdata.AppCheck {
		t.Fatalf("ENRICH_VARIANT_PRINT=%s: only the tune parts fit and check", part)
	}
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	a := newTestAnalyzer(t, Config{})
	rng := rand.New(rand.NewPCG(5, 6))
	total, counted := 0, 0
	for _, r := range all {
		if realdata.AppSplit(r.Text) != part || r.Stars > 2 || r.Label != "Bug" || !r.ScenarioTune() {
			continue
		}
		text := r.Text
		for _, old := range []string{"this app", "This app", "the app", "The app"} {
			text = strings.Replace(text, old, "Shopr", 1)
		}
		text = clip240(text)
		n := 0
		var miss string
		for k := range 40 {
			v := typoText(rng, text)
			switch k % 5 {
			case 0:
				v = "@Shopr " + v
			case 1:
				v = "Shopr: " + v
			case 2:
				v = v + " (4.12.0)"
			case 3:
				v = "#Shoppr " + v
			}
			if e := a.Enrich(v, ""); e.Negative() {
				n++
			} else {
				miss = v
			}
		}
		total += 40
		counted += n
		if n < 40 {
			t.Logf("%d/40 counted | %s", n, miss)
		}
	}
	t.Logf("variants counted %d of %d (%.3f)", counted, total, float64(counted)/float64(max(total, 1)))
}
