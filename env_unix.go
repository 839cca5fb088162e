//go:build unix

package jwtguard

import (
	"io/fs"
	"os"
	"syscall"
)

// foreignOwner reports whether fi's file belongs to neither this process's
// user nor root, who alone should be able to change a key file.
func foreignOwner(fi fs.FileInfo) (uid int, foreign bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	uid = int(st.Uid)
	return uid, uid != 0 && uid != os.Geteuid()
}
