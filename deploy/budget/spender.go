package budget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/releases"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// SpenderDurable is the Spender's durable consumer on the VERDICTS stream.
const SpenderDurable = "budget-spender"

// Lookup finds the team and authors of a release, for verdicts that carry
// neither. It returns empty values (and no error) for a release it does not
// know; an error makes the verdict come back later.
type Lookup func(ctx context.Context, release string) (team string, authors []string, err error)

// Spender spends budgets for halt verdicts read from the VERDICTS stream.
type Spender struct {
	js     jetstream.JetStream
	ledger *Ledger
	lookup Lookup
	log    *slog.Logger
	// retry is the delay before a verdict whose spend failed comes back.
	retry time.Duration
}

// NewSpender returns a spender. lookup (nil for none) is asked for the team
// and authors when a halt verdict carries neither.
func NewSpender(js jetstream.JetStream, l *Ledger, lookup Lookup, logger *slog.Logger) *Spender {
	return &Spender{js: js, ledger: l, lookup: lookup, log: logger.With("part", "budget-spender"), retry: 2 * time.Second}
}

// Run consumes verdicts with the durable consumer SpenderDurable until ctx
// ends, then returns nil. Each message is acked after its spend is saved
// (verdicts that are not halts at once); undecodable ones are terminated;
// a failed spend comes back after a delay. When pulling fails (consumer
// deleted, heartbeats missed, server restarted; nats.go #1729) the consumer
// is recreated. Run returns an error only when the connection is closed.
func (s *Spender) Run(ctx context.Context) error {
	err := bus.Durable{
		JS:     s.js,
		Stream: bus.StreamVerdicts,
		Config: bus.DurableConfig(SpenderDurable, bus.VerdictSubject(">")),
		Handle: s.handle,
		Log:    s.log,
		What:   "verdict",
	}.Run(ctx)
	if err != nil {
		return fmt.Errorf("spending budgets: %w", err)
	}
	return nil
}

func (s *Spender) handle(ctx context.Context, msg jetstream.Msg) {
	log := s.log.With("subject", msg.Subject())
	v, err := signals.Decode(msg.Data())
	verdict, ok := v.(*signals.Verdict)
	if err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("a %T, not a verdict", v)
		}
		log.Warn("dropping bad verdict message", "err", err)
		_ = msg.Term()
		return
	}
	if err := s.Handle(ctx, *verdict); err != nil {
		if errors.Is(err, ErrInvalid) {
			log.Warn("dropping verdict that cannot be charged", "release", verdict.Release, "ring", verdict.Ring, "err", err)
			_ = msg.Term()
			return
		}
		log.Warn("spending failed, will retry", "release", verdict.Release, "ring", verdict.Ring, "err", err)
		_ = msg.NakWithDelay(s.retry)
		return
	}
	// Wait for the server to record the ack, so a restart right after does
	// not hand the verdict out again.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		log.Warn("ack failed; the verdict may come again", "err", err)
	}
}

// Handle spends for one verdict if its action is halt; other verdicts
// change nothing.
func (s *Spender) Handle(ctx context.Context, v signals.Verdict) error {
	if v.Action != signals.ActionHalt {
		return nil
	}
	r := Release{ID: v.Release, Team: v.Team, Authors: v.Authors}
	if r.Team == "" && len(r.Authors) == 0 && s.lookup != nil {
		team, authors, err := s.lookup(ctx, v.Release)
		if err != nil {
			return fmt.Errorf("looking up the team of %s: %w", v.Release, err)
		}
		r.Team, r.Authors = team, authors
	}
	return s.ledger.Spend(ctx, r, v.Ring, v.Time)
}

// ReleaseGetter reads a release from the registry; *releases.Store has it.
type ReleaseGetter interface {
	Get(ctx context.Context, id string) (releases.Release, error)
}

// RegistryLookup is a Lookup that reads the team and authors from the
// release registry; an unknown release gives empty values.
func RegistryLookup(r ReleaseGetter) Lookup {
	return func(ctx context.Context, id string) (string, []string, error) {
		rel, err := r.Get(ctx, id)
		if errors.Is(err, releases.ErrNotFound) {
			return "", nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		return rel.Team, rel.Authors, nil
	}
}
