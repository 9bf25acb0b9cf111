package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Durable reads a stream with one durable pull consumer, one message at a
// time, and keeps doing so when the consumer breaks. Run it with Run.
//
// It pulls with Next rather than Consume: a Consume callback that settles
// messages quickly can race the client's own pull bookkeeping and leave no
// pull request outstanding, stalling the stream until heartbeats time out
// (seen with nats.go v1.55 under -race). Next also hands back the errors
// that need a new consumer (consumer deleted, missed heartbeats, server
// restarted; nats.go #1729) directly, and finishing the message in flight
// before returning is just the loop.
type Durable struct {
	// JS is the JetStream connection.
	JS jetstream.JetStream
	// Stream is the stream to read.
	Stream string
	// Config is the consumer, created or updated on every (re)start;
	// Config.Durable names it and is required.
	Config jetstream.ConsumerConfig
	// Handle processes one message and settles it (Ack, Nak, Term); Run
	// does not. It gets Run's ctx: use context.WithoutCancel for work that
	// must finish at shutdown.
	Handle func(ctx context.Context, msg jetstream.Msg)
	// Pulled, if set, is called after the consumer is created and after
	// every pull, with or without a message (e.g. to export its pending
	// count).
	Pulled func(ctx context.Context, cons jetstream.Consumer)
	// Log receives the start and the restarts.
	Log *slog.Logger
	// What names the messages in logs: "verdict" logs "verdict consumer
	// stopped, recreating" (default: plain "consumer …").
	What string

	// PullWait is how long one pull waits on an idle stream (default 30s).
	PullWait time.Duration
	// Backoff is the wait before the n-th restart in a row, n from 1
	// (default Doubling(100ms, 30s)).
	Backoff func(n int) time.Duration
	// ResetAfter: a consumer that ran this long before it broke worked for
	// a while, so the next restart is the first in a row again (default 1m).
	ResetAfter time.Duration
	// FailFast makes Run return the error of creating the consumer the
	// first time instead of retrying it.
	FailFast bool
}

// DurableConfig is the usual config of a Durable's consumer: explicit
// acks, from the start of the stream (filtered by filter unless it is ""),
// a 30s ack wait, redelivered without limit (nothing expires while a
// dependency is down), at most 64 messages unacked.
func DurableConfig(name, filter string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 64,
	}
}

// Doubling returns a Backoff: first, doubled per restart in a row, at
// most limit.
func Doubling(first, limit time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := first
		for i := 1; i < n && d < limit; i++ {
			d *= 2
		}
		return min(d, limit)
	}
}

// Run consumes until ctx ends, then returns nil; a message in hand at that
// moment is given back (Nak) instead of waiting for the ack wait. When
// creating the consumer or pulling fails, it waits Backoff and creates the
// consumer again. It returns an error only when the connection is closed
// (cancel ctx before closing the bus) or, with FailFast, when the first
// creation fails.
func (d Durable) Run(ctx context.Context) error {
	if d.Config.Durable == "" {
		return fmt.Errorf("consuming %s: no durable name", d.Stream)
	}
	backoff := d.Backoff
	if backoff == nil {
		backoff = Doubling(100*time.Millisecond, 30*time.Second)
	}
	resetAfter := d.ResetAfter
	if resetAfter <= 0 {
		resetAfter = time.Minute
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("stream", d.Stream, "consumer", d.Config.Durable)
	what := "consumer"
	if d.What != "" {
		what = d.What + " consumer"
	}
	restarts := 0
	for first := true; ; first = false {
		began := time.Now()
		created, err := d.consume(ctx, log, what)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		if first && !created && d.FailFast {
			return err
		}
		if time.Since(began) > resetAfter {
			restarts = 0
		}
		restarts++
		wait := backoff(restarts)
		log.Warn(what+" stopped, recreating", "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// consume creates the consumer and pulls from it until ctx ends or pulling
// fails. It reports whether the consumer was created.
func (d Durable) consume(ctx context.Context, log *slog.Logger, what string) (created bool, _ error) {
	name := d.Config.Durable
	cons, err := d.JS.CreateOrUpdateConsumer(ctx, d.Stream, d.Config)
	if err != nil {
		return false, fmt.Errorf("creating consumer %s: %w", name, err)
	}
	log.Info(what + " ready")
	pullWait := d.PullWait
	if pullWait <= 0 {
		pullWait = 30 * time.Second
	}
	d.pulled(ctx, cons)
	for {
		fctx, cancel := context.WithTimeout(ctx, pullWait)
		msg, err := cons.Next(jetstream.FetchContext(fctx))
		cancel()
		if ctx.Err() != nil {
			if msg != nil {
				_ = msg.Nak()
			}
			return true, ctx.Err()
		}
		switch {
		case err == nil:
			d.Handle(ctx, msg)
		case errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded):
			// Idle.
		default:
			return true, fmt.Errorf("pulling from consumer %s: %w", name, err)
		}
		d.pulled(ctx, cons)
	}
}

func (d Durable) pulled(ctx context.Context, cons jetstream.Consumer) {
	if d.Pulled != nil {
		d.Pulled(ctx, cons)
	}
}
