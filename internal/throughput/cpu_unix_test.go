//go:build unix

package throughput

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used so far:
// the broker runs in-process, so it counts too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
