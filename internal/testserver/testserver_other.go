//go:build !linux

package testserver

import "os/exec"

// dieWithParent does nothing off Linux: a server there is stopped by Main
// only, and outlives a test binary that is killed.
func dieWithParent(*exec.Cmd) {}
