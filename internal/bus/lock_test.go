package bus

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDataDirExclusive: a second daemon on the same nats.data_dir must not
// start (two embedded servers on one store lose acknowledged writes); its
// error names the holder. The lock goes with Close.
func TestDataDirExclusive(t *testing.T) {
	dir := t.TempDir()
	first := open(t, dir)
	_, err := Open(context.Background(), Config{DataDir: dir, Retention: time.Hour, Replicas: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		first.Close()
		t.Fatal("a second Open on the same data_dir succeeded")
	}
	host, _ := os.Hostname()
	for _, want := range []string{dir, "pid " + strconv.Itoa(os.Getpid()), host, "in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	first.Close()
	again := open(t, dir)
	again.Close()
	if _, err := os.Stat(filepath.Join(dir, LockFile)); err != nil {
		t.Errorf("lock file: %v", err)
	}
}
