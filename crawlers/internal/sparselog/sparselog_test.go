package sparselog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestWarn(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	l := &Logger{Log: slog.New(slog.NewTextHandler(&buf, nil)), Every: 10 * time.Second, Now: func() time.Time { return now }}
	for range 3 {
		l.Warn("bad line")
		now = now.Add(time.Second)
	}
	now = now.Add(10 * time.Second)
	l.Warn("bad line")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || strings.Contains(lines[0], "suppressed") || !strings.Contains(lines[1], "suppressed_since_last=2") {
		t.Errorf("logged:\n%s\nwant the first warning, then one saying 2 were left out", buf.String())
	}
}
