// Package natsmetrics ingests metric samples that applications publish on
// core NATS, subject `push.metrics.<service>`, validates them and
// republishes the valid ones to the METRICS stream (`metrics.<service>`).
//
// A message is one sample, a JSON array of samples, or JSON lines, in the
// signals wire shape:
//
//	{"time":"2026-11-24T09:30:00Z","version":"4.2.0","ring":"h2","name":"error_rate","value":0.012}
//
// or in the count form, {"release":"shop-4.2.0","ring":"h2","requests":1200,"errors":17}
// (a cohort by its version or its release id: push.Sample).
//
// "type" may be left out (it must be "metric" if given); "service" may be
// left out and is then the subject's last token (it must match if given);
// a missing "time" means the time of receipt; "name" and "value" are
// required. Invalid samples are counted and logged (at most once per 10 s);
// the valid ones of the same message are still accepted. A request (a
// message with a reply subject) gets a Reply saying what was accepted.
//
// Why not let applications publish to metrics.<service> directly? They can:
// it is the METRICS stream's subject and JetStream stores whatever arrives
// on it. But then nothing checks the messages before they are stored: a
// sample without "type" or "time", with a NaN, for another service than its
// subject, or plain garbage is kept for the retention period, and every
// consumer (detector, InfluxDB sink, replay, backtest) meets it, skips it
// and logs it on its own. Keeping the stream subjects internal and giving
// applications their own subject means one place validates, fills in
// defaults and counts, the stream holds only good samples, and NATS
// permissions can let an application publish to push.metrics.<its service>
// without any right on the internal subjects.
package natsmetrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/aftershock/aftershock/crawlers/internal/sparselog"
	"github.com/aftershock/aftershock/crawlers/push"
	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// Subjects and limits.
const (
	// SubjectPrefix is followed by the service name.
	SubjectPrefix = "push.metrics."
	// Subject is what the ingestor subscribes to.
	Subject = SubjectPrefix + "*"
	// QueueGroup spreads messages over the Aftershock instances, so each
	// sample is republished once.
	QueueGroup = "aftershock-natsmetrics"
	// MaxMessageBytes caps one message (NATS's default max_payload).
	MaxMessageBytes = 1 << 20
)

// PushSubject is the subject applications publish a service's samples on.
func PushSubject(service string) string { return SubjectPrefix + service }

// Publisher publishes one metric sample; bus.Publisher is one.
type Publisher = push.Publisher

// Reply answers a request: how many samples were accepted and which were
// refused, by their 0-based index in the message.
type Reply struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
	// Error explains a message refused as a whole, or a publishing failure
	// (then retry: Accepted counts the samples published before it).
	Error string `json:"error,omitempty"`
}

// Rejection names one refused sample.
type Rejection = push.Rejection

// Stats are the ingestor's counts since it started.
type Stats struct {
	Messages      uint64 // received
	Accepted      uint64 // samples republished
	Rejected      uint64 // invalid samples (and unreadable messages, one each)
	PublishErrors uint64 // valid samples lost because publishing failed
	// Dropped counts messages NATS dropped because the ingestor fell behind.
	Dropped uint64
}

// Ingestor is the consumer of push.metrics.>.
type Ingestor struct {
	nc  *nats.Conn
	pub Publisher
	log *slog.Logger
	now func() time.Time

	warn *sparselog.Logger

	messages, accepted, rejected, publishErrors, dropped atomic.Uint64
}

// New returns an ingestor reading from nc and publishing with pub. now
// stamps samples without a time (nil: time.Now).
func New(nc *nats.Conn, pub Publisher, logger *slog.Logger, now func() time.Time) *Ingestor {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Ingestor{nc: nc, pub: pub, log: logger, now: now, warn: &sparselog.Logger{Log: logger, Every: 10 * time.Second}}
}

// Stats returns the counts so far; it is safe to call while Run runs.
func (g *Ingestor) Stats() Stats {
	return Stats{Messages: g.messages.Load(), Accepted: g.accepted.Load(), Rejected: g.rejected.Load(),
		PublishErrors: g.publishErrors.Load(), Dropped: g.dropped.Load()}
}

// Run subscribes (in QueueGroup) and handles messages one at a time until
// ctx ends; then it unsubscribes and returns nil. It returns an error if
// it cannot subscribe or the connection closes.
func (g *Ingestor) Run(ctx context.Context) error {
	sub, err := g.nc.QueueSubscribeSync(Subject, QueueGroup)
	if err != nil {
		return fmt.Errorf("subscribing to %s: %w", Subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// Make sure the server knows the subscription before Run is relied on.
	if err := g.nc.FlushTimeout(10 * time.Second); err != nil && ctx.Err() == nil {
		return fmt.Errorf("subscribing to %s: %w", Subject, err)
	}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, nats.ErrSlowConsumer):
			if n, derr := sub.Dropped(); derr == nil {
				g.dropped.Store(uint64(n))
			}
			g.warn.Warn("ingestor fell behind; NATS dropped messages", "dropped_total", g.dropped.Load())
			continue
		case err != nil:
			return fmt.Errorf("reading %s: %w", Subject, err)
		}
		g.handle(ctx, msg)
	}
}

// handle validates and republishes the samples of one message and answers
// a request.
func (g *Ingestor) handle(ctx context.Context, msg *nats.Msg) {
	g.messages.Add(1)
	service := strings.TrimPrefix(msg.Subject, SubjectPrefix)
	reply := g.ingest(ctx, service, msg.Header.Get(push.IdempotencyHeader), msg.Data)
	if msg.Reply == "" {
		return
	}
	data, _ := json.Marshal(reply)
	if err := msg.Respond(data); err != nil {
		g.warn.Warn("answering a metrics push", "subject", msg.Subject, "err", err)
	}
}

// ingest publishes the samples of data for service; key is the message's
// Idempotency-Key header ("" for none), as on the HTTP push endpoint.
func (g *Ingestor) ingest(ctx context.Context, service, key string, data []byte) Reply {
	reply := Reply{Rejected: []Rejection{}}
	refuse := func(err error) Reply {
		g.rejected.Add(1)
		g.warn.Warn("refusing pushed metrics message", "service", service, "err", err)
		reply.Error = err.Error()
		return reply
	}
	if !bus.ValidToken(service) {
		return refuse(fmt.Errorf("service %q in the subject must be 1-128 letters, digits, '-' or '_'", service))
	}
	if len(data) > MaxMessageBytes {
		return refuse(fmt.Errorf("message of %d bytes, more than %d", len(data), MaxMessageBytes))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return refuse(errors.New("empty message"))
	}
	if err := push.ValidKey(key); err != nil {
		return refuse(err)
	}
	raws, err := push.Split(data)
	if err != nil {
		return refuse(err)
	}
	if len(raws) == 0 {
		return refuse(errors.New("empty JSON array"))
	}
	now := g.now().UTC()
	for i, raw := range raws {
		ms, err := decode(raw, service, now)
		for j := 0; err == nil && j < len(ms); j++ {
			// A count object is two samples; each counts as accepted.
			if err = g.pub.MetricWithID(ctx, ms[j], push.SampleID(key, i, j, len(ms))); err == nil && j < len(ms)-1 {
				g.accepted.Add(1)
				reply.Accepted++
			}
		}
		switch {
		case err == nil:
			g.accepted.Add(1)
			reply.Accepted++
		case errors.Is(err, errInvalid), errors.Is(err, signals.ErrInvalid):
			g.rejected.Add(1)
			g.warn.Warn("refusing pushed metric sample", "service", service, "index", i, "err", err)
			reply.Rejected = append(reply.Rejected, Rejection{Index: i, Error: err.Error()})
		default:
			// The broker is in trouble: the rest would fail too.
			g.publishErrors.Add(uint64(len(raws) - i))
			g.warn.Warn("republishing pushed metric samples", "service", service, "err", err)
			reply.Error = "publishing failed; retry later"
			return reply
		}
	}
	return reply
}

// errInvalid marks a sample refused here (signals.ErrInvalid marks one
// refused by signals' own validation).
var errInvalid = errors.New("invalid sample")

// decode reads one object of a message published for service — a sample,
// or the two samples of a count (push.Sample) —: it may leave "service"
// out, or must name the same.
func decode(raw json.RawMessage, service string, now time.Time) ([]signals.MetricSample, error) {
	s, err := push.ParseSample(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	if s.Service != "" && s.Service != service {
		return nil, fmt.Errorf("%w: service %q, but published on %s", errInvalid, s.Service, PushSubject(service))
	}
	s.Service = service
	return s.Metrics(now)
}
