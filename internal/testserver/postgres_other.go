//go:build !unix

package testserver

import (
	"errors"
	"os/exec"
)

const (
	sigStop = iota + 1
	sigCont
	sigKill
)

// A runner changes nothing off Unix.
type runner struct{}

func serverUser() (runner, error) { return runner{}, nil }
func (runner) own(string) error   { return nil }
func (runner) apply(*exec.Cmd)    {}
func ownGroup(*exec.Cmd)          {}
func signalGroup(cmd *exec.Cmd, sig int) error {
	if sig == sigKill && cmd != nil && cmd.Process != nil {
		return cmd.Process.Kill()
	}
	return errors.New("testserver: process groups are Unix's")
}
