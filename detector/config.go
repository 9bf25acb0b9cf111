package detector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aftershock/aftershock/detector/spike"
)

// SignalNames are the social signals the detector computes; metric signals
// are named after their metric (error_rate, latency_p99, ...).
var SignalNames = []string{"post_volume", "complaint_volume", "negative_share", "complaint_categories", "release_complaints", "emerging_terms", "sentiment_mean"}

func knownSignal(n string) bool {
	return slices.Contains(SignalNames, n) || metricName(n)
}

// metricName accepts metric names (letters, digits, '_', '-', '.').
func metricName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Policies for a ring whose signals have insufficient evidence.
const (
	NoDataWait = "wait"
	NoDataPass = "pass"
	NoDataFail = "fail"
)

// RingConfig describes one rollout ring.
type RingConfig struct {
	Name string `yaml:"name"`
	// Exposure is the share of users the ring reaches, in (0, 1].
	Exposure float64 `yaml:"exposure"`
	// Window is the least time a ring is watched after it starts (it cannot
	// pass before); the watch goes on while the ring is live.
	Window time.Duration `yaml:"window"`
	// Internal rings (H1) have no public voice: only internal signals count.
	Internal bool `yaml:"internal"`
	// NoData decides a verdict when no signal has enough evidence: wait, pass or fail.
	NoData string `yaml:"no_data"`
	// MinPosts is the least number of posts (observed or expected) before social
	// signals are judged.
	MinPosts int `yaml:"min_posts"`
}

// Config tunes the detector. Zero values take defaults in Validate.
type Config struct {
	Rings []RingConfig `yaml:"rings"`
	// Baseline is how far before a ring start the detector looks for the normal rate.
	Baseline time.Duration `yaml:"baseline"`
	// MinBaseline is the least baseline history needed to judge social signals.
	MinBaseline time.Duration `yaml:"min_baseline"`
	// Bucket is the width of a count bucket.
	Bucket time.Duration `yaml:"bucket"`
	// PassScore and MarginalScore are the canary-judge thresholds (0–100).
	PassScore     float64 `yaml:"pass_score"`
	MarginalScore float64 `yaml:"marginal_score"`
	// Alpha is the significance level of count and proportion tests.
	Alpha float64 `yaml:"alpha"`
	// Consecutive is how many evaluations in a row a non-critical failure must
	// hold before the verdict acts on it.
	Consecutive int `yaml:"consecutive"`
	// MinSamples is the least number of metric samples per cohort for a comparison.
	MinSamples int `yaml:"min_samples"`
	// MaxServices bounds memory: services beyond it are ignored (and counted).
	MaxServices int `yaml:"max_services"`
	// Weeks of hourly history kept per service to learn its hour-of-week rhythm.
	Weeks int `yaml:"weeks"`
	// Spike tunes the continuous spike detection (the same logic as
	// `aftershock backtest`); the defaults need no per-series tuning.
	Spike spike.Config `yaml:"spike"`
	// DryRun lists signals that are computed and reported but not counted
	// (to try a new signal before trusting it).
	DryRun []string `yaml:"dry_run"`
	// Soak is how long the last ring (and any ring of a completed release)
	// is still watched after the release completed; ServiceSoak overrides
	// it per service.
	Soak        time.Duration            `yaml:"soak"`
	ServiceSoak map[string]time.Duration `yaml:"service_soak"`
	// MaxWatch bounds a watch whose release never moves on (no promotion,
	// completion, halt or rollback): it ends this long after the ring started.
	MaxWatch time.Duration `yaml:"max_watch"`
	// Lateness is how long a bucket stays open for late posts before the
	// sequential tests count it (default 0: a bucket is counted when it
	// ends, and a post that comes later is counted with the next bucket).
	Lateness time.Duration `yaml:"lateness"`
	// FalseHaltEvery is the false-alarm budget: at most one false halt per
	// service per this much normal traffic. It sets the CUSUM thresholds
	// (docs/judge.md).
	FalseHaltEvery time.Duration `yaml:"false_halt_every"`
	// Critical lists the signals (and complaint categories) that fail a
	// verdict on their own when they fail (Kayenta's critical).
	Critical []string `yaml:"critical"`
	// MustHaveData lists signals without whose evidence a ring cannot pass
	// (Kayenta's mustHaveData). Whatever it says, a ring where half or more
	// of the counted signals lack evidence cannot pass.
	MustHaveData []string `yaml:"must_have_data"`
	// SilenceAfter and SilenceGaps: a service whose sources have all been
	// silent for longer than max(SilenceAfter, SilenceGaps × its usual gap
	// between posts) has "sources silent" and its rings wait.
	SilenceAfter time.Duration `yaml:"silence_after"`
	SilenceGaps  float64       `yaml:"silence_gaps"`
	// ErrorCounts lists the count pairs judged with a sequential count
	// test (errcounts.go): the errors among the requests of the new
	// version. Absent: DefaultErrorCounts; [] judges none.
	ErrorCounts []CountPair `yaml:"error_counts"`
}

// CountPair names an error-count signal and the two metric samples it is
// made of: Errors and Requests are sample names whose value is a count
// over the sample's interval (non-negative and finite).
type CountPair struct {
	// Name is the signal's name in verdicts, critical and must_have_data.
	Name     string `yaml:"name"`
	Errors   string `yaml:"errors"`
	Requests string `yaml:"requests"`
}

// String is how the pair is written in the README's table: name:
// errors/requests.
func (p CountPair) String() string { return p.Name + ": " + p.Errors + "/" + p.Requests }

// DefaultErrorCounts is the pair of the JSON push's count form
// ({"requests":1200,"errors":17}, crawlers/push).
var DefaultErrorCounts = []CountPair{{Name: "errors", Errors: "errors", Requests: "requests"}}

// DefaultCritical are the signals that halt on their own by default: the
// complaints that name the new version, the share of negative posts (the
// one complaint test that needs no time-of-day baseline: a night-time
// incident shows there first), the new version's error rates and its
// error counts among its requests (the default count
// pair, "errors"), and the complaint categories that point at the product
// itself.
var DefaultCritical = []string{"release_complaints", "negative_share", "error_rate", "http_5xx", "http_5xx_rate", "errors", "login", "payment", "crash", "data_loss", "update", "outage", "slow"}

// SoakFor is the soak watch of a service.
func (c *Config) SoakFor(service string) time.Duration {
	if d, ok := c.ServiceSoak[service]; ok {
		return d
	}
	return c.Soak
}

func (c *Config) critical(name string) bool { return slices.Contains(c.Critical, name) }

// DefaultRings are Facebook's three rings.
func DefaultRings() []RingConfig {
	return []RingConfig{
		{Name: "H1", Exposure: 0.001, Window: 30 * time.Minute, Internal: true},
		{Name: "H2", Exposure: 0.01, Window: time.Hour},
		{Name: "H3", Exposure: 1, Window: 2 * time.Hour},
	}
}

// Validate applies defaults and checks the section; prefix is the field path
// of the section in the file (e.g. "detector").
func (c *Config) Validate(prefix string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	if len(c.Rings) == 0 {
		c.Rings = DefaultRings()
	}
	seen := map[string]bool{}
	for i := range c.Rings {
		r := &c.Rings[i]
		f := fmt.Sprintf("rings[%d]", i)
		if r.Name == "" {
			bad(f+".name", "required")
		} else if seen[r.Name] {
			bad(f+".name", "duplicate ring %q", r.Name)
		}
		seen[r.Name] = true
		if r.Exposure == 0 {
			r.Exposure = 1
		}
		if r.Exposure < 0 || r.Exposure > 1 {
			bad(f+".exposure", "%g is outside (0, 1]", r.Exposure)
		}
		if r.Window == 0 {
			r.Window = time.Hour
		}
		if r.Window < time.Minute {
			bad(f+".window", "%s is shorter than a minute", r.Window)
		}
		if r.NoData == "" {
			r.NoData = NoDataWait
		}
		if r.NoData != NoDataWait && r.NoData != NoDataPass && r.NoData != NoDataFail {
			bad(f+".no_data", "%q, want wait, pass or fail", r.NoData)
		}
		if r.MinPosts == 0 {
			r.MinPosts = 10
		}
		if r.MinPosts < 0 {
			bad(f+".min_posts", "negative")
		}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Baseline, 24*time.Hour)
	def(&c.MinBaseline, 30*time.Minute)
	def(&c.Bucket, time.Minute)
	if c.Bucket < time.Second {
		bad("bucket", "%s is shorter than a second", c.Bucket)
	}
	if c.Baseline < c.MinBaseline {
		bad("baseline", "%s is shorter than min_baseline %s", c.Baseline, c.MinBaseline)
	}
	if c.PassScore == 0 {
		c.PassScore = 90
	}
	if c.MarginalScore == 0 {
		c.MarginalScore = 50
	}
	if c.PassScore <= c.MarginalScore || c.PassScore > 100 || c.MarginalScore < 0 {
		bad("pass_score", "want 0 <= marginal_score (%g) < pass_score (%g) <= 100", c.MarginalScore, c.PassScore)
	}
	if c.Alpha == 0 {
		c.Alpha = 0.001
	}
	if c.Alpha <= 0 || c.Alpha >= 0.5 {
		bad("alpha", "%g is outside (0, 0.5)", c.Alpha)
	}
	if c.Consecutive == 0 {
		c.Consecutive = 2
	}
	if c.Consecutive < 1 {
		bad("consecutive", "must be at least 1")
	}
	if c.MinSamples == 0 {
		c.MinSamples = 5
	}
	if c.MaxServices == 0 {
		c.MaxServices = 10000
	}
	if c.Weeks == 0 {
		c.Weeks = 4
	}
	if c.Weeks < 1 || c.Weeks > 12 {
		bad("weeks", "%d, want 1 to 12", c.Weeks)
	}
	if err := c.Spike.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			errs = append(errs, fmt.Errorf("%s.spike.%s", prefix, line))
		}
	}
	if c.DryRun == nil {
		// Emerging terms explain a verdict well but are new: report them
		// without counting them until an operator opts in (dry_run: []).
		c.DryRun = []string{"emerging_terms"}
	}
	for i, n := range c.DryRun {
		if !knownSignal(n) {
			bad(fmt.Sprintf("dry_run[%d]", i), "unknown signal %q (known: %s)", n, strings.Join(SignalNames, ", "))
		}
	}
	def(&c.Soak, 24*time.Hour)
	def(&c.MaxWatch, 7*24*time.Hour)
	def(&c.FalseHaltEvery, 90*24*time.Hour)
	def(&c.SilenceAfter, 30*time.Minute)
	if c.SilenceGaps == 0 {
		c.SilenceGaps = 10
	}
	if c.Soak < 0 {
		bad("soak", "negative")
	}
	for n, d := range c.ServiceSoak {
		if d < 0 {
			bad("service_soak."+n, "negative")
		}
	}
	if c.MaxWatch < time.Hour {
		bad("max_watch", "%s is shorter than an hour", c.MaxWatch)
	}
	if c.Lateness < 0 || c.Lateness > time.Hour {
		bad("lateness", "%s, want 0 to 1h", c.Lateness)
	}
	if c.FalseHaltEvery < 0 {
		bad("false_halt_every", "%s is negative: it is the time between false halts the budget allows (at least a day; 0 or absent: 2160h)", c.FalseHaltEvery)
	} else if c.FalseHaltEvery < 24*time.Hour {
		bad("false_halt_every", "%s is shorter than a day", c.FalseHaltEvery)
	}
	if c.SilenceGaps < 1 {
		bad("silence_gaps", "%g, want at least 1", c.SilenceGaps)
	}
	if c.ErrorCounts == nil {
		c.ErrorCounts = slices.Clone(DefaultErrorCounts)
	}
	c.validateCounts(bad)
	if c.Critical == nil {
		c.Critical = slices.Clone(DefaultCritical)
	}
	for i, n := range c.Critical {
		if !knownSignal(n) && categoryIndex(n) < 0 {
			bad(fmt.Sprintf("critical[%d]", i), "unknown signal or category %q", n)
		}
	}
	for i, n := range c.MustHaveData {
		if !knownSignal(n) {
			bad(fmt.Sprintf("must_have_data[%d]", i), "unknown signal %q", n)
		}
	}
	return errors.Join(errs...)
}

// validateCounts checks error_counts: names that are metric names, a
// signal name that is not a social signal's, errors and requests two
// different samples, no name or sample used twice.
func (c *Config) validateCounts(bad func(field, format string, args ...any)) {
	used := map[string]string{}
	for i, p := range c.ErrorCounts {
		f := fmt.Sprintf("error_counts[%d]", i)
		for _, x := range []struct{ field, v string }{{"name", p.Name}, {"errors", p.Errors}, {"requests", p.Requests}} {
			switch {
			case x.v == "":
				bad(f+"."+x.field, "required")
			case !metricName(x.v):
				bad(f+"."+x.field, "%q is not a metric name (letters, digits, '_', '-', '.')", x.v)
			case slices.Contains(SignalNames, x.v):
				bad(f+"."+x.field, "%q is a social signal's name", x.v)
			}
		}
		if p.Errors != "" && p.Errors == p.Requests {
			bad(f+".requests", "%q is also the errors sample", p.Requests)
		}
		if prev, ok := used[p.Name]; ok && p.Name != "" {
			bad(f+".name", "%q is already %s", p.Name, prev)
		}
		used[p.Name] = f + ".name"
		for _, x := range []struct{ field, v string }{{"errors", p.Errors}, {"requests", p.Requests}} {
			if prev, ok := used["sample:"+x.v]; ok && x.v != "" {
				bad(f+"."+x.field, "sample %q is already counted as %s", x.v, prev)
			}
			used["sample:"+x.v] = f + "." + x.field
		}
	}
	// A pair's signal named like another pair's sample reads as that
	// sample in critical, must_have_data and verdicts: which is meant?
	for i, p := range c.ErrorCounts {
		for j, o := range c.ErrorCounts {
			if i != j && p.Name != "" && (p.Name == o.Errors || p.Name == o.Requests) {
				bad(fmt.Sprintf("error_counts[%d].name", i), "%q is a sample of error_counts[%d]: name the signal apart from the samples of other pairs", p.Name, j)
			}
		}
	}
}

// CountNames are the signal names of the error-count pairs.
func (c *Config) CountNames() []string {
	var out []string
	for _, p := range c.ErrorCounts {
		out = append(out, p.Name)
	}
	return out
}

// CountSample reports whether a metric sample name is one of a count
// pair's (its values are counts, judged by the pair's chart, not compared
// as values by Mann–Whitney).
func (c *Config) CountSample(name string) bool { return c.countSample(name) }

// countSample reports whether a metric sample name is one of a count
// pair's (its samples are counts, judged by the count chart, not compared
// as values).
func (c *Config) countSample(name string) bool {
	for _, p := range c.ErrorCounts {
		if p.Errors == name || p.Requests == name {
			return true
		}
	}
	return false
}

// ring returns the configuration of the named ring, or false.
func (c *Config) ring(name string) (RingConfig, bool) {
	for _, r := range c.Rings {
		if r.Name == name {
			return r, true
		}
	}
	return RingConfig{}, false
}
