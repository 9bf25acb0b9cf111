// Package gate answers the deploy system's question "may this release go
// on past ring X?" from the latest verdict per (release, ring), the
// release's state and the reliability budgets, in three forms: plain JSON,
// Argo Rollouts' web metric provider and Flagger's webhooks (see
// docs/gate.md).
//
// A Tracker keeps the latest verdict of every (release, ring) in the KV
// bucket "verdicts"; a Gate reads it and decides:
//
//	release halted or rolled back               → halt
//	no verdict for the ring yet                 → wait
//	verdict action halt                         → halt
//	verdict action flag_off naming a feature    → proceed (the feature is off; the rest may go on)
//	verdict action flag_off without a feature   → halt
//	verdict action review_required              → review_required
//	decision pass                               → proceed
//	decision marginal                           → review_required
//	decision wait                               → wait (naming silent sources first when the detector says so)
//	decision fail, action none (not confirmed)  → wait
//	team budget or an author's karma used up    → review_required, unless the answer is halt (silent sources stay the first reason)
package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Decisions of the gate.
const (
	Proceed        = "proceed"
	Wait           = "wait"
	Halt           = "halt"
	ReviewRequired = "review_required"
)

// silentPrefix starts the gate's first reason when the detector says the
// service's sources are silent.
const silentPrefix = "not enough evidence: sources silent"

// ErrInvalid is wrapped by errors about a malformed question (a bad ring).
var ErrInvalid = errors.New("invalid gate request")

// Releases is the part of the release registry the gate reads;
// *releases.Store has it.
type Releases interface {
	Get(ctx context.Context, id string) (releases.Release, error)
	List(ctx context.Context, f releases.Filter, limit int) ([]releases.Release, error)
}

// Budgets tells whether a team's budget or an author's karma is used up;
// *budget.Ledger has it.
type Budgets interface {
	Exhausted(ctx context.Context, team string, authors []string) (bool, string, error)
}

// Answer is the gate's answer for one release and ring.
type Answer struct {
	Release  string `json:"release"`
	Ring     string `json:"ring"`
	Decision string `json:"decision"`
	// Score is the verdict's score, nil when there is no verdict.
	Score   *float64 `json:"score"`
	Reasons []string `json:"reasons"`
	// Time is the verdict's time, zero when there is no verdict.
	Time time.Time `json:"time,omitzero"`
	// Status is the release's status in the registry.
	Status string `json:"status"`
	// OK is Decision == "proceed".
	OK bool `json:"ok"`
}

// Gate answers gate questions.
type Gate struct {
	releases Releases
	verdicts jetstream.KeyValue
	budgets  Budgets
	log      *slog.Logger
	// checkRing, when set, refuses rings that are not configured.
	checkRing func(ring string) error
}

// WithRingCheck makes the gate refuse (ErrInvalid, 400) a ring that check
// refuses, e.g. inbound.Rules.Ring for the configured rings. It returns g.
func (g *Gate) WithRingCheck(check func(ring string) error) *Gate {
	g.checkRing = check
	return g
}

// New returns a gate over the release registry, the "verdicts" bucket
// (bus.KV(ctx, bus.BucketVerdicts)) filled by a Tracker, and the budgets
// (nil to ignore budgets).
func New(rel Releases, verdicts jetstream.KeyValue, budgets Budgets, logger *slog.Logger) *Gate {
	return &Gate{releases: rel, verdicts: verdicts, budgets: budgets, log: logger}
}

// Answer decides whether release may go on past ring; an empty ring means
// the release's current ring. An unknown release gives an error wrapping
// releases.ErrNotFound; a malformed ring one wrapping ErrInvalid.
func (g *Gate) Answer(ctx context.Context, releaseID, ring string) (Answer, error) {
	if ring != "" && !bus.ValidToken(ring) {
		return Answer{}, fmt.Errorf("%w: ring %q is not a valid ring name", ErrInvalid, ring)
	}
	rel, err := g.releases.Get(ctx, releaseID)
	if err != nil {
		return Answer{}, err
	}
	return g.answer(ctx, rel, ring)
}

func (g *Gate) answer(ctx context.Context, rel releases.Release, ring string) (Answer, error) {
	if ring != "" && g.checkRing != nil {
		if err := g.checkRing(ring); err != nil {
			return Answer{}, fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), signals.ErrInvalid.Error()+": "))
		}
	}
	if ring == "" {
		ring = rel.Ring
	}
	var v *signals.Verdict
	if ring != "" {
		var err error
		v, err = g.verdict(ctx, rel.ID, ring)
		if err != nil {
			return Answer{}, err
		}
	}
	a := decide(rel, ring, v)
	if a.Decision != Halt && g.budgets != nil {
		out, why, err := g.budgets.Exhausted(ctx, rel.Team, rel.Authors)
		if err != nil {
			return Answer{}, fmt.Errorf("checking budgets of %s: %w", rel.ID, err)
		}
		if out {
			a.Decision = ReviewRequired
			// Silent sources stay the first reason: the crawlers may be
			// broken, which matters more than whose budget is spent.
			at := 0
			if len(a.Reasons) > 0 && strings.HasPrefix(a.Reasons[0], silentPrefix) {
				at = 1
			}
			a.Reasons = slices.Insert(a.Reasons, at, why)
		}
	}
	a.OK = a.Decision == Proceed
	return a, nil
}

// verdict reads the latest verdict of a release and ring; nil if none.
func (g *Gate) verdict(ctx context.Context, release, ring string) (*signals.Verdict, error) {
	e, err := g.verdicts.Get(ctx, delivery.HaltKey(release, ring))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the verdict of %s on %s: %w", release, ring, err)
	}
	var v signals.Verdict
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return nil, fmt.Errorf("decoding the verdict of %s on %s: %w", release, ring, err)
	}
	return &v, nil
}

// decide applies the rules in the package comment, budgets aside. It is a
// pure function of the release, the ring and the latest verdict (nil if none).
func decide(rel releases.Release, ring string, v *signals.Verdict) Answer {
	a := Answer{Release: rel.ID, Ring: ring, Status: rel.Status, Reasons: []string{}}
	var reasons []string
	if v != nil {
		score := v.Score
		a.Score, a.Time = &score, v.Time
		reasons = slices.Clone(v.Reasons)
	}
	set := func(decision, why string) Answer {
		a.Decision = decision
		if why != "" {
			a.Reasons = append(a.Reasons, why)
		}
		a.Reasons = append(a.Reasons, reasons...)
		return a
	}
	switch {
	case rel.Status == releases.StatusHalted || rel.Status == releases.StatusRolledBack:
		return set(Halt, fmt.Sprintf("release %s is %s", rel.ID, strings.ReplaceAll(rel.Status, "_", " ")))
	case ring == "":
		return set(Wait, fmt.Sprintf("release %s has not started on a ring", rel.ID))
	case v == nil:
		return set(Wait, "no verdict yet for ring "+ring)
	}
	switch v.Action {
	case signals.ActionHalt:
		return set(Halt, fmt.Sprintf("verdict %s (score %.1f): halt", v.Decision, v.Score))
	case signals.ActionFlagOff:
		if v.Feature == "" {
			return set(Halt, "verdict asks to switch a feature off but names none: halt")
		}
		return set(Proceed, fmt.Sprintf("feature %s switched off; the rest of the release may continue", v.Feature))
	case signals.ActionReviewRequired:
		return set(ReviewRequired, fmt.Sprintf("verdict %s (score %.1f) asks for a review", v.Decision, v.Score))
	}
	switch v.Decision {
	case signals.DecisionPass:
		return set(Proceed, fmt.Sprintf("verdict pass (score %.1f)", v.Score))
	case signals.DecisionMarginal:
		return set(ReviewRequired, fmt.Sprintf("verdict marginal (score %.1f): a person should look", v.Score))
	case signals.DecisionWait:
		for i, r := range reasons {
			if strings.HasPrefix(r, "sources silent since") {
				// The crawlers may be broken: say so first (once), never proceed.
				reasons = slices.Delete(reasons, i, i+1)
				return set(Wait, silentPrefix+strings.TrimPrefix(r, "sources silent"))
			}
		}
		return set(Wait, "not enough evidence yet")
	case signals.DecisionFail:
		return set(Wait, fmt.Sprintf("verdict fail (score %.1f) not yet confirmed by consecutive evaluations", v.Score))
	}
	return set(Wait, fmt.Sprintf("unknown verdict decision %q", v.Decision))
}

// flaggerRelease finds the release a Flagger webhook is about: the
// release id in its metadata, or else the most recently created release of
// the service (metadata "service", else the canary's name) that is not
// finished.
func (g *Gate) flaggerRelease(ctx context.Context, id, service string) (releases.Release, error) {
	if id != "" {
		return g.releases.Get(ctx, id)
	}
	if !bus.ValidToken(service) {
		return releases.Release{}, fmt.Errorf("%w: no release in the metadata and %q is not a service name", releases.ErrNotFound, service)
	}
	list, err := g.releases.List(ctx, releases.Filter{Service: service}, 0)
	if err != nil {
		return releases.Release{}, err
	}
	for _, r := range list { // most recently created first
		if !r.Finished() {
			return r, nil
		}
	}
	return releases.Release{}, fmt.Errorf("%w: no unfinished release of service %s (set metadata.release)", releases.ErrNotFound, service)
}
