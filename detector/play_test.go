package detector

import (
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// TestPlay: Play advances the detector minute by minute to each line,
// drops a post seen before and lines that are no message, and hands on
// each message it applied.
func TestPlay(t *testing.T) {
	stream := strings.Join([]string{
		`{"type":"release","time":"2026-11-24T09:00:00Z","release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H2","event":"started"}`,
		`{"type":"post","time":"2026-11-24T09:00:30Z","source":"mastodon","id":"1","service":"shop","text":"login broken again"}`,
		`{"type":"post","time":"2026-11-24T09:02:10Z","source":"mastodon","id":"1","service":"shop","text":"login broken again"}`,
		`not json`,
		`{"type":"tweet","time":"2026-11-24T09:02:20Z"}`,
		`{"type":"metric","time":"2026-11-24T09:03:00Z","service":"shop","version":"4.2.0","name":"error_rate","value":0.02}`,
	}, "\n")
	d := New(defaultConfig(t), nil)
	var minutes []time.Time
	var kinds []string
	err := Play(strings.NewReader(stream), d, func(now time.Time, _ Output) { minutes = append(minutes, now) }, func(v any) {
		switch v.(type) {
		case *signals.ReleaseEvent:
			kinds = append(kinds, "release")
		case *signals.Post:
			kinds = append(kinds, "post")
		case *signals.MetricSample:
			kinds = append(kinds, "metric")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kinds, ","); got != "release,post,metric" {
		t.Errorf("applied %s, want release,post,metric (the repeated post and the bad lines dropped)", got)
	}
	if len(minutes) != 4 || !minutes[0].Equal(t0) || !minutes[3].Equal(t0.Add(3*time.Minute)) {
		t.Errorf("advanced to %v, want every minute from 09:00 to 09:03", minutes)
	}
}
