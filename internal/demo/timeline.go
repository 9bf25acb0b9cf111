package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/aftershock/aftershock/internal/bus"
	"github.com/aftershock/aftershock/signals"
)

// timeline prints what happens, stamped with simulated time since T0.
type timeline struct {
	mu       sync.Mutex // lines come from the demo and from stream consumers
	out      io.Writer
	t0       time.Time
	now      func() time.Time
	baseline bool
}

func (t *timeline) printf(format string, args ...any) { t.printAt(t.now(), format, args...) }

// printAt stamps a line with an event's own time, not the time it was read.
func (t *timeline) printAt(at time.Time, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := at.Sub(t.t0).Round(time.Second)
	fmt.Fprintf(t.out, "T+%-6s %s\n", fmtDur(d), fmt.Sprintf(format, args...))
}

func fmtDur(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d.Minutes()), int(d.Seconds())%60)
}

func (t *timeline) message(ctx context.Context, js jetstream.JetStream, subject string, data []byte, firstHalt *time.Time) {
	kind, _, _ := strings.Cut(subject, ".")
	switch kind {
	case "releases":
		var ev signals.ReleaseEvent
		if json.Unmarshal(data, &ev) == nil {
			if !t.baseline {
				t.baseline = true
				if s, err := js.Stream(ctx, bus.StreamPosts); err == nil {
					t.printf("baseline: %d posts about shop crawled, back to 3h before the release", s.CachedInfo().State.Msgs)
				}
			}
			t.printAt(ev.Time, "release %s %s on ring %s", ev.Release, ev.Event, ev.Ring)
		}
	case "anomalies":
		var a signals.Anomaly
		if json.Unmarshal(data, &a) == nil {
			t.printAt(a.Time, "anomaly %s on %s/%s: %s observed %.2f vs %.2f expected", a.Kind, a.Release, a.Ring, a.Signal, a.Observed, a.Expected)
		}
	case "verdicts":
		var v signals.Verdict
		if json.Unmarshal(data, &v) == nil {
			t.printAt(v.Time, "verdict %s ring %s: score %.1f → %s, action %s", v.Release, v.Ring, v.Score, strings.ToUpper(v.Decision), v.Action)
			for _, r := range v.Reasons {
				t.printAt(v.Time, "    · %s", r)
			}
			if len(v.Keywords) > 0 {
				t.printAt(v.Time, "    · keywords (categories, emerging terms): %s", strings.Join(v.Keywords, ", "))
			}
			for i, e := range v.Examples {
				if i == 2 {
					break
				}
				t.printAt(v.Time, "    · e.g. %q", e.Text)
			}
			if v.Action == signals.ActionHalt && firstHalt.IsZero() {
				*firstHalt = v.Time
				t.printAt(v.Time, "halt queued for the deploy system (durable outbox, one per release and ring)")
			}
		}
	}
}
