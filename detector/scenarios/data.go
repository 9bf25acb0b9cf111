package scenarios

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Halves of the evaluation set. Every real text belongs to exactly one half,
// decided before any tuning (see Split), so the held-out scenarios are made
// of texts the detector was never tuned on.
const (
	Tune    = "tune"
	HeldOut = "heldout"
	// Tune2 is a wider tune set: the tune texts with other seeds, four
	// scenarios of each kind (101…). Tune on it as on Tune; it found the
	// error-count chart reading a dependency's burst as a regression
	// (session 7), which the two seeds per kind of Tune never showed.
	Tune2 = "tune2"
	// HeldOut2 is a fresh held-out set: the held-out texts with new seeds
	// (scenarios 5001…, clean replay 5007), fixed on 2026-12-07 before any
	// tuning of that session, because the first held-out set had been looked
	// at twice. Run once, by the coordinator, after the judge is frozen.
	HeldOut2 = "heldout2"
	// HeldOut3 is the next fresh held-out set, fixed on 2026-12-07 (session
	// 4) before any tuning of that session, because heldout2 was spent: the
	// held-out texts with new seeds, four scenarios of each kind (9001…),
	// clean replay 9007. Run once, by the coordinator, after the judge is
	// frozen.
	HeldOut3 = "heldout3"
	// HeldOut4 is the next fresh held-out set, fixed on 2026-12-07 (session
	// 5) before any tuning of that session, because heldout3 was spent: the
	// held-out texts with new seeds, four scenarios of each kind (13001…),
	// clean replay 13007. Run once, by the coordinator, after the judge is
	// frozen.
	HeldOut4 = "heldout4"
	// HeldOut5 is the next fresh held-out set, fixed on 2026-12-07 (session
	// 5, after heldout4 was run) before the Korean lexicon change that
	// followed: the held-out texts with new seeds, four scenarios of each
	// kind (17001…), clean replay 17007. Run once, by the coordinator,
	// after the judge is frozen.
	HeldOut5 = "heldout5"
	// HeldOut6 is the next fresh held-out set, fixed on 2026-12-07 (session
	// 6) before any tuning of that session, because heldout5 was spent: the
	// held-out texts with new seeds, four scenarios of each kind (21001…),
	// clean replay 21007. Run once, by the coordinator, after the judge is
	// frozen.
	HeldOut6 = "heldout6"
	// HeldOut7 is the next fresh held-out set, fixed on 2026-12-07 at the
	// end of session 6, after heldout6 was run and before any later
	// change to the judge: the held-out texts with new seeds, four
	// scenarios of each kind (25001…), clean replay 25007. Run once, by
	// the coordinator, after the judge is frozen.
	HeldOut7 = "heldout7"
	// HeldOut8 is the next fresh held-out set, fixed on 2026-12-07 in
	// session 7, after heldout7 was run and before any later change to
	// the judge: the held-out texts with new seeds, four scenarios of
	// each kind (29001…), clean replay 29007. Run once, by the
	// coordinator, after the judge is frozen.
	HeldOut8 = "heldout8"
	// HeldOut9 is the next fresh held-out set, fixed on 2026-12-07 in
	// session 8, after heldout8 was run and before any later change to
	// the judge: the held-out texts with new seeds, four scenarios of
	// each kind (33001…), clean replay 33007. Run once, by the
	// coordinator, after the judge is frozen.
	HeldOut9 = "heldout9"
	// HeldOut10 is the next fresh held-out set, fixed on 2026-12-07 at
	// the end of session 8, after heldout9 was run and before any later
	// change to the judge: the held-out texts with new seeds, four
	// scenarios of each kind (37001…), clean replay 37007. Run once, by
	// the coordinator, after the judge is frozen.
	HeldOut10 = "heldout10"
	// HeldOut11 is the next fresh held-out set, fixed on 2026-12-08 in
	// session 9 before heldout10 was run: the held-out texts with new
	// seeds, four scenarios of each kind (41001…), clean replay 41007.
	// Run once, by the coordinator, after the judge is frozen.
	HeldOut11 = "heldout11"
)

// HalfNames are the halves: the two text halves and the fresh held-out
// sets made of the held-out texts.
var HalfNames = []string{Tune, Tune2, HeldOut, HeldOut2, HeldOut3, HeldOut4, HeldOut5, HeldOut6, HeldOut7, HeldOut8, HeldOut9, HeldOut10, HeldOut11}

// set is what defines a set of scenarios, fixed before it was used: its
// texts, the seed of its first scenario, how many scenarios of each kind
// it has and the seed of its clean month.
type set struct {
	texts   string
	base    uint64
	perKind int
	month   uint64
}

// sets holds every set's definition. The fresh held-out sets from
// HeldOut3 on have twice the scenarios of each kind, so "every incident
// halted" is tried on 48 incidents.
var sets = map[string]set{
	Tune:      {Tune, 1, SeedsPerKind, 7},
	Tune2:     {Tune, 101, HeldOut3SeedsPerKind, 107},
	HeldOut:   {HeldOut, 1001, SeedsPerKind, 1007},
	HeldOut2:  {HeldOut, 5001, SeedsPerKind, 5007},
	HeldOut3:  {HeldOut, 9001, HeldOut3SeedsPerKind, 9007},
	HeldOut4:  {HeldOut, 13001, HeldOut3SeedsPerKind, 13007},
	HeldOut5:  {HeldOut, 17001, HeldOut3SeedsPerKind, 17007},
	HeldOut6:  {HeldOut, 21001, HeldOut3SeedsPerKind, 21007},
	HeldOut7:  {HeldOut, 25001, HeldOut3SeedsPerKind, 25007},
	HeldOut8:  {HeldOut, 29001, HeldOut3SeedsPerKind, 29007},
	HeldOut9:  {HeldOut, 33001, HeldOut3SeedsPerKind, 33007},
	HeldOut10: {HeldOut, 37001, HeldOut3SeedsPerKind, 37007},
	HeldOut11: {HeldOut, 41001, HeldOut3SeedsPerKind, 41007},
}

// Texts names the half whose texts a set is made of: HeldOut2 to HeldOut11
// use the held-out texts.
func Texts(half string) string {
	if d, ok := sets[half]; ok {
		return d.texts
	}
	return half
}

// ErrNoData is returned when the shared data folder is absent.
var ErrNoData = errors.New("shared data folder not found")

// DataDir finds ../shared/data beside the repository (the folder that holds
// go.mod), or the folder named by AFTERSHOCK_DATA. It returns ErrNoData when
// neither exists.
func DataDir() (string, error) {
	if d := os.Getenv("AFTERSHOCK_DATA"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "app-reviews", "reviews.tsv")); err != nil {
			return "", fmt.Errorf("%w: AFTERSHOCK_DATA=%s: %v", ErrNoData, d, err)
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(filepath.Join(d, "app-reviews", "reviews.tsv")); err != nil {
				return "", fmt.Errorf("%w: %s (want ../shared/data beside the repository, see /work/shared/data/README.md)", ErrNoData, d)
			}
			return d, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: no go.mod above the working directory", ErrNoData)
		}
		dir = parent
	}
}

// Review is one human-written text with its human label and stars.
type Review struct {
	Text string
	// Label: app reviews Bug, Feature, Rating or UserExperience; Korean
	// reviews "pos" or "neg".
	Label string
	// Stars is the author's own rating on a 1–5 scale (Korean 1–10 ratings
	// halved, rounded up).
	Stars int
	Lang  string
}

// Pools are the real texts of one half, sorted into what a generator draws.
type Pools struct {
	Half string
	// EN: English app reviews.
	ENPraise    []Review // 4–5 stars (background and launch buzz)
	ENNeutral   []Review // 3 stars, and 4–5 stars not labelled Bug
	ENComplaint []Review // 1–2 stars, any label (ordinary background complaints)
	ENIncident  []Review // 1–2 stars labelled Bug (incident complaints)
	// KO: Korean reviews.
	KOPositive  []Review // label 1 (rating 9–10)
	KONegative  []Review // label 0 (rating 1–4): ordinary complaints
	KOIncident  []Review // rating 1–2: incident complaints
	KOEnthusing []Review // rating 10: launch buzz
	// Social posts mixed into the draws (WithSocial; none by default).
	SocialSet                        string
	SocialShare                      float64
	ENSocialComplaint, ENSocialOther []Review
	KOSocialComplaint, KOSocialOther []Review
}

// Split names the half a text belongs to: a stable FNV-1a hash of the text,
// even to tune and odd to held-out. It depends on nothing but the text, so
// the split is fixed before anything is tuned and the same on every machine.
func Split(text string) string {
	h := fnv.New64a()
	h.Write([]byte(text))
	if h.Sum64()%2 == 0 {
		return Tune
	}
	return HeldOut
}

// LoadPools reads the real texts of one half from the shared data folder.
// English app reviews are split by Split; Korean reviews are split by file
// (train.tsv is the tune half, dev.tsv the held-out half: NSMC splits them
// by movie, so no movie is in both).
func LoadPools(dataDir, half string) (*Pools, error) {
	if !slices.Contains(HalfNames, half) {
		return nil, fmt.Errorf("unknown half %q (want one of %s)", half, strings.Join(HalfNames, ", "))
	}
	p := &Pools{Half: half}
	err := readTSV(filepath.Join(dataDir, "app-reviews", "reviews.tsv"), 4, func(f []string) {
		text := joinReview(f[2], f[3])
		stars, err := strconv.Atoi(f[1])
		if text == "" || err != nil || Split(text) != Texts(half) {
			return
		}
		r := Review{Text: text, Label: f[0], Stars: stars, Lang: "en"}
		switch {
		case stars <= 2 && r.Label == "Bug":
			p.ENIncident = append(p.ENIncident, r)
			p.ENComplaint = append(p.ENComplaint, r)
		case stars <= 2:
			p.ENComplaint = append(p.ENComplaint, r)
		case stars >= 4 && r.Label != "Bug" && r.Label != "Feature":
			p.ENPraise = append(p.ENPraise, r)
		case r.Label != "Bug":
			p.ENNeutral = append(p.ENNeutral, r)
		}
	})
	if err != nil {
		return nil, err
	}
	file := "train.tsv"
	if Texts(half) == HeldOut {
		file = "dev.tsv"
	}
	err = readTSV(filepath.Join(dataDir, "ko-reviews", file), 3, func(f []string) {
		rating, err := strconv.Atoi(f[1])
		text := strings.TrimSpace(f[2])
		if err != nil || text == "" {
			return
		}
		r := Review{Text: text, Stars: (rating + 1) / 2, Lang: "ko"}
		if f[0] == "1" {
			r.Label = "pos"
			p.KOPositive = append(p.KOPositive, r)
			if rating == 10 {
				p.KOEnthusing = append(p.KOEnthusing, r)
			}
			return
		}
		r.Label = "neg"
		p.KONegative = append(p.KONegative, r)
		if rating <= 2 {
			p.KOIncident = append(p.KOIncident, r)
		}
	})
	if err != nil {
		return nil, err
	}
	for name, n := range map[string]int{
		"English praise": len(p.ENPraise), "English neutral": len(p.ENNeutral), "English complaints": len(p.ENComplaint),
		"English incident complaints": len(p.ENIncident), "Korean positive": len(p.KOPositive), "Korean negative": len(p.KONegative),
		"Korean incident complaints": len(p.KOIncident), "Korean enthusing": len(p.KOEnthusing),
	} {
		if n < 20 {
			return nil, fmt.Errorf("loading %s texts: only %d %s texts in %s", half, n, name, dataDir)
		}
	}
	return p, nil
}

// joinReview makes one post of an app review's title and comment, the way
// people paste them: "Title. comment" or just the comment.
func joinReview(title, comment string) string {
	title, comment = strings.TrimSpace(title), strings.TrimSpace(comment)
	switch {
	case title == "":
		return comment
	case comment == "":
		return title
	case strings.ContainsAny(title[len(title)-1:], ".!?"):
		return title + " " + comment
	}
	return title + ". " + comment
}

// readTSV calls row for every data row (after the header) with exactly
// fields fields; other rows are skipped.
func readTSV(path string, fields int, row func([]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading real texts: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != fields {
			continue
		}
		row(parts)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}
