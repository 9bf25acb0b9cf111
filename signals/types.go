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
	// AppVersion is the app version a store review was written on, as the
	// store reports it (App Store im:version, Play appVersionName); empty
	// for other posts.
	AppVersion string `json:"app_version,omitempty"`
	// Enrichment is filled in by the detector side (signals/enrich); crawlers leave it nil.
	Enrichment *Enrichment `json:"enrichment,omitempty"`
}

// MsgID is the JetStream de-duplication id of the post: "<source>:<native id>".
func (p Post) MsgID() string { return p.Source + ":" + p.ID }

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
}

// Negative reports whether the post reads as a complaint: clearly negative
// sentiment, or a complaint category without clearly positive sentiment.
func (e *Enrichment) Negative() bool {
	if e == nil {
		return false
	}
	return e.Sentiment <= -0.05 || (len(e.Categories) > 0 && e.Sentiment < 0.3)
}

// MetricSample is one value of an internal metric for one cohort of a service.
// An empty Version and Ring mean the old (baseline) cohort.
type MetricSample struct {
	Type    string    `json:"type"`
	Time    time.Time `json:"time"`
	Service string    `json:"service"`
	Version string    `json:"version,omitempty"`
	Ring    string    `json:"ring,omitempty"`
	Name    string    `json:"name"` // error_rate, http_5xx, latency_p99, ...
	Value   float64   `json:"value"`
}

// Release event names.
const (
	EventStarted      = "started"
	EventPromoted     = "promoted"
	EventCompleted    = "completed"
	EventHalted       = "halted"
	EventRolledBack   = "rolled_back"
	EventFixedForward = "fixed_forward"
)

// ValidEvent reports whether name is a known release event.
func ValidEvent(name string) bool {
	switch name {
	case EventStarted, EventPromoted, EventCompleted, EventHalted, EventRolledBack, EventFixedForward:
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
