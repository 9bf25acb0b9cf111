package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/signals"
)

// Defaults for asynchronous publishing.
const (
	// DefaultInFlight bounds the messages one Batch has published and not
	// yet seen acknowledged.
	DefaultInFlight = 1024
	// DefaultAckWait is how long a published message may wait for its
	// acknowledgement before it counts as failed.
	DefaultAckWait = 10 * time.Second
)

// Async publishes without waiting for each acknowledgement before the next
// message: a Batch keeps up to InFlight messages in flight and hands every
// acknowledgement back in publish order. Messages keep their Nats-Msg-Id,
// so a batch that failed part-way can be published again whole and the
// server drops what it already stored.
//
// An Async has its own JetStream context (so an ack that never comes times
// out after AckWait instead of being waited for forever); it is safe for
// concurrent use, a Batch is not.
type Async struct {
	js       jetstream.JetStream
	inFlight int
	// CheckMetric is as Publisher.CheckMetric.
	CheckMetric func(signals.MetricSample) error
}

// NewAsync returns an asynchronous publisher on js's connection. inFlight
// <= 0 means DefaultInFlight, ackWait <= 0 DefaultAckWait.
func NewAsync(js jetstream.JetStream, inFlight int, ackWait time.Duration) (*Async, error) {
	if inFlight <= 0 {
		inFlight = DefaultInFlight
	}
	if ackWait <= 0 {
		ackWait = DefaultAckWait
	}
	own, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncTimeout(ackWait))
	if err != nil {
		return nil, fmt.Errorf("opening jetstream for async publishing: %w", err)
	}
	return &Async{js: own, inFlight: inFlight}, nil
}

// Batch starts a batch of messages whose acknowledgements are awaited
// together (by Wait).
func (a *Async) Batch() *Batch {
	return &Batch{a: a, queue: make([]pending, 0, min(a.inFlight, 64))}
}

// Done receives the outcome of one message of a batch, in publish order:
// dup reports that the server dropped it as a duplicate; err is a failed
// publish (no ack, or the server refused it). What Done returns becomes the
// batch's error (return err to fail the batch on a failed publish, nil to
// carry on).
type Done func(dup bool, err error) error

// pending is a message in flight (f) or an ordered note (f nil).
type pending struct {
	f    jetstream.PubAckFuture
	done Done
	note func()
}

// Batch is a run of asynchronous publishes; see Async. After the first
// failure every call returns that failure.
type Batch struct {
	a     *Async
	queue []pending
	head  int
	err   error
}

// Post publishes a post with Nats-Msg-Id <source>:<id>, as Publisher.Post.
// An invalid post is refused at once with an error wrapping
// signals.ErrInvalid (and nothing is published); done, if not nil, gets the
// outcome later.
func (b *Batch) Post(ctx context.Context, post signals.Post, done Done) error {
	if err := checkPost(&post); err != nil {
		return err
	}
	if data, ok := signals.AppendPostJSON(make([]byte, 0, 256+len(post.Text)), &post); ok {
		return b.send(ctx, PostSubject(post.Source), data, post.MsgID(), done)
	}
	return b.publish(ctx, PostSubject(post.Source), &post, post.MsgID(), done)
}

// PostJSON is Post for a post already in its wire form: data is published
// as it is (it must be what signals.Decode read post from), which spares
// encoding it again.
func (b *Batch) PostJSON(ctx context.Context, post signals.Post, data []byte, done Done) error {
	if err := checkPost(&post); err != nil {
		return err
	}
	return b.send(ctx, PostSubject(post.Source), data, post.MsgID(), done)
}

func checkPost(post *signals.Post) error {
	post.Type = signals.TypePost
	if err := post.Validate(); err != nil {
		return err
	}
	if !ValidToken(post.Source) {
		return fmt.Errorf("%w: post: source %q is not a valid name", signals.ErrInvalid, post.Source)
	}
	return nil
}

// Metric publishes a metric sample, as Publisher.Metric.
func (b *Batch) Metric(ctx context.Context, m signals.MetricSample, done Done) error {
	m.Type = signals.TypeMetric
	if err := m.Validate(); err != nil {
		return err
	}
	if !ValidToken(m.Service) {
		return fmt.Errorf("%w: metric: service %q is not a valid name", signals.ErrInvalid, m.Service)
	}
	if b.a.CheckMetric != nil {
		if err := b.a.CheckMetric(m); err != nil {
			return err
		}
	}
	return b.publish(ctx, MetricSubject(m.Service), &m, "", done)
}

// Release publishes a release event, as Publisher.Release.
func (b *Batch) Release(ctx context.Context, ev signals.ReleaseEvent, msgID string, done Done) error {
	ev.Type = signals.TypeRelease
	if err := ev.Validate(); err != nil {
		return err
	}
	if !ValidToken(ev.Service) {
		return fmt.Errorf("%w: release: service %q is not a valid name", signals.ErrInvalid, ev.Service)
	}
	return b.publish(ctx, ReleaseSubject(ev.Service), &ev, msgID, done)
}

// Then runs note once every message published before it is acknowledged
// (and before the outcome of any published after it), so side effects keep
// the input's order.
func (b *Batch) Then(ctx context.Context, note func()) error {
	if b.err != nil {
		return b.err
	}
	if b.head == len(b.queue) {
		note()
		return nil
	}
	b.queue = append(b.queue, pending{note: note})
	return nil
}

func (b *Batch) publish(ctx context.Context, subject string, v any, msgID string, done Done) error {
	if b.err != nil {
		return b.err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding message for %s: %w", subject, err)
	}
	return b.send(ctx, subject, data, msgID, done)
}

func (b *Batch) send(ctx context.Context, subject string, data []byte, msgID string, done Done) error {
	if b.err != nil {
		return b.err
	}
	if len(b.queue)-b.head >= b.a.inFlight {
		// Full: settle down to half, then publish a burst, rather than
		// waking for every single ack.
		for len(b.queue)-b.head > b.a.inFlight/2 {
			if err := b.settle(ctx); err != nil {
				return err
			}
		}
	}
	m := &nats.Msg{Subject: subject, Data: data}
	if msgID != "" {
		m.Header = nats.Header{jetstream.MsgIDHeader: []string{msgID}}
	}
	f, err := b.a.js.PublishMsgAsync(m)
	if err != nil {
		b.err = fmt.Errorf("publishing to %s: %w", subject, err)
		return b.err
	}
	if b.head == len(b.queue) {
		b.queue, b.head = b.queue[:0], 0
	}
	b.queue = append(b.queue, pending{f: f, done: done})
	return nil
}

// settle waits for the oldest message in flight and hands on its outcome
// (and runs the notes queued behind it).
func (b *Batch) settle(ctx context.Context) error {
	p := b.queue[b.head]
	b.queue[b.head] = pending{}
	b.head++
	var dup bool
	var err error
	select {
	case ack := <-p.f.Ok():
		dup = ack.Duplicate
	case err = <-p.f.Err():
		err = fmt.Errorf("publishing to %s: %w", p.f.Msg().Subject, err)
	case <-ctx.Done():
		b.err = fmt.Errorf("waiting for publish acks: %w", ctx.Err())
		return b.err
	}
	if p.done != nil {
		err = p.done(dup, err)
	}
	if err != nil {
		b.err = err
		return err
	}
	for b.head < len(b.queue) && b.queue[b.head].f == nil {
		b.queue[b.head].note()
		b.queue[b.head] = pending{}
		b.head++
	}
	return nil
}

// Wait waits for every message of the batch to be acknowledged and returns
// the first failure. The batch can be used again after a nil Wait.
func (b *Batch) Wait(ctx context.Context) error {
	for b.err == nil && b.head < len(b.queue) {
		if b.queue[b.head].f == nil {
			b.queue[b.head].note()
			b.queue[b.head] = pending{}
			b.head++
			continue
		}
		_ = b.settle(ctx)
	}
	if b.err != nil {
		return b.err
	}
	b.queue, b.head = b.queue[:0], 0
	return nil
}

// InFlight is how many messages of the batch await their ack.
func (b *Batch) InFlight() int {
	n := 0
	for _, p := range b.queue[b.head:] {
		if p.f != nil {
			n++
		}
	}
	return n
}
