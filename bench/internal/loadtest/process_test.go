package loadtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary a child process for the tests of
// Process, doing what its value names.
const helperEnv = "LOADTEST_HELPER"

func TestMain(m *testing.M) {
	if v, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(helper(v))
	}
	os.Exit(m.Run())
}

// helper is the child's main. Every mode ends by itself within 30 s.
func helper(mode string) int {
	switch mode {
	case "log-and-fail": // write to stderr, exit 3
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(os.Stderr, "log line %d\n", i)
		}
		return 3
	case "until-stdin-closes": // say "ready", then exit 0 at EOF on stdin
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		return 0
	case "stubborn": // say "ready", then ignore SIGINT and stdin
		signal.Ignore(os.Interrupt)
		fmt.Println("ready")
		time.Sleep(30 * time.Second)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown mode %q\n", mode)
	return 2
}

// startHelper starts the helper in mode, with its stdin and stdout piped.
func startHelper(t *testing.T, mode string) (*Process, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(cmd, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(0, func() {}) })
	return p, stdin, bufio.NewReader(stdout)
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the child did not exit within 20 s")
	}
}

func TestProcessLogAndExit(t *testing.T) {
	p, _, _ := startHelper(t, "log-and-fail")
	waitDone(t, p)
	if !p.Exited() {
		t.Error("Exited = false after Done")
	}
	var ee *exec.ExitError
	if err := p.Err(); err == nil || !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Err = %v, want exit status 3", err)
	}
	if got := p.Log.Tail(); got != "log line 1\nlog line 2\nlog line 3" {
		t.Errorf("Log.Tail = %q", got)
	}
	if lines, _ := p.Log.Counts(); lines != 3 {
		t.Errorf("Log.Counts lines = %d, want 3", lines)
	}
	asked := false
	if p.Stop(time.Second, func() { asked = true }) || asked {
		t.Errorf("Stop of an exited process asked it (%v) or killed it", asked)
	}
}

func TestProcessStopAsked(t *testing.T) {
	p, stdin, stdout := startHelper(t, "until-stdin-closes")
	if l, err := stdout.ReadString('\n'); err != nil || strings.TrimSpace(l) != "ready" {
		t.Fatalf("first line %q, %v", l, err)
	}
	if p.Exited() {
		t.Fatal("Exited = true before Stop")
	}
	if killed := p.Stop(20*time.Second, func() { stdin.Close() }); killed {
		t.Error("Stop killed a child that exits when asked")
	}
	if !p.Exited() || p.Err() != nil {
		t.Errorf("after Stop: Exited %v, Err %v; want true, nil", p.Exited(), p.Err())
	}
}

func TestProcessStopKillsAfterGrace(t *testing.T) {
	p, _, stdout := startHelper(t, "stubborn")
	if l, err := stdout.ReadString('\n'); err != nil || strings.TrimSpace(l) != "ready" {
		t.Fatalf("first line %q, %v", l, err)
	}
	asked := 0
	start := time.Now()
	killed := p.Stop(200*time.Millisecond, func() {
		asked++
		p.Cmd.Process.Signal(os.Interrupt)
	})
	if el := time.Since(start); !killed || asked != 1 || el < 200*time.Millisecond || el > 10*time.Second {
		t.Errorf("Stop = %v after %v, asked %d times; want killed after the 200 ms grace, asked once", killed, el, asked)
	}
	if !p.Exited() || p.Err() == nil {
		t.Errorf("after the kill: Exited %v, Err %v", p.Exited(), p.Err())
	}
}
