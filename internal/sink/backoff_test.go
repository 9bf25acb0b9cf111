package sink

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	c := &Consumer{cfg: ConsumerConfig{MinBackoff: time.Second, MaxBackoff: 10 * time.Second}}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{4, 8 * time.Second}, {5, 10 * time.Second}, {1000, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := c.backoff(tt.failures); got != tt.want {
			t.Errorf("backoff(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}
