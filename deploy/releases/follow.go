package releases

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// FollowConsumer is the durable consumer name Follow uses on the RELEASES stream.
const FollowConsumer = "release-registry"

// Follow applies the events on the RELEASES stream (releases.<service>) to
// the store, so events a deploy system publishes straight to NATS end in
// the same state as those sent through the API. Events already recorded
// (among them every event the API published) are skipped, an unknown
// release is created from its first event, and events the release's state
// refuses are logged and dropped. It uses the durable consumer
// FollowConsumer, acks each message after its change is saved, recreates
// the consumer if the server loses it, and blocks until ctx ends (then it
// returns nil). An error to create the consumer at the start is returned,
// and so is a closed connection.
func (s *Store) Follow(ctx context.Context, js jetstream.JetStream) error {
	err := bus.Durable{
		JS:       js,
		Stream:   bus.StreamReleases,
		Config:   bus.DurableConfig(FollowConsumer, bus.ReleaseSubject(">")),
		Handle:   s.handleMsg,
		Log:      s.log,
		What:     "release",
		Backoff:  bus.Doubling(time.Second, 30*time.Second),
		FailFast: true,
	}.Run(ctx)
	if err != nil {
		return fmt.Errorf("following release events: %w", err)
	}
	return nil
}

// handleMsg applies one stream message; it acks unless the store could not
// be reached, in which case the message comes back later.
func (s *Store) handleMsg(ctx context.Context, m jetstream.Msg) {
	log := s.log.With("subject", m.Subject())
	v, err := signals.Decode(m.Data())
	if err != nil {
		log.Warn("dropping undecodable release message", "err", err)
		_ = m.Term()
		return
	}
	ev, ok := v.(*signals.ReleaseEvent)
	if !ok {
		log.Warn("dropping non-release message on the releases stream", "type", fmt.Sprintf("%T", v))
		_ = m.Term()
		return
	}
	log = log.With("release", ev.Release, "ring", ev.Ring, "event", ev.Event)
	_, _, dup, err := s.apply(ctx, *ev, true, Caller{Name: "nats"})
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict), errors.Is(err, ErrForbidden):
		log.Warn("dropping refused release event", "err", err)
		_ = m.Term()
	case err != nil:
		log.Warn("saving release event failed, will retry", "err", err)
		_ = m.NakWithDelay(time.Second)
	default:
		if !dup {
			log.Info("release event from nats")
		}
		_ = m.Ack()
	}
}
