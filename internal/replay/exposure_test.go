package replay

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// The store phase end to end through the real pipeline (JetStream, the
// wire format's validation, the detector): a mobile app's stream of social
// posts and store reviews with their app versions, a release started on
// H3 with the App Store phased release's exposure, and the same stream of
// new-version reviews after it — 0.1 negative a minute, half of what the
// app's users write, more negative than reviews usually are. Reported at
// 50 % (started at day 1, exposure events for each later day) it is the
// new version's fair share and passes; reported at 1 % it halts on
// release_complaints. detector/exposure_test.go has the week-long cases.
func TestStorePhaseExposure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shares []float64 // the exposure at the start, then one event per 2 hours
		halts  bool
	}{
		{"phase reaches 50%", []float64{0.2, 0.5}, false},
		{"phase at 1%", []float64{0.01}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, storeStream(tc.shares), Options{})
			halts := r.halts()
			if got := len(halts) > 0; got != tc.halts {
				t.Fatalf("halted %v, want %v: %v", got, tc.halts, r.decisions())
			}
			if tc.halts && !strings.Contains(fmt.Sprint(halts[0]["reasons"]), "release_complaints") {
				t.Errorf("halt not on release_complaints: %v", halts[0]["reasons"])
			}
			if !tc.halts && r.verdicts[len(r.verdicts)-1]["decision"] != "pass" {
				t.Errorf("last verdict %v", r.verdicts[len(r.verdicts)-1])
			}
			if r.sum.Releases != len(tc.shares) {
				t.Errorf("%d release events replayed, want %d (the start and the exposure events)", r.sum.Releases, len(tc.shares))
			}
		})
	}
}

// storeStream is 6 hours of baseline and 12 hours after the start on H3:
// 5 social posts a minute (5 % negative), store reviews 0.5 a minute (40 %
// negative) on 4.1.0 before and 0.25 after, and after the start 0.1
// negative and 0.02 other reviews a minute on 4.2.0.
func storeStream(shares []float64) string {
	rng := rand.New(rand.NewPCG(3, 4))
	poisson := func(l float64) int {
		p, k, lim := 1.0, 0, math.Exp(-l)
		for {
			p *= rng.Float64()
			if p < lim {
				return k
			}
			k++
		}
	}
	var b strings.Builder
	id := 0
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	post := func(at time.Time, src, version string, neg bool) {
		id++
		sent, v := 0.4, ""
		if neg {
			sent = -0.6
		}
		if version != "" {
			v = fmt.Sprintf(`"app_version":%q,`, version)
		}
		fmt.Fprintf(&b, `{"type":"post","time":%q,"source":%q,"id":"%d","service":"shop","text":"post %d",%s"enrichment":{"lang":"en","sentiment":%g}}`+"\n",
			ts(at), src, id, id, v, sent)
	}
	start := t0.Add(6 * time.Hour)
	for m := 0; m < 18*60; m++ {
		t := t0.Add(time.Duration(m) * time.Minute)
		if i := t.Sub(start) / (2 * time.Hour); t.Sub(start)%(2*time.Hour) == 0 && i >= 0 && int(i) < len(shares) {
			event := "exposure"
			if i == 0 {
				event = "started"
			}
			fmt.Fprintf(&b, `{"type":"release","time":%q,"release":"shop-4.2.0","service":"shop","version":"4.2.0","ring":"H3","event":%q,"exposure":%g}`+"\n",
				ts(t), event, shares[i])
		}
		at := func() time.Time { return t.Add(time.Duration(rng.Float64() * float64(time.Minute))) }
		old := 0.5
		if !t.Before(start) {
			old = 0.25
			for range poisson(0.1) {
				post(at(), "appstore", "4.2.0", true)
			}
			for range poisson(0.02) {
				post(at(), "appstore", "4.2.0", false)
			}
		}
		for range poisson(5) {
			post(at(), "mastodon", "", rng.Float64() < 0.05)
		}
		for range poisson(old) {
			post(at(), "appstore", "4.1.0", rng.Float64() < 0.4)
		}
	}
	return b.String()
}
