package detector

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aftershock/aftershock/signals"
)

// Play feeds a stream of JSON lines — posts, metric samples and release
// events in time order, the input of `aftershock replay` — straight into
// d, without a broker: before each line d is advanced minute by minute to
// the line's minute (tick, when not nil, sees each minute's output), and a
// post seen before (its source and id) is dropped, as the broker does.
// applied, when not nil, is called with each message d took. Lines that
// are no message are skipped. It is for diagnostics that watch the charts
// minute by minute; the product replays through the broker.
func Play(r io.Reader, d *Detector, tick func(now time.Time, o Output), applied func(v any)) error {
	seen := map[string]bool{}
	var now time.Time
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var head struct {
			Type string    `json:"type"`
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(sc.Bytes(), &head) != nil {
			continue
		}
		if !head.Time.IsZero() {
			for to := head.Time.Truncate(time.Minute); now.IsZero() || now.Before(to); {
				if now.IsZero() {
					now = to
				} else {
					now = now.Add(time.Minute)
				}
				o := d.Advance(now)
				if tick != nil {
					tick(now, o)
				}
			}
		}
		var v any
		switch head.Type {
		case signals.TypePost:
			var p signals.Post
			if json.Unmarshal(sc.Bytes(), &p) != nil || seen[p.MsgID()] {
				continue
			}
			seen[p.MsgID()] = true
			d.Post(p)
			v = &p
		case signals.TypeMetric:
			var m signals.MetricSample
			if json.Unmarshal(sc.Bytes(), &m) != nil {
				continue
			}
			d.Metric(m)
			v = &m
		case signals.TypeRelease:
			var ev signals.ReleaseEvent
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			d.Release(ev)
			v = &ev
		default:
			continue
		}
		if applied != nil {
			applied(v)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the stream: %w", err)
	}
	return nil
}
