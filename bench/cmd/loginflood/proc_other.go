//go:build !linux

package main

import (
	"errors"
	"time"
)

type procSample struct {
	rssKiB  int64
	threads int64
	fds     int64
	cpu     time.Duration
}

func readProc(int) (procSample, error) { return procSample{}, errors.New("no /proc here") }

// selfCPU returns 0: the load generator's CPU is read on Linux only, like
// the server's.
func selfCPU() time.Duration { return 0 }

func raiseFileLimit() (uint64, error) { return 0, errors.New("not raised on this system") }
