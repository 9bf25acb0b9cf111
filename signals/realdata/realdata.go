// Package realdata reads the real, human-labelled data sets in ../shared/data
// (see its README) and splits them by a stable hash, the same way for the
// training command and for the tests that hold the measured figures. The
// data stays outside the repository.
package realdata

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrAbsent is returned (wrapped) when the data folder is not there.
var ErrAbsent = errors.New("real data absent")

func hash(text string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(text))
	return h.Sum32()
}

// KoReview is one Korean movie review: its text and whether its writer
// rated it positive (9–10 stars) rather than negative (1–4).
type KoReview struct {
	Text     string
	Positive bool
	Rating   int // the writer's rating, 1–10 (0 when the file has none)
}

// KoValidation reports whether a review of train.tsv is in the validation
// split (1 in 10 by a stable hash of its text), used to choose and calibrate
// the Korean model; the rest is the training split.
func KoValidation(text string) bool { return hash(text)%10 == 0 }

// ReadKoReviews reads ko-reviews/<name> (train.tsv or dev.tsv) under dir.
func ReadKoReviews(dir, name string) ([]KoReview, error) {
	var out []KoReview
	err := readTSV(filepath.Join(dir, "ko-reviews", name), 3, func(p []string) error {
		if p[0] != "0" && p[0] != "1" {
			return fmt.Errorf("label %q", p[0])
		}
		rating, _ := strconv.Atoi(p[1])
		out = append(out, KoReview{Text: p[2], Positive: p[0] == "1", Rating: rating})
		return nil
	})
	return out, err
}

// AppReview is one English app-store review.
type AppReview struct {
	Label   string // Bug, Feature, Rating or UserExperience (human coders)
	Stars   int    // 1–5
	Text    string // title and comment
	Title   string
	Comment string
}

// Complaint is what counts as a complaint about the service: a review the
// coders labelled Bug (a problem report, whatever its stars), or a 1–2 star
// review labelled Rating or UserExperience (an unhappy user). A 1–2 star
// Feature review asks for something new and is not a complaint.
func (r AppReview) Complaint() bool {
	return r.Label == "Bug" || (r.Stars <= 2 && (r.Label == "Rating" || r.Label == "UserExperience"))
}

// App-review splits, by a stable hash of the text.
const (
	AppFit     = "fit"     // 5 in 10: models are fitted on it
	AppCheck   = "check"   // 2 in 10: settings are chosen on it
	AppHeldOut = "heldout" // 3 in 10: reported once, after freezing
)

// AppSplit returns the split of a review's text.
func AppSplit(text string) string {
	switch k := hash(text) % 10; {
	case k < 3:
		return AppHeldOut
	case k < 5:
		return AppCheck
	}
	return AppFit
}

// ScenarioTune reports whether the review is in the tune half of the judge's
// evaluation scenarios (detector/scenarios: FNV-1a 64 of "Title. comment"
// is even), which replay app reviews as posts. A model trained on app
// reviews learns only texts of that half, so that the judge's held-out
// scenarios replay no text a model has learned.
func (r AppReview) ScenarioTune() bool {
	var text string
	switch {
	case r.Title == "":
		text = r.Comment
	case r.Comment == "":
		text = r.Title
	case strings.ContainsAny(r.Title[len(r.Title)-1:], ".!?"):
		text = r.Title + " " + r.Comment
	default:
		text = r.Title + ". " + r.Comment
	}
	h := fnv.New64a()
	h.Write([]byte(text))
	return h.Sum64()%2 == 0
}

// ReadAppReviews reads app-reviews/reviews.tsv under dir: label, rating,
// title, comment. The title (ended by a full stop when it has no end
// punctuation) comes before the comment.
func ReadAppReviews(dir string) ([]AppReview, error) {
	var out []AppReview
	err := readTSV(filepath.Join(dir, "app-reviews", "reviews.tsv"), 4, func(p []string) error {
		stars, err := strconv.Atoi(p[1])
		if err != nil || stars < 1 || stars > 5 {
			return fmt.Errorf("rating %q", p[1])
		}
		title := strings.TrimSpace(p[2])
		if title != "" && !strings.ContainsAny(title[len(title)-1:], ".!?") {
			title += "."
		}
		out = append(out, AppReview{Label: p[0], Stars: stars, Text: strings.TrimSpace(title + " " + p[3]),
			Title: strings.TrimSpace(p[2]), Comment: strings.TrimSpace(p[3])})
		return nil
	})
	return out, err
}

func readTSV(path string, fields int, row func([]string) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, ErrAbsent)
	}
	if err != nil {
		return fmt.Errorf("read real data: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue // header
		}
		p := strings.SplitN(sc.Text(), "\t", fields)
		if len(p) != fields {
			return fmt.Errorf("%s:%d: want %d fields", path, line, fields)
		}
		if err := row(p); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// LabelledPost is one row of a labelled set of social posts
// (signals/testdata/complaints-*/posts.tsv: written and labelled by
// signals/testdata/complaints-heldout/RULES.md). Complaint and Categories
// are relative to Service, the service the row is about ("none": no
// service).
type LabelledPost struct {
	ID, Lang, Service string
	Complaint         bool
	Categories        []string
	Text              string
}

// ReadLabelledPosts reads one labelled set's posts.tsv (header `id lang
// service is_complaint categories text`). A row with another number of
// fields or a label other than 0 or 1 is an error naming its line.
func ReadLabelledPosts(path string) ([]LabelledPost, error) {
	var out []LabelledPost
	err := readTSV(path, 6, func(p []string) error {
		if p[3] != "0" && p[3] != "1" {
			return fmt.Errorf("is_complaint %q, want 0 or 1", p[3])
		}
		r := LabelledPost{ID: p[0], Lang: p[1], Service: p[2], Complaint: p[3] == "1", Text: p[5]}
		if p[4] != "" {
			r.Categories = strings.Split(p[4], ",")
		}
		out = append(out, r)
		return nil
	})
	return out, err
}
