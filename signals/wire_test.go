package signals

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string // Go type, "" when an error is expected
		errPart string
	}{
		{"post", `{"type":"post","time":"2026-11-24T09:30:00Z","source":"mastodon","id":"109","service":"shop","text":"hi","extra":1}`, "*signals.Post", ""},
		{"metric", `{"type":"metric","time":"2026-11-24T09:30:00Z","service":"shop","name":"error_rate","value":0.012}`, "*signals.MetricSample", ""},
		{"release", `{"type":"release","time":"2026-11-24T09:30:00Z","release":"shop-4.2.0","service":"shop","ring":"H2","event":"started"}`, "*signals.ReleaseEvent", ""},
		{"rollup", `{"type":"rollup","time":"2026-11-24T09:30:00Z","service":"shop","source":"x","posts":3,"negative":1}`, "*signals.Rollup", ""},
		{"verdict", `{"type":"verdict","time":"2026-11-24T09:30:00Z","release":"r","service":"shop","ring":"H2","decision":"fail"}`, "*signals.Verdict", ""},
		{"anomaly", `{"type":"anomaly","time":"2026-11-24T09:30:00Z","service":"shop","kind":"volume_spike"}`, "*signals.Anomaly", ""},
		{"missing type", `{"time":"2026-11-24T09:30:00Z"}`, "", "missing \"type\""},
		{"unknown type", `{"type":"tweet"}`, "", "unknown type"},
		{"malformed", `{"type":`, "", "invalid message"},
		{"missing time", `{"type":"post","source":"m","id":"1","service":"shop"}`, "", "missing \"time\""},
		{"bad event", `{"type":"release","time":"2026-11-24T09:30:00Z","release":"r","service":"s","event":"exploded"}`, "", "unknown event"},
		{"start without ring", `{"type":"release","time":"2026-11-24T09:30:00Z","release":"r","service":"s","event":"started"}`, "", "needs a \"ring\""},
		{"invalid utf8", "{\"type\":\"post\",\"text\":\"\xff\"}", "", "UTF-8"},
		{"oversized", `{"type":"post","text":"` + strings.Repeat("a", MaxMessageBytes) + `"}`, "", "bytes"},
		{"rollup counts", `{"type":"rollup","time":"2026-11-24T09:30:00Z","service":"shop","source":"x","posts":1,"negative":2}`, "", "out of range"},
		{"bad time", `{"type":"metric","time":"yesterday","service":"shop","name":"e","value":1}`, "", "invalid message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode([]byte(tc.in))
			if tc.want == "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := typeName(v); got != tc.want {
				t.Fatalf("type %s, want %s", got, tc.want)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *Post:
		return "*signals.Post"
	case *MetricSample:
		return "*signals.MetricSample"
	case *ReleaseEvent:
		return "*signals.ReleaseEvent"
	case *Rollup:
		return "*signals.Rollup"
	case *Verdict:
		return "*signals.Verdict"
	case *Anomaly:
		return "*signals.Anomaly"
	}
	return "?"
}
