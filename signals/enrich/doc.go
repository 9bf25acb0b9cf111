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
// English sentiment follows the published VADER rules (Hutto & Gilbert, 2014) over
// VADER's MIT-licensed lexicon (data/vader_lexicon.txt, notice in
// data/LICENSE-VADER), with these additions: a direct emoji table, a few app
// words VADER lacks or misreads, squeezed elongations ("sooo") as emphasis,
// and a negative valence for each complaint category found, since "can't log
// in" carries no lexicon word. Thresholds: >= 0.05 positive, <= -0.05 negative.
package enrich
