package enrich

import (
	"slices"
	"testing"
)

// TestSocialModel shows what the social-post complaint model adds to the
// rules, on posts written for this test (none is from the labelled sets):
// keyword-free symptoms the rules miss become complaints (with no category:
// the model does not say what kind), while
// praise, questions and chatter stay none, and a complaint of the rules
// stays one whatever the model thinks (it never takes one back).
func TestSocialModel(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	for _, c := range []struct {
		name, text string
		rules      bool // what the rules alone decide (EnrichRules)
		want       bool
		cats       []string
	}{
		{"stuck ride, no keyword", "ridego says my ride is 2 min away for the last 25 min", false, true, nil},
		{"wrong balance, no keyword", "bankit shows my balance as 0.00 again, heart attack every morning", false, true, nil},
		{"ko: wrong location", "라이드고 기사님 위치가 계속 엉뚱한 데 찍혀요", false, true, nil},
		{"ko: message stuck sending", "톡톡 메시지 보내면 시계 표시만 계속 떠요", false, true, nil},
		{"ko: zero balance", "뱅킷 잔액이 0원으로 나와요 식겁함", false, true, nil},
		{"praise stays none", "the new payly design is so pretty, love it", false, false, nil},
		{"question stays none", "does anyone know if shop ships to canada?", false, false, nil},
		{"ko: chatter stays none", "톡톡 새 이모티콘 귀엽다", false, false, nil},
		{"ko: trip stays none", "셋째 주 금요일에 라이드고 타고 공항 갔어요", false, false, nil},
		// the model reads this one as no complaint (p 0.2): the rules' call stands
		{"ko: a rules complaint stays", "스트리미오 영상이 자꾸 멈춰요", true, true, []string{"crash"}},
		{"a rules complaint keeps its category", "payly charged me twice for one coffee", true, true, []string{"payment"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := a.EnrichRules(c.text, ""); r.Negative() != c.rules {
				t.Errorf("rules alone: complaint %v, want %v (categories %v)", r.Negative(), c.rules, r.Categories)
			}
			e := a.Enrich(c.text, "")
			if e.Negative() != c.want || !slices.Equal(e.Categories, c.cats) {
				t.Errorf("complaint %v categories %v, want %v %v (p %.3f)", e.Negative(), e.Categories, c.want, c.cats, a.social.Prob(c.text))
			}
		})
	}
}

func TestSocialDecision(t *testing.T) {
	for _, c := range []struct {
		rules bool
		p     float64
		want  bool
	}{
		{false, 0.2, false},
		{false, SocialAddMin - 0.01, false},
		{false, SocialAddMin, true},
		{true, 0.001, true}, // never taken back
		{true, 0.99, true},
	} {
		if got := SocialDecision(c.rules, c.p); got != c.want {
			t.Errorf("SocialDecision(%v, %.3f) = %v, want %v", c.rules, c.p, got, c.want)
		}
	}
}

// TestSocialOtherLanguages: the model speaks only for English and Korean.
func TestSocialOtherLanguages(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	text := "ridego dit que mon chauffeur arrive dans 2 min depuis 25 min"
	e := a.Enrich(text, "fr")
	if e.Lang == "en" || e.Lang == "ko" {
		t.Skipf("detected as %s", e.Lang)
	}
	if r := a.EnrichRules(text, "fr"); e.Negative() != r.Negative() || !slices.Equal(e.Categories, r.Categories) {
		t.Errorf("%s post: complaint %v %v, rules alone %v %v", e.Lang, e.Negative(), e.Categories, r.Negative(), r.Categories)
	}
}

// TestSocialModelNoAlloc: scoring a post with the social model allocates
// nothing once its buffer pool is warm.
func TestSocialModelNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	a := newTestAnalyzer(t, Config{})
	text := "ridego says my ride is 2 min away for the last 25 min"
	a.social.Prob(text)
	if n := testing.AllocsPerRun(200, func() { a.social.Prob(text) }); n != 0 {
		t.Errorf("%.1f allocations per post", n)
	}
}

// TestEnrichEvidence: EnrichEvidence reports what the rules' complaint
// decision rested on (the cross-validation of cmd/aftershock-train compares
// vetoes by it) and decides as EnrichRules does.
func TestEnrichEvidence(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	type ev struct{ strong, generic, category, negative, koModel, notMine bool }
	for _, c := range []struct {
		text      string
		complaint bool
		want      ev
	}{
		{"payly charged me twice for one coffee", true, ev{strong: true, category: true}},
		{"checkout is broken", true, ev{generic: true, category: true, negative: true}},
		{"this is the worst, I hate it so much", true, ev{negative: true}},
		{"streamio is down for everyone, says downdetector", false, ev{strong: true, notMine: true}},
		{"the new design is lovely", false, ev{}},
		{"앱이 자꾸 튕겨요", true, ev{strong: true, category: true, negative: true}},
		{"진짜 최악이다 짜증나", true, ev{negative: true, koModel: true}},
	} {
		e, x := a.EnrichEvidence(c.text, "")
		got := ev{x.Strong, x.Generic, x.Category, x.Negative, x.KoModel, x.NotMine}
		if e.Negative() != c.complaint || got != c.want {
			t.Errorf("%q: complaint %v evidence %+v, want %v %+v", c.text, e.Negative(), got, c.complaint, c.want)
		}
		if x.Strong && !x.Word || x.Generic && !x.Word {
			t.Errorf("%q: a strong term or generic word without Word: %+v", c.text, x)
		}
		if r := a.EnrichRules(c.text, ""); r.Negative() != e.Negative() {
			t.Errorf("%q: EnrichEvidence says %v, EnrichRules %v", c.text, e.Negative(), r.Negative())
		}
		if (e.Lang == "en") != (x.EnProb > 0) {
			t.Errorf("%q (%s): English model probability %.3f", c.text, e.Lang, x.EnProb)
		}
	}
}
