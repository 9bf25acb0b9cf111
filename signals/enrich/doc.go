// Package enrich turns a post's text into a signals.Enrichment: social-text
// tokens, a sentiment in [-1, 1], whether the post is a complaint, complaint
// categories (outage, login, payment, crash, slow, bug, data_loss, update) in
// English and Korean, version and feature mentions, and the language (en, ko,
// or another; a Korean sentence around Latin product names and versions is
// ko). It is pure and cheap enough for a firehose: a few µs and 3 allocations
// per post on one core, with no allocation per token. Analyze is the stream
// processor behind `aftershock analyze`.
//
// Korean sentiment comes from a logistic regression over hashed character
// n-grams, syllable n-grams across spaces and words (NBSVM-style scaling,
// Wang & Manning 2012), trained on 135,000 Naver movie reviews rated by their
// writers (`go run ./cmd/aftershock-train ko-polarity`, model in
// data/ko_polarity.astm: int8 weights, no text), plus half the Korean rules'
// valence (lexicon stems, negation, emoji) and the complaint categories found.
// Every Korean text gets a polarity. The model never saw neutral text, so the
// complaint decision for Korean rests on the lexicon unless the model is sure.
//
// A post is a complaint (Enrichment.Complaint) when a category is recognised,
// when the rules' sentiment is at or below -0.5, (Korean) when the model's
// score is at or below -0.9, or (English) when a learned complaint model is
// at least 0.45 sure and the rules see a problem word or negative valence.
// A Korean post the model (with the rules folded in) reads as happy (>= 0.5)
// is no complaint by the lexicon's sentiment alone, and its generic problem
// words and topics ("왜이래", "안 돼", "로그인") make no category unless an
// error word, a topic or a contrast before them ("최고 근데 오류 나요") ties
// them to the service: movie-review praise says "평점 왜이래" and "후회할
// 뻔". Korean idioms with 안 되- that name no failure ("몇 안 되는", "말도
// 안 돼", "-면 안 돼"), failure terms negated by -지 않-, and terms inside
// other words ("슈렉", "장애인", "빵 터졌다", "스필버그") are no category. A
// typo in a later word of a failure phrase ("doesn't wrok") still matches
// it. An
// English update is a complaint category only with a problem word (the blind
// set's "bad update"), not for a dislike.
// That model is a logistic regression over hashed words, bigrams and
// character 3–5-grams with NBSVM scaling, fitted on the fit part of the
// English app reviews and Platt-scaled on their check part (`go run
// ./cmd/aftershock-train en-complaint`, data/en_complaint.astm, 256 KiB). Alone
// it calls release chatter complaints ("new version 5.0 is out today"): naming
// a version goes with bug reports in app reviews; behind the rules' cues it
// only adds the complaints they half see, tagged bug when nothing more
// specific is found. Categories follow the blind set's labelling rules
// (signals/testdata/complaints-heldout/RULES.md): bug only when no more
// specific category applies. Latin keywords of six letters or more also match
// at one typo (SymSpell-style deletes: "crahses", "brokn", "pasword"), but an
// English dictionary word never does ("changed" is not "charged").
//
// A post whose author finds the cause elsewhere after naming a problem
// ("turns out it was my ISP", "my bad", "works fine for me", "내탓", "난
// 잘됨"), quotes release notes or a post-mortem, announces maintenance
// (정기점검), or fears a problem before having one ("what if payly goes
// down", "hope the update doesn't break payments") is no complaint; a
// problem named after such words still is. Korean short negation (안 before
// a symptom: "안튕김"; 없 after it, across 하나도/한번도) negates the
// symptom, and the Korean model alone does not make such a post a
// complaint. The service's own failure messages, quoted ("we're having
// trouble", "문제가 발생했습니다", "keeps stopping"), name their category.
// Measured on blind-labelled social posts (signals/testdata/complaints-*:
// written by RULES.md by someone who never saw this package), run once
// after the rules were frozen: complaints-heldout5 complaint P 0.699
// R 0.684 (before session 8's rules P 0.658 R 0.628), complaints-heldout4
// P 0.706 R 0.741 after the first round (before P 0.681 R 0.713). They were
// developed on complaints-dev and complaints-dev2.
//
// Last, a social-post complaint model may add a complaint the rules missed
// (a keyword-free symptom or a paraphrase: "ridego says my ride is 2 min
// away for the last 25 min", "톡톡 메시지 보내면 시계 표시만 계속 떠요"),
// with no category (the model says whether, not what kind). An English or Korean post
// is a complaint when the rules say so or when that model is at least 0.9
// sure (SocialDecision). It never takes a complaint of the rules back. It
// is a logistic regression over hashed words, word bigrams, character
// 2–5-grams and 2–3-grams across spaces with NBSVM scaling (Wang & Manning
// 2012), trained on the five labelled social-post sets that may be read
// (complaints-dev, -dev2, -heldout3, -heldout4, -heldout5: 3,361 posts;
// heldout3–5 were measured and reported before, so they are spent) and on
// the English app reviews' fit part, and Platt-scaled (Platt 1999) on the
// sets' out-of-fold logits (`go run ./cmd/aftershock-train
// social-complaint`, data/social_complaint.astm, 128 KiB). The threshold was
// chosen by leave-one-set-out cross-validation (train on four sets,
// measure on the fifth; `... social-complaint -cv`): complaint P/R per
// fold (dev, dev2, heldout3, heldout4, heldout5) by the rules alone
// 0.631/0.784, 0.606/0.649, 0.595/0.760, 0.711/0.752, 0.699/0.684 (mean
// P 0.649 R 0.726), with the model 0.667/0.918, 0.670/0.869, 0.622/0.905,
// 0.746/0.908, 0.745/0.879 (mean P 0.690 R 0.896); English mean P 0.626
// R 0.719 to P 0.671 R 0.896, Korean P 0.676 R 0.734 to P 0.714 R 0.896;
// categories (micro) P 0.559 R 0.631 to P 0.538 R 0.694 (F1 0.591 to
// 0.605 when every such complaint is tagged bug; they carry no category,
// which keeps the rules' P 0.559 R 0.631: see social.go). The threshold is the lowest that leaves
// the judge's review-text pools where they were (TestScenarioPools: at 0.7
// the Korean praise pool rises from 2.0 % to 2.8 % counted). Alone the
// model scores P 0.936 R 0.880 across the folds, but the sets are written to trip keyword recognisers ("X is down" is mostly a
// bystander there), and the model is sure of the wrong answer on plain
// complaints it has not seen ("streamio is down for me" 0.008, "렉이 너무
// 심해요" 0.001). A veto by it (p <= 0.02, for a post of at most 80 runes
// whose complaint rests on a category) raised the cross-validated
// precision to 0.749 but took back plain complaints of this package's
// hand-written tests ("sync no longer works on my phone"); so the rules keep
// the last word on what they call a complaint. A second round (`...
// social-complaint -cv -prec`, EnrichEvidence) limited vetoes to
// complaints resting on weak evidence, asked the English app-review or the
// Korean polarity model to agree, stacked the evidence with the logit and
// weighted the app reviews more: the variants worth +0.03 precision all
// broke a guard rail (tests' plain complaints, the Korean review pools, the
// app-review check), and the one that holds them gains 0.013 (social.go).
// A third round trained it with complaints-plain too (1,100 ordinary
// template-built posts, a sixth fold; `... -cv -prec -plain`): the
// cross-validated vetoes gain +0.04–0.06 precision at no recall cost, but
// they still take back the tests' plain complaints, and the model trained
// with that set adds complaints the tests and the Korean praise pool say
// are none; the shipped model is unchanged (social.go). On complaints-dev and -dev2
// (TestDevComplaints) the model has seen every post: those figures are no
// longer a measure of it. Measured once each on two blind sets it never
// saw, after it was frozen: complaints-heldout6 P 0.707 R 0.698 (rules
// alone) to P 0.755 R 0.906, complaints-heldout8 P 0.676 R 0.631 to
// P 0.734 R 0.851 (TestHeldoutComplaints).
//
// English sentiment follows the published VADER rules (Hutto & Gilbert, 2014) over
// VADER's MIT-licensed lexicon (data/vader_lexicon.txt, notice in
// data/LICENSE-VADER), with these additions: a direct emoji table, a few app
// words VADER lacks or misreads, squeezed elongations ("sooo") as emphasis,
// and a negative valence for each complaint category found, since "can't log
// in" carries no lexicon word. Thresholds: >= 0.05 positive, <= -0.05 negative.
package enrich
