package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log: {level: loud}\nnats: {data_dir: /tmp/x}\nhttp: {insecure_no_auth: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		out, err string
	}{
		{"no args", nil, "", 2, "", "usage"},
		{"unknown", []string{"frobnicate"}, "", 2, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, "", 0, "aftershock serve", ""},
		{"serve missing config", []string{"serve", "-c", filepath.Join(dir, "nope.yaml")}, "", 2, "", "reading config"},
		{"serve bad config", []string{"serve", "-c", bad}, "", 2, "", `log.level: "loud"`},
		{"analyze", []string{"analyze", "--score-only"}, "love it\nhate this crash\n", 0, "\n", ""},
		{"backtest header only", []string{"backtest", "-"}, "timestamp,value\n", 0, "timestamp,value,anomaly_score,label", ""},
		{"backtest missing file", []string{"backtest", filepath.Join(dir, "none.csv")}, "", 1, "", "no such file"},
		{"release usage", []string{"release"}, "", 2, "", "usage"},
		{"dashboards", []string{"dashboards", "-o", filepath.Join(dir, "dash")}, "", 0, "aftershock-release.json", ""},
		{"sources usage", []string{"sources"}, "", 2, "", "usage"},
		{"replay bad line", []string{"replay", "-"}, "{\"type\":\"post\"}\n{\"type\":\"metric\",\"time\":\"2026-11-24T09:00:00Z\",\"service\":\"shop\",\"name\":\"error_rate\",\"value\":0.01}\n", 0, `"bad_lines":1`, "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, &errb)
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
		})
	}
}

// TestHelpExitsZero: asking for help is not a usage error, for every
// subcommand.
func TestHelpExitsZero(t *testing.T) {
	for _, cmd := range [][]string{
		{"serve"}, {"demo"}, {"release"}, {"deliveries"}, {"sources"}, {"sources", "check"},
		{"analyze"}, {"backtest"}, {"dashboards"}, {"replay"},
	} {
		for _, h := range []string{"--help", "-h"} {
			args := append(append([]string{}, cmd...), h)
			var out, errb bytes.Buffer
			if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != 0 {
				t.Errorf("aftershock %s: exit %d, want 0\nstderr: %s", strings.Join(args, " "), code, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), "usage") && !strings.Contains(out.String()+errb.String(), "Usage") {
				t.Errorf("aftershock %s printed no usage", strings.Join(args, " "))
			}
		}
	}
}

// TestReplayAllBad: a replay in which every input line is bad has nothing
// to show and must not exit 0.
func TestReplayAllBad(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"replay", "-"}, strings.NewReader("{\"type\":\"post\"}\nnot json\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "every input line") {
		t.Errorf("exit %d, want 1 saying every input line was bad\nstderr: %s", code, errb.String())
	}
}
