package enrich

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aftershock/aftershock/signals"
	"github.com/aftershock/aftershock/signals/textmodel"
)

//go:embed data/vader_lexicon.txt
var vaderLexicon []byte

// entry is everything known about one lowered Latin word, so that a token
// costs one map lookup.
type entry struct {
	word     string
	val      float32 // lexicon valence, -4..4
	inLex    bool
	boost    float32 // booster scalar, 0 when not a booster
	negator  bool
	enFunc   bool
	other    bool // function word of another Latin-script language
	verCue   bool
	noVerCue bool
	stop     bool
	first    bool    // a first-person word: "i", "my", "here"
	question bool    // a word that opens a question: "how", "can"
	app      bool    // names an app or site
	phrases  []int32 // phrases whose first word this is
}

type phraseKind uint8

const (
	pStrong phraseKind = iota
	pTopic
	pCueGeneric
	pCueWeak
	pUpdate
	pFeature
	pBlock    // a phrase whose words are no keyword: "customer service", "offline mode"
	pReport   // news, bystander and status-page voice: "says downdetector", "we are investigating"
	pResolved // the problem is over: "works again", "got fixed", "복구됐"
	pElse     // the trouble is the author's own thing: "my wifi", "the courier"
	pFear     // the problem is feared, not had: "what if payly goes down", "hope the update doesn't break"
)

// phrase is a keyword of one or more words.
type phrase struct {
	words  []string
	kind   phraseKind
	idx    int  // category or feature index
	hangul bool // first word is Hangul: matches inside a word; later words match as prefixes
	exact  bool // a Hangul word that must be the whole token
	sense  bool // a one-word Hangul term with other senses in koSenseExcept
}

// Analyzer enriches posts. Build it once with New; it is safe for concurrent use.
type Analyzer struct {
	words     map[string]*entry
	koWords   map[string][]int32 // Hangul fragment -> phrases starting with it
	koMaxLen  int                // longest Hangul fragment, bytes
	koFirst   *[1024]uint64      // bit per BMP rune that starts a Hangul fragment
	koSent    map[string]float32
	koBoost   map[string]bool
	koNeg     map[string]bool
	koStop    map[string]bool
	emoji     map[rune]float32
	emoticons map[string]float32
	phrases   []phrase
	features  []string
	pool      sync.Pool           // *scan
	ko        *textmodel.Model    // Korean polarity
	en        *textmodel.Model    // English complaint
	social    *textmodel.Model    // social-post complaint (English and Korean)
	fuzzy     map[string][]*entry // keyword first words by their one-letter deletions
}

// New builds the lexicons for cfg. It validates cfg first.
func New(cfg Config) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("validate enrich config: %w", err)
	}
	a := &Analyzer{
		words:     make(map[string]*entry, 8000),
		koWords:   map[string][]int32{},
		koSent:    koValence,
		koBoost:   map[string]bool{},
		koNeg:     map[string]bool{},
		koStop:    map[string]bool{},
		emoji:     emojiValence,
		emoticons: map[string]float32{},
	}
	a.pool.New = func() any { return &scan{} }
	ko, err := loadKoModel()
	if err != nil {
		return nil, err
	}
	a.ko = ko
	if a.en, err = loadEnModel(); err != nil {
		return nil, err
	}
	if a.social, err = loadSocialModel(); err != nil {
		return nil, err
	}
	if err := a.loadVader(); err != nil {
		return nil, err
	}
	for w, v := range appValence {
		e := a.entry(w)
		if !e.inLex {
			e.val, e.inLex = v, v != 0
		}
	}
	for w, v := range appOverride {
		e := a.entry(w)
		e.val, e.inLex = v, true
	}
	for w, v := range extraEmoticons {
		a.emoticons[w] = v
	}
	for _, w := range boostersUp {
		a.entry(w).boost = bIncr
	}
	for _, w := range boostersDown {
		a.entry(w).boost = bDecr
	}
	for _, w := range negations {
		a.entry(w).negator = true
	}
	for _, w := range enFunctionWords {
		a.entry(w).enFunc = true
	}
	for _, w := range otherFunctionWords {
		a.entry(w).other = true
	}
	for _, w := range versionCues {
		a.entry(w).verCue = true
	}
	for _, w := range notVersionCues {
		a.entry(w).noVerCue = true
	}
	for w := range firstPersonWords {
		a.entry(w).first = true
	}
	for w := range questionWords {
		a.entry(w).question = true
	}
	for w := range wishWords {
		a.entry(w) // known, so that hypothetical sees it
	}
	for w := range turnWords {
		a.entry(w)
	}
	for _, w := range []string{"app", "apps", "site", "website"} {
		a.entry(w).app = true
	}
	for _, w := range koBoosters {
		a.koBoost[w] = true
	}
	for _, w := range koNegators {
		a.koNeg[w] = true
	}

	var errs []string
	add := func(path, kw string, kind phraseKind, idx int) {
		if err := a.addPhrase(kw, kind, idx); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", path, err))
		}
	}
	for ci, cat := range categoryNames {
		t := categoryTerms[cat]
		for _, kw := range t.strong {
			add("built-in "+cat, kw, pStrong, ci)
		}
		for _, kw := range t.topic {
			add("built-in "+cat, kw, pTopic, ci)
		}
		for i, kw := range cfg.Keywords[cat] {
			add(fmt.Sprintf("keywords.%s[%d]", cat, i), kw, pStrong, ci)
		}
	}
	for _, kw := range problemCues.generic {
		add("built-in cue", kw, pCueGeneric, 0)
	}
	for _, kw := range problemCues.weak {
		add("built-in cue", kw, pCueWeak, 0)
	}
	for _, kw := range updateTerms {
		add("built-in update", kw, pUpdate, 0)
	}
	for _, kw := range blockPhrases {
		add("built-in block", kw, pBlock, 0)
	}
	for _, kw := range reportCues {
		add("built-in report", kw, pReport, 0)
	}
	for _, kw := range resolvedCues {
		add("built-in resolved", kw, pResolved, 0)
	}
	for _, kw := range elseSubjects {
		add("built-in elsewhere", kw, pElse, 0)
	}
	for _, kw := range fearCues {
		add("built-in fear", kw, pFear, 0)
	}
	for _, name := range sortedKeys(cfg.Features) {
		fi := len(a.features)
		a.features = append(a.features, name)
		for i, kw := range cfg.Features[name] {
			add(fmt.Sprintf("features.%s[%d]", name, i), kw, pFeature, fi)
		}
	}
	for _, w := range cfg.StopWords {
		w = strings.ToLower(strings.TrimSpace(w))
		if first, _ := utf8.DecodeRuneInString(w); isHangul(first) {
			a.koStop[w] = true
		} else {
			a.entry(w).stop = true
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("build enrich lexicons: %s", strings.Join(errs, "; "))
	}
	for _, e := range a.words {
		// block phrases first, so that they cover their first word too
		slices.SortStableFunc(e.phrases, func(x, y int32) int {
			return b2i(a.phrases[y].kind == pBlock) - b2i(a.phrases[x].kind == pBlock)
		})
	}
	a.buildFuzzy()
	for _, w := range realWords {
		a.entry(w) // known: never read as a typo of a keyword
	}
	return a, nil
}

func (a *Analyzer) entry(w string) *entry {
	e := a.words[w]
	if e == nil {
		e = &entry{word: w}
		a.words[w] = e
	}
	return e
}

// loadVader parses the embedded lexicon: word, mean valence, sd, ratings.
func (a *Analyzer) loadVader() error {
	sc := bufio.NewScanner(bytes.NewReader(vaderLexicon))
	line := 0
	for sc.Scan() {
		line++
		f := bytes.SplitN(sc.Bytes(), []byte{'\t'}, 3)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(string(f[1]), 32)
		if err != nil {
			return fmt.Errorf("parse vader lexicon line %d: %w", line, err)
		}
		w := string(f[0])
		if isEmoticonKey(w) {
			a.emoticons[w] = float32(v)
			continue
		}
		e := a.entry(strings.ToLower(w))
		e.val, e.inLex = float32(v), true
	}
	return sc.Err()
}

// isEmoticonKey reports whether a lexicon key is an emoticon (":)", "</3")
// rather than a word ("can't", "lol").
func isEmoticonKey(w string) bool {
	punct, letters := 0, 0
	for _, r := range w {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters++
		case r == '\'' || r == '-' || r == ' ':
		case r >= '0' && r <= '9':
		default:
			punct++
		}
	}
	return punct > 0 && letters <= 2
}

// koParticles are the Korean particles (조사) that may follow an exact
// word ("=페이": "페이가", "페이로", but not "페이지" or "페이스북"): the
// case and auxiliary particles of the Sejong tag set (JKS, JKC, JKG, JKO,
// JKB, JX), the common ones.
var koParticles = map[string]bool{
	"이": true, "가": true, "은": true, "는": true, "을": true, "를": true, "의": true,
	"에": true, "에서": true, "로": true, "으로": true, "도": true, "만": true, "와": true,
	"과": true, "랑": true, "이랑": true, "까지": true, "부터": true, "한테": true, "에게": true,
	"처럼": true, "보다": true, "이나": true, "나": true, "이요": true, "요": true, "이야": true,
	"야": true, "에도": true, "로는": true, "으로는": true, "에서는": true, "는요": true,
}

// addPhrase tokenizes kw like a post and registers it.
func (a *Analyzer) addPhrase(kw string, kind phraseKind, idx int) error {
	exact := strings.HasPrefix(kw, "=")
	kw = strings.TrimPrefix(kw, "=")
	s := &scan{}
	a.tokenize(s, kw)
	if len(s.toks) == 0 {
		return fmt.Errorf("%q: no words in keyword", kw)
	}
	str := string(s.buf)
	p := phrase{kind: kind, idx: idx, exact: exact}
	for _, t := range s.toks {
		p.words = append(p.words, str[t.lo:t.hi])
	}
	id := int32(len(a.phrases))
	first := p.words[0]
	if s.toks[0].kind == kHangul {
		p.hangul = true
		_, p.sense = koSenseExcept[first]
		p.sense = p.sense && len(p.words) == 1
		a.koWords[first] = append(a.koWords[first], id)
		a.koMaxLen = max(a.koMaxLen, len(first))
		if a.koFirst == nil {
			a.koFirst = new([1024]uint64)
		}
		r, _ := utf8.DecodeRuneInString(first)
		a.koFirst[r>>6] |= 1 << (r & 63)
	} else {
		e := a.entry(first)
		e.phrases = append(e.phrases, id)
	}
	for _, w := range p.words[1:] {
		if first, _ := utf8.DecodeRuneInString(w); !isHangul(first) {
			a.entry(w) // so that later words compare by entry
		}
	}
	a.phrases = append(a.phrases, p)
	return nil
}

// Enrich analyses one post's text. langHint is the source's language tag
// ("en", "ko-KR", "und" or ""), used when the text alone does not tell.
// Enrich is pure and does no I/O.
func (a *Analyzer) Enrich(text, langHint string) signals.Enrichment {
	e, _ := a.enrich(text, langHint, true)
	return e
}

// Evidence is what the rules' complaint decision rested on: the problem
// cues they found and which of their routes called the post a complaint.
// cmd/aftershock-train uses it to compare ways of combining the rules with
// the social model by cross-validation.
type Evidence struct {
	Strong   bool    // a strong category term: "crashes", "charged twice", "튕겨요"
	Word     bool    // a problem word or a strong category term
	Generic  bool    // a generic problem word: "error", "broken", "오류"
	Weak     bool    // a weak problem word
	First    bool    // an English first-person word: "i", "my", "here"
	Topic    bool    // a topic term: "checkout", "account", "server"
	NotMine  bool    // news, status, fixed, elsewhere, a fear, a question
	Category bool    // the rules found a complaint category
	Negative bool    // the rules' sentiment is clearly negative (complaintSentiment)
	KoModel  bool    // the Korean polarity model is sure the post is negative
	EnModel  bool    // the English app-review model made the post a complaint
	Valence  float64 // the rules' sentiment, with the categories' valence
	// EnProb is the English app-review complaint model's probability
	// (English posts; EnrichEvidence only), Sentiment the post's final
	// sentiment (for Korean the polarity model's with the rules')
	EnProb, Sentiment float64
}

// EnrichEvidence is EnrichRules with the evidence the rules' decision
// rested on.
func (a *Analyzer) EnrichEvidence(text, langHint string) (signals.Enrichment, Evidence) {
	e, ev := a.enrich(text, langHint, false)
	if e.Lang == "en" {
		ev.EnProb = a.en.Prob(text)
	}
	ev.Sentiment = e.Sentiment
	return e, ev
}

// EnrichRules is Enrich without the learned social-post complaint model:
// the rules' decision alone (lexicons, sentiment, the English app-review
// model behind the rules' cues), which SocialDecision combines with the
// social model.
func (a *Analyzer) EnrichRules(text, langHint string) signals.Enrichment {
	e, _ := a.enrich(text, langHint, false)
	return e
}

func (a *Analyzer) enrich(text, langHint string, social bool) (signals.Enrichment, Evidence) {
	s := a.pool.Get().(*scan)
	defer a.pool.Put(s)
	s.reset()
	a.tokenize(s, text)
	str := string(s.buf)

	enHits, otherHits := a.lookup(s, str)

	var out signals.Enrichment
	out.Lang = detectLang(s, enHits, otherHits, langHint)
	korean := out.Lang == "ko"
	var raw, koLogit float64
	useEnglish := out.Lang == "en" || out.Lang == "ko" || (out.Lang == "und" && otherHits <= enHits)
	raw = a.sentiment(s, str, useEnglish)
	out.Sentiment = finish(s, raw)
	rules := out.Sentiment
	if korean {
		koLogit = a.ko.Logit(text) + koRulesLogit*raw
		out.Sentiment = koSentiment(koLogit)
	}

	nTok := 0
	for i, t := range s.toks {
		if t.kind != kURL && !a.isStop(s, str, i) {
			nTok++
		}
	}
	if nTok > 0 {
		out.Tokens = make([]string, 0, nTok)
		for i, t := range s.toks {
			if t.kind != kURL && !a.isStop(s, str, i) {
				out.Tokens = append(out.Tokens, str[t.lo:t.hi])
			}
		}
	}
	// a Korean post the model reads as clearly happy ("재밌는데 평점
	// 왜이래?") names no malfunction with a generic problem word or a
	// topic: those need a strong term there
	happy := korean && koSentiment(koLogit) >= koHappy
	cue := a.classify(s, str, &out, rules, happy)
	if n := min(len(out.Categories), 2); n > 0 {
		rules = finish(s, raw+float64(n)*complaintValence)
		if korean {
			out.Sentiment = koSentiment(koLogit + float64(n)*koComplaintLogit)
		} else {
			out.Sentiment = rules
		}
	}
	// The complaint decision: a malfunction the lexicon recognises (a
	// category), or a clearly negative post by the rules, or for Korean a
	// model that is sure the post is negative. Chosen on the tune part of
	// the English app reviews over Negative's sentiment rule, which it beat
	// against both the complaint and the Bug labels.
	// A Korean post whose only problem term is negated ("렉 하나도 없음",
	// "한번도 안 튕김") reads negative to the model for its 없/안, not for
	// a malfunction: the model does not make it a complaint.
	ev := Evidence{
		Strong: cue&cueStrong != 0, Word: cue&cueWord != 0, Generic: cue&cueGenericWord != 0, Weak: cue&cueWeakWord != 0, First: cue&cueFirstPerson != 0, Topic: cue&cueTopic != 0, NotMine: cue&cueNotMine != 0,
		Category: len(out.Categories) > 0,
		Negative: rules <= complaintSentiment && !(happy && koRulesVeto),
		KoModel:  korean && out.Sentiment <= koModelComplaint && cue&(cueNegated|cueWord) != cueNegated,
		Valence:  rules,
	}
	complaint := ev.Category || ev.Negative || ev.KoModel
	if cue&cueNotMine != 0 {
		// news, a status post, a fixed problem, the author's own wifi or
		// a plain question: no malfunction of the service for the author
		// (the blind set's RULES.md)
		complaint = false
	}
	if !complaint && cue&cueNotMine == 0 && out.Lang == "en" && a.enGate(cue, raw) && a.en.Prob(text) >= enComplaintMin {
		complaint = true
		ev.EnModel = true
		if enModelBug && len(out.Categories) == 0 && cue&cueWord != 0 {
			// a problem the rules have no category for: "any other
			// wrong behaviour" (the blind set's RULES.md)
			out.Categories = append(out.Categories, "bug")
		}
	}
	if social {
		complaint = a.socialDecision(text, &out, complaint)
	}
	out.Complaint = &complaint
	out.Versions = a.versions(s, str)
	if len(out.Versions) > 0 {
		out.MentionsUpdate = true
	}
	// a complaint that names a version or an update ties the problem to it:
	// "since 4.2 it crashes", "hotfix broke checkout"
	if complaint && out.MentionsUpdate && !slices.Contains(out.Categories, "update") {
		out.Categories = append(out.Categories, "update")
	}
	return out, ev
}

// lookup finds each token's entry (one map lookup per token) and counts
// function words for language detection.
func (a *Analyzer) lookup(s *scan, str string) (enHits, otherHits int) {
	for _, t := range s.toks {
		var e *entry
		if t.kind == kWord || t.kind == kHashtag {
			w := str[t.lo:t.hi]
			if t.kind == kHashtag {
				w = w[1:]
			}
			e = a.words[w]
			if e == nil && t.elong {
				e = a.words[string(s.squeeze(w))]
			}
			if e == nil && t.kind == kWord && strings.IndexByte(w, '\'') > 0 {
				// an apostrophe in the wrong place: "does'nt", "ca'nt";
				// only for a negation or a keyword ("he'll" is not "hell")
				if d := a.words[string(s.dropApostrophes(w))]; d != nil && (d.negator || len(d.phrases) > 0) {
					e = d
				}
			}
			if e == nil && t.kind == kWord {
				e = a.fuzzyEntry(s, w)
			}
			if e != nil {
				if e.stop {
					e = nil
				} else if t.kind == kWord {
					if e.enFunc {
						enHits++
					}
					if e.other {
						otherHits++
					}
				}
			}
		}
		s.ents = append(s.ents, e)
	}

	return enHits, otherHits
}

func (a *Analyzer) isStop(s *scan, str string, i int) bool {
	t := s.toks[i]
	switch t.kind {
	case kWord:
		e := a.words[str[t.lo:t.hi]]
		return e != nil && e.stop
	case kHangul:
		return len(a.koStop) > 0 && a.koStop[str[t.lo:t.hi]]
	}
	return false
}

// dropApostrophes returns w without its apostrophes, in scratch memory
// that is valid until the next call.
func (s *scan) dropApostrophes(w string) []byte {
	b := s.squee[:0]
	for i := 0; i < len(w) && len(b) < cap(b); i++ {
		if w[i] != '\'' {
			b = append(b, w[i])
		}
	}
	return b
}

// squeeze returns w with every run of equal letters cut to one, in scratch
// memory that is valid until the next call.
func (s *scan) squeeze(w string) []byte {
	n := 0
	var prev byte
	for i := 0; i < len(w) && n < len(s.squee); i++ {
		c := w[i]
		if c == prev && c >= 'a' && c <= 'z' {
			continue
		}
		s.squee[n] = c
		n++
		prev = c
	}
	return s.squee[:n]
}

// detectLang routes a post to "en", "ko", another language (from the hint)
// or "und".
func detectLang(s *scan, enHits, otherHits int, hint string) string {
	hint = strings.ToLower(hint)
	if i := strings.IndexAny(hint, "-_"); i >= 0 {
		hint = hint[:i]
	}
	if hint == "und" || len(hint) > 3 {
		hint = ""
	}
	letters := s.latin + s.hangul + s.other
	switch {
	case letters == 0:
		if hint != "" {
			return hint
		}
		return "und"
	case s.hangul*10 >= letters*3:
		return "ko"
	case s.hangul >= 2 && enHits < 2 && enHits >= otherHits:
		// a Korean sentence around Latin product names and versions:
		// "Galaxy Watch5 연결 안됨", "KakaoTalk v10.2 업데이트 후 튕김"
		return "ko"
	case s.other > s.latin:
		if hint != "" && hint != "en" && hint != "ko" {
			return hint
		}
		return "und"
	case enHits > otherHits && (enHits >= 2 || hint == "" || hint == "en"):
		return "en"
	case otherHits > enHits:
		if hint != "" && hint != "en" && hint != "ko" {
			return hint
		}
		return "und"
	case hint != "":
		return hint
	}
	return "en"
}

// sentiment scores the post on VADER's rules: lexicon valence per word,
// boosters and dampeners in the three words before, negation, "but",
// ALL CAPS and "!!!"/"??" emphasis, emoji and emoticons; plus Korean stems
// with their own negation and boosters, and squeezed elongations.
// It returns the sum of valences; finish turns it into the score.
func (a *Analyzer) sentiment(s *scan, str string, useEnglish bool) float64 {
	capDiff := s.capsWords > 0 && s.capsWords < s.casedWords
	// the words VADER sees: everything but mentions and URLs
	s.sent = s.sent[:0]
	words := s.wordSeq()
	butAt := -1
	word := func(k int) string {
		if k < 0 || k >= len(words) {
			return ""
		}
		if e := s.ents[words[k]]; e != nil {
			return e.word
		}
		t := s.toks[words[k]]
		return str[t.lo:t.hi]
	}
	inLex := func(k int) bool {
		e := s.ents[words[k]]
		return e != nil && e.inLex
	}
	for k, ti := range words {
		t := s.toks[ti]
		e := s.ents[ti]
		var v float64
		switch t.kind {
		case kEmoji, kEmoticon:
			v = float64(t.val)
		case kHangul:
			v = a.koreanValence(s, str, words, k)
		case kWord, kHashtag:
			if !useEnglish || e == nil {
				break
			}
			if e.word == "but" && butAt < 0 {
				butAt = k
			}
			if e.boost != 0 || !e.inLex || (e.word == "kind" && word(k+1) == "of") {
				break
			}
			v = float64(e.val)
			if e.word == "no" && k+1 < len(words) && inLex(k+1) {
				v = 0
			}
			if word(k-1) == "no" || word(k-2) == "no" || (word(k-3) == "no" && (word(k-1) == "or" || word(k-1) == "nor")) {
				v = float64(e.val) * nScalar
			}
			if t.caps && capDiff {
				v += math.Copysign(cIncr, v)
			}
			if t.elong {
				v += math.Copysign(elongIncr, v)
			}
			for d := 1; d <= 3 && k-d >= 0; d++ {
				if inLex(k - d) {
					continue
				}
				pe := s.ents[words[k-d]]
				if pe != nil && pe.boost != 0 {
					sc := float64(pe.boost)
					if v < 0 {
						sc = -sc
					}
					pt := s.toks[words[k-d]]
					if pt.caps && capDiff {
						sc += math.Copysign(cIncr, v)
					}
					if pt.elong {
						sc += math.Copysign(elongIncr, v)
					}
					switch d {
					case 2:
						sc *= 0.95
					case 3:
						sc *= 0.9
					}
					v += sc
				}
				v = a.negationCheck(v, d, word(k-1), word(k-2), word(k-3), word(k-d+1))
			}
			if word(k-1) == "least" && !inLex(k-1) {
				if k < 2 || (word(k-2) != "at" && word(k-2) != "very") {
					v *= nScalar
				}
			}
		}
		s.sent = append(s.sent, v)
	}
	sum := 0.0
	for k, v := range s.sent {
		if butAt >= 0 {
			if k < butAt {
				v *= 0.5
			} else if k > butAt {
				v *= 1.5
			}
		}
		sum += v
	}
	return sum
}

// updateNeedsCue makes the update topic need a problem word.
var updateNeedsCue = true

// finish adds "!!!" and "??" emphasis to a valence sum and normalises it
// into [-1, 1] as VADER's compound score.
func finish(s *scan, sum float64) float64 {
	if sum == 0 {
		return 0
	}
	emph := float64(min(s.excl, maxExcl)) * exclIncr
	if s.quest > 1 {
		if s.quest <= 3 {
			emph += float64(s.quest) * questIncr
		} else {
			emph += questLarge
		}
	}
	if sum > 0 {
		sum += emph
	} else {
		sum -= emph
	}
	c := sum / math.Sqrt(sum*sum+alpha)
	return math.Max(-1, math.Min(1, math.Round(c*10000)/10000))
}

// wordSeq lists the indices of the tokens VADER's rules run over.
func (s *scan) wordSeq() []int32 {
	w := s.seq[:0]
	for i, t := range s.toks {
		if t.kind != kMention && t.kind != kURL {
			w = append(w, int32(i))
		}
	}
	s.seq = w
	return w
}

func (a *Analyzer) negated(w string) bool {
	return a.negatedAt(w, "")
}

// negatedAt is negated with the word after w known: "can't believe how
// good" is not a negation.
func (a *Analyzer) negatedAt(w, next string) bool {
	if next == "believe" {
		return false
	}
	if e := a.words[w]; e != nil && e.negator {
		return true
	}
	return strings.Contains(w, "n't")
}

// negationCheck applies VADER's negation rule for the word d places back.
// after is the word following the negator.
func (a *Analyzer) negationCheck(v float64, d int, w1, w2, w3, after string) float64 {
	switch d {
	case 1:
		if a.negatedAt(w1, after) {
			v *= nScalar
		}
	case 2:
		switch {
		case w2 == "never" && (w1 == "so" || w1 == "this"):
			v *= 1.25
		case w2 == "without" && w1 == "doubt":
		case a.negatedAt(w2, after):
			v *= nScalar
		}
	case 3:
		switch {
		case w3 == "never" && (w2 == "so" || w2 == "this" || w1 == "so" || w1 == "this"):
			v *= 1.25
		case w3 == "without" && (w2 == "doubt" || w1 == "doubt"):
		case a.negatedAt(w3, after):
			v *= nScalar
		}
	}
	return v
}

// koPrefix returns the valence of the longest lexicon stem w starts with.
// Hangul syllables and jamo are all three bytes long.
func (a *Analyzer) koPrefix(w string) (float32, int) {
	for q := min(len(w), 12); q >= 3; q -= 3 {
		if v, ok := a.koSent[w[:q]]; ok {
			return v, q
		}
	}
	return 0, 0
}

// koreanValence scores the Hangul word at words[k]: stem valence, a booster
// before it, negation by 안/못 before it, by -지 않/못 after it, and by 없-
// after a complaint noun ("문제 없어요", "불편함 없이").
func (a *Analyzer) koreanValence(s *scan, str string, words []int32, k int) float64 {
	tok := func(k int) (string, bool) {
		if k < 0 || k >= len(words) {
			return "", false
		}
		t := s.toks[words[k]]
		return str[t.lo:t.hi], t.kind == kHangul
	}
	w, _ := tok(k)
	if len(a.koStop) > 0 && a.koStop[w] {
		return 0
	}
	val, n := a.koPrefix(w)
	v := float64(val)
	prev, prevKo := tok(k - 1)
	next, nextKo := tok(k + 1)
	if v < 0 && koWorksWord(w) && koIdiomBefore("", prev) {
		// "몇 안되는", "보면 안돼요": no failure
		v = 0
	}
	if prevKo && a.koNeg[prev] {
		if prev2, _ := tok(k - 2); prev == "안" && koWorksStem(w) && koIdiomBefore("", prev2) {
			v = 0 // "몇 안 되는", "말도 안 돼", "판단하시면 안 돼요"
		} else if v != 0 {
			v *= nScalar
		} else {
			v = -1.5 // "안 돼요", "안 열려요", "못 쓰겠어요": doesn't work
		}
	}
	if nextKo && strings.HasSuffix(w, "지") && (strings.HasPrefix(next, "않") || strings.HasPrefix(next, "못")) {
		if v != 0 {
			v *= nScalar
		} else {
			v = -1.2
		}
	}
	if v < 0 && (strings.Contains(w[n:], "없") || (nextKo && strings.HasPrefix(next, "없"))) {
		v *= nScalar
	}
	if v != 0 {
		for d := 1; d <= 2; d++ {
			if p, ko := tok(k - d); ko && a.koBoost[p] {
				v += math.Copysign(bIncr, v)
			}
		}
	}
	return v
}

// classify finds complaint categories, features and update mentions.
// rules is the rule-based sentiment, which decides whether a topic word
// ("로그인", "checkout") is a complaint.
//
// It returns the problem cues the post carries: cueWord for a generic or
// weak problem word or a strong category term, cueTopic for a topic term
// other than an update word, cueNegated for a negated strong term ("no
// crashes").
func (a *Analyzer) classify(s *scan, str string, out *signals.Enrichment, rules float64, happy bool) (cue cueKind) {
	var strong, topic [8]bool
	var cueGeneric, cueWeak, update, anyNegStrong bool
	var feats uint64
	var featList []bool
	if len(a.features) > 64 {
		featList = make([]bool, len(a.features))
	}
	blockedUntil := 0 // tokens before this are inside a block phrase
	// where the problem, the fix and someone else's trouble are: the
	// last word of a post decides between "it was down but it's back up"
	// and "it's back up but down again"
	firstProblem, lastProblem, lastResolved, elseAt, fearAt := -1, -1, -1, -1, -1
	report, firstPerson, appWord, elseLatin := false, false, false, false
	// what ties a generic problem word in a happy post to the service: an
	// error word, or a contrast before it ("최고 근데 오류 나요")
	contrastAt, anchored := -1, false
	at := 0 // token of the current hit
	problemAt := func() {
		if firstProblem < 0 {
			firstProblem = at
		}
		lastProblem = at
	}
	hit := func(id int32, negated bool) {
		p := &a.phrases[id]
		switch p.kind {
		case pStrong:
			if !negated {
				strong[p.idx] = true
				problemAt()
			} else {
				anyNegStrong = true
			}
		case pTopic:
			topic[p.idx] = true
		case pCueGeneric:
			if !negated {
				cueGeneric = true
				problemAt()
				anchored = anchored || contrastAt >= 0 && at > contrastAt || koErrorWords[p.words[0]]
			}
		case pCueWeak:
			if !negated {
				cueWeak = true
				problemAt()
				anchored = anchored || contrastAt >= 0 && at > contrastAt
			}
		case pReport:
			report = true
		case pResolved:
			if !negated && !a.hypothetical(s, at) {
				lastResolved = at + len(p.words) - 1
				if p.words[len(p.words)-1] == "the" || p.words[len(p.words)-1] == "all" {
					// its object, up to a turn: "fixed the checkout bug",
					// "fixes the nexus 5 camera problems", not "fixed the
					// bug but it crashes"
					for k := lastResolved + 1; k < len(s.toks) && k <= lastResolved+5; k++ {
						if e := s.ents[k]; e != nil && turnWords[e.word] {
							break
						}
						lastResolved = k
					}
				}
			}
		case pFear:
			if fearAt < 0 {
				fearAt = at
			}
		case pElse:
			if elseAt < 0 {
				elseAt, elseLatin = at, !p.hangul
			}
		case pUpdate:
			update = true
		case pFeature:
			if featList != nil {
				featList[p.idx] = true
			} else {
				feats |= 1 << p.idx
			}
		}
	}
	for i, t := range s.toks {
		switch t.kind {
		case kWord, kHashtag, kEmoji:
			e := s.ents[i]
			if t.kind == kEmoji {
				e = a.words[str[t.lo:t.hi]]
			}
			if e == nil {
				continue
			}
			firstPerson = firstPerson || e.first
			appWord = appWord || e.app
			if e.word == "but" && contrastAt < 0 {
				contrastAt = i
			}
			at = i
			for _, id := range e.phrases {
				p := &a.phrases[id]
				if p.kind != pBlock && i < blockedUntil {
					break
				}
				if a.matchRest(s, str, i, p) {
					if p.kind == pBlock {
						blockedUntil = max(blockedUntil, i+len(p.words))
						continue
					}
					hit(id, a.latinNegated(s, i))
				}
			}
		case kHangul:
			w := str[t.lo:t.hi]
			if len(a.koStop) > 0 && a.koStop[w] {
				continue
			}
			if contrastAt < 0 && len(w) <= 12 && koContrast[w] {
				contrastAt = i
			}
			for p := 0; p < len(w); p += 3 {
				// Hangul runes are three bytes: skip starts no fragment has
				if r := rune(w[p]&0x0F)<<12 | rune(w[p+1]&0x3F)<<6 | rune(w[p+2]&0x3F); a.koFirst == nil || a.koFirst[r>>6]&(1<<(r&63)) == 0 {
					continue
				}
				for q := p + 3; q <= len(w) && q-p <= a.koMaxLen; q += 3 {
					ids, ok := a.koWords[w[p:q]]
					if !ok {
						continue
					}
					for _, id := range ids {
						ph := &a.phrases[id]
						if ph.exact && (p != 0 || (q != len(w) && !koParticles[w[q:]])) {
							continue
						}
						if ph.kind == pCueGeneric && koWorks(ph) && koIdiomBefore(w[:p], a.prevHangul(s, str, i)) {
							// "몇 안 되는" (few), "말도 안 돼" (absurd), "보면
							// 안 돼요" (must not): no failure
							continue
						}
						if ph.sense {
							if ex := koSenseExcept[ph.words[0]]; a.koOtherSense(s, str, i, w, p, q, ex.after, ex.before) {
								continue
							}
						}
						if a.matchRest(s, str, i, ph) {
							at = i
							last := i + len(ph.words) - 1
							rest := w[q:] // what follows the term in its last word
							if last > i {
								rest = str[int(s.toks[last].lo)+len(ph.words[len(ph.words)-1]) : s.toks[last].hi]
							}
							hit(id, strings.Contains(w[q:], "없") || a.koNoneAfter(s, str, last) ||
								(ph.kind == pStrong && a.koLongNegated(s, str, last, rest, len(ph.words) == 1)) ||
								a.koShortNegated(s, str, i, w, p, ph) ||
								// a fix wished for, "빨리 고쳐졌으면", is no fix
								(ph.kind == pResolved && strings.Contains(rest, "면")))
						}
					}
				}
			}
		}
	}
	anyStrong := slices.Contains(strong[:], true)
	if cueGeneric || cueWeak || anyStrong {
		cue |= cueWord
	}
	if anyStrong {
		cue |= cueStrong
	}
	if cueGeneric {
		cue |= cueGenericWord
	}
	if cueWeak {
		cue |= cueWeakWord
	}
	if firstPerson {
		cue |= cueFirstPerson
	}
	if slices.Contains(topic[:len(topic)-1], true) {
		cue |= cueTopic
	}
	if anyNegStrong {
		cue |= cueNegated
	}
	switch {
	case !notMineRules:
	case report && !firstPerson:
		// "streamio is down for everyone, says downdetector", "we are
		// investigating": a headline or a status post, not an affected user
		cue |= cueNotMine
	case lastResolved >= 0 && lastResolved >= lastProblem:
		// "the crash is fixed in 5.2", "로그인 오류 해결됐어요"
		cue |= cueNotMine
	case elseAt >= 0 && !appWord && (firstProblem < 0 && elseLatin || firstProblem > elseAt && firstProblem-elseAt <= 5):
		// "my wifi keeps dropping", "the courier lost my package"
		cue |= cueNotMine
	case fearAt >= 0 && (firstProblem < 0 || firstProblem > fearAt):
		// "what if payly goes down on payday", "hope the update doesn't
		// break payments": a fear, not a malfunction (RULES.md,
		// hypotheticals and fears); "it crashed, what if it does again" is
		// still the crash it reports
		cue |= cueNotMine
	case cue&cueWord == 0 && s.quest > 0 && len(s.ents) > 0 && s.ents[0] != nil && s.ents[0].question:
		// "how do I cancel my subscription?": a question, no malfunction
		cue |= cueNotMine
	}
	if cue&cueNotMine != 0 {
		out.MentionsUpdate = update
		for fi, name := range a.features {
			if (featList != nil && featList[fi]) || (featList == nil && feats&(1<<fi) != 0) {
				out.Features = append(out.Features, name)
			}
		}
		return cue
	}
	// a Korean post the model reads as happy uses a generic problem word
	// or a topic in another sense ("재밌는데 평점 왜이래?", "몇 안 되는"),
	// unless something ties it to the service
	if happy && (anchored || slices.Contains(topic[:], true)) {
		happy = false
	}
	// a clearly happy post that names a problem is about its fix
	problem := !happy && ((cueGeneric || cueWeak) && rules < 0.3 || rules <= -0.05) || anyStrong
	concrete := false // a category other than bug and update
	for ci, name := range categoryNames {
		if (strong[ci] || (topic[ci] && problem)) && name != "bug" && name != "update" {
			concrete = true
		}
	}
	// an English update is a complaint when the author reports what it
	// made worse (RULES.md: broken, slower, removed, battery): a problem
	// word, not a mere dislike ("not a fan of the latest update"). The
	// Korean lexicon knows too few symptoms for that ("업데이트 후 별로").
	updateProblem := problem && (!updateNeedsCue || out.Lang == "ko" || cueGeneric || cueWeak || anyStrong)
	for ci, name := range categoryNames {
		if strong[ci] || (topic[ci] && problem && (name != "update" || updateProblem)) {
			if name == "bug" && concrete {
				// bug is "any other wrong behaviour" (RULES.md of the
				// blind set): "won't let me log in" is login
				continue
			}
			out.Categories = append(out.Categories, name)
		}
	}
	if cueGeneric && !happy && (len(out.Categories) == 0 || (len(out.Categories) == 1 && out.Categories[0] == "update")) {
		// "the update broke dark mode": a concrete symptom, with update on top
		out.Categories = slices.Insert(out.Categories, 0, "bug")
	}
	for fi, name := range a.features {
		if (featList != nil && featList[fi]) || (featList == nil && feats&(1<<fi) != 0) {
			out.Features = append(out.Features, name)
		}
	}
	out.MentionsUpdate = update
	return cue
}

// hypothetical reports whether a word of the six before token i makes a
// fix a wish: "hope it gets fixed", "please get this resolved", "five stars
// once the crash on startup is fixed".
func (a *Analyzer) hypothetical(s *scan, i int) bool {
	for d := 1; d <= 6 && i-d >= 0; d++ {
		if e := s.ents[i-d]; e != nil && wishWords[e.word] {
			return true
		}
	}
	return false
}

// koOtherSense reports whether the Hangul term at w[p:q] (token i) is part
// of another word: followed in w (or by the next word, when the term ends
// w) by one of after, or preceded in w (or by the word before, when the
// term starts w) by one of before.
func (a *Analyzer) koOtherSense(s *scan, str string, i int, w string, p, q int, after, before []string) bool {
	next := w[q:]
	if next == "" && i+1 < len(s.toks) && s.toks[i+1].kind == kHangul {
		next = str[s.toks[i+1].lo:s.toks[i+1].hi] // the term ends its word
	}
	for _, x := range after {
		if strings.HasPrefix(next, x) {
			return true
		}
	}
	prev := w[:p]
	if p == 0 {
		prev = a.prevHangul(s, str, i)
	}
	for _, x := range before {
		if strings.HasSuffix(prev, x) {
			return true
		}
	}
	return false
}

// koLongNegated reports whether a Korean failure term ending token last is
// negated by the long form -지 않- ("멈추지 않는", "튕기지 않아요",
// "멈추질않았다"). rest is what follows the term in that token when the
// term is one word (rest == "" for a term that ends with its own -지,
// "켜지지 않아요", which is the failure itself).
func (a *Analyzer) koLongNegated(s *scan, str string, last int, rest string, oneWord bool) bool {
	if oneWord && rest == "" {
		return false
	}
	if strings.Contains(rest, "지않") || strings.Contains(rest, "질않") || strings.Contains(rest, "지도않") {
		return true
	}
	if !(strings.HasSuffix(rest, "지") || strings.HasSuffix(rest, "질") || strings.HasSuffix(rest, "지는") || strings.HasSuffix(rest, "지도")) {
		return false
	}
	return a.nextHas(s, str, last, "않")
}

// koShortNegated reports whether a problem term is negated by 안 before it,
// the short negation of Korean (Sohn 1999, "The Korean Language", §8.2):
// "안튕김", "한번도 안 튕김", "안 느려요" say the symptom does not happen.
// A term that is itself a 안 phrase ("안 돼", "안됨": doesn't work) is the
// problem, not its negation. The term starts at byte p of token i (w).
func (a *Analyzer) koShortNegated(s *scan, str string, i int, w string, p int, ph *phrase) bool {
	if strings.HasPrefix(ph.words[0], "안") || strings.HasPrefix(ph.words[0], "않") {
		return false
	}
	if p > 0 {
		return p == len("안") && strings.HasPrefix(w, "안")
	}
	return a.prevHangul(s, str, i) == "안"
}

// koDegree are the adverbs that stand between a symptom and 없 in "렉
// 하나도 없음", "튕김 한번도 없네요" (none at all, not once); one token each.
var koDegree = map[string]bool{"하나도": true, "한번도": true, "전혀": true, "1도": true,
	"일도": true, "거의": true, "별로": true, "딱히": true}

// koNoneAfter reports whether the Hangul token after i, or the one after a
// degree adverb there, starts with 없 ("렉 없음", "렉 하나도 없음").
func (a *Analyzer) koNoneAfter(s *scan, str string, i int) bool {
	if a.nextHas(s, str, i, "없") {
		return true
	}
	if i+1 >= len(s.toks) || s.toks[i+1].kind != kHangul {
		return false
	}
	t := s.toks[i+1]
	return koDegree[str[t.lo:t.hi]] && a.nextHas(s, str, i+1, "없")
}

// prevHangul returns the Hangul token before token i, or "".
func (a *Analyzer) prevHangul(s *scan, str string, i int) string {
	if i == 0 || s.toks[i-1].kind != kHangul {
		return ""
	}
	t := s.toks[i-1]
	return str[t.lo:t.hi]
}

// koContrast are the Korean words of contrast ("but"): VADER's "but" rule
// (the clause after it carries the post) for a problem word after praise.
var koContrast = map[string]bool{"근데": true, "그런데": true, "하지만": true, "그러나": true, "그치만": true,
	"근대": true, "다만": true, "그렇지만": true, "허나": true, "단": true}

// koErrorWords are generic problem words that name a software error
// whatever the post's tone.
var koErrorWords = map[string]bool{"오류": true, "에러": true}

// koWorks reports whether a problem phrase is 안 되- ("doesn't work").
func koWorks(p *phrase) bool {
	if p.words[0] == "안" && len(p.words) > 1 {
		return koWorksStem(p.words[1])
	}
	return koWorksWord(p.words[0])
}

// koWorksWord reports whether a Hangul word is 안 되- written as one.
func koWorksWord(w string) bool {
	return strings.HasPrefix(w, "안") && koWorksStem(w[len("안"):])
}

// koWorksStem reports whether a Hangul word is a form of 되다 (되-, 돼-,
// 됨, 됩-).
func koWorksStem(w string) bool {
	return strings.HasPrefix(w, "되") || strings.HasPrefix(w, "돼") || strings.HasPrefix(w, "됨") || strings.HasPrefix(w, "됩")
}

// koIdiomBefore reports whether 안 되- after before (the same word's start,
// "몇안되는") or after prev (the word before) is one of the Korean phrases
// in which it means no failure: "-(으)면 안 되다" (must not: "보면 안 돼요",
// "가면 안되나요?"), "몇 안 되는" (few), "말도 안 되다" (absurd), "이해가
// 안 되다" (can't understand) and the like (koMindNouns).
func koIdiomBefore(before, prev string) bool {
	if before == "" {
		before = prev
	}
	switch {
	case before == "":
		return false
	case strings.HasSuffix(before, "면"):
		return !strings.HasSuffix(before, "화면") // 화면 is the screen
	case strings.HasSuffix(before, "몇"):
		return true
	}
	// a noun of the author's mind, with or without its particle: "말이 안
	// 돼" (absurd), "이해가 안 돼", "공감이 안 되었다", "납득 안 되는",
	// "집중은 안 되지만", "상상도 안 되는": the author cannot, not the service
	for _, p := range []string{"이", "가", "은", "는", "도", "조차", ""} {
		if n, ok := strings.CutSuffix(before, p); ok && n != "" {
			for _, m := range koMindNouns {
				if strings.HasSuffix(n, m) {
					return true
				}
			}
		}
	}
	return false
}

// koMindNouns are nouns of the author's mind that take 안 되- for "cannot":
// "이해가 안 돼요" is no failure of the service.
var koMindNouns = []string{"말", "이해", "공감", "납득", "집중", "몰입", "상상", "감정이입"}

// matchRest checks that the words after a phrase's first follow token i.
func (a *Analyzer) matchRest(s *scan, str string, i int, p *phrase) bool {
	if i+len(p.words) > len(s.toks) {
		return false
	}
	for j, want := range p.words[1:] {
		k := i + 1 + j
		t := s.toks[k]
		switch t.kind {
		case kHangul:
			if !strings.HasPrefix(str[t.lo:t.hi], want) {
				return false
			}
		default:
			e := s.ents[k]
			if e == nil && !a.typoOf(str[t.lo:t.hi], want) || e != nil && e.word != want {
				return false
			}
		}
	}
	return true
}

// typoRest lets a later word of a keyword phrase match a typo of it: the
// first word already matched, so a slip in the second ("doesn't wrok",
// "won't laod", "not workign") is read as the keyword.
var typoRest = true

// typoOf reports whether w, a word no lexicon knows (its token has no
// entry), is want (four letters or more) with one letter dropped or added
// or two neighbours swapped, the first letter kept. A substituted letter is
// left out: it makes real words ("lead" for "load", "word" for "work") that
// the lexicons do not list.
func (a *Analyzer) typoOf(w, want string) bool {
	if !typoRest || len(want) < 4 || w == "" || w[0] != want[0] || len(w) < len(want)-1 || len(w) > len(want)+1 || !asciiLetters(w) {
		return false
	}
	if len(w) == len(want) {
		i := 0
		for i < len(w) && w[i] == want[i] {
			i++
		}
		return i+1 < len(w) && w[i] == want[i+1] && w[i+1] == want[i] && w[i+2:] == want[i+2:]
	}
	return oneEdit(w, want)
}

// latinNegated reports whether one of the three words before token i negates it.
func (a *Analyzer) latinNegated(s *scan, i int) bool {
	for d := 1; d <= 3 && i-d >= 0; d++ {
		e := s.ents[i-d]
		if e == nil {
			continue
		}
		if e.negator || e.word == "no" || e.word == "zero" {
			return true
		}
	}
	return false
}

// nextHas reports whether the Hangul token after i starts with prefix.
func (a *Analyzer) nextHas(s *scan, str string, i int, prefix string) bool {
	if i+1 >= len(s.toks) || s.toks[i+1].kind != kHangul {
		return false
	}
	t := s.toks[i+1]
	return strings.HasPrefix(str[t.lo:t.hi], prefix)
}

// versions finds version strings: "v4.2", "4.2.1", "build 1234", "version 5",
// and a bare "4.2" next to a word like "update" or "version".
func (a *Analyzer) versions(s *scan, str string) []string {
	var out []string
	add := func(v string) {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	text := func(i int) string {
		if i < 0 || i >= len(s.toks) {
			return ""
		}
		t := s.toks[i]
		return str[t.lo:t.hi]
	}
	cueAt := func(i int, after bool) bool {
		if i < 0 || i >= len(s.toks) {
			return false
		}
		t := s.toks[i]
		if t.kind == kHangul {
			w := str[t.lo:t.hi]
			return strings.HasPrefix(w, "버전") || strings.HasPrefix(w, "업데이트") || strings.HasPrefix(w, "업뎃")
		}
		e := s.ents[i]
		if e == nil || !e.verCue {
			return false
		}
		return !after || (e.word != "to" && e.word != "app" && e.word != "v")
	}
	for i, t := range s.toks {
		if t.kind != kWord {
			continue
		}
		w := str[t.lo:t.hi]
		if pe := s.ents[max(i-1, 0)]; i > 0 && pe != nil && pe.noVerCue {
			continue
		}
		switch {
		case len(w) > 1 && w[0] == 'v' && isDigit(w[1]):
			if parts := dottedParts(w[1:]); parts > 0 && parts <= 4 {
				add(w[1:])
			}
		case isDigit(w[0]):
			parts := dottedParts(w)
			switch {
			case parts >= 3 && parts <= 4:
				add(w)
			case parts == 2 && (cueAt(i-1, false) || cueAt(i+1, true) || text(i-2) == "version"):
				add(w)
			case parts == 1 && len(w) <= 3 && (text(i-1) == "version" || text(i-1) == "ver"):
				add(w)
			}
		case w == "build" && i+1 < len(s.toks) && s.toks[i+1].kind == kWord && dottedParts(text(i+1)) == 1:
			add(str[t.lo:s.toks[i+1].hi])
		}
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dottedParts returns how many dot-separated runs of digits w is made of, or 0.
func dottedParts(w string) int {
	if w == "" || !isDigit(w[0]) || !isDigit(w[len(w)-1]) {
		return 0
	}
	parts := 1
	for i := 0; i < len(w); i++ {
		switch {
		case w[i] == '.':
			parts++
		case !isDigit(w[i]):
			return 0
		}
	}
	return parts
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
