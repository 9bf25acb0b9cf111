package delivery

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by all workers on one registerer, labelled by kind.
type metrics struct {
	attempts  *prometheus.CounterVec
	successes *prometheus.CounterVec
	retries   *prometheus.CounterVec
	failed    *prometheus.CounterVec
	pending   *prometheus.GaugeVec
	dead      *prometheus.GaugeVec
}

// Reasons a delivery failed for good (label "reason" of delivery_failed_total).
const (
	reasonRejected  = "rejected"  // the notifier said retrying won't help
	reasonDeadline  = "deadline"  // the deadline passed, or would before the next attempt
	reasonMalformed = "malformed" // the queued message could not be decoded
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_delivery_attempts_total", Help: "Calls to a notifier.",
		}, []string{"kind"}),
		successes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_delivery_success_total", Help: "Notices delivered.",
		}, []string{"kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_delivery_retries_total", Help: "Failed attempts that will be retried.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftershock_delivery_failed_total", Help: "Notices given up on, by reason (rejected, deadline, malformed).",
		}, []string{"kind", "reason"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_delivery_pending", Help: "Notices queued or awaiting a retry.",
		}, []string{"kind"}),
		dead: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aftershock_delivery_dead_letters", Help: "Notices given up on and kept until re-sent (GET /v1/deliveries?state=failed).",
		}, []string{"kind"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.attempts, err = register(reg, m.attempts)
	if err != nil {
		return nil, err
	}
	if m.successes, err = register(reg, m.successes); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, m.failed); err != nil {
		return nil, err
	}
	if m.pending, err = register(reg, m.pending); err != nil {
		return nil, err
	}
	if m.dead, err = register(reg, m.dead); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c, or returns the collector already registered under the
// same name (one worker per notifier kind shares it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, err
	}
	return c, nil
}
