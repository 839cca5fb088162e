//go:build unix

package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

const (
	sigStop = int(syscall.SIGSTOP)
	sigCont = int(syscall.SIGCONT)
	sigKill = int(syscall.SIGKILL)
)

// A runner is the unprivileged user that initdb and the server run as
// when the tests run as root (initdb refuses root); the zero runner, when
// they do not, changes nothing.
type runner struct {
	root     bool
	uid, gid uint32
}

// serverUser is the runner of the tests' PostgreSQL servers: Debian's
// postgres user, or else nobody, when the tests run as root.
func serverUser() (runner, error) {
	if os.Geteuid() != 0 {
		return runner{}, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return runner{root: true, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return runner{}, fmt.Errorf("testserver: running as root, and neither a postgres nor a nobody user exists to run PostgreSQL as (initdb refuses root)")
}

// own gives dir to the runner.
func (r runner) own(dir string) error {
	if !r.root {
		return nil
	}
	return os.Chown(dir, int(r.uid), int(r.gid))
}

// apply makes cmd run as the runner.
func (r runner) apply(cmd *exec.Cmd) {
	if !r.root {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: r.uid, Gid: r.gid, NoSetGroups: true}
}

// ownGroup puts cmd's process in a process group of its own, which its
// children (PostgreSQL's backends) join, so that signalGroup reaches them
// all.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// signalGroup sends sig to the process group that cmd's process leads,
// and to its children, which may have left the group (PostgreSQL's
// backends make themselves group leaders): to the server first when it
// stops them, so that it starts no more, and last when it resumes them.
func signalGroup(cmd *exec.Cmd, sig int) error {
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	pid := cmd.Process.Pid
	if sig == sigCont {
		for _, c := range children(pid) {
			syscall.Kill(c, syscall.Signal(sig))
		}
		return syscall.Kill(-pid, syscall.Signal(sig))
	}
	// The children first: PostgreSQL's backends call setsid, so they are
	// not in the postmaster's group, and once it is dead they are no
	// longer its children to be found.
	kids := children(pid)
	err := syscall.Kill(-pid, syscall.Signal(sig))
	for _, c := range kids {
		syscall.Kill(c, syscall.Signal(sig))
	}
	return err
}
