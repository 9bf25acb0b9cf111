package crawlers

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// State is a source's health.
type State string

// Health states, from best to worst.
const (
	// StateOK: the source answers and what it finds is read.
	StateOK State = "ok"
	// StateSilent: the source answers, but nothing was read from it for
	// longer than its silent_after. Zero posts may be a quiet product; it
	// may also be a wrong query or a changed API, so it is said out loud.
	StateSilent State = "silent"
	// StateDegraded: the source answers, but every item of its last page
	// was skipped, or its share of skipped items jumped, or it is retrying
	// after a failure or waiting out a rate limit.
	StateDegraded State = "degraded"
	// StateFailing: FailingAfter polls in a row failed, or one failed
	// permanently (bad credentials, a configured URL gone).
	StateFailing State = "failing"
)

// States lists every state, best first.
var States = []State{StateOK, StateSilent, StateDegraded, StateFailing}

func (s State) rank() int { return slices.Index(States, s) }

// Worse reports whether s is worse than o.
func (s State) Worse(o State) bool { return s.rank() > o.rank() }

// Thresholds of the health judgement.
const (
	// FailingAfter failed polls (or stream connections) in a row make a
	// source failing; fewer make it degraded.
	FailingAfter = 3
	// MaxSkipShare: a page on which more than this share of the items was
	// skipped is a source problem, whatever the usual share.
	MaxSkipShare = 0.5
	// SkipJump: a page whose skip share is this much above the source's
	// usual share (an average over its healthy pages) is a source problem.
	SkipJump = 0.25
	// skipJumpItems is the least number of items on a page for a jump to
	// count (one odd item of three is no jump).
	skipJumpItems = 4
	// skipJumpHistory healthy pages make the usual share worth comparing to.
	skipJumpHistory = 3
	// skipShareAlpha weighs the newest healthy page in the usual share.
	skipShareAlpha = 0.2
	// DefaultSilentAfter is the default of Spec.SilentAfter (at least
	// SilentIntervals intervals).
	DefaultSilentAfter = time.Hour
	SilentIntervals    = 10
)

// Health is one source's health, as Runner.Health reports it for /healthz
// details, `aftershock sources check` and the judge's "sources silent"
// evidence.
type Health struct {
	Source  string `json:"source"`
	Type    string `json:"type"`
	Service string `json:"service"`
	State   State  `json:"state"`
	// Reason says why the state is not ok, with figures.
	Reason string `json:"reason,omitempty"`
	// LastSuccess is the end of the last successful poll (or stream page).
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastItem is when an item (post or sample) was last read from it.
	LastItem time.Time `json:"last_item,omitzero"`
	// Failures counts failed polls since the last success.
	Failures  int    `json:"consecutive_failures,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// Found, Read and Skips describe the last page that held any item:
	// items found, items read (published or duplicate), skips by reason.
	Found int   `json:"found,omitempty"`
	Read  int   `json:"read,omitempty"`
	Skips Skips `json:"skips,omitempty"`
	// SkipShare is the usual share of skipped items on healthy pages.
	SkipShare float64 `json:"skip_share"`
}

// Worst is the worst state of hs (ok for none).
func Worst(hs []Health) State {
	w := StateOK
	for _, h := range hs {
		if h.State.Worse(w) {
			w = h.State
		}
	}
	return w
}

// tracker follows one running source's health.
type tracker struct {
	mu          sync.Mutex
	spec        Spec
	started     time.Time
	silentAfter time.Duration

	lastSuccess, lastItem time.Time
	failures              int
	permanent             bool
	rateLimited           bool
	lastError             string

	found, read int
	skips       Skips
	skipProblem string
	skipShare   float64
	sharePages  int

	state State
}

func newTracker(spec Spec, now time.Time) *tracker {
	return &tracker{spec: spec, started: now, silentAfter: spec.silentAfter(), state: StateOK}
}

// page records a delivered page: found items of which read were read and
// skips were skipped. It returns the skip problem the page shows, or "".
func (t *tracker) page(now time.Time, read int, skips Skips, rateLimited bool) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastSuccess = now
	t.failures, t.permanent, t.lastError = 0, false, ""
	t.rateLimited = rateLimited
	if read > 0 {
		t.lastItem = now
	}
	skipped := skips.Total()
	found := read + skipped
	if found == 0 {
		return "" // nothing new: says nothing about skips
	}
	t.found, t.read, t.skips = found, read, maps.Clone(skips)
	share := float64(skipped) / float64(found)
	problem := ""
	switch {
	case read == 0:
		problem = fmt.Sprintf("all %d items of the last page skipped (%s)", found, skips)
	case share > MaxSkipShare:
		problem = fmt.Sprintf("%d of %d items of the last page skipped (%s)", skipped, found, skips)
	case t.sharePages >= skipJumpHistory && found >= skipJumpItems && share-t.skipShare >= SkipJump:
		problem = fmt.Sprintf("skipped share jumped from %.0f%% to %.0f%%: %d of %d items (%s)", 100*t.skipShare, 100*share, skipped, found, skips)
	}
	t.skipProblem = problem
	if problem == "" {
		// Only healthy pages make the usual share, so a lasting jump stays
		// a problem instead of becoming the norm.
		if t.sharePages == 0 {
			t.skipShare = share
		} else {
			t.skipShare += skipShareAlpha * (share - t.skipShare)
		}
		t.sharePages++
	}
	return problem
}

// failure records a failed poll or stream connection.
func (t *tracker) failure(err error, kind string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failures++
	t.permanent = kind == ErrKindPermanent
	t.rateLimited = kind == ErrKindRateLimit
	t.lastError = err.Error()
}

// health judges the source at now and remembers the state. changed reports
// whether the state differs from the last judgement.
func (t *tracker) health(now time.Time) (h Health, changed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h = Health{
		Source: t.spec.Name, Type: t.spec.Type, Service: t.spec.Service,
		State: StateOK, LastSuccess: t.lastSuccess, LastItem: t.lastItem,
		Failures: t.failures, LastError: t.lastError,
		Found: t.found, Read: t.read, Skips: maps.Clone(t.skips), SkipShare: t.skipShare,
	}
	quietSince := t.started
	if t.lastItem.After(quietSince) {
		quietSince = t.lastItem
	}
	switch {
	case t.permanent:
		h.State, h.Reason = StateFailing, "failed permanently: "+t.lastError
	case t.failures >= FailingAfter:
		h.State, h.Reason = StateFailing, fmt.Sprintf("%d polls failed in a row: %s", t.failures, t.lastError)
	case t.skipProblem != "":
		h.State, h.Reason = StateDegraded, t.skipProblem
	case t.rateLimited:
		h.State, h.Reason = StateDegraded, "rate limited"
		if t.lastError != "" {
			h.Reason += ": " + t.lastError
		}
	case t.failures > 0:
		h.State, h.Reason = StateDegraded, fmt.Sprintf("%d polls failed in a row: %s", t.failures, t.lastError)
	case now.Sub(quietSince) > t.silentAfter:
		h.State = StateSilent
		if t.lastItem.IsZero() {
			h.Reason = fmt.Sprintf("nothing read since the start %s ago (silent after %s)", now.Sub(t.started).Round(time.Second), t.silentAfter)
		} else {
			h.Reason = fmt.Sprintf("nothing read for %s (silent after %s)", now.Sub(t.lastItem).Round(time.Second), t.silentAfter)
		}
	}
	changed = h.State != t.state
	t.state = h.State
	return h, changed
}

// String lists the counts by reason, most first: "no_time 50, malformed 2".
func (s Skips) String() string {
	reasons := slices.Collect(maps.Keys(s))
	sort.Slice(reasons, func(i, j int) bool {
		if s[reasons[i]] != s[reasons[j]] {
			return s[reasons[i]] > s[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%s %d", r, s[r])
	}
	return strings.Join(parts, ", ")
}

// Assess judges the result of one poll of a source from the start, as
// `aftershock sources check` makes it: failing on an error, degraded when
// the page's items were mostly skipped, silent when it found nothing (a
// first poll reads the newest page, so an empty one is a wrong query or a
// changed API more often than a quiet product), else ok.
func Assess(page Page, err error) (State, string) {
	if err != nil {
		return StateFailing, err.Error()
	}
	read := len(page.Posts) + len(page.Metrics)
	skipped := page.Skipped.Total()
	switch {
	case skipped > 0 && read == 0:
		return StateDegraded, fmt.Sprintf("all %d items skipped (%s)", skipped, page.Skipped)
	case skipped > 0 && float64(skipped)/float64(read+skipped) > MaxSkipShare:
		return StateDegraded, fmt.Sprintf("%d of %d items skipped (%s)", skipped, read+skipped, page.Skipped)
	case read == 0:
		return StateSilent, "found nothing"
	}
	return StateOK, ""
}

// ForService keeps the health of the sources about service: the judge's
// "sources silent" evidence asks whether the absence of complaints about a
// release may come from sources that read nothing.
func ForService(hs []Health, service string) []Health {
	var out []Health
	for _, h := range hs {
		if h.Service == service {
			out = append(out, h)
		}
	}
	return out
}

// Reading reports whether a source in this state is reading what it finds
// (ok), as against silent, degraded or failing.
func (s State) Reading() bool { return s == StateOK }
