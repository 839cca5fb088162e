package loadtest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the child killed if this process dies first.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
