package bus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/signals"
)

// Subject helpers: one place that knows the subject layout.
func PostSubject(source string) string     { return "posts." + source }
func MetricSubject(service string) string  { return "metrics." + service }
func ReleaseSubject(service string) string { return "releases." + service }
func AnomalySubject(service string) string { return "anomalies." + service }
func VerdictSubject(service string) string { return "verdicts." + service }
func RollupSubject(service string) string  { return "rollups." + service }
func DeliverySubject(kind string) string   { return "deliveries." + kind }

// Publisher publishes Aftershock's wire messages to JetStream.
type Publisher struct {
	JS jetstream.JetStream
	// CheckMetric, when set, checks every metric sample against the
	// configuration before it is published (inbound.Rules.Metric); its
	// errors wrap signals.ErrInvalid so callers refuse the one sample.
	CheckMetric func(signals.MetricSample) error
}

// Post publishes a post with Nats-Msg-Id <source>:<id>. It reports whether
// the server dropped it as a duplicate.
func (p Publisher) Post(ctx context.Context, post signals.Post) (dup bool, err error) {
	post.Type = signals.TypePost
	if err := post.Validate(); err != nil {
		return false, err
	}
	if !ValidToken(post.Source) {
		return false, fmt.Errorf("%w: post: source %q is not a valid name", signals.ErrInvalid, post.Source)
	}
	ack, err := p.publish(ctx, PostSubject(post.Source), post, post.MsgID())
	if err != nil {
		return false, err
	}
	return ack.Duplicate, nil
}

// Metric publishes a metric sample.
func (p Publisher) Metric(ctx context.Context, m signals.MetricSample) error {
	return p.MetricWithID(ctx, m, "")
}

// MetricWithID publishes a metric sample; msgID (optional) de-duplicates
// a retry within the METRICS stream's duplicate window.
func (p Publisher) MetricWithID(ctx context.Context, m signals.MetricSample, msgID string) error {
	m.Type = signals.TypeMetric
	if err := m.Validate(); err != nil {
		return err
	}
	if !ValidToken(m.Service) {
		return fmt.Errorf("%w: metric: service %q is not a valid name", signals.ErrInvalid, m.Service)
	}
	if p.CheckMetric != nil {
		if err := p.CheckMetric(m); err != nil {
			return err
		}
	}
	_, err := p.publish(ctx, MetricSubject(m.Service), m, msgID)
	return err
}

// Release publishes a release event; msgID (optional) de-duplicates retries.
func (p Publisher) Release(ctx context.Context, ev signals.ReleaseEvent, msgID string) error {
	ev.Type = signals.TypeRelease
	if err := ev.Validate(); err != nil {
		return err
	}
	if !ValidToken(ev.Service) {
		return fmt.Errorf("%w: release: service %q is not a valid name", signals.ErrInvalid, ev.Service)
	}
	_, err := p.publish(ctx, ReleaseSubject(ev.Service), ev, msgID)
	return err
}

// Anomaly publishes an anomaly.
func (p Publisher) Anomaly(ctx context.Context, a signals.Anomaly) error {
	a.Type = signals.TypeAnomaly
	_, err := p.publish(ctx, AnomalySubject(a.Service), a, "")
	return err
}

// Rollup publishes a one-minute aggregate.
func (p Publisher) Rollup(ctx context.Context, r signals.Rollup) error {
	r.Type = signals.TypeRollup
	_, err := p.publish(ctx, RollupSubject(r.Service), r, "")
	return err
}

// Verdict publishes a verdict.
func (p Publisher) Verdict(ctx context.Context, v signals.Verdict) error {
	v.Type = signals.TypeVerdict
	_, err := p.publish(ctx, VerdictSubject(v.Service), v, "")
	return err
}

func (p Publisher) publish(ctx context.Context, subject string, v any, msgID string) (*jetstream.PubAck, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding message for %s: %w", subject, err)
	}
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	ack, err := p.JS.Publish(ctx, subject, data, opts...)
	if err != nil {
		return nil, fmt.Errorf("publishing to %s: %w", subject, err)
	}
	return ack, nil
}
