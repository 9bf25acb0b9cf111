package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aftershock/aftershock/detector/scenarios"
	"github.com/aftershock/aftershock/signals/realdata"
	"github.com/aftershock/aftershock/signals/textmodel"
)

// fakeKo writes a small ko-reviews folder of made-up lines (the real data
// stays outside the repository).
func fakeKo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("label\trating\ttext\n")
	pos := []string{"정말 재밌어요", "최고의 영화", "배우 연기 좋아요", "감동적이에요"}
	neg := []string{"시간 아까움", "지루해요", "최악의 영화", "돈 아까워요"}
	for i := range 200 {
		fmt.Fprintf(&b, "1\t10\t%s %d\n0\t1\t%s %d\n", pos[i%4], i, neg[i%4], i)
	}
	if err := os.MkdirAll(filepath.Join(dir, "ko-reviews"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train.tsv", "dev.tsv"} {
		if err := os.WriteFile(filepath.Join(dir, "ko-reviews", f), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestKoPolarityWritesSameBytes(t *testing.T) {
	old := KoPolarity
	KoPolarity.Features.Bits = 16 // small and quick; the setting is otherwise the frozen one
	defer func() { KoPolarity = old }()
	data := fakeKo(t)
	var files [][]byte
	for i := range 2 {
		dst := filepath.Join(t.TempDir(), fmt.Sprintf("m%d.astm", i))
		var out bytes.Buffer
		if err := run([]string{"ko-polarity", "-data", data, "-out", dst, "-dev"}, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"validation:", "DEV (held out):", "wrote "} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("two runs on the same input wrote different model bytes")
	}
	m, err := textmodel.Load(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Prob("정말 재밌어요") < 0.5 || m.Prob("시간 아까움") > 0.5 {
		t.Error("model does not separate its training lines")
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"ko-polarity", "-data", t.TempDir()}, {"en-complaint", "-data", t.TempDir()},
		{"social-complaint", "-sets", t.TempDir()}, {"social-complaint", "-sets", "../../signals/testdata", "-data", t.TempDir()}} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

// TestShippedModelRebuilds retrains the Korean model from ../shared/data and
// compares it with the embedded file byte for byte. It takes about 20 s of
// CPU, so it runs only with AFTERSHOCK_TRAIN=1.
func TestShippedModelRebuilds(t *testing.T) {
	if os.Getenv("AFTERSHOCK_TRAIN") == "" {
		t.Skip("set AFTERSHOCK_TRAIN=1 to retrain the shipped model and compare bytes")
	}
	data := "../../../shared/data"
	if _, err := os.Stat(filepath.Join(data, "ko-reviews", "train.tsv")); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "ko.astm")
	if err := run([]string{"ko-polarity", "-data", data, "-out", dst}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../signals/enrich/data/ko_polarity.astm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("retrained model differs from signals/enrich/data/ko_polarity.astm")
	}
}

// TestEnComplaintModelRebuilds retrains the English complaint model from
// ../shared/data/app-reviews (a second or two) and compares it with the
// embedded file byte for byte.
func TestEnComplaintModelRebuilds(t *testing.T) {
	data := "../../../shared/data"
	if _, err := os.Stat(filepath.Join(data, "app-reviews", "reviews.tsv")); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	var files [][]byte
	for i := range 2 {
		dst := filepath.Join(t.TempDir(), fmt.Sprintf("en%d.astm", i))
		var out bytes.Buffer
		if err := run([]string{"en-complaint", "-data", data, "-out", dst}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Platt scaling on the check part") {
			t.Errorf("output lacks the calibration line:\n%s", out.String())
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("two runs on the same input wrote different model bytes")
	}
	want, err := os.ReadFile("../../signals/enrich/data/en_complaint.astm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files[0], want) {
		t.Fatal("retrained model differs from signals/enrich/data/en_complaint.astm")
	}
}

// TestScenarioHalfAgrees checks realdata.AppReview.ScenarioTune against the
// pools of real texts the judge's scenarios load for each half: every pool
// text of the held-out half must be a review the English model may not learn.
func TestScenarioHalfAgrees(t *testing.T) {
	data := "../../../shared/data"
	all, err := realdata.ReadAppReviews(data)
	if errors.Is(err, realdata.ErrAbsent) {
		t.Skipf("real data absent: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	byText := map[string]realdata.AppReview{}
	for _, r := range all {
		byText[r.Text] = r
	}
	for _, half := range []string{scenarios.Tune, scenarios.HeldOut} {
		p, err := scenarios.LoadPools(data, half)
		if err != nil {
			t.Fatal(err)
		}
		n, found := 0, 0
		for _, pool := range [][]scenarios.Review{p.ENIncident, p.ENComplaint, p.ENPraise, p.ENNeutral} {
			for _, pr := range pool {
				n++
				r, ok := byText[pr.Text]
				if !ok {
					r, ok = byText[pr.Text+"."] // a title without a comment
				}
				if !ok {
					continue
				}
				found++
				if r.ScenarioTune() != (half == scenarios.Tune) {
					t.Fatalf("%s pool text has ScenarioTune %v: %q", half, r.ScenarioTune(), pr.Text)
				}
			}
		}
		t.Logf("%s: %d pool texts, %d matched to a review", half, n, found)
		if found < n*9/10 {
			t.Errorf("%s: only %d of %d pool texts matched to a review", half, found, n)
		}
	}
}

// TestSocialComplaintModelRebuilds retrains the social-post complaint model
// from the five labelled sets in the repository and the app reviews in
// ../shared/data (about two seconds) and compares it with the embedded file
// byte for byte: the same input gives the same model.
func TestSocialComplaintModelRebuilds(t *testing.T) {
	data := "../../../shared/data"
	if _, err := os.Stat(filepath.Join(data, "app-reviews", "reviews.tsv")); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "social.astm")
	var out bytes.Buffer
	if err := run([]string{"social-complaint", "-sets", "../../signals/testdata", "-data", data, "-out", dst}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Platt scaling on the out-of-fold logits") {
		t.Errorf("output lacks the calibration line:\n%s", out.String())
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../signals/enrich/data/social_complaint.astm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("retrained model differs from signals/enrich/data/social_complaint.astm")
	}
	m, err := textmodel.Load(got)
	if err != nil {
		t.Fatal(err)
	}
	if m.Features != SocialComplaint.Features {
		t.Errorf("model features %+v, want %+v", m.Features, SocialComplaint.Features)
	}
}

// TestSocialSetsExcludeReserved: the training sets never include the blind
// sets kept for CI floors and the one reserved measurement.
func TestSocialSetsExcludeReserved(t *testing.T) {
	for _, s := range SocialSets {
		if s == "complaints-heldout" || s == "complaints-heldout2" || s == "complaints-heldout6" || s == "complaints-heldout7" {
			t.Errorf("training set %s is reserved", s)
		}
	}
}

// TestSocialPlainSet: -plain reads complaints-plain as a sixth set, after
// the five (so the cross-validation's mean5 is over the original folds);
// no text of it is in the other five, so the sixth fold is out of training
// when it is the test fold; -plainx repeats only that set in training.
func TestSocialPlainSet(t *testing.T) {
	five, err := readSocialSets("../../signals/testdata", false)
	if err != nil {
		t.Fatal(err)
	}
	six, err := readSocialSets("../../signals/testdata", true)
	if err != nil {
		t.Fatal(err)
	}
	if len(five) != socialOriginal || len(six) != socialOriginal+1 {
		t.Fatalf("got %d and %d sets, want %d and %d", len(five), len(six), socialOriginal, socialOriginal+1)
	}
	if len(SocialSets) != socialOriginal {
		t.Errorf("SocialSets has %d sets, want %d", len(SocialSets), socialOriginal)
	}
	plain := six[socialOriginal]
	complaints := 0
	for _, p := range plain.posts {
		if p.Complaint {
			complaints++
		}
	}
	if plain.name != SocialPlainSet || len(plain.posts) != 1100 || complaints != 497 {
		t.Errorf("%s: %d posts, %d complaints; want %s, 1100, 497", plain.name, len(plain.posts), complaints, SocialPlainSet)
	}
	seen := map[string]bool{}
	for _, s := range five {
		for _, p := range s.posts {
			seen[p.Text] = true
		}
	}
	for _, p := range plain.posts {
		if seen[p.Text] {
			t.Errorf("complaints-plain text also in another set: %q", p.Text)
		}
	}
	defer func(n int) { plainTimes = n }(plainTimes)
	plainTimes = 3
	n := len(trainExamples(six))
	if want := len(trainExamples(five)) + 3*len(plain.posts); n != want {
		t.Errorf("-plainx 3: %d training examples, want %d", n, want)
	}
}
