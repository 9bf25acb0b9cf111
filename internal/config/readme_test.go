package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMEConfigTable fails when the README's configuration table names a
// key the config does not have, or misses one it has (the keys come from
// the config structs' yaml tags).
func TestREADMEConfigTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "## Configuration")
	if start < 0 {
		t.Fatal("README.md has no ## Configuration section")
	}
	section := doc[start+3:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	key := regexp.MustCompile("`([a-z_-]+(?:\\[\\])?(?:\\.[a-z_-]+(?:\\[\\])?)*)`")
	documented := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		first := strings.Split(line, "|")[1]
		for _, m := range key.FindAllStringSubmatch(first, -1) {
			if documented[m[1]] {
				t.Errorf("README config table lists %s twice", m[1])
			}
			documented[m[1]] = true
		}
	}
	if rows == 0 {
		t.Fatal("no rows found in the README config table")
	}
	keys := Keys()
	for _, k := range keys {
		if !documented[k] {
			t.Errorf("config key %s is missing from the README config table", k)
		}
	}
	for k := range documented {
		if !slices.Contains(keys, k) {
			t.Errorf("README config table names %s, which the config does not have", k)
		}
	}
}

// TestKeysAccepted: every key Keys lists is one the strict decoder
// accepts where the table says (a spot check of the walker itself).
func TestKeysAccepted(t *testing.T) {
	keys := Keys()
	for _, want := range []string{"dashboard_url", "nats.data_dir", "notifiers[].webhook.url", "statsd.ratios[].name", "inbound.max_past", "detector.rings[].name"} {
		if !slices.Contains(keys, want) {
			t.Errorf("Keys() lacks %s", want)
		}
	}
	for _, bad := range []string{"delivery.dashboard_url", "http", "notifiers[].webhook"} {
		if slices.Contains(keys, bad) {
			t.Errorf("Keys() lists %s", bad)
		}
	}
	// dashboard_url is refused under delivery, as the old README had it.
	_, err := Parse([]byte("nats: {data_dir: /tmp/x}\nhttp: {insecure_no_auth: true}\ndelivery: {dashboard_url: x}\n"), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "dashboard_url") {
		t.Errorf("dashboard_url under delivery: %v, want refused", err)
	}
}
