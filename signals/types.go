package signals

import (
	"time"
)

// Wire type names carried in the "type" field of every message.
const (
	TypePost    = "post"
	TypeMetric  = "metric"
	TypeRelease = "release"
	TypeAnomaly = "anomaly"
	TypeVerdict = "verdict"
	TypeRollup  = "rollup"
)

// Post is one public message about a service, found by a crawler.
type Post struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"` // when the post was created
	Source  string    `json:"source"`
	ID      string    `json:"id"` // the source's native id
	Service string    `json:"service"`
	Text    string    `json:"text"`
	Lang    string    `json:"lang,omitempty"`
	URL     string    `json:"url,omitempty"`
	Author  string    `json:"author,omitempty"`
	// Fetched is when the crawler saw the post.
	Fetched time.Time `json:"fetched,omitempty"`
	// Reach is followers, likes, reposts or similar where the source gives it.
	Reach  int     `json:"reach,omitempty"`
	Rating float64 `json:"rating,omitempty"` // star rating for app-store reviews, 0 when absent
	// URI is the post's network-wide identity where the network has one
	// that several sources can see (Mastodon's ActivityPub id, the same
	// through every instance). Posts with the same URI are one post: MsgID
	// is built from it, so JetStream drops the copies.
	URI string `json:"uri,omitempty"`
	// TimeFrom says where Time came from when it is not the post's own
	// creation time: one of the TimeFrom* values ("" = its creation time).
	TimeFrom string `json:"time_from,omitempty"`
	// AuthorTime is the time the author's client wrote into the post, when
	// Time is the network's (Bluesky: createdAt, which authors can set).
	AuthorTime time.Time `json:"author_time,omitzero"`
	// AppVersion is the app version a store review was written on, as the
	// store reports it (App Store im:version, Play appVersionName); empty
	// for other posts.
	AppVersion string `json:"app_version,omitempty"`
	// Enrichment is filled in by the detector side (signals/enrich); crawlers leave it nil.
	Enrichment *Enrichment `json:"enrichment,omitempty"`
}

// Where a post's Time came from when not from its creation time (TimeFrom).
const (
	TimeFromUpdated = "updated" // the item's last-modified time
	TimeFromID      = "id"      // the time encoded in its id (an X snowflake)
	TimeFromServer  = "server"  // the time the network received it (Bluesky time_us)
	TimeFromFetched = "fetched" // when the crawler read it: the item said nothing usable
)

// MsgID is the JetStream de-duplication id of the post: "<source>:<native
// id>", or "uri:<URI>" when the post has a network-wide URI.
func (p Post) MsgID() string {
	if p.URI != "" {
		return "uri:" + p.URI
	}
	return p.Source + ":" + p.ID
}

// Enrichment is what Aftershock understands about a post's text.
type Enrichment struct {
	Lang       string   `json:"lang"`
	Tokens     []string `json:"tokens,omitempty"`
	Sentiment  float64  `json:"sentiment"`            // in [-1, 1]
	Categories []string `json:"categories,omitempty"` // complaint categories such as "login", "crash"
	Versions   []string `json:"versions,omitempty"`   // version strings mentioned ("4.2.1", "build 1234")
	Features   []string `json:"features,omitempty"`   // configured feature names mentioned
	// MentionsUpdate is true when the post speaks about a new update or version
	// ("since the update", "latest version", or an explicit version string).
	MentionsUpdate bool `json:"mentions_update,omitempty"`
	// Complaint is the enricher's decision whether the post complains about
	// the service; nil when no enricher decided (hand-built or older
	// records), and Negative then falls back to the sentiment rule.
	Complaint *bool `json:"complaint,omitempty"`
}

// Negative reports whether the post reads as a complaint: the enricher's
// Complaint decision when there is one, else clearly negative sentiment or a
// complaint category without clearly positive sentiment.
func (e *Enrichment) Negative() bool {
	if e == nil {
		return false
	}
	if e.Complaint != nil {
		return *e.Complaint
	}
	return NegativeRule(e.Sentiment, len(e.Categories))
}

// NegativeRule is the sentiment rule of Negative: clearly negative, or a
// complaint category without clearly positive sentiment.
func NegativeRule(sentiment float64, categories int) bool {
	return sentiment <= -0.05 || (categories > 0 && sentiment < 0.3)
}

// MetricSample is one value of an internal metric for one cohort of a service.
// An empty Version, Release and Ring mean the old (baseline) cohort.
type MetricSample struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Version string    `json:"version,omitempty"`
	// Release names the cohort by the release id of its release events
	// (ReleaseEvent.Release) instead of, or beside, Version: the detector
	// takes the version that release's events named (the new cohort of
	// that release). A sample whose release it does not know, or whose
	// Version disagrees with it, is set aside, not counted in a cohort.
	Release string  `json:"release,omitempty"`
	Ring    string  `json:"ring,omitempty"`
	Name    string  `json:"name"` // error_rate, http_5xx, latency_p99, ...
	Value   float64 `json:"value"`
	// Series names the series the sample belongs to by its other labels
	// (instance, route, ...) in Prometheus notation, sorted by name:
	// `{instance="10.0.3.17:8080",job="api"}`. Samples of several series of
	// one query stay apart; cohort labels (version, ring) are not repeated.
	// A string, not a map, so samples stay comparable.
	Series string `json:"series,omitempty"`
}

// Release event names.
const (
	EventStarted      = "started"
	EventPromoted     = "promoted"
	EventCompleted    = "completed"
	EventHalted       = "halted"
	EventRolledBack   = "rolled_back"
	EventFixedForward = "fixed_forward"
	// EventExposure says the ring now reaches Exposure of the users (a
	// store's phased release moved to its next day, a staged rollout's
	// userFraction changed); the release stays where it is.
	EventExposure = "exposure"
)

// ValidEvent reports whether name is a known release event.
func ValidEvent(name string) bool {
	switch name {
	case EventStarted, EventPromoted, EventCompleted, EventHalted, EventRolledBack, EventFixedForward, EventExposure:
		return true
	}
	return false
}

// ReleaseEvent is one step of a release's rollout.
type ReleaseEvent struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Release string    `json:"release"`
	Service string    `json:"service"`
	Version string    `json:"version,omitempty"`
	Team    string    `json:"team,omitempty"`
	Authors []string  `json:"authors,omitempty"`
	Ring    string    `json:"ring,omitempty"`
	Event   string    `json:"event"`
	// Features lists feature names the release touches, if the deploy system says.
	Features []string `json:"features,omitempty"`
	// Exposure is the share of users the ring reaches now, in (0, 1]: on an
	// exposure event, and optionally on started and promoted (0 = the
	// ring's configured exposure).
	Exposure float64 `json:"exposure,omitempty"`
}

// Anomaly kinds.
const (
	KindVolumeSpike       = "volume_spike"
	KindComplaintSpike    = "complaint_spike"
	KindKeywordSpike      = "keyword_spike"
	KindSentimentShift    = "sentiment_shift"
	KindErrorRegression   = "error_regression"
	KindLatencyRegression = "latency_regression"
)

// Anomaly is one signal that left its baseline.
type Anomaly struct {
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	Service  string    `json:"service"`
	Release  string    `json:"release,omitempty"`
	Ring     string    `json:"ring,omitempty"`
	Kind     string    `json:"kind"`
	Signal   string    `json:"signal"`
	Observed float64   `json:"observed"`
	Expected float64   `json:"expected"`
	// Strength is how sure the detector is, in [0, 1] (1 - p-value, or a squashed z).
	Strength float64   `json:"strength"`
	Start    time.Time `json:"start,omitempty"`
	Keywords []string  `json:"keywords,omitempty"`
	Examples []Example `json:"examples,omitempty"`
}

// Example is a post quoted as evidence.
type Example struct {
	ID     string `json:"id"`
	Source string `json:"source,omitempty"`
	URL    string `json:"url,omitempty"`
	Text   string `json:"text,omitempty"`
}

// Decisions and actions of a verdict.
const (
	DecisionPass     = "pass"
	DecisionMarginal = "marginal"
	DecisionFail     = "fail"
	// DecisionWait is used while evidence is insufficient and the ring's policy is to wait.
	DecisionWait = "wait"

	ActionNone           = "none"
	ActionHalt           = "halt"
	ActionFlagOff        = "flag_off"
	ActionReviewRequired = "review_required"
)

// Signal outcomes.
const (
	OutcomePass         = "pass"
	OutcomeFail         = "fail"
	OutcomeInsufficient = "insufficient_evidence"
)

// SignalResult is the judgement of one signal in a watch window.
type SignalResult struct {
	Name     string  `json:"name"`
	Group    string  `json:"group"`
	Outcome  string  `json:"outcome"`
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	Strength float64 `json:"strength,omitempty"`
	Critical bool    `json:"critical,omitempty"`
	DryRun   bool    `json:"dry_run,omitempty"`
	Detail   string  `json:"detail,omitempty"`
}

// Verdict is the judgement of one ring of one release at one moment.
type Verdict struct {
	Type     string         `json:"type"`
	Time     time.Time      `json:"time"`
	Release  string         `json:"release"`
	Service  string         `json:"service"`
	Version  string         `json:"version,omitempty"`
	Ring     string         `json:"ring"`
	Score    float64        `json:"score"`
	Decision string         `json:"decision"`
	Action   string         `json:"action"`
	Reasons  []string       `json:"reasons"`
	Signals  []SignalResult `json:"signals,omitempty"`
	Keywords []string       `json:"keywords,omitempty"`
	Examples []Example      `json:"examples,omitempty"`
	// Feature is set when the failure points at one feature (for a flag switch-off).
	Feature string   `json:"feature,omitempty"`
	Team    string   `json:"team,omitempty"`
	Authors []string `json:"authors,omitempty"`
}

// Rollup aggregates one minute of posts of one service from one source, for dashboards.
type Rollup struct {
	Type         string         `json:"type"`
	Time         time.Time      `json:"time"` // start of the minute
	Service      string         `json:"service"`
	Source       string         `json:"source"`
	Posts        int            `json:"posts"`
	Negative     int            `json:"negative"`
	SentimentSum float64        `json:"sentiment_sum"`
	Categories   map[string]int `json:"categories,omitempty"`
}
