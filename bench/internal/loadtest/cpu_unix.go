//go:build unix

package loadtest

import (
	"syscall"
	"time"
)

// ProcessCPU returns the user + system CPU time this process has used so
// far (getrusage), or 0 where that cannot be read.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
