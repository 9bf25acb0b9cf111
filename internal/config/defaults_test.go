package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftershock/aftershock/detector"
)

// detectorDefaults returns the detector section's defaults as the code
// applies them, by yaml key, each formatted like the README writes it:
// durations compact (6h, 30m, 2160h), numbers as %g, lists joined by ",",
// empty values "".
func detectorDefaults(t *testing.T) map[string]string {
	t.Helper()
	var c detector.Config
	if err := c.Validate("detector"); err != nil {
		t.Fatalf("default detector config: %v", err)
	}
	out := map[string]string{}
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if key == "" || key == "-" {
			continue
		}
		out[key] = formatDefault(v.Field(i))
	}
	return out
}

func formatDefault(v reflect.Value) string {
	if d, ok := v.Interface().(time.Duration); ok {
		return compactDuration(d)
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Slice:
		var items []string
		for i := range v.Len() {
			items = append(items, fmt.Sprint(v.Index(i).Interface()))
		}
		return strings.Join(items, ",")
	case reflect.Map:
		if v.Len() == 0 {
			return ""
		}
	}
	return fmt.Sprint(v.Interface())
}

// compactDuration writes 6h0m0s as 6h and 30m0s as 30m.
func compactDuration(d time.Duration) string {
	s := d.String()
	for _, suffix := range []string{"0s", "0m"} {
		if strings.HasSuffix(s, "m"+suffix) || strings.HasSuffix(s, "h"+suffix) {
			s = strings.TrimSuffix(s, suffix)
		}
	}
	return s
}

// sameDuration reports whether a and b are both durations and equal ("0"
// and "0s", "90m" and "1h30m").
func sameDuration(a, b string) bool {
	x, errA := time.ParseDuration(a)
	y, errB := time.ParseDuration(b)
	return errA == nil && errB == nil && x == y
}

// TestREADMEDetectorDefaults: the default the README's config table gives
// for every plain detector key (not rings or spike, which have their own
// rows and formats) is the default the code applies. It caught
// detector.critical without negative_share and detector.dry_run said to be
// empty while the code reports emerging_terms without counting it.
func TestREADMEDetectorDefaults(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := detectorDefaults(t)
	tick := regexp.MustCompile("`([^`]*)`")
	plainKey := regexp.MustCompile("^`detector\\.([a-z_]+)`$")
	checked := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `detector.") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		var keys []string
		for _, k := range strings.Split(strings.TrimSpace(cells[1]), ", ") {
			m := plainKey.FindStringSubmatch(strings.TrimSpace(k))
			if m == nil {
				keys = nil // rings[], spike.: other formats
				break
			}
			keys = append(keys, m[1])
		}
		if keys == nil {
			continue
		}
		cell := strings.TrimSpace(cells[2])
		parts := strings.Split(cell, ", ")
		if len(keys) == 1 {
			parts = []string{cell}
		}
		if len(parts) != len(keys) {
			t.Errorf("README row %v: %d defaults for %d keys: %q", keys, len(parts), len(keys), cell)
			continue
		}
		for i, k := range keys {
			var items []string
			for _, m := range tick.FindAllStringSubmatch(parts[i], -1) {
				items = append(items, m[1])
			}
			doc := strings.Join(items, ",") // "—", "empty": no backticks, empty
			want, ok := code[k]
			if !ok {
				t.Errorf("README documents detector.%s, which detector.Config does not have", k)
				continue
			}
			checked[k] = true
			if doc != want && !sameDuration(doc, want) {
				t.Errorf("README default of detector.%s is %q, the code's is %q", k, doc, want)
			}
		}
	}
	for k := range code {
		// rings, spike and error_counts have rows of their own format
		// (rings[].name, …), checked by TestExampleDetectorDefaults and
		// TestREADMEConfigTable.
		if k != "rings" && k != "spike" && k != "error_counts" && !checked[k] {
			t.Errorf("detector.%s has no default in the README config table", k)
		}
	}
}

// TestExampleDetectorDefaults: examples/aftershock.yaml, which people copy,
// sets detector keys to the code's defaults (its comments say so), except
// the ones it sets on purpose to show a feature.
func TestExampleDetectorDefaults(t *testing.T) {
	data, err := os.ReadFile("../../examples/aftershock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, goodEnv)
	if err != nil {
		t.Fatal(err)
	}
	shows := map[string]bool{"service_soak": true} // an override on purpose: {shop: 48h}
	code := detectorDefaults(t)
	v := reflect.ValueOf(cfg.Detector)
	for i := range v.NumField() {
		key := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]
		if key == "" || key == "rings" || key == "spike" || shows[key] {
			continue
		}
		if got := formatDefault(v.Field(i)); got != code[key] {
			t.Errorf("examples/aftershock.yaml: detector.%s = %q, the code's default is %q", key, got, code[key])
		}
	}
	var def detector.Config
	if err := def.Validate("detector"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Detector.Rings, def.Rings) {
		t.Errorf("examples/aftershock.yaml rings %+v, the default rings %+v", cfg.Detector.Rings, def.Rings)
	}
}
