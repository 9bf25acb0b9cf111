package enrich

import (
	"strings"
	"testing"

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
