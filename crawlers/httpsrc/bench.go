package httpsrc

import (
	"sync"
	"time"

	"github.com/aftershock/aftershock/crawlers"
)

// RefusedError is a PermanentError about one target of a source (a
// private subreddit, a storefront that refuses), as opposed to the whole
// source. The runner sees the PermanentError; the source's Bench decides
// whether a poll reports it or goes on with the other targets.
type RefusedError struct{ Perm *crawlers.PermanentError }

func (e *RefusedError) Error() string { return e.Perm.Error() }

// Unwrap lets errors.As find the PermanentError.
func (e *RefusedError) Unwrap() error { return e.Perm }

// Refused wraps err as a RefusedError.
func Refused(err error) error {
	return &RefusedError{&crawlers.PermanentError{Err: err}}
}

// Bench keeps the targets of a source that the API refused out of its
// polls for a while, so one refused target does not stop the others. It is
// safe for concurrent use.
type Bench struct {
	keys  []string
	now   func() time.Time
	pause time.Duration

	mu    sync.Mutex
	until map[string]time.Time
}

// NewBench returns the bench of a source's targets, named by keys. A
// refused target is skipped for pause: crawlers.PermanentFactor times the
// source's interval is as long as the runner waits after a PermanentError.
func NewBench(keys []string, now func() time.Time, pause time.Duration) *Bench {
	return &Bench{keys: keys, now: now, pause: pause, until: make(map[string]time.Time)}
}

// Benched reports whether the target key is benched now, and until when.
func (b *Bench) Benched(key string) (until time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok = b.until[key]
	return until, ok && b.now().Before(until)
}

// Refuse benches the target key and reports whether the poll should skip
// it and go on with the others. It does not the first time key is refused
// (that refusal is the poll's PermanentError, said once), nor when every
// target is benched (then the poll fails).
func (b *Bench) Refuse(key string) (skip bool) {
	b.mu.Lock()
	_, again := b.until[key]
	b.until[key] = b.now().Add(b.pause)
	b.mu.Unlock()
	return again && !b.allBenched()
}

// Accept forgets the refusal of key once it answers again.
func (b *Bench) Accept(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.until, key)
}

func (b *Bench) allBenched() bool {
	for _, k := range b.keys {
		if _, ok := b.Benched(k); !ok {
			return false
		}
	}
	return true
}
