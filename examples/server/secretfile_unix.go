//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow opens path for reading, failing if its last element is a
// symbolic link, so that what readSecret checks is what it reads.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// foreignOwner reports the owner of fi when it is not this process's
// effective user.
func foreignOwner(fi fs.FileInfo) (uid int, foreign bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), int(st.Uid) != os.Geteuid()
}
