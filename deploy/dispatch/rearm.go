package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy/delivery"
)

// Re-arming a ring after a person resumed it.
//
// A halt is claimed once per release and ring (delivery.Once). When a
// person resumes a paused store rollout (aftershock release resume-store),
// the incident that halted it is over for them: a NEW halt of the same
// ring after the resume must go out again, once. Rearm starts a new
// generation of the ring's claim: the halts bucket keeps a record
// "<release>.<ring>.resumed" with the generation and the resume time;
// halts of generation n > 0 claim "<release>.<ring>.g<n>" and carry the
// notice key "halt:<release>:<ring>:resumed-<n>" (a new webhook-id and
// Nats-Msg-Id, so neither the outbox nor a receiver drops it as a
// duplicate of the first halt). A halt verdict computed before the resume
// (a redelivery, a re-computation after a restart) belongs to the old
// generation and is not sent again.

// Rearmed is the halts-bucket record of a ring's last resume.
type Rearmed struct {
	Generation int       `json:"generation"`
	Resumed    time.Time `json:"resumed"`
	By         string    `json:"by,omitempty"`
}

func rearmKey(release, ring string) string { return delivery.HaltKey(release, ring) + ".resumed" }

// generation reads a ring's re-arm record; the zero record when the ring
// was never resumed.
func generation(ctx context.Context, halts jetstream.KeyValue, release, ring string) (Rearmed, uint64, error) {
	e, err := halts.Get(ctx, rearmKey(release, ring))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Rearmed{}, 0, nil
	}
	if err != nil {
		return Rearmed{}, 0, fmt.Errorf("reading re-arm record of %s on %s: %w", release, ring, err)
	}
	var r Rearmed
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Rearmed{}, 0, fmt.Errorf("decoding re-arm record of %s on %s: %w", release, ring, err)
	}
	return r, e.Revision(), nil
}

// Rearm lets the next halt of release on ring go out again: it starts a
// new claim generation, as of at (halt verdicts computed before at are
// still dropped). It returns the new generation. Safe against concurrent
// re-arms: the record is created or updated at its read revision.
func Rearm(ctx context.Context, halts jetstream.KeyValue, release, ring, by string, at time.Time) (int, error) {
	for try := 0; try < 10; try++ {
		cur, rev, err := generation(ctx, halts, release, ring)
		if err != nil {
			return 0, err
		}
		next := Rearmed{Generation: cur.Generation + 1, Resumed: at.UTC(), By: by}
		data, _ := json.Marshal(next)
		if rev == 0 {
			_, err = halts.Create(ctx, rearmKey(release, ring), data)
		} else {
			_, err = halts.Update(ctx, rearmKey(release, ring), data, rev)
		}
		if err == nil {
			return next.Generation, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return 0, fmt.Errorf("re-arming halt of %s on %s: %w", release, ring, err)
		}
	}
	return 0, fmt.Errorf("re-arming halt of %s on %s: too many concurrent changes", release, ring)
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// claimKey is the halts-bucket claim of a generation.
func claimKey(key string, gen int) string {
	if gen == 0 {
		return key
	}
	return fmt.Sprintf("%s.g%d", key, gen)
}

// generationKey is a notice key of a generation.
func generationKey(key string, gen int) string {
	if gen == 0 {
		return key
	}
	return fmt.Sprintf("%s:resumed-%d", key, gen)
}
