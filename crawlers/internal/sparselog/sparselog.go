// Package sparselog keeps a flood of like warnings (bad datagrams, refused
// samples) from filling the log.
package sparselog

import (
	"log/slog"
	"sync"
	"time"
)

// Logger logs a warning at most once per period, saying how many were left
// out in between. It is safe for concurrent use.
type Logger struct {
	Log   *slog.Logger
	Every time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Warn logs msg unless another warning was logged less than Every ago.
func (l *Logger) Warn(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	if !l.last.IsZero() && now.Sub(l.last) < l.Every {
		l.suppressed++
		return
	}
	if l.suppressed > 0 {
		args = append(args, "suppressed_since_last", l.suppressed)
	}
	l.Log.Warn(msg, args...)
	l.last, l.suppressed = now, 0
}
