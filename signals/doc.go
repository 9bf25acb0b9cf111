// Package signals holds the shared types that flow through Aftershock
// (posts, metric samples, release events, anomalies and verdicts) and their
// one JSON wire shape. It imports nothing else of Aftershock's.
package signals
