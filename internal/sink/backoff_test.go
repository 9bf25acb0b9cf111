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

func TestDecodeRollup(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"ok", `{"type":"rollup","time":"2026-03-01T12:00:00Z","service":"s","source":"x","posts":3,"negative":1}`, false},
		{"no source", `{"type":"rollup","time":"2026-03-01T12:00:00Z","service":"s","posts":3}`, true},
		{"no time", `{"type":"rollup","service":"s","source":"x"}`, true},
		{"more negative than posts", `{"type":"rollup","time":"2026-03-01T12:00:00Z","service":"s","source":"x","posts":1,"negative":2}`, true},
		{"bad json", `{"type":"rollup","time":`, true},
		{"unknown type", `{"type":"nope","time":"2026-03-01T12:00:00Z"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decode([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("decode = %v, %v; wantErr %v", v, err, tt.wantErr)
			}
			if err == nil && !storable(v) {
				t.Errorf("decoded %T is not storable", v)
			}
		})
	}
}
