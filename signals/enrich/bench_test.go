package enrich

import (
	"strings"
	"testing"

	"github.com/aftershock/aftershock/signals/realdata"
	"github.com/jdkato/prose/v2"
	"github.com/jonreiter/govader"
)

// benchTexts are the English labelled posts: BenchmarkEnrich and
// BenchmarkGovaderPolarity run over the same texts in one run.
func benchTexts(b *testing.B) []string {
	var texts []string
	for _, l := range loadLabelled(b, "testdata/labelled_en.tsv") {
		texts = append(texts, l.text)
	}
	return texts
}

func reportPosts(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

func BenchmarkEnrich(b *testing.B) {
	a := newTestAnalyzer(b, Config{Features: map[string][]string{"dark_mode": {"dark mode"}, "checkout": {"checkout", "check out"}}})
	texts := benchTexts(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Enrich(texts[i%len(texts)], "")
	}
	reportPosts(b)
}

func BenchmarkGovaderPolarity(b *testing.B) {
	gv := govader.NewSentimentIntensityAnalyzer()
	texts := benchTexts(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		gv.PolarityScores(texts[i%len(texts)])
	}
	reportPosts(b)
}

// BenchmarkProseTokenize is prose's tokenizer alone, for reference: it costs
// about as much as govader's whole scoring, which is why Enrich has its own
// scanner (checked against prose in TestTokensMatchProse).
func BenchmarkProseTokenize(b *testing.B) {
	texts := benchTexts(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		doc, _ := prose.NewDocument(texts[i%len(texts)], prose.WithTagging(false), prose.WithSegmentation(false), prose.WithExtraction(false))
		doc.Tokens()
	}
	reportPosts(b)
}

func BenchmarkEnrichKorean(b *testing.B) {
	a := newTestAnalyzer(b, Config{})
	var texts []string
	for _, l := range loadLabelled(b, "testdata/labelled_ko.tsv") {
		texts = append(texts, l.text)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Enrich(texts[i%len(texts)], "")
	}
	reportPosts(b)
}

func BenchmarkEnrichLong(b *testing.B) {
	a := newTestAnalyzer(b, Config{})
	text := strings.Repeat("checkout keeps failing since the 4.2 update, can't log in 😡 #fail @shop ", 40)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		a.Enrich(text, "")
	}
}

// BenchmarkEnrichKoreanReviews enriches real Korean reviews (the validation
// split, when ../shared/data is there): model, rules and lexicons together.
func BenchmarkEnrichKoreanReviews(b *testing.B) {
	all, err := realdata.ReadKoReviews(sharedData, "train.tsv")
	skipAbsent(b, err)
	var texts []string
	for _, r := range all {
		if realdata.KoValidation(r.Text) {
			texts = append(texts, r.Text)
		}
	}
	a := newTestAnalyzer(b, Config{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Enrich(texts[i%len(texts)], "")
	}
	reportPosts(b)
}

// BenchmarkKoreanModel is the Korean polarity model alone on real reviews.
func BenchmarkKoreanModel(b *testing.B) {
	all, err := realdata.ReadKoReviews(sharedData, "train.tsv")
	skipAbsent(b, err)
	m, err := loadKoModel()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Logit(all[i%len(all)].Text)
	}
	reportPosts(b)
}

// BenchmarkEnrichEnglishReviews enriches real English app reviews (the fit
// part, when ../shared/data is there): long texts, where the English
// complaint model is asked most often.
func BenchmarkEnrichEnglishReviews(b *testing.B) {
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(b, err)
	var texts []string
	for _, r := range all {
		if realdata.AppSplit(r.Text) == realdata.AppFit {
			texts = append(texts, r.Text)
		}
	}
	a := newTestAnalyzer(b, Config{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Enrich(texts[i%len(texts)], "")
	}
	reportPosts(b)
}

// BenchmarkEnglishModel is the English complaint model alone on real reviews.
func BenchmarkEnglishModel(b *testing.B) {
	all, err := realdata.ReadAppReviews(sharedData)
	skipAbsent(b, err)
	m, err := loadEnModel()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Logit(all[i%len(all)].Text)
	}
	reportPosts(b)
}

// BenchmarkSocialModel is the social complaint model alone, over the
// English and Korean labelled posts (the English app reviews' cost per post
// is in BenchmarkEnglishModel: the same kind of model, twice the buckets).
func BenchmarkSocialModel(b *testing.B) {
	m, err := loadSocialModel()
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	for _, f := range []string{"testdata/labelled_en.tsv", "testdata/labelled_ko.tsv"} {
		for _, l := range loadLabelled(b, f) {
			texts = append(texts, l.text)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Prob(texts[i%len(texts)])
	}
	reportPosts(b)
}
