package httptls

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// watch re-reads a few files (a certificate and its key, or a CA) when
// they change, for a Reloader or a CA. A handshake calls check, which
// looks at the files' modification times and sizes at most every Every;
// when they changed, load reads them and puts the new version into
// service, swapping it whole. A version that does not load leaves the one
// in service; it is logged at error level and counted once, and only if
// the next look finds it unchanged (a rotation that writes one file, then
// the other, is no error).
type watch struct {
	paths []string
	files []any  // the paths as log attributes ("cert_file", path, …)
	what  string // "certificate", "CA": what the files are, in logs
	keeps string // what stays in service when a version does not load
	log   *slog.Logger
	opt   Options
	// load reads the files and puts them into service; it returns what to
	// log about the new version.
	load func() ([]any, error)

	// mu is held by the one handshake checking the files; the others use
	// what is in service meanwhile.
	mu      sync.Mutex
	checked time.Time // last look at the files
	seen    stamp     // the version of the files in service
	// failed is the version of the files that last failed to load, and
	// unreadable is set while the files cannot be read, so a bad version
	// is reported once, not at every check. pending is a version that
	// failed once and is reported only if the next look finds it
	// unchanged.
	failed, pending stamp
	unreadable      bool
}

// stamp is what identifies one version of the files: each one's
// modification time and size.
type stamp [2]struct {
	mod  time.Time
	size int64
}

// start fills in the defaults and loads the files once; an error names
// them.
func (w *watch) start() error {
	if w.opt.Every <= 0 {
		w.opt.Every = DefaultEvery
	}
	if w.opt.Now == nil {
		w.opt.Now = time.Now
	}
	st, err := w.stat()
	if err != nil {
		return err
	}
	if _, err := w.load(); err != nil {
		return err
	}
	w.seen, w.checked = st, w.opt.Now()
	return nil
}

// check looks at the files if it is time to, unless another handshake is
// already looking.
func (w *watch) check() {
	if !w.mu.TryLock() {
		return
	}
	defer w.mu.Unlock()
	now := w.opt.Now()
	if now.Sub(w.checked) < w.opt.Every {
		return
	}
	w.checked = now
	st, err := w.stat()
	if err != nil {
		if !w.unreadable {
			w.unreadable = true
			w.fail("tls: reading the "+w.what+" files failed; "+w.keeps, err)
		}
		return
	}
	w.unreadable = false
	if st == w.seen || st == w.failed {
		return
	}
	attrs, err := w.load()
	if err != nil {
		if st != w.pending {
			w.pending = st // perhaps half a rotation: look again next time
			return
		}
		w.failed = st
		w.fail("tls: reloading the "+w.what+" failed; "+w.keeps, err)
		return
	}
	w.seen, w.pending = st, stamp{}
	if w.opt.Metrics != nil {
		w.opt.Metrics.reloads.WithLabelValues(w.opt.Listener).Inc()
	}
	w.log.Info("tls: "+w.what+" reloaded", append(append([]any{"listener", w.opt.Listener}, w.files...), attrs...)...)
}

func (w *watch) fail(msg string, err error) {
	if w.opt.Metrics != nil {
		w.opt.Metrics.errors.WithLabelValues(w.opt.Listener).Inc()
	}
	w.log.Error(msg, append(append([]any{"listener", w.opt.Listener}, w.files...), "err", err)...)
}

func (w *watch) stat() (stamp, error) {
	var st stamp
	for i, p := range w.paths {
		fi, err := os.Stat(p)
		if err != nil {
			return stamp{}, fmt.Errorf("tls: %w", err)
		}
		st[i].mod, st[i].size = fi.ModTime(), fi.Size()
	}
	return st, nil
}
