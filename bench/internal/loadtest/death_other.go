//go:build !linux

package loadtest

import "os/exec"

// setDeathSignal does nothing here: a child outlives this process unless
// it stops by itself.
func setDeathSignal(*exec.Cmd) {}
