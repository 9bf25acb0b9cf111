package bus

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LockFile is the file in nats.data_dir that the embedded server's owner
// holds an exclusive lock on; it also names the holder ("pid 123 on host h").
const LockFile = "aftershock.lock"

// dirLock is a held lock on a data dir.
type dirLock struct{ f *os.File }

// lockDataDir takes the exclusive lock on dir (creating dir if needed).
// Two embedded servers on one JetStream store overwrite each other's files
// and lose acknowledged messages, so a second process fails here with an
// error naming the holder. The lock is released by unlock or when the
// process dies (the kernel drops it), so a stale file never blocks.
func lockDataDir(dir string) (*dirLock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("nats.data_dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("nats.data_dir %s: opening lock file: %w", dir, err)
	}
	if err := flock(f); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("nats.data_dir %s is in use by %s (lock file %s): only one aftershock may use a data dir; stop it or give this one another nats.data_dir: %w", dir, who, path, err)
	}
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d on host %s\n", os.Getpid(), host)), 0)
		_ = f.Sync()
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = funlock(l.f)
	_ = l.f.Close()
	l.f = nil
}
