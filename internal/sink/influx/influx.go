// Package influx is the InfluxDB sink: it turns wire messages into points of
// a fixed schema (see schema.go) and writes them with the blocking write API,
// so the caller acks its messages only after InfluxDB stored them. It speaks
// the v2 API, which InfluxDB 2.x and 1.8 (with flux-enabled) both serve.
package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"github.com/aftershock/aftershock/internal/sink"
)

// Sink writes batches to InfluxDB. It implements sink.Sink.
type Sink struct {
	cfg    Config
	client influxdb2.Client
	write  api.WriteAPIBlocking
	log    *slog.Logger
}

var _ sink.Sink = (*Sink)(nil)

// New builds a sink from a validated config. It does not connect; use Ping
// for readiness.
func New(cfg Config, log *slog.Logger) *Sink {
	opts := influxdb2.DefaultOptions().
		SetHTTPRequestTimeout(uint((cfg.Timeout + 999_999_999) / 1_000_000_000)).
		SetLogLevel(0) // errors are returned to the caller, not logged by the client
	client := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	return &Sink{
		cfg:    cfg,
		client: client,
		// Never the non-blocking WriteAPI: it can drop batches on its own.
		write: client.WriteAPIBlocking(cfg.Org, cfg.Bucket),
		log:   log.With("sink", "influx", "bucket", cfg.Bucket),
	}
}

// Write converts the batch to points and writes them in one request. An
// error wraps sink.ErrRejected when InfluxDB refused the data itself
// (400, 413, 422); other errors (unreachable, 5xx, auth) are worth retrying.
func (s *Sink) Write(ctx context.Context, batch []any) error {
	var pts []*write.Point
	for _, v := range batch {
		p, err := Points(v)
		if err != nil {
			return fmt.Errorf("%w: %w", sink.ErrRejected, err)
		}
		pts = append(pts, p...)
	}
	if len(pts) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.write.WritePoint(ctx, pts...); err != nil {
		var he *ihttp.Error
		if errors.As(err, &he) {
			switch he.StatusCode {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
				return fmt.Errorf("writing %d points to influxdb: %w: %w", len(pts), sink.ErrRejected, err)
			}
		}
		return fmt.Errorf("writing %d points to influxdb: %w", len(pts), err)
	}
	return nil
}

// Ping reports whether InfluxDB answers (for readiness checks).
func (s *Sink) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if _, err := s.client.Ping(ctx); err != nil {
		return fmt.Errorf("pinging influxdb at %s: %w", s.cfg.URL, err)
	}
	return nil
}

// Close releases the client's connections.
func (s *Sink) Close() { s.client.Close() }
