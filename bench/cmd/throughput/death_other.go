//go:build !linux

package main

import "os/exec"

// setDeathSignal does nothing here: the child still exits when its stdin
// closes or its deadline passes.
func setDeathSignal(*exec.Cmd) {}
