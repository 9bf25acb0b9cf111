package detector

import (
	"fmt"
	"testing"
	"time"

	"github.com/aftershock/aftershock/signals"
)

func TestContinuousSpikeAnomalies(t *testing.T) {
	s := newScenario(t, Config{})
	e := signals.Enrichment{Lang: "en", Sentiment: 0.3}
	neg := signals.Enrichment{Lang: "en", Sentiment: -0.7, Categories: []string{"outage"}}
	// Two quiet days at 4 posts a minute, then ten minutes of an outage.
	end := t0.Add(48 * time.Hour)
	for m := t0; m.Before(end.Add(30 * time.Minute)); m = m.Add(time.Minute) {
		for i := 0; i < 4; i++ {
			s.post(m.Add(time.Duration(i)*15*time.Second), e)
		}
		if !m.Before(end) && m.Before(end.Add(10*time.Minute)) {
			for i := 0; i < 30; i++ {
				s.post(m.Add(time.Duration(i)*2*time.Second), neg)
			}
		}
		s.advance(m.Add(time.Minute))
	}
	var kinds []string
	for _, a := range s.out.Anomalies {
		if a.Release == "" {
			kinds = append(kinds, a.Kind+"/"+a.Signal)
			if a.Time.Before(end) {
				t.Errorf("spike anomaly before the outage: %+v", a)
			}
		}
	}
	want := map[string]bool{"volume_spike/posts": false, "complaint_spike/negative_posts": false}
	for _, k := range kinds {
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no %s anomaly; got %v", k, kinds)
		}
	}
}

func TestMetricSpikeAnomaly(t *testing.T) {
	s := newScenario(t, Config{})
	for i := 0; i < 2*24*60; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		v := 0.01 + 0.001*float64(i%3)
		if i >= 2*24*60-20 {
			v = 0.2
		}
		s.d.Metric(signals.MetricSample{Time: at, Service: "shop", Name: "error_rate", Value: v})
	}
	s.advance(t0.Add(49 * time.Hour))
	found := false
	for _, a := range s.out.Anomalies {
		if a.Signal == "error_rate" && a.Kind == signals.KindErrorRegression {
			found = true
		}
	}
	if !found {
		t.Fatalf("no error_rate anomaly: %v", fmt.Sprint(s.out.Anomalies))
	}
}
