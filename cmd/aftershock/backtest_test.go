package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBacktestCLI(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		out, err string
	}{
		{"help", []string{"backtest", "--help"}, "", 0, "Warm-up: the first 288 points", ""},
		{"short help", []string{"backtest", "-h"}, "", 0, "anomaly_score is in [0, 1]", ""},
		{"unknown flag", []string{"backtest", "--frob"}, "", 2, "", "usage: aftershock backtest"},
		{"two files", []string{"backtest", "a.csv", "b.csv"}, "", 2, "", "usage: aftershock backtest"},
		{"unreadable row", []string{"backtest"}, "timestamp,value\n2024-03-04T00:00:00Z,1\n2024-03-04T00:05:00Z,x\n", 1, "2024-03-04T00:00:00Z,1,0.000000,0", "line 3"},
		{"stdin dash", []string{"backtest", "-"}, "2024-03-04T00:00:00Z,1\n", 0, "timestamp,value,anomaly_score,label\n2024-03-04T00:00:00Z,1,0.000000,0\n", ""},
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
