package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestUsageAndREADMECommands: the commands and release subcommands the
// README's command table lists are the ones `aftershock help` names, and the
// other way round (the usage lacked fix-forward, exposure and resume-store,
// the table lacked version).
func TestUsageAndREADMECommands(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := map[string]bool{}
	tick := regexp.MustCompile("`([^`]+)`")
	for _, row := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(row, "| `aftershock ") {
			continue
		}
		first := strings.SplitN(row, " | ", 2)[0]
		var parent string
		for i, m := range tick.FindAllStringSubmatch(first, -1) {
			f := strings.Fields(m[1])
			if i == 0 {
				parent = f[1]
				readme[parent] = true
				if parent == "release" || parent == "deliveries" || parent == "sources" {
					readme[parent+" "+f[2]] = true
				}
			} else if parent == "release" || parent == "deliveries" {
				readme[parent+" "+f[0]] = true
			}
		}
	}
	names := map[string]bool{}
	for _, line := range strings.Split(usage, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "aftershock" || strings.HasSuffix(f[1], ":") {
			continue
		}
		names[f[1]] = true
		if len(f) > 2 && (f[1] == "release" || f[1] == "deliveries" || f[1] == "sources") {
			for _, sub := range strings.Split(f[2], "|") {
				names[f[1]+" "+sub] = true
			}
		}
	}
	var missing, extra []string
	for k := range readme {
		if !names[k] {
			missing = append(missing, k)
		}
	}
	for k := range names {
		if !readme[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("README's command table lists %q; the usage does not name them", missing)
	}
	if len(extra) > 0 {
		t.Errorf("the usage names %q; README's command table does not", extra)
	}
	if len(readme) < 15 {
		t.Errorf("read only %d commands from the README's table: %v", len(readme), readme)
	}
}
