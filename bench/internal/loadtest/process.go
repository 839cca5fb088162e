package loadtest

import (
	"os/exec"
	"time"
)

// Process is a child process started by Start.
type Process struct {
	// Cmd is the started command.
	Cmd *exec.Cmd
	// Log keeps the end of what the process writes to its stderr.
	Log *TailBuffer

	done chan struct{} // closed when the process has exited
	err  error         // its Wait error, once done
}

// Start starts cmd with its stderr written to a TailBuffer of logSize
// bytes and, on Linux, killed should this process die first, and waits
// for it in the background. Pipes to it (cmd.StdinPipe, cmd.StdoutPipe)
// must be made before: its Wait closes them once it has exited.
func Start(cmd *exec.Cmd, logSize int) (*Process, error) {
	p := &Process{Cmd: cmd, Log: NewTailBuffer(logSize), done: make(chan struct{})}
	cmd.Stderr = p.Log
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done returns a channel that is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns the process's Wait error (nil for a zero exit status). It is
// meaningful only once Done is closed.
func (p *Process) Err() error { return p.err }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop asks the process to exit by calling ask (with a signal, or by
// closing its stdin), waits up to grace for it to exit, then kills it and
// waits for that. It reports whether it had to kill it. A process that has
// already exited is not asked.
func (p *Process) Stop(grace time.Duration, ask func()) (killed bool) {
	if p.Exited() {
		return false
	}
	ask()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return false
	case <-t.C:
	}
	p.Cmd.Process.Kill()
	<-p.done
	return true
}
