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
// returns nil). An error to create the consumer at the start is returned.
func (s *Store) Follow(ctx context.Context, js jetstream.JetStream) error {
	first := true
	wait := time.Second
	for {
		err := s.follow(ctx, js, first)
		if ctx.Err() != nil {
			return nil
		}
		if first && err != nil && errors.Is(err, errConsumerSetup) {
			return err
		}
		first = false
		s.log.Warn("release follower stopped, restarting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

var errConsumerSetup = errors.New("setting up the release consumer")

func (s *Store) follow(ctx context.Context, js jetstream.JetStream, first bool) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, bus.StreamReleases, jetstream.ConsumerConfig{
		Durable:       FollowConsumer,
		FilterSubject: bus.ReleaseSubject(">"),
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 64,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errConsumerSetup, err)
	}
	lost := make(chan error, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) { s.handleMsg(ctx, m) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			// nats.go treats even a deleted consumer as non-terminal; we
			// restart on it (nats.go #1729).
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case lost <- err:
				default:
				}
			}
		}))
	if err != nil {
		return fmt.Errorf("%w: consuming: %w", errConsumerSetup, err)
	}
	defer cc.Stop()
	if first {
		s.log.Info("following release events", "stream", bus.StreamReleases, "consumer", FollowConsumer)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-lost:
		return err
	}
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
	_, _, dup, err := s.apply(ctx, *ev, true)
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict):
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
