//go:build !unix

package loadtest

import "time"

// ProcessCPU returns 0: this process's CPU time is not read on this
// system.
func ProcessCPU() time.Duration { return 0 }
