// Package sink stores what Aftershock measures and decides (rollups, metric
// samples, anomalies, verdicts, release events) for dashboards. A consumer
// reads the JetStream streams, writes batches to a Sink and acks only after
// the write succeeded, so a dead database loses nothing and never blocks the
// detector.
package sink

import (
	"context"
	"errors"
)

// Sink writes one batch of wire messages (*signals.Post is never among them;
// the values are *signals.Rollup, *signals.MetricSample, *signals.Anomaly,
// *signals.Verdict and *signals.ReleaseEvent).
type Sink interface {
	Write(ctx context.Context, batch []any) error
}

// ErrRejected is wrapped by Write errors when the database refused the data
// itself (a malformed point, a field type conflict, a batch too large)
// rather than being unreachable: retrying the same batch unchanged cannot
// succeed, so the consumer retries its messages one by one and terminates
// only the ones that are refused alone.
var ErrRejected = errors.New("rejected by the database")
