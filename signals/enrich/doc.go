// Package enrich turns a post's text into a signals.Enrichment: social-text
// tokens, a VADER-style sentiment in [-1, 1] (English lexicon and rules plus a
// small Korean lexicon), complaint categories (outage, login, payment, crash,
// slow, bug, data_loss, update) in English and Korean, version and feature
// mentions, and the language (en, ko, or another). It is pure and cheap
// enough for a firehose: about 2 µs and 2 allocations per post on one core,
// with no allocation per token. Analyze is the stream processor behind
// `aftershock analyze`.
//
// Sentiment follows the published VADER rules (Hutto & Gilbert, 2014) over
// VADER's MIT-licensed lexicon (data/vader_lexicon.txt, notice in
// data/LICENSE-VADER), with these additions: a direct emoji table, a few app
// words VADER lacks or misreads, squeezed elongations ("sooo") as emphasis,
// and a negative valence for each complaint category found, since "can't log
// in" carries no lexicon word. Thresholds: >= 0.05 positive, <= -0.05 negative.
package enrich
