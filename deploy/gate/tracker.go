package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// TrackerDurable is the Tracker's durable consumer on the VERDICTS stream.
const TrackerDurable = "gate-tracker"

// maxCASAttempts bounds the read-modify-write retries of one verdict.
const maxCASAttempts = 20

// Tracker keeps the latest verdict of every (release, ring) in the
// "verdicts" bucket, under delivery.HaltKey(release, ring).
type Tracker struct {
	js       jetstream.JetStream
	verdicts jetstream.KeyValue
	log      *slog.Logger
	retry    time.Duration
}

// NewTracker returns a tracker writing to the "verdicts" bucket
// (bus.KV(ctx, bus.BucketVerdicts)).
func NewTracker(js jetstream.JetStream, verdicts jetstream.KeyValue, logger *slog.Logger) *Tracker {
	return &Tracker{js: js, verdicts: verdicts, log: logger.With("part", "gate-tracker"), retry: 2 * time.Second}
}

// Record stores v as the latest verdict of its release and ring unless the
// stored one is newer (by Time); a verdict with the same time replaces it,
// so a redelivery changes nothing. It reports whether v was stored. The
// write is a compare-and-set, so two trackers never lose a newer verdict.
func (t *Tracker) Record(ctx context.Context, v signals.Verdict) (bool, error) {
	if v.Release == "" || v.Ring == "" {
		return false, fmt.Errorf("%w: verdict without a release or ring", ErrInvalid)
	}
	key := delivery.HaltKey(v.Release, v.Ring)
	v.Type = signals.TypeVerdict
	data, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encoding the verdict of %s on %s: %w", v.Release, v.Ring, err)
	}
	for range maxCASAttempts {
		e, err := t.verdicts.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = t.verdicts.Create(ctx, key, data)
		case err != nil:
			return false, fmt.Errorf("reading the verdict of %s on %s: %w", v.Release, v.Ring, err)
		default:
			var old signals.Verdict
			if json.Unmarshal(e.Value(), &old) == nil && v.Time.Before(old.Time) {
				return false, nil // a newer verdict is stored
			}
			_, err = t.verdicts.Update(ctx, key, data, e.Revision())
		}
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			continue
		default:
			return false, fmt.Errorf("saving the verdict of %s on %s: %w", v.Release, v.Ring, err)
		}
	}
	return false, fmt.Errorf("saving the verdict of %s on %s: still conflicting after %d attempts", v.Release, v.Ring, maxCASAttempts)
}

// Run consumes verdicts with the durable consumer TrackerDurable until ctx
// ends, then returns nil. Each message is acked after its put; messages
// that are not valid verdicts are terminated; a failed put comes back after
// a delay. When pulling fails (consumer deleted, heartbeats missed, server
// restarted; nats.go #1729) the consumer is recreated. Run returns an error
// only when the connection is closed.
func (t *Tracker) Run(ctx context.Context) error {
	err := bus.Durable{
		JS:     t.js,
		Stream: bus.StreamVerdicts,
		Config: bus.DurableConfig(TrackerDurable, bus.VerdictSubject(">")),
		Handle: t.handle,
		Log:    t.log,
		What:   "verdict",
	}.Run(ctx)
	if err != nil {
		return fmt.Errorf("tracking verdicts: %w", err)
	}
	return nil
}

func (t *Tracker) handle(ctx context.Context, msg jetstream.Msg) {
	log := t.log.With("subject", msg.Subject())
	d, err := signals.Decode(msg.Data())
	v, ok := d.(*signals.Verdict)
	if err == nil && !ok {
		err = fmt.Errorf("a %T, not a verdict", d)
	}
	if err == nil && (v.Ring == "" || v.Release == "") {
		err = errors.New("verdict without a ring")
	}
	if err != nil {
		log.Warn("dropping bad verdict message", "err", err)
		_ = msg.Term()
		return
	}
	stored, err := t.Record(ctx, *v)
	if err != nil {
		log.Warn("saving verdict failed, will retry", "release", v.Release, "ring", v.Ring, "err", err)
		_ = msg.NakWithDelay(t.retry)
		return
	}
	if !stored {
		log.Debug("older verdict ignored", "release", v.Release, "ring", v.Ring, "time", v.Time)
	}
	// Wait for the server to record the ack, so a restart right after does
	// not hand the verdict out again.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		log.Warn("ack failed; the verdict may come again", "err", err)
	}
}
