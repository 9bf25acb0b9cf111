package push

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzBody splits a pushed body (a sample, an array or JSON lines) and
// decodes each sample as the HTTP handler does: no panic, and every sample
// it accepts is valid and can be sent on the wire. Seeds:
// testdata/fuzz/FuzzBody.
func FuzzBody(f *testing.F) {
	for _, s := range []string{
		`{"service":"shop","version":"4.2.0","ring":"H2","name":"error_rate","value":0.02,"time":"2026-11-24T10:00:00Z"}`,
		`[{"service":"shop","name":"error_rate","value":0.01},{"service":"shop","name":"latency_p99","value":180}]`,
		"{\"service\":\"shop\",\"name\":\"a\",\"value\":1}\n{\"service\":\"shop\",\"name\":\"b\",\"value\":2}\n{bad",
		`{"type":"post","value":1}`,
		`{"service":"shop","version":"4.2.0","ring":"H2","ts":"2026-11-24T10:00:00Z","requests":1200,"errors":17}`,
		`[{"service":"shop","requests":10,"errors":11},{"service":"shop","requests":5}]`,
		`[{"service":"shop","requests":1e300,"errors":1e300},{"service":"shop","requests":1e12,"errors":0.5},{"service":"shop","requests":1e400,"errors":1}]`,
		``,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, err := Split(body)
		if err != nil {
			return
		}
		for _, raw := range raws {
			ms, err := decode(raw, now)
			if err != nil {
				continue
			}
			if len(ms) != 1 && len(ms) != 2 {
				t.Fatalf("%d samples from one object", len(ms))
			}
			for _, m := range ms {
				if err := m.Validate(); err != nil {
					t.Fatalf("accepted sample %+v is invalid: %v", m, err)
				}
				if _, err := json.Marshal(m); err != nil {
					t.Fatalf("accepted sample %+v cannot be sent: %v", m, err)
				}
				if (m.Name == RequestsName || m.Name == ErrorsName) && len(ms) == 2 && !validCount(m.Value) {
					t.Fatalf("count sample %+v is no count", m)
				}
			}
		}
	})
}
