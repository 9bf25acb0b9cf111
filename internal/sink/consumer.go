package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// DefaultStreams are the streams a Consumer reads unless told otherwise.
var DefaultStreams = []string{bus.StreamAnomalies, bus.StreamVerdicts, bus.StreamRollups, bus.StreamReleases, bus.StreamMetrics}

// ConsumerConfig tunes a Consumer. Zero values take the defaults.
type ConsumerConfig struct {
	// Name prefixes the durable consumer names: "<Name>-<stream in lower case>".
	// Default "sink-influx". Keep it stable: a new name re-reads the streams.
	Name string
	// Streams to read; default DefaultStreams.
	Streams []string
	// BatchSize is the most messages per Write (default 500).
	BatchSize int
	// FlushInterval is the longest a message waits for its batch to fill (default 1s).
	FlushInterval time.Duration
	// MinBackoff and MaxBackoff bound the delay after a failed write, which
	// is also the redelivery delay of the nak'ed messages (default 1s and 1m).
	MinBackoff, MaxBackoff time.Duration
	// AckWait is how long JetStream waits for an ack before redelivering
	// (default 1m); it must cover FlushInterval plus a write.
	AckWait time.Duration
}

// Validate applies defaults and checks the values.
func (c *ConsumerConfig) Validate() error {
	if c.Name == "" {
		c.Name = "sink-influx"
	}
	if len(c.Streams) == 0 {
		c.Streams = DefaultStreams
	}
	if c.BatchSize == 0 {
		c.BatchSize = 500
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Minute
	}
	if c.AckWait == 0 {
		c.AckWait = time.Minute
	}
	var errs []error
	if !bus.ValidToken(c.Name) {
		errs = append(errs, fmt.Errorf("sink consumer name %q: want letters, digits, - and _", c.Name))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("sink batch size %d: want at least 1", c.BatchSize))
	}
	if c.FlushInterval < time.Millisecond || c.MinBackoff < time.Millisecond || c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("sink timing: flush %s, backoff %s to %s: want positive values, min <= max",
			c.FlushInterval, c.MinBackoff, c.MaxBackoff))
	}
	if c.AckWait <= c.FlushInterval {
		errs = append(errs, fmt.Errorf("sink ack wait %s: must be longer than the flush interval %s", c.AckWait, c.FlushInterval))
	}
	return errors.Join(errs...)
}

// Consumer feeds a Sink from JetStream: one durable pull consumer per
// stream, batches of up to BatchSize messages or FlushInterval, acked only
// after the Sink stored them. A failed write naks the batch with a growing
// delay (nothing is lost, nothing else waits); a message that cannot be
// decoded or that the database refuses on its own is terminated and counted.
type Consumer struct {
	js   jetstream.JetStream
	sink Sink
	cfg  ConsumerConfig
	log  *slog.Logger
	m    metrics
}

type metrics struct {
	written    *prometheus.CounterVec
	errors     *prometheus.CounterVec
	batch      *prometheus.HistogramVec
	terminated *prometheus.CounterVec
}

// NewConsumer checks cfg and registers the metrics on reg (nil: not exported):
//
//	aftershock_sink_written_total{stream}           messages stored
//	aftershock_sink_write_errors_total{stream}      failed batch writes
//	aftershock_sink_batch_duration_seconds{stream}  time to write one batch
//	aftershock_sink_terminated_total{stream,reason} messages dropped: decode, unsupported, rejected
func NewConsumer(js jetstream.JetStream, s Sink, cfg ConsumerConfig, reg prometheus.Registerer, log *slog.Logger) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	c := &Consumer{js: js, sink: s, cfg: cfg, log: log.With("component", "sink")}
	var err error
	if c.m.written, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aftershock_sink_written_total", Help: "Messages written to the sink.",
	}, []string{"stream"})); err != nil {
		return nil, err
	}
	if c.m.errors, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aftershock_sink_write_errors_total", Help: "Batch writes to the sink that failed (the messages are redelivered).",
	}, []string{"stream"})); err != nil {
		return nil, err
	}
	if c.m.batch, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "aftershock_sink_batch_duration_seconds", Help: "Time to write one batch to the sink.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	}, []string{"stream"})); err != nil {
		return nil, err
	}
	if c.m.terminated, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aftershock_sink_terminated_total", Help: "Messages the sink dropped for good (decode: malformed, unsupported: wrong type, rejected: refused by the database).",
	}, []string{"stream", "reason"})); err != nil {
		return nil, err
	}
	return c, nil
}

// register registers col, or returns the collector already registered under
// the same name, so two consumers can share one registry.
func register[T prometheus.Collector](reg prometheus.Registerer, col T) (T, error) {
	if err := reg.Register(col); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return col, fmt.Errorf("registering sink metrics: %w", err)
	}
	return col, nil
}

// Durable returns the durable consumer name used for stream.
func (c *Consumer) Durable(stream string) string {
	return c.cfg.Name + "-" + strings.ToLower(stream)
}

// Run declares the durable consumers and feeds the sink until ctx ends. On
// the way out it writes (and acks) the batch in hand, then returns nil. It
// returns an error only if a consumer cannot be declared at start.
func (c *Consumer) Run(ctx context.Context) error {
	cons := make([]jetstream.Consumer, len(c.cfg.Streams))
	for i, stream := range c.cfg.Streams {
		var err error
		if cons[i], err = c.declare(ctx, stream); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for i, stream := range c.cfg.Streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx, stream, cons[i])
		}()
	}
	wg.Wait()
	return nil
}

func (c *Consumer) declare(ctx context.Context, stream string) (jetstream.Consumer, error) {
	cons, err := c.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       c.Durable(stream),
		Description:   "Aftershock sink: writes " + stream + " to the dashboards database",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxDeliver:    -1, // a dead database must not make messages expire
		MaxAckPending: max(1000, 4*c.cfg.BatchSize),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("declaring sink consumer on %s: %w", stream, err)
	}
	return cons, nil
}

// loop fetches and writes batches of one stream until ctx ends.
func (c *Consumer) loop(ctx context.Context, stream string, cons jetstream.Consumer) {
	log := c.log.With("stream", stream)
	failures := 0
	for ctx.Err() == nil {
		if cons == nil {
			// JetStream consumers don't heal after a server restart or a
			// deletion: declare ours again.
			var err error
			if cons, err = c.declare(ctx, stream); err != nil {
				log.Warn("sink consumer unavailable", "err", err)
				failures++
				sleep(ctx, c.backoff(failures))
				continue
			}
		}
		// The fetch is not tied to ctx: it ends within FlushInterval, and
		// whatever it delivered is written before the loop looks at ctx.
		batch, err := cons.Fetch(c.cfg.BatchSize, jetstream.FetchMaxWait(c.cfg.FlushInterval))
		if err != nil {
			log.Warn("sink fetch failed", "err", err)
			cons = nil
			failures++
			sleep(ctx, c.backoff(failures))
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			log.Warn("sink fetch ended with an error", "err", err, "received", len(msgs))
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				cons = nil
			}
		}
		if len(msgs) == 0 {
			continue
		}
		if ok := c.handle(ctx, stream, msgs, c.backoff(failures+1), log); ok {
			failures = 0
			continue
		}
		failures++
		sleep(ctx, c.backoff(failures))
	}
}

// item is one decoded message of a batch.
type item struct {
	msg jetstream.Msg
	val any
}

// handle writes one fetched batch and settles every message: ack after a
// successful write, term when bad, nak with delay when the sink failed. It
// reports whether the sink worked. Writes use a context detached from ctx
// so a batch in hand at shutdown is still written.
func (c *Consumer) handle(ctx context.Context, stream string, msgs []jetstream.Msg, delay time.Duration, log *slog.Logger) bool {
	wctx := context.WithoutCancel(ctx)
	var items []item
	for _, m := range msgs {
		v, err := signals.Decode(m.Data())
		if err == nil && !storable(v) {
			err = fmt.Errorf("a %T does not belong in the sink", v)
			c.terminate(stream, "unsupported", m, err, log)
			continue
		}
		if err != nil {
			c.terminate(stream, "decode", m, err, log)
			continue
		}
		items = append(items, item{m, v})
	}
	if len(items) == 0 {
		return true
	}

	err := c.write(wctx, stream, items)
	switch {
	case err == nil:
		c.ack(items, log)
		return true
	case errors.Is(err, ErrRejected):
		log.Warn("sink rejected a batch, retrying its messages one by one", "err", err, "messages", len(items))
		return c.writeEach(wctx, stream, items, delay, log)
	default:
		log.Warn("sink write failed, messages will be redelivered", "err", err, "messages", len(items), "retry_in", delay)
		c.nak(items, delay, log)
		return false
	}
}

// writeEach isolates the messages the database refuses on their own.
func (c *Consumer) writeEach(ctx context.Context, stream string, items []item, delay time.Duration, log *slog.Logger) bool {
	for i, it := range items {
		err := c.write(ctx, stream, items[i:i+1])
		switch {
		case err == nil:
			c.ack(items[i:i+1], log)
		case errors.Is(err, ErrRejected):
			c.terminate(stream, "rejected", it.msg, err, log)
		default:
			log.Warn("sink write failed, messages will be redelivered", "err", err, "messages", len(items)-i, "retry_in", delay)
			c.nak(items[i:], delay, log)
			return false
		}
	}
	return true
}

func (c *Consumer) write(ctx context.Context, stream string, items []item) error {
	vals := make([]any, len(items))
	for i, it := range items {
		vals[i] = it.val
	}
	start := time.Now()
	err := c.sink.Write(ctx, vals)
	c.m.batch.WithLabelValues(stream).Observe(time.Since(start).Seconds())
	if err != nil {
		c.m.errors.WithLabelValues(stream).Inc()
		return err
	}
	c.m.written.WithLabelValues(stream).Add(float64(len(items)))
	return nil
}

func (c *Consumer) ack(items []item, log *slog.Logger) {
	for _, it := range items {
		if err := it.msg.Ack(); err != nil {
			// The write is done; a redelivery would only rewrite the same point.
			log.Warn("sink ack failed", "err", err, "subject", it.msg.Subject())
		}
	}
}

func (c *Consumer) nak(items []item, delay time.Duration, log *slog.Logger) {
	for _, it := range items {
		if err := it.msg.NakWithDelay(delay); err != nil {
			// Without the nak the message is redelivered after AckWait.
			log.Warn("sink nak failed", "err", err, "subject", it.msg.Subject())
		}
	}
}

func (c *Consumer) terminate(stream, reason string, m jetstream.Msg, cause error, log *slog.Logger) {
	c.m.terminated.WithLabelValues(stream, reason).Inc()
	log.Warn("sink dropped a message", "reason", reason, "err", cause, "subject", m.Subject())
	if err := m.Term(); err != nil {
		log.Warn("sink term failed", "err", err, "subject", m.Subject())
	}
}

// backoff is MinBackoff doubled per consecutive failure, capped at MaxBackoff.
func (c *Consumer) backoff(failures int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < failures && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxBackoff)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func storable(v any) bool {
	switch v.(type) {
	case *signals.Rollup, *signals.MetricSample, *signals.Anomaly, *signals.Verdict, *signals.ReleaseEvent:
		return true
	}
	return false
}
