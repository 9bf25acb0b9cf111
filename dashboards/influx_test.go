package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/internal/influxtest"
	"github.com/aftershock/aftershock/internal/sink/influx"
	"github.com/aftershock/aftershock/signals"
)

// The sample: two hours of one-minute rollups and the events of two releases
// of "checkout", plus a second service ("search") that no Release watch query
// for checkout may show.
var (
	t0 = time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	t1 = t0.Add(2 * time.Hour)
)

const (
	service   = "checkout"
	release   = "rel-42"
	oldRel    = "rel-41"
	otherSvc  = "search"
	otherSrc  = "hn"
	version   = "4.2.1"
	epsilon   = 1e-9
	minutes   = 120
	crashPerM = 3 // x 2 + mastodon 1
	loginPerM = 2 // mastodon
)

func sample() []any {
	var batch []any
	for m := range minutes {
		at := t0.Add(time.Duration(m) * time.Minute)
		batch = append(batch,
			&signals.Rollup{Type: signals.TypeRollup, Time: at, Service: service, Source: "x",
				Posts: 10, Negative: 2, SentimentSum: 1.0, Categories: map[string]int{"crash": 2}},
			&signals.Rollup{Type: signals.TypeRollup, Time: at, Service: service, Source: "mastodon",
				Posts: 5, Negative: 3, SentimentSum: -2.5, Categories: map[string]int{"crash": 1, "login": 2}},
			&signals.Rollup{Type: signals.TypeRollup, Time: at, Service: otherSvc, Source: otherSrc,
				Posts: 1000, Negative: 1000, SentimentSum: -1000, Categories: map[string]int{"crash": 1000}},
			&signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: service, Name: "error_rate", Value: 0.004},
			&signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: service, Version: version, Ring: "H2", Name: "error_rate", Value: 0.03},
			&signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: service, Version: version, Ring: "H2", Name: "latency_p99", Value: 0.8},
			&signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: otherSvc, Version: version, Ring: "H2", Name: "error_rate", Value: 99},
			// Pushed with only its release id (INTERFACES.md §8): no version tag.
			&signals.MetricSample{Type: signals.TypeMetric, Time: at, Service: service, Release: release, Ring: "H3", Name: "error_rate", Value: 0.05},
		)
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	batch = append(batch,
		&signals.ReleaseEvent{Type: signals.TypeRelease, Time: at(1), Service: service, Release: oldRel, Version: "4.2.0", Event: signals.EventCompleted},
		&signals.ReleaseEvent{Type: signals.TypeRelease, Time: at(10), Service: service, Release: release, Version: version, Ring: "H1", Event: signals.EventStarted, Team: "payments"},
		&signals.ReleaseEvent{Type: signals.TypeRelease, Time: at(60), Service: service, Release: release, Version: version, Ring: "H2", Event: signals.EventPromoted},
		&signals.ReleaseEvent{Type: signals.TypeRelease, Time: at(91), Service: service, Release: release, Version: version, Ring: "H2", Event: signals.EventHalted},
		&signals.ReleaseEvent{Type: signals.TypeRelease, Time: at(5), Service: otherSvc, Release: "s-1", Ring: "H1", Event: signals.EventStarted},
		&signals.Verdict{Type: signals.TypeVerdict, Time: at(2), Service: service, Release: oldRel, Ring: "H3", Score: 99, Decision: signals.DecisionPass, Action: signals.ActionNone},
		&signals.Verdict{Type: signals.TypeVerdict, Time: at(30), Service: service, Release: release, Ring: "H1", Score: 95, Decision: signals.DecisionPass, Action: signals.ActionNone},
		&signals.Verdict{Type: signals.TypeVerdict, Time: at(80), Service: service, Release: release, Ring: "H2", Score: 70, Decision: signals.DecisionMarginal, Action: signals.ActionNone},
		&signals.Verdict{Type: signals.TypeVerdict, Time: at(90), Service: service, Release: release, Ring: "H2", Score: 40, Decision: signals.DecisionFail, Action: signals.ActionHalt,
			Reasons: []string{"error_rate 0.03 > 0.004"},
			Signals: []signals.SignalResult{{Name: "error_rate", Outcome: signals.OutcomeFail}}},
		&signals.Verdict{Type: signals.TypeVerdict, Time: at(95), Service: otherSvc, Release: "s-1", Ring: "H1", Score: 1, Decision: signals.DecisionFail, Action: signals.ActionHalt},
		&signals.Anomaly{Type: signals.TypeAnomaly, Time: at(85), Service: service, Release: release, Ring: "H2", Kind: signals.KindErrorRegression,
			Signal: "error_rate", Observed: 0.03, Expected: 0.004, Strength: 0.99},
		&signals.Anomaly{Type: signals.TypeAnomaly, Time: at(88), Service: service, Release: release, Ring: "H2", Kind: signals.KindComplaintSpike,
			Signal: "complaints", Observed: 12, Expected: 2, Strength: 0.9, Keywords: []string{"crash", "login"}},
		&signals.Anomaly{Type: signals.TypeAnomaly, Time: at(40), Service: service, Release: oldRel, Kind: signals.KindVolumeSpike,
			Signal: "posts", Observed: 1, Expected: 1, Strength: 0.5},
	)
	return batch
}

// substitute does what Grafana does before a query reaches InfluxDB: it
// defines v.* and replaces the template variables.
func substitute(flux, windowPeriod string) string {
	r := strings.NewReplacer(
		varService, service,
		varRelease, release,
		varServiceRegex, "("+service+")",
	)
	v := fmt.Sprintf("v = {timeRangeStart: %s, timeRangeStop: %s, windowPeriod: %s}\n",
		t0.Format(time.RFC3339), t1.Format(time.RFC3339), windowPeriod)
	return v + r.Replace(flux)
}

// query is one Flux query found in a dashboard's JSON.
type query struct {
	key  string // file / panel title / refId, file / variable name, file / annotation name
	flux string
}

func dashboardQueries(t *testing.T, files map[string][]byte) []query {
	t.Helper()
	var qs []query
	for name, data := range files {
		var d dashboardJSON
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				qs = append(qs, query{name + " / " + p.Title + " / " + tg.RefID, tg.Query})
			}
		}
		for _, v := range d.Templating.List {
			qs = append(qs, query{name + " / $" + v.Name, v.Query.Query})
		}
		for _, a := range d.Annotations.List {
			qs = append(qs, query{name + " / annotation " + a.Name, a.Target.Query})
		}
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i].key < qs[j].key })
	return qs
}

// TestQueriesOnInfluxDB runs every query of both dashboards against a real
// InfluxDB 1.8 (Flux 0.65) holding the sample and checks what comes back.
func TestQueriesOnInfluxDB(t *testing.T) {
	srv := influxtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	cfg := influx.Config{URL: srv.URL, Bucket: srv.Bucket}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := influx.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer sink.Close()
	if err := sink.Write(ctx, sample()); err != nil {
		t.Fatalf("writing the sample: %v", err)
	}

	files, err := BuildWith(Options{Bucket: srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]func(t *testing.T, rows []influxtest.Row){
		ReleaseFile + " / $service": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantStrings(t, rows, "_value", service, otherSvc)
		},
		ReleaseFile + " / $release": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantStrings(t, rows, "_value", release, oldRel) // newest first
		},
		ReleaseFile + " / Post volume per minute vs baseline / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantLen(t, rows, minutes)
			wantAll(t, rows, "_value", 15)
			wantAll(t, rows, "_field", seriesPosts)
		},
		ReleaseFile + " / Post volume per minute vs baseline / B": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantLen(t, rows, minutes-59) // the first hour has no full trailing hour
			wantAll(t, rows, "_value", 15)
			wantAll(t, rows, "_field", seriesBaseline)
		},
		ReleaseFile + " / Negative share and mean sentiment / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantLen(t, rows, minutes)
			wantAll(t, rows, influx.FieldNegativeShare, 5.0/15)
			wantAll(t, rows, influx.FieldSentimentMean, -1.5/15)
		},
		ReleaseFile + " / Complaint categories / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 2)
			wantLen(t, rows, 2*minutes)
			wantByTag(t, rows, influx.TagCategory, map[string]float64{"crash": crashPerM, "login": loginPerM})
		},
		ReleaseFile + " / Complaints by category (whole range) / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 2)
			wantLen(t, rows, 2)
			wantByTag(t, rows, influx.TagCategory, map[string]float64{"crash": crashPerM * minutes, "login": loginPerM * minutes})
		},
		ReleaseFile + " / Error rates per version and ring / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 3)
			wantLen(t, rows, 3*minutes)
			// One series each: the old cohort (baseline), the version
			// pushed with its version, the release pushed with its id only.
			wantByTag(t, rows, influx.TagRing, map[string]float64{"<nil>": 0.004, "H2": 0.03, "H3": 0.05})
			for _, r := range rows {
				got := fmt.Sprint(r[influx.TagVersion], "/", r[influx.TagRelease])
				want := map[any]string{nil: influx.BaselineVersion + "/<nil>", "H2": version + "/<nil>", "H3": "<nil>/" + release}[r[influx.TagRing]]
				if got != want {
					t.Fatalf("ring %v: version/release %s, want %s", r[influx.TagRing], got, want)
				}
			}
		},
		ReleaseFile + " / Latency per version and ring / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantLen(t, rows, minutes)
			wantAll(t, rows, "_value", 0.8)
			wantAll(t, rows, influx.TagName, "latency_p99")
			wantAll(t, rows, influx.TagRing, "H2")
		},
		ReleaseFile + " / Canary score / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 2)
			wantLen(t, rows, 3)
			wantStrings(t, rows, "_value", "95", "70", "40")
		},
		ReleaseFile + " / Latest decision per ring / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 2)
			wantLen(t, rows, 2)
			wantByTag(t, rows, influx.TagRing, map[string]float64{"H1": 95, "H2": 40}, influx.FieldScore)
			for _, r := range rows {
				want := map[string]string{"H1": signals.DecisionPass, "H2": signals.DecisionFail}[fmt.Sprint(r[influx.TagRing])]
				if r[influx.TagDecision] != want {
					t.Errorf("ring %v: decision %v, want %s", r[influx.TagRing], r[influx.TagDecision], want)
				}
			}
		},
		ReleaseFile + " / Anomalies / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantLen(t, rows, 2)
			wantStrings(t, rows, influx.TagKind, signals.KindComplaintSpike, signals.KindErrorRegression)
			wantStrings(t, rows, influx.FieldKeywords, "crash,login", "")
			wantStrings(t, rows, influx.FieldObserved, "12", "0.03")
			wantStrings(t, rows, influx.FieldStrength, "0.9", "0.99")
		},
		ReleaseFile + " / annotation Release events": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantStrings(t, rows, "text",
				"checkout 4.2.0 (rel-41): completed",
				"checkout 4.2.1 (rel-42): started in H1 by payments",
				"checkout 4.2.1 (rel-42): promoted to H2",
				"checkout 4.2.1 (rel-42): halted in H2")
			wantStrings(t, rows, "tags", "completed,rel-41", "started,rel-42", "promoted,rel-42", "halted,rel-42")
		},
		SourcesFile + " / $service": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 1)
			wantStrings(t, rows, "_value", service, otherSvc)
		},
		SourcesFile + " / Posts per minute per source / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 2)
			wantLen(t, rows, 2*minutes)
			wantByTag(t, rows, influx.TagSource, map[string]float64{"x": 10, "mastodon": 5})
		},
		SourcesFile + " / Negative posts per minute per source / A": func(t *testing.T, rows []influxtest.Row) {
			wantTables(t, rows, 2)
			wantLen(t, rows, 2*minutes)
			wantByTag(t, rows, influx.TagSource, map[string]float64{"x": 2, "mastodon": 3})
		},
	}

	seen := map[string]bool{}
	for _, q := range dashboardQueries(t, files) {
		t.Run(q.key, func(t *testing.T) {
			check, ok := checks[q.key]
			if !ok {
				t.Fatalf("no check for this query; add one:\n%s", q.flux)
			}
			seen[q.key] = true
			flux := substitute(q.flux, "1m")
			if left := regexp.MustCompile(`\$\{[^}]*\}|\$\w+`).FindString(flux); left != "" {
				t.Fatalf("unknown template variable %s in\n%s", left, q.flux)
			}
			rows, err := srv.Query(ctx, flux)
			if err != nil {
				t.Fatalf("%v\nquery:\n%s", err, flux)
			}
			if len(rows) == 0 {
				t.Fatalf("no rows from\n%s", flux)
			}
			check(t, rows)
			if t.Failed() {
				t.Logf("query:\n%s\nrows (first 5 of %d): %v", flux, len(rows), rows[:min(5, len(rows))])
			}
		})
	}
	for key := range checks {
		if !seen[key] {
			t.Errorf("check %q matched no query", key)
		}
	}

	// Over a longer range Grafana widens v.windowPeriod; rates must stay
	// per minute and shares must stay shares.
	wide := map[string]func(t *testing.T, rows []influxtest.Row){
		ReleaseFile + " / Post volume per minute vs baseline / A": func(t *testing.T, rows []influxtest.Row) {
			wantLen(t, rows, minutes/10)
			wantAll(t, rows, "_value", 15)
		},
		ReleaseFile + " / Negative share and mean sentiment / A": func(t *testing.T, rows []influxtest.Row) {
			wantLen(t, rows, minutes/10)
			wantAll(t, rows, influx.FieldNegativeShare, 5.0/15)
			wantAll(t, rows, influx.FieldSentimentMean, -1.5/15)
		},
		SourcesFile + " / Posts per minute per source / A": func(t *testing.T, rows []influxtest.Row) {
			wantLen(t, rows, 2*minutes/10)
			wantByTag(t, rows, influx.TagSource, map[string]float64{"x": 10, "mastodon": 5})
		},
	}
	for _, q := range dashboardQueries(t, files) {
		t.Run("window 10m/"+q.key, func(t *testing.T) {
			rows, err := srv.Query(ctx, substitute(q.flux, "10m"))
			if err != nil || len(rows) == 0 {
				t.Fatalf("%d rows, err %v", len(rows), err)
			}
			if check := wide[q.key]; check != nil {
				check(t, rows)
			}
		})
	}
}

// wantTables checks the number of result tables: Grafana draws one series
// per table, so a panel of one line per ring or source needs one table each.
func wantTables(t *testing.T, rows []influxtest.Row, n int) {
	t.Helper()
	tables := map[any]bool{}
	for _, r := range rows {
		tables[r["table"]] = true
	}
	if len(tables) != n {
		t.Errorf("%d tables, want %d", len(tables), n)
	}
}

func wantLen(t *testing.T, rows []influxtest.Row, n int) {
	t.Helper()
	if len(rows) != n {
		t.Errorf("%d rows, want %d", len(rows), n)
	}
}

// wantAll checks column col of every row: a number within epsilon, or a string.
func wantAll(t *testing.T, rows []influxtest.Row, col string, want any) {
	t.Helper()
	for i, r := range rows {
		if !same(r[col], want) {
			t.Errorf("row %d: %s = %v (%T), want %v", i, col, r[col], r[col], want)
			return
		}
	}
}

// wantByTag checks that each row's value column (default _value) is the
// number wanted for its tag, and that every wanted tag value appears.
func wantByTag(t *testing.T, rows []influxtest.Row, tag string, want map[string]float64, valueCol ...string) {
	t.Helper()
	col := "_value"
	if len(valueCol) > 0 {
		col = valueCol[0]
	}
	got := map[string]bool{}
	for i, r := range rows {
		k := fmt.Sprint(r[tag])
		w, ok := want[k]
		if !ok {
			t.Errorf("row %d: unexpected %s=%s", i, tag, k)
			continue
		}
		got[k] = true
		if !same(r[col], w) {
			t.Errorf("row %d (%s=%s): %s = %v, want %v", i, tag, k, col, r[col], w)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("no row with %s=%s", tag, k)
		}
	}
}

// wantStrings checks column col of the rows, in order, printed with %v
// (nil as "").
func wantStrings(t *testing.T, rows []influxtest.Row, col string, want ...string) {
	t.Helper()
	var got []string
	for _, r := range rows {
		if r[col] == nil {
			got = append(got, "")
			continue
		}
		got = append(got, fmt.Sprint(r[col]))
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s = %q, want %q", col, got, want)
	}
}

func same(got, want any) bool {
	w, isNum := toFloat(want)
	if !isNum {
		return fmt.Sprint(got) == fmt.Sprint(want)
	}
	g, ok := toFloat(got)
	return ok && math.Abs(g-w) < epsilon
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}
