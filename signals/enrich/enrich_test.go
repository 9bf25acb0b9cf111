package enrich

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jdkato/prose/v2"
)

func newTestAnalyzer(t testing.TB, cfg Config) *Analyzer {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestTokens(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	cases := []struct {
		text string
		want []string
	}{
		{"can't log in since the 4.2 update", []string{"can't", "log", "in", "since", "the", "4.2", "update"}},
		{"@ShopApp @bob@mastodon.social pls #ShopDown!!", []string{"@shopapp", "@bob@mastodon.social", "pls", "#shopdown"}},
		{"see https://shop.example.com/x?y=1, now", []string{"see", "now"}},
		{"checkout keeps failing 😡😡", []string{"checkout", "keeps", "failing", "😡", "😡"}},
		{"thumbs 👍🏽 up ❤️", []string{"thumbs", "👍", "up", "❤"}},
		{"works :) but :-( sometimes <3", []string{"works", ":)", "but", ":-(", "sometimes", "<3"}},
		{"sooooo goooood", []string{"soo", "good"}},
		{"This Is GREAT", []string{"this", "is", "great"}},
		{"don’t log-in/out", []string{"don't", "log", "in", "out"}},
		{"앱 업데이트 후 로그인 안돼요ㅠㅠㅠ", []string{"앱", "업데이트", "후", "로그인", "안돼요ㅠㅠ"}},
		{"4.2버전 최고", []string{"4.2", "버전", "최고"}},
		{"(\"quoted\") [x] $5", []string{"quoted", "x", "5"}},
		{"", nil},
		{"!!! ??? ...", nil},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			got := a.Enrich(c.text, "").Tokens
			if !slices.Equal(got, c.want) {
				t.Errorf("tokens = %q, want %q", got, c.want)
			}
		})
	}
}

// TestTokensMatchProse checks that on plain English the word tokens agree
// with prose's tokenizer, once prose's split contractions ("ca", "n't") are
// joined and punctuation tokens dropped.
func TestTokensMatchProse(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	texts := []string{
		"I can't believe the checkout failed again, it's the third time today.",
		"They said we'll get a refund (eventually) but nothing happened yet.",
		"Why is the app so slow? It doesn't even open on my phone!",
		"The new version is 4.2.1 and it crashes on launch; please fix it.",
	}
	for _, text := range texts {
		doc, err := prose.NewDocument(text, prose.WithTagging(false), prose.WithSegmentation(false), prose.WithExtraction(false))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, tok := range doc.Tokens() {
			w := strings.ToLower(tok.Text)
			switch {
			case strings.Trim(w, ".,;:!?()\"'") == "":
				continue
			case strings.HasPrefix(w, "'") || w == "n't":
				want[len(want)-1] += w
				continue
			}
			want = append(want, w)
		}
		if got := a.Enrich(text, "").Tokens; !slices.Equal(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", text, got, want)
		}
	}
}

func TestEnrich(t *testing.T) {
	a := newTestAnalyzer(t, Config{
		Features:  map[string][]string{"dark_mode": {"dark mode", "다크모드"}, "checkout": {"checkout", "check out", "결제"}},
		Keywords:  map[string][]string{"login": {"magic link"}},
		StopWords: []string{"crashbandicoot"},
	})
	cases := []struct {
		name      string
		text      string
		lang      string
		wantLang  string
		sentiment string // neg, neu, pos; or chatter: any polarity, not a complaint
		cats      []string
		versions  []string
		features  []string
		update    bool
	}{
		{"login after update", "can't log in since the 4.2 update", "", "en", "neg", []string{"login", "update"}, []string{"4.2"}, nil, true},
		{"checkout failing", "checkout keeps failing 😡", "", "en", "neg", []string{"payment"}, nil, []string{"checkout"}, false},
		{"praise", "love the new dark mode!!", "", "en", "pos", nil, nil, []string{"dark_mode"}, false},
		{"negated crash", "no crashes since the update 🙌", "", "en", "pos", nil, nil, nil, true},
		{"not slow anymore", "the app isn't slow anymore, finally", "", "en", "pos", nil, nil, nil, false},
		{"not working", "notifications not working", "", "en", "neg", []string{"bug"}, nil, nil, false},
		{"caps and bangs", "the checkout is BROKEN!!!", "", "en", "neg", []string{"payment"}, nil, []string{"checkout"}, false},
		{"but", "the design is nice but the app crashes constantly", "", "en", "neg", []string{"crash"}, nil, nil, false},
		{"fixed", "thanks for fixing the login issue so quickly!", "", "en", "pos", nil, nil, nil, false},
		{"versions", "updated to v5.1 then 5.1.2, build 1234, still on iOS 18.1.1", "", "en", "neu", nil, []string{"5.1", "5.1.2", "build 1234"}, nil, true},
		{"price is no version", "it costs 4.99 and has 4.5 stars", "", "en", "neu", nil, nil, nil, false},
		{"configured keyword", "the magic link never works", "", "en", "neg", []string{"login"}, nil, nil, false},
		{"stop word", "crashbandicoot is a fun game", "", "en", "pos", nil, nil, nil, false},
		{"ko login", "앱 업데이트 후 로그인 안돼요", "", "ko", "neg", []string{"login", "update"}, nil, nil, true},
		{"ko payment", "결제 오류 나요", "", "ko", "neg", []string{"payment"}, nil, []string{"checkout"}, false},
		{"ko praise", "새 디자인 너무 좋아요", "", "ko", "pos", nil, nil, nil, false},
		{"ko no problem", "문제 없어요 잘 됩니다", "", "ko", "pos", nil, nil, nil, false},
		{"ko not bad", "나쁘지 않네요 다크모드 굿", "", "ko", "pos", nil, nil, []string{"dark_mode"}, false},
		{"ko crash", "계속 튕겨요 ㅠㅠ", "", "ko", "neg", []string{"crash"}, nil, nil, false},
		{"ko download is no outage", "다운로드 했어요", "", "ko", "chatter", nil, nil, nil, false},
		// "페이" (pay) is a word of its own, with a particle or ending a
		// compound, not the start of "페이지" (page) or a name ("페이드").
		{"ko page is no payment", "페이지가 안 열려요", "", "ko", "neg", []string{"outage"}, nil, nil, false},
		{"ko name is no payment", "페이드 정말 좋아요", "", "ko", "pos", nil, nil, nil, false},
		{"ko pay with particle", "페이가 안 돼요", "", "ko", "neg", []string{"payment"}, nil, nil, false},
		{"ko pay compound", "삼성페이 오류", "", "ko", "neg", []string{"payment"}, nil, nil, false},
		// naming the version is release talk: praise with a number and a
		// word the movie-review model half dislikes is no update complaint
		{"ko praise naming the version", "2.15 버전 단언컨데 비교불가임", "", "ko", "chatter", nil, []string{"2.15"}, nil, true},
		{"ko version and a real problem", "4.2 버전 이후로 로그인 안 돼요", "", "ko", "neg", []string{"login", "update"}, []string{"4.2"}, nil, true},
		{"ko exact word with particle", "다운이 자꾸 돼서 짜증나요", "", "ko", "neg", []string{"outage"}, nil, nil, false},
		{"ko version", "버전 4.3 업데이트 했어요", "", "ko", "chatter", nil, []string{"4.3"}, nil, true},
		{"ko login no spaces", "로그인안됨", "", "ko", "neg", []string{"login"}, nil, nil, false},
		{"ko login 안되요", "로그인 안되요", "", "ko", "neg", []string{"login"}, nil, nil, false},
		{"ko payment ㅠㅠ", "결제가 안되네요ㅠㅠ", "", "ko", "neg", []string{"payment"}, nil, []string{"checkout"}, false},
		{"ko crash misspelled 팅김", "앱 계속 팅김", "", "ko", "neg", []string{"crash"}, nil, nil, false},
		{"ko crash slang after 업뎃", "업뎃하고 나서 앱이 꺼져버림", "", "ko", "neg", []string{"crash", "update"}, nil, nil, true},
		{"ko server down no spaces", "서버터짐?", "", "ko", "neg", []string{"outage"}, nil, nil, false},
		{"ko endless loading", "무한로딩 ㅠ", "", "ko", "neg", []string{"slow"}, nil, nil, false},
		{"ko photos gone misspelled", "사진 다 날라감", "", "ko", "neg", []string{"data_loss"}, nil, nil, false},
		{"ko charged twice", "결제 두번됨", "", "ko", "neg", []string{"payment"}, nil, []string{"checkout"}, false},
		{"ko code never comes", "인증번호 안옴", "", "ko", "neg", []string{"login"}, nil, nil, false},
		{"ko mixed with product and version", "Galaxy S24 업데이트 후 KakaoTalk 로그인 안됨 v10.2.1", "", "ko", "neg", []string{"login", "update"}, []string{"10.2.1"}, nil, true},
		{"ko praise with product", "KakaoTalk 새 버전 너무 좋아요", "", "ko", "pos", nil, nil, nil, true},
		{"ko question is chatter", "쿠폰은 어디서 받나요?", "", "ko", "chatter", nil, nil, nil, false},
		{"ko release news is chatter", "새 버전 4.2.1 나왔어요", "", "ko", "chatter", nil, []string{"4.2.1"}, nil, true},
		{"en with emoji", "app keeps crashing 😡😡", "", "en", "neg", []string{"crash"}, nil, nil, false},
		{"en with a Korean name", "love the new 카카오 update 🎉", "", "en", "pos", nil, nil, nil, true},
		{"typo in a strong word", "the app crahses every time", "", "en", "neg", []string{"crash"}, nil, nil, false},
		{"typos in cue and topic", "checkout brokn again", "", "en", "neg", []string{"payment"}, nil, []string{"checkout"}, false},
		{"typos everywhere", "app keeps crashng after updte", "", "en", "neg", []string{"crash", "update"}, nil, nil, true},
		{"near words are not typos", "bought baby wipes and a flower", "", "en", "neu", nil, nil, nil, false},
		{"real words are not typos", "they changed the logo, looked nice", "", "en", "chatter", nil, nil, nil, false},
		{"glitched", "the feed glitched again", "", "en", "neg", []string{"bug"}, nil, nil, false},
		{"short words with two letters swapped", "cant lgoin and streamio is dwon", "", "en", "neg", []string{"outage", "login"}, nil, nil, false},
		{"update with a concrete symptom", "the update broke dark mode", "", "en", "neg", []string{"bug", "update"}, nil, []string{"dark_mode"}, true},
		{"a break is no failure", "scrolling through the deals on my lunch break", "", "en", "chatter", nil, nil, nil, false},
		{"short dictionary words are no swaps", "lots of new songs, my kid sings along", "", "en", "neu", nil, nil, nil, false},
		{"buffering emoji", "streamio keeps buffering 🔄🔄", "", "en", "neg", []string{"slow"}, nil, nil, false},
		{"version ties a complaint to the update", "since 4.2.1 it crashes on launch", "", "en", "neg", []string{"crash", "update"}, []string{"4.2.1"}, nil, true},
		{"ko buffering", "버퍼링 너무 심함", "", "ko", "neg", []string{"slow"}, nil, nil, false},
		{"ko transfer fails", "송금이 안 돼요", "", "ko", "neg", []string{"payment"}, nil, nil, false},
		{"ko all gone, informal", "사진 다 없어짐", "", "ko", "neg", []string{"data_loss"}, nil, nil, false},
		{"german", "die App funktioniert nicht mehr und ich bin sauer", "de", "de", "neu", nil, nil, nil, false},
		{"spanish no hint", "la aplicación no funciona desde ayer", "", "und", "neu", nil, nil, nil, false},
		{"japanese", "アプリが起動しません", "ja", "ja", "neu", nil, nil, nil, false},
		{"hint only", "👍👍", "en-US", "en", "pos", nil, nil, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := a.Enrich(c.text, c.lang)
			if e.Lang != c.wantLang {
				t.Errorf("lang = %q, want %q", e.Lang, c.wantLang)
			}
			if c.sentiment == "chatter" {
				// the Korean polarity model gives every text a polarity
				if e.Negative() {
					t.Errorf("chatter is a complaint (sentiment %.3f, categories %q)", e.Sentiment, e.Categories)
				}
			} else if got := polarity(e.Sentiment); got != c.sentiment {
				t.Errorf("sentiment %.3f is %s, want %s", e.Sentiment, got, c.sentiment)
			}
			if !slices.Equal(e.Categories, c.cats) {
				t.Errorf("categories = %q, want %q", e.Categories, c.cats)
			}
			if !slices.Equal(e.Versions, c.versions) {
				t.Errorf("versions = %q, want %q", e.Versions, c.versions)
			}
			if !slices.Equal(e.Features, c.features) {
				t.Errorf("features = %q, want %q", e.Features, c.features)
			}
			if e.MentionsUpdate != c.update {
				t.Errorf("mentions update = %v, want %v", e.MentionsUpdate, c.update)
			}
		})
	}
}

// TestVaderRules checks the published VADER rules one at a time.
func TestVaderRules(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	s := func(text string) float64 { return a.Enrich(text, "en").Sentiment }
	cases := []struct {
		name        string
		lower, more string // score(more) must exceed score(lower)
	}{
		{"booster", "the app is good", "the app is very good"},
		{"dampener", "the app is slightly good", "the app is good"},
		{"caps", "the app is good", "the app is GOOD"},
		{"exclamation", "the app is good", "the app is good!!!"},
		{"elongation", "the app is good", "the app is goooood"},
		{"negation", "the app is not good", "the app is good"},
		{"negated negative", "the app is bad", "the app is not bad"},
		{"but weighs the second half", "the app is good but ugly", "the app is ugly but good"},
		{"emoji", "the app 😡", "the app 😍"},
		{"emoticon", "ok :(", "ok :)"},
		{"can't believe is no negation", "the app is ok", "I can't believe how good the app is"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if lo, hi := s(c.lower), s(c.more); !(hi > lo) {
				t.Errorf("score(%q)=%.3f should exceed score(%q)=%.3f", c.more, hi, c.lower, lo)
			}
		})
	}
	if v := s(""); v != 0 {
		t.Errorf("empty text scored %v", v)
	}
	for _, text := range []string{"GOOD GOOD GREAT AMAZING LOVE!!!!!!", "worst worst awful terrible hate 😡😡😡 !!!!"} {
		if v := s(text); v < -1 || v > 1 {
			t.Errorf("score(%q) = %v out of [-1, 1]", text, v)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none for a valid config
	}{
		{"zero", Config{}, nil},
		{"full", Config{Keywords: map[string][]string{"login": {"sso"}}, StopWords: []string{"acme"}, Features: map[string][]string{"x": {"y z"}}}, nil},
		{"empty keyword", Config{Keywords: map[string][]string{"login": {"sso", "magic link", " "}}}, []string{"keywords.login[2]: empty keyword"}},
		{"unknown category", Config{Keywords: map[string][]string{"billing": {"x"}}}, []string{"keywords.billing: unknown category"}},
		{"stop word", Config{StopWords: []string{"ok", ""}}, []string{"stop_words[1]: empty stop word"}},
		{"stop phrase", Config{StopWords: []string{"two words"}}, []string{"stop_words[0]"}},
		{"feature without keywords", Config{Features: map[string][]string{"dark_mode": nil}}, []string{"features.dark_mode: no keywords"}},
		{"feature empty keyword", Config{Features: map[string][]string{"dark_mode": {"dark mode", ""}}}, []string{"features.dark_mode[1]: empty keyword"}},
		{"long keyword", Config{Keywords: map[string][]string{"bug": {strings.Repeat("x", 300)}}}, []string{"keywords.bug[0]: keyword longer than"}},
		{"two problems", Config{Keywords: map[string][]string{"login": {""}}, StopWords: []string{""}}, []string{"keywords.login[0]", "stop_words[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if _, err := New(c.cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err := New(c.cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
	if _, err := New(Config{Keywords: map[string][]string{"bug": {"!!!"}}}); err == nil || !strings.Contains(err.Error(), "keywords.bug[0]") {
		t.Errorf("keyword without words: err = %v", err)
	}
}

func TestConcurrentEnrich(t *testing.T) {
	a := newTestAnalyzer(t, Config{Features: map[string][]string{"dark_mode": {"dark mode"}}})
	texts := []string{"love the new dark mode!!", "앱 업데이트 후 로그인 안돼요", "checkout keeps failing 😡"}
	want := make([]float64, len(texts))
	for i, text := range texts {
		want[i] = a.Enrich(text, "").Sentiment
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := i % len(texts)
				if got := a.Enrich(texts[k], "").Sentiment; got != want[k] {
					t.Errorf("%q: got %v, want %v", texts[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestAllocsPerToken checks that allocations do not grow with the number of
// tokens: a post ten times longer costs no more allocations.
func TestAllocsPerToken(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under the race detector")
	}
	a := newTestAnalyzer(t, Config{})
	short := "checkout keeps failing since the update, can't log in 😡 #fail @shop"
	long := strings.Repeat(short+" ", 10)
	a.Enrich(long, "") // warm the pool
	as := testing.AllocsPerRun(200, func() { a.Enrich(short, "") })
	al := testing.AllocsPerRun(200, func() { a.Enrich(long, "") })
	t.Logf("allocs per post: short %.1f, long (10x tokens) %.1f", as, al)
	if al > as+1 || as > 8 {
		t.Errorf("allocs short %.1f long %.1f: allocations grow with tokens", as, al)
	}
}

func TestOneEdit(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"crashes", "crahses", true}, // swap
		{"broken", "brokn", true},    // deletion
		{"broken", "brokenn", true},  // insertion
		{"payment", "paymant", true}, // substitution
		{"payment", "payment", false},
		{"payment", "pyamnet", false},
		{"broken", "brok", false},
	} {
		if got := oneEdit(c.a, c.b); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestLangMixed checks language detection on mixed posts: Korean around
// Latin product names, versions and a few English words; English with emoji,
// Korean names or hashtags.
func TestLangMixed(t *testing.T) {
	a := newTestAnalyzer(t, Config{})
	for _, c := range []struct{ text, hint, want string }{
		{"KakaoTalk 안됨", "", "ko"},
		{"iOS 18.2 업데이트 후 Netflix 앱 계속 튕겨요", "", "ko"},
		{"Galaxy Watch5 블루투스 연결 안됨 ㅠㅠ v4.2.1", "", "ko"},
		{"로그인 error 500 뜨네요", "", "ko"},
		{"shop app 결제 오류 진짜 너무하네 #shopdown", "", "ko"},
		{"ㅋㅋㅋㅋ", "", "ko"},
		{"app keeps crashing 😡😡😡", "", "en"},
		{"love the new 카카오 update 🎉", "", "en"},
		{"checkout is down again 🙄 #fail @shop", "", "en"},
		{"4.2.1 broke login for me", "", "en"},
		{"😡😡", "ko-KR", "ko"},
		{"😡😡", "", "und"},
		{"la aplicación no funciona desde ayer", "", "und"},
	} {
		if got := a.Enrich(c.text, c.hint).Lang; got != c.want {
			t.Errorf("lang(%q, hint %q) = %s, want %s", c.text, c.hint, got, c.want)
		}
	}
}
