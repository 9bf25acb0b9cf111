package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/internal/bus"
)

// maxAckPending bounds the notices of one kind in flight or waiting for a
// retry; one unreachable receiver must not hold back the rest for long.
const maxAckPending = 16

// Worker delivers the notices of one notifier kind.
type Worker struct {
	js       jetstream.JetStream
	kind     string
	notifier deploy.Notifier
	cfg      Config
	log      *slog.Logger
	m        *metrics
	now      func() time.Time
	dead     *DeadLetters

	// OnDeadLetter, when set, is told of every notice given up on, after it
	// was kept as a dead letter (the daemon posts it to chat).
	OnDeadLetter func(ctx context.Context, dl DeadLetter)
}

// New builds a worker for deliveries.<kind>. cfg is validated (defaults
// applied); metrics go to reg (nil for none) labelled with kind; now is the
// clock the deadline is checked against.
func New(js jetstream.JetStream, kind string, n deploy.Notifier, cfg Config, logger *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Worker, error) {
	if !bus.ValidToken(kind) {
		return nil, fmt.Errorf("delivery worker: kind %q is not a valid name", kind)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("delivery worker %s: registering metrics: %w", kind, err)
	}
	return &Worker{
		js: js, kind: kind, notifier: n, cfg: cfg, m: m, now: now,
		log: logger.With("notifier", kind),
	}, nil
}

// Run consumes deliveries.<kind> until ctx ends, then lets the delivery in
// flight finish and returns nil. It recreates its consumer when pulling
// fails (consumer deleted, heartbeats missed, server restarted) and returns
// an error only when the connection is closed: cancel ctx before closing
// the bus.
func (w *Worker) Run(ctx context.Context) error {
	dead, err := OpenDeadLetters(ctx, w.js, w.now)
	if err != nil {
		return fmt.Errorf("delivering %s notices: %w", w.kind, err)
	}
	w.dead = dead
	rctx, stopRefresh := context.WithCancel(ctx)
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		w.refreshPending(rctx)
	}()
	defer func() {
		stopRefresh()
		<-refreshed
	}()
	// bus.Durable pulls one message at a time with Next rather than
	// Consume; its comment says why.
	err = bus.Durable{
		JS:     w.js,
		Stream: bus.StreamDeliveries,
		Config: jetstream.ConsumerConfig{
			Durable:       "deliveries_" + w.kind,
			FilterSubject: bus.DeliverySubject(w.kind),
			AckPolicy:     jetstream.AckExplicitPolicy,
			// Longer than one attempt, so a slow receiver doesn't cause a
			// redelivery while the first attempt is still running.
			AckWait:       w.cfg.AttemptTimeout + 10*time.Second,
			MaxAckPending: maxAckPending,
			MaxDeliver:    -1,
		},
		Handle:     w.deliver,
		Pulled:     w.updatePending,
		Log:        w.log,
		What:       "delivery",
		PullWait:   fetchWait,
		Backoff:    func(n int) time.Duration { return min(w.backoff(n), maxRecreateWait) },
		ResetAfter: fetchWait,
	}.Run(ctx)
	if err != nil {
		return fmt.Errorf("delivering %s notices: %w", w.kind, err)
	}
	return nil
}

// fetchWait is how long one pull request waits on an idle queue.
const fetchWait = 30 * time.Second

// maxRecreateWait caps the wait before recreating a broken consumer.
const maxRecreateWait = 30 * time.Second

// deliver makes one attempt and settles the message: Ack on success,
// NakWithDelay on a retryable failure, Term otherwise.
func (w *Worker) deliver(ctx context.Context, msg jetstream.Msg) {
	// Settling must not be cut short by shutdown.
	settle := context.WithoutCancel(ctx)
	meta, err := msg.Metadata()
	if err != nil {
		w.fail(msg, w.log, reasonMalformed, fmt.Errorf("reading delivery metadata: %w", err))
		return
	}
	attempt := int(meta.NumDelivered)
	var n deploy.Notice
	if err := json.Unmarshal(msg.Data(), &n); err != nil || n.Key == "" {
		if err == nil {
			err = errors.New("notice has no key")
		}
		w.fail(msg, w.log.With("seq", meta.Sequence.Stream), reasonMalformed, fmt.Errorf("decoding notice: %w", err))
		return
	}
	log := w.log.With("key", n.Key, "release", n.Verdict.Release, "ring", n.Verdict.Ring, "attempt", attempt)
	deadline := n.Created.Add(w.cfg.Deadline)
	if now := w.now(); !now.Before(deadline) {
		w.giveUp(settle, msg, log, n, attempt-1, reasonDeadline, fmt.Errorf("deadline %s passed before attempt %d", deadline.Format(time.RFC3339), attempt))
		return
	}

	w.m.attempts.WithLabelValues(w.kind).Inc()
	actx, cancel := context.WithTimeout(settle, w.cfg.AttemptTimeout)
	retry, err := w.notifier.Notify(actx, n)
	cancel()

	if err == nil {
		// Count the delivery before acking: once the ack is recorded the
		// queue is empty, and whoever watches it must already see the count.
		w.m.successes.WithLabelValues(w.kind).Inc()
		// Wait for the server to record the ack, so a restart right after
		// does not deliver again.
		actx, cancel := context.WithTimeout(settle, 5*time.Second)
		ackErr := msg.DoubleAck(actx)
		cancel()
		if ackErr != nil {
			log.Warn("notice delivered but ack failed; it may be sent again", "err", ackErr)
			return
		}
		log.Info("notice delivered")
		return
	}
	if !retry {
		w.giveUp(settle, msg, log, n, attempt, reasonRejected, err)
		return
	}
	delay := w.backoff(attempt)
	if ra, ok := deploy.RetryAfter(err); ok && ra > delay {
		delay = ra
	}
	if now := w.now(); !now.Add(delay).Before(deadline) {
		w.giveUp(settle, msg, log, n, attempt, reasonDeadline, fmt.Errorf("next attempt in %s would be past the deadline %s: %w", delay, deadline.Format(time.RFC3339), err))
		return
	}
	w.m.retries.WithLabelValues(w.kind).Inc()
	log.Warn("delivery failed, will retry", "err", err, "in", delay)
	if err := msg.NakWithDelay(delay); err != nil {
		log.Warn("nak failed; the notice comes back after the ack wait", "err", err)
	}
}

// giveUp keeps a notice that cannot be delivered as a dead letter, then
// takes it off the queue. If the dead letter cannot be kept, the notice
// stays queued and comes back later: it is never dropped silently.
func (w *Worker) giveUp(ctx context.Context, msg jetstream.Msg, log *slog.Logger, n deploy.Notice, attempts int, reason string, err error) {
	dl := DeadLetter{
		ID: DeadLetterID(w.kind, n.Key), Notifier: w.kind, Reason: reason, Error: err.Error(),
		Attempts: attempts, Failed: w.now().UTC(), Notice: n,
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	perr := w.dead.put(pctx, dl)
	cancel()
	if perr != nil {
		log.Error("delivery failed for good but keeping it as a dead letter failed; it stays queued", "reason", reason, "err", err, "keep_err", perr)
		if nErr := msg.NakWithDelay(10 * time.Second); nErr != nil {
			log.Warn("nak failed; the notice comes back after the ack wait", "err", nErr)
		}
		return
	}
	log.Error("delivery failed for good", "reason", reason, "err", err, "dead_letter", dl.ID)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if n, cerr := w.dead.Count(cctx, w.kind); cerr == nil {
		w.m.dead.WithLabelValues(w.kind).Set(float64(n))
	}
	cancel()
	w.fail(msg, log, reason, nil)
	if w.OnDeadLetter != nil {
		w.OnDeadLetter(ctx, dl)
	}
}

// fail counts a message given up on and takes it off the queue; err, when
// set, is logged (a dead letter was not kept).
func (w *Worker) fail(msg jetstream.Msg, log *slog.Logger, reason string, err error) {
	w.m.failed.WithLabelValues(w.kind, reason).Inc()
	if err != nil {
		log.Error("delivery failed for good", "reason", reason, "err", err)
	}
	if tErr := msg.TermWithReason(reason); tErr != nil {
		log.Warn("terminating delivery failed", "err", tErr)
	}
	// Let the server process the term before the pending gauge is read
	// again, so it does not keep counting a notice that is gone.
	if fErr := w.js.Conn().Flush(); fErr != nil {
		log.Debug("flushing after term", "err", fErr)
	}
}

// backoff is exponential with full jitter: a random wait in
// [0, min(max, base·2^(attempt-1))).
func (w *Worker) backoff(attempt int) time.Duration {
	ceil := w.cfg.BaseBackoff
	for i := 1; i < attempt && ceil < w.cfg.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, w.cfg.MaxBackoff)
	return rand.N(ceil) + 1
}

// pendingEvery is how often the pending and dead-letter gauges are read
// again between pulls.
const pendingEvery = 2 * time.Second

// refreshPending reads the gauges every pendingEvery until ctx ends. After
// each pull they are read too, but the server applies an ack or a term
// after it answers the flush that follows it, so that read can still count
// the notice just settled — and on an idle queue the next pull comes only
// after fetchWait (30 s).
func (w *Worker) refreshPending(ctx context.Context) {
	t := time.NewTicker(pendingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cons, err := w.js.Consumer(ctx, bus.StreamDeliveries, "deliveries_"+w.kind)
		if err != nil {
			w.log.Debug("reading the delivery consumer", "err", err)
			continue
		}
		w.updatePending(ctx, cons)
	}
}

// updatePending sets the gauge to the notices not yet delivered plus those
// delivered and waiting for an ack or a retry.
func (w *Worker) updatePending(ctx context.Context, cons jetstream.Consumer) {
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	info, err := cons.Info(ictx)
	if err != nil {
		w.log.Debug("reading consumer info", "err", err)
		return
	}
	w.m.pending.WithLabelValues(w.kind).Set(float64(info.NumPending) + float64(info.NumAckPending))
	if w.dead != nil {
		if n, err := w.dead.Count(ictx, w.kind); err == nil {
			w.m.dead.WithLabelValues(w.kind).Set(float64(n))
		}
	}
}
