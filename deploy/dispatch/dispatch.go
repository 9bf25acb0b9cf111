// Package dispatch turns verdicts into notices: it reads the VERDICTS
// stream with a durable consumer and, for a verdict that halts a ring,
// claims the (release, ring) once and queues one notice per notifier on the
// durable delivery outbox. A verdict is acked only after its notices are queued.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/delivery"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Durable is the consumer name on the VERDICTS stream.
const Durable = "deploy-dispatch"

// Dispatcher queues notices for verdicts that act.
type Dispatcher struct {
	js        jetstream.JetStream
	halts     jetstream.KeyValue
	notifiers []string // notifier kinds (names) to queue for
	dashboard string
	now       func() time.Time
	log       *slog.Logger
}

// New returns a dispatcher. dashboard is a link template where "{release}"
// and "{service}" are replaced ("" for none).
func New(js jetstream.JetStream, halts jetstream.KeyValue, notifiers []string, dashboard string, now func() time.Time, log *slog.Logger) *Dispatcher {
	return &Dispatcher{js: js, halts: halts, notifiers: notifiers, dashboard: dashboard, now: now, log: log}
}

// Run consumes verdicts until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	cons, err := d.js.CreateOrUpdateConsumer(ctx, bus.StreamVerdicts, jetstream.ConsumerConfig{
		Durable:       Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    -1,
		MaxAckPending: 64,
	})
	if err != nil {
		return fmt.Errorf("creating verdict consumer: %w", err)
	}
	for {
		err := d.consume(ctx, cons)
		if ctx.Err() != nil {
			return nil
		}
		d.log.Warn("verdict consumer stopped; recreating", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		if c, err := d.js.CreateOrUpdateConsumer(ctx, bus.StreamVerdicts, jetstream.ConsumerConfig{Durable: Durable, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxDeliver: -1, MaxAckPending: 64}); err == nil {
			cons = c
		}
	}
}

func (d *Dispatcher) consume(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(32))
	if err != nil {
		return fmt.Errorf("reading verdicts: %w", err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		d.handle(ctx, m)
	}
}

func (d *Dispatcher) handle(ctx context.Context, m jetstream.Msg) {
	v, err := signals.Decode(m.Data())
	verdict, ok := v.(*signals.Verdict)
	if err != nil || !ok {
		d.log.Warn("dropping bad verdict message", "err", err)
		_ = m.Term()
		return
	}
	if err := d.Handle(ctx, *verdict); err != nil {
		d.log.Error("queueing notices", "release", verdict.Release, "ring", verdict.Ring, "err", err)
		_ = m.NakWithDelay(2 * time.Second)
		return
	}
	_ = m.Ack()
}

// Handle queues the notices a verdict calls for. A halt is queued at most
// once per release and ring, however often the verdict is redelivered or
// re-computed.
func (d *Dispatcher) Handle(ctx context.Context, v signals.Verdict) error {
	if v.Action != signals.ActionHalt && v.Action != signals.ActionFlagOff {
		return nil
	}
	key := delivery.HaltKey(v.Release, v.Ring)
	prefix := "halt-"
	if v.Action == signals.ActionFlagOff {
		// A flag switch is its own action, once per feature; a later halt
		// of the same ring must still go out.
		key = delivery.HaltKey(v.Release, v.Ring+"/flag_off/"+v.Feature)
		prefix = "flagoff-"
	}
	first, err := delivery.Once(ctx, d.halts, key)
	if err != nil {
		return err
	}
	if !first {
		d.log.Info("halt already sent", "release", v.Release, "ring", v.Ring)
		return nil
	}
	n := deploy.Notice{Key: prefix + key, Verdict: v, Dashboard: d.link(v), Created: d.now()}
	for _, kind := range d.notifiers {
		if err := delivery.Enqueue(ctx, d.js, kind, n); err != nil {
			// Release the claim so the redelivered verdict queues again;
			// notices already queued are dropped as duplicates by their msg id.
			if ferr := delivery.Forget(ctx, d.halts, key); ferr != nil {
				d.log.Error("releasing halt claim", "key", key, "err", ferr)
			}
			return err
		}
	}
	d.log.Info("halt queued", "release", v.Release, "ring", v.Ring, "score", v.Score, "notifiers", len(d.notifiers))
	return nil
}

func (d *Dispatcher) link(v signals.Verdict) string {
	if d.dashboard == "" {
		return ""
	}
	r := strings.NewReplacer("{release}", v.Release, "{service}", v.Service, "{ring}", v.Ring)
	return r.Replace(d.dashboard)
}
