// Package sink stores what Aftershock measures and decides (rollups, metric
// samples, anomalies, verdicts, release events) for dashboards. A consumer
// reads the JetStream streams, writes batches to a Sink and acks only after
// the write succeeded, so a dead database loses nothing and never blocks the
// detector.
package sink

import "context"

// Sink writes one batch of wire messages (*signals.Post is never among them;
// the values are *signals.Rollup, *signals.MetricSample, *signals.Anomaly,
// *signals.Verdict and *signals.ReleaseEvent).
type Sink interface {
	Write(ctx context.Context, batch []any) error
}
