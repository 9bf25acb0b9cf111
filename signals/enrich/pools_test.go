package enrich

import (
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/signals/realdata"
)

// scenarioPool is one kind of text the judge's scenarios (detector/scenarios)
// replay: their pools, rebuilt here from the tune data only.
type scenarioPool struct {
	name      string
	complaint bool // the scenarios tag it incident or background complaint
	texts     []string
}

// tunePools rebuilds the scenarios' pools from tune data only: English app
// reviews in both realdata's tune parts (fit, check) and the scenarios' tune
// half; Korean reviews of train.tsv's validation split (the Korean model
// never trained on them).
func tunePools(t *testing.T) []scenarioPool {
	t.Helper()
	apps, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(t, err)
	ko, err := realdata.ReadKoReviews(sharedData, "train.tsv")
	skipAbsent(t, err)
	pools := []scenarioPool{
		{name: "en incident (1–2★ Bug)", complaint: true},
		{name: "en complaint (1–2★ other)", complaint: true},
		{name: "en praise (4–5★)"},
		{name: "en neutral (3★, Feature)"},
		{name: "ko incident (rated 1–2)", complaint: true},
		{name: "ko complaint (rated 3–4)", complaint: true},
		{name: "ko positive (rated 9–10)"},
	}
	for _, r := range apps {
		if realdata.AppSplit(r.Text) == realdata.AppHeldOut || !r.ScenarioTune() {
			continue
		}
		switch {
		case r.Stars <= 2 && r.Label == "Bug":
			pools[0].texts = append(pools[0].texts, r.Text)
		case r.Stars <= 2:
			pools[1].texts = append(pools[1].texts, r.Text)
		case r.Stars >= 4 && r.Label != "Bug" && r.Label != "Feature":
			pools[2].texts = append(pools[2].texts, r.Text)
		case r.Label != "Bug":
			pools[3].texts = append(pools[3].texts, r.Text)
		}
	}
	for _, r := range ko {
		if !realdata.KoValidation(r.Text) || strings.TrimSpace(r.Text) == "" {
			continue
		}
		switch {
		case r.Positive:
			pools[6].texts = append(pools[6].texts, r.Text)
		case r.Rating <= 2:
			pools[4].texts = append(pools[4].texts, r.Text)
		default:
			pools[5].texts = append(pools[5].texts, r.Text)
		}
	}
	return pools
}

// productNames are names like the scenarios' fictional products (not theirs).
var productNames = []struct{ en, ko string }{
	{"Cartly", "카틀리"}, {"Paywise", "페이와이즈"}, {"Sonora", "소노라"}, {"Routa", "루타"},
	{"Blinko", "블린코"}, {"Memora", "메모라"},
}

// asPost turns a review into a post the way the scenarios do: clipped to
// 240 runes, naming a product (45 %), a version (version > 0), typos (3 %
// of words), sometimes an emoji.
func asPost(rng *rand.Rand, text string, ko, complaint bool, version float64) string {
	text = clip240(text)
	p := productNames[rng.IntN(len(productNames))]
	name := p.en
	if ko && rng.Float64() < 0.7 {
		name = p.ko
	}
	if rng.Float64() < 0.45 {
		switch rng.IntN(5) {
		case 0:
			text = "@" + name + " " + text
		case 1:
			text += " #" + name
		case 2:
			text = name + ": " + text
		case 3:
			text += " " + name
		default:
			text = name + " " + text
		}
	}
	if rng.Float64() < version {
		v := []string{"4.12.0", "v4.12.0", "(4.12.0)"}[rng.IntN(3)]
		if ko {
			v = []string{"4.12.0 버전", "4.12 버전", "v4.12.0"}[rng.IntN(3)]
		}
		if rng.IntN(2) == 0 {
			text = v + " " + text
		} else {
			text += " " + v
		}
	}
	text = typoText(rng, text)
	if rng.Float64() < 0.08 {
		if complaint {
			text += " 😡"
		} else {
			text += " 👍"
		}
	}
	return text
}

// TestScenarioPools (ENRICH_POOLS=1, or =print to list the wrongly counted
// posts, =miss to list missed complaints) measures, per pool of the judge's
// tune scenarios, the share of posts counted as complaints: recall on
// complaint pools, the false complaint rate on the others, and precision at
// the scenarios' background mix. ENRICH_POOLS_VERSION=0.5 names a version in
// that share of posts (launch buzz). Diagnostic only: no assertions.
func TestScenarioPools(t *testing.T) {
	mode := os.Getenv("ENRICH_POOLS")
	if mode == "" {
		t.Skip("ENRICH_POOLS unset")
	}
	version := 0.0
	if v := os.Getenv("ENRICH_POOLS_VERSION"); v != "" {
		version = 0.5
	}
	a := newTestAnalyzer(t, Config{})
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range tunePools(t) {
		ko := strings.HasPrefix(p.name, "ko")
		counted := 0
		var lines []string
		for _, text := range p.texts {
			post := asPost(rng, text, ko, p.complaint, version)
			e := a.Enrich(post, "")
			if e.Negative() {
				counted++
			}
			if e.Negative() != p.complaint && (mode == "print" && !p.complaint || mode == "miss" && p.complaint) {
				lines = append(lines, strings.Join([]string{
					strings.Join(e.Categories, ","), strconv.FormatFloat(e.Sentiment, 'f', 2, 64), post}, " | "))
			}
		}
		sort.Strings(lines)
		for _, l := range lines {
			t.Log(l)
		}
		t.Logf("%-28s %6d posts, counted %.4f", p.name, len(p.texts), float64(counted)/float64(max(len(p.texts), 1)))
	}
}

// koInformation is the Kullback–Leibler information per post of a ×5 rise
// in counted complaints (I = λ1 ln(λ1/λ0) − λ1 + λ0, what sets a CUSUM's
// delay, Lorden 1971) in a Korean background of 11 % complaints (rated
// 1–4), the rest rated 9–10, the incident adding posts rated 1–2.
func koInformation(incident, complaint, other float64) float64 {
	const c = 0.11
	l0 := c*complaint + (1-c)*other
	l1 := l0 + 4*c*incident
	return l1*math.Log(l1/l0) - l1 + l0
}

// TestKoHappySweep (ENRICH_KO_HAPPY_SWEEP=1) prints, for thresholds of
// koHappy, the share of Korean validation reviews counted as complaints
// and the information of a ×5 rise. Diagnostic only.
func TestKoHappySweep(t *testing.T) {
	if os.Getenv("ENRICH_KO_HAPPY_SWEEP") == "" {
		t.Skip("ENRICH_KO_HAPPY_SWEEP unset")
	}
	a := newTestAnalyzer(t, Config{})
	pools := tunePools(t)
	defer func(v float64) { koHappy = v }(koHappy)
	for _, th := range []float64{0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 2} {
		koHappy = th
		var r [3]float64
		for k, p := range pools[4:] {
			rng := rand.New(rand.NewPCG(7, 8))
			n := 0
			for _, text := range p.texts {
				if e := a.Enrich(asPost(rng, text, true, p.complaint, 0), ""); e.Negative() {
					n++
				}
			}
			r[k] = float64(n) / float64(len(p.texts))
		}
		inc, cmpl := r[0], (r[0]*float64(len(pools[4].texts))+r[1]*float64(len(pools[5].texts)))/float64(len(pools[4].texts)+len(pools[5].texts))
		t.Logf("koHappy %.2f: rated 1–2 %.4f, rated 1–4 %.4f, rated 9–10 %.4f, I(×5) %.4f", th, inc, cmpl, r[2], koInformation(inc, cmpl, r[2]))
	}
}

// TestPoolFlips (ENRICH_FLIP=update|typo|veto) prints the tune-pool posts whose
// complaint decision one switch changes. Diagnostic only.
func TestPoolFlips(t *testing.T) {
	which := os.Getenv("ENRICH_FLIP")
	if which == "" {
		t.Skip("ENRICH_FLIP unset")
	}
	sw := map[string]*bool{"update": &updateNeedsCue, "typo": &typoRest, "veto": &koRulesVeto}[which]
	a := newTestAnalyzer(t, Config{})
	rng := rand.New(rand.NewPCG(7, 8))
	for _, p := range tunePools(t) {
		ko := strings.HasPrefix(p.name, "ko")
		for _, text := range p.texts {
			post := asPost(rng, text, ko, p.complaint, 0)
			*sw = false
			e0 := a.Enrich(post, "")
			*sw = true
			e1 := a.Enrich(post, "")
			if e0.Negative() != e1.Negative() {
				t.Logf("%s: %v -> %v | %s", p.name, e0.Negative(), e1.Negative(), post)
			}
		}
	}
}
