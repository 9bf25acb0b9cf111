package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aftershock/aftershock/crawlers"
	"github.com/aftershock/aftershock/crawlers/prometheus"
	"github.com/aftershock/aftershock/crawlers/statsd"
	"github.com/aftershock/aftershock/detector"
)

// CheckDetector checks what detector.Config.Validate cannot see on its own,
// after it ran: names in critical, must_have_data and dry_run that look
// like a misspelt signal or complaint category (detector.Config accepts
// any metric name there, so "logn" would silently be a metric nobody
// sends and login would not halt on its own), service_soak entries for
// services that are not configured, and negative durations that would
// otherwise be taken as they are. services are the configured service
// names (none: any service). prefix is the section's path ("detector").
func CheckDetector(prefix string, d detector.Config, services []string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	for _, list := range []struct {
		key   string
		names []string
	}{{"critical", d.Critical}, {"must_have_data", d.MustHaveData}, {"dry_run", d.DryRun}} {
		cats := list.key == "critical" // only critical takes complaint categories
		counted := countNames(d.ErrorCounts)
		what, known := "a signal", "signals: "+strings.Join(append(slices.Clone(detector.SignalNames), counted...), ", ")
		if cats {
			what += " or complaint category"
			known += "; categories: " + strings.Join(detector.Categories, ", ")
		}
		for i, n := range list.names {
			if near, ok := misspelt(n, cats, counted); ok {
				bad(fmt.Sprintf("%s[%d]", list.key, i), "%q is not %s; did you mean %q? (%s)", n, what, near, known)
			}
		}
	}
	if len(services) > 0 {
		var names []string
		for n := range d.ServiceSoak {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if !slices.Contains(services, n) {
				bad("service_soak."+n, "%q is not one of services[].name", n)
			}
		}
	}
	if d.SilenceAfter < 0 {
		bad("silence_after", "%s is negative", d.SilenceAfter)
	}
	if d.MinBaseline < 0 {
		bad("min_baseline", "%s is negative", d.MinBaseline)
	}
	if d.MinSamples < 0 {
		bad("min_samples", "%d is negative", d.MinSamples)
	}
	if d.MaxServices < 0 {
		bad("max_services", "%d is negative", d.MaxServices)
	}
	return errs
}

// CheckCountSources checks the sources that publish metric samples against
// the detector's error_counts: a name published as plain values (a
// prometheus query, a StatsD ratio) that is a count pair's signal name
// would be compared by Mann–Whitney under the name of the pair's chart —
// two results of one name in every verdict, one critical setting for both;
// and a StatsD count that is in no pair is counts compared as values
// (counts of cohorts of different sizes: the bigger cohort always "higher").
func CheckCountSources(d detector.Config, sources []crawlers.Spec, sd *statsd.Config) []error {
	var errs []error
	names := countNames(d.ErrorCounts)
	plain := func(field, name string) {
		if slices.Contains(names, name) && !d.CountSample(name) {
			errs = append(errs, fmt.Errorf("%s: %q is also the signal of a detector.error_counts pair; its values would be compared by Mann–Whitney under the same name: rename one", field, name))
		}
	}
	for i, s := range sources {
		if s.Type != "prometheus" {
			continue
		}
		var o prometheus.Options
		if s.DecodeOptions(&o) != nil {
			continue // reported by the source's own validation
		}
		for j, q := range o.Queries {
			plain(fmt.Sprintf("sources[%d].options.queries[%d].name", i, j), q.Name)
		}
	}
	if sd != nil {
		for i, r := range sd.Ratios {
			plain(fmt.Sprintf("statsd.ratios[%d].name", i), r.Name)
		}
		for i, c := range sd.Counts {
			if c.Name != "" && !d.CountSample(c.Name) {
				errs = append(errs, fmt.Errorf("statsd.counts[%d].name: %q is in no detector.error_counts pair (samples %s): its counts would be compared as values; add a pair {name, errors, requests} or make it a ratio",
					i, c.Name, strings.Join(countSamples(d.ErrorCounts), ", ")))
			}
		}
	}
	return errs
}

// countSamples are the sample names of the error-count pairs.
func countSamples(pairs []detector.CountPair) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p.Errors, p.Requests)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// countNames are the signal names of the error-count pairs.
func countNames(pairs []detector.CountPair) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p.Name)
	}
	return out
}

// misspelt reports the social signal, error-count signal (counted) or,
// with categories, complaint category that n is one or two edits away
// from, when n is none of them: a metric name that close to a signal is
// almost surely a typo.
func misspelt(n string, categories bool, counted []string) (string, bool) {
	known := append(slices.Clone(detector.SignalNames), counted...)
	if categories {
		known = append(known, detector.Categories...)
	}
	if slices.Contains(known, n) {
		return "", false
	}
	best, bestD := "", 3
	for _, k := range known {
		limit := 2
		if len(k) <= 6 {
			limit = 1
		}
		if dist := editDistance(strings.ToLower(n), k); dist <= limit && dist < bestD {
			best, bestD = k, dist
		}
	}
	return best, best != ""
}

// editDistance is the Levenshtein distance of a and b (bytes; names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
