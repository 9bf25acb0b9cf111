package statsd

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/aftershock/aftershock/signals"
)

// FuzzLine parses one StatsD / DogStatsD line: no panic, and a line it
// accepts has a name, finite values, a rate in (0, 1] and a time a sample
// can carry on the wire. Seeds: testdata/fuzz/FuzzLine.
func FuzzLine(f *testing.F) {
	for _, s := range []string{
		"http.requests:1|c|#service:shop,version:4.2.0,ring:h2",
		"http.errors:3|c|@0.5|#service:shop",
		"queue.depth:-4|g|#service:shop",
		"latency:12.5:13:14|ms|#service:shop|T1795514400",
		"checkout.time:250|d|#service:shop,ring:h1|c:abc123",
		"users:u1|s",
		"_e{5,4}:title|text",
		"bad line",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLine(b)
		if err != nil {
			return
		}
		if l.name == "" || len(l.values) == 0 || !(l.rate > 0 && l.rate <= 1) {
			t.Fatalf("parseLine(%q) = %+v", b, l)
		}
		for _, v := range l.values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("parseLine(%q): value %v", b, v)
			}
		}
		if !l.time.IsZero() {
			m := signals.MetricSample{Type: signals.TypeMetric, Time: l.time, Service: "shop", Name: l.name, Value: l.values[0]}
			if _, err := json.Marshal(m); err != nil {
				t.Fatalf("parseLine(%q): time %s cannot be sent: %v", b, l.time, err)
			}
		}
	})
}
