package inbound

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

func TestMetric(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	r := &Rules{Services: []string{"shop"}, Rings: []string{"H1", "H2", "H3"}, Now: func() time.Time { return now }}
	ok := signals.MetricSample{Time: now, Service: "shop", Ring: "H2", Name: "error_rate", Value: 0.01}
	if err := r.Metric(ok); err != nil {
		t.Fatalf("valid sample refused: %v", err)
	}
	noRing := ok
	noRing.Ring = ""
	if err := r.Metric(noRing); err != nil {
		t.Fatalf("sample without a ring refused: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*signals.MetricSample)
		want string
	}{
		{"unknown service", func(m *signals.MetricSample) { m.Service = "nope" }, `service: "nope" is not a configured service (configured: shop)`},
		{"unknown ring", func(m *signals.MetricSample) { m.Ring = "H9" }, `ring: "H9" is not a configured ring (configured: H1, H2, H3)`},
		{"lower-case ring", func(m *signals.MetricSample) { m.Ring = "h1" }, `ring: "h1"`},
		{"path as ring", func(m *signals.MetricSample) { m.Ring = "../.." }, `ring: "../.."`},
		{"negative", func(m *signals.MetricSample) { m.Value = -0.5 }, "value: -0.5 is negative"},
		{"infinite", func(m *signals.MetricSample) { m.Value = math.Inf(1) }, "not a finite number"},
		{"1970", func(m *signals.MetricSample) { m.Time = time.Unix(0, 0) }, "in the past"},
		{"2999", func(m *signals.MetricSample) { m.Time = time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC) }, "in the future"},
		{"just beyond skew", func(m *signals.MetricSample) { m.Time = now.Add(DefaultMaxFuture + time.Second) }, "in the future"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ok
			tc.mod(&m)
			err := r.Metric(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, signals.ErrInvalid) {
				t.Errorf("Metric = %v, want an ErrInvalid naming %q", err, tc.want)
			}
		})
	}
	var none *Rules
	bad := ok
	bad.Ring = "H9"
	if err := none.Ring("H9"); err != nil {
		t.Errorf("nil rules refused a ring: %v", err)
	}
	if err := (&Rules{}).Service("any"); err != nil {
		t.Errorf("rules without services refused a service: %v", err)
	}
}

func TestConfig(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil || c.MaxFuture != DefaultMaxFuture || c.MaxPast != DefaultMaxPast {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c = Config{MaxFuture: -time.Second, MaxPast: time.Second}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "inbound.max_future") || !strings.Contains(err.Error(), "inbound.max_past") {
		t.Errorf("Validate = %v", err)
	}
}
