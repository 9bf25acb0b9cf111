// Package logbuf is a log sink that other goroutines may write while a test
// reads it.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it; Write and String may be called
// from any goroutine. The zero value is ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
