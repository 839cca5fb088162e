package testserver

import (
	"os"
	"slices"
	"testing"
)

// stopAll runs the registered stops latest first, once.
func TestStopAllOrder(t *testing.T) {
	// The servers other tests started stay registered: this test runs
	// stopAll on its own stops only.
	stopMu.Lock()
	saved := stops
	stops = nil
	stopMu.Unlock()
	t.Cleanup(func() {
		stopMu.Lock()
		stops = append(saved, stops...)
		stopMu.Unlock()
	})
	var got []int
	atExit(func() { got = append(got, 1) })
	atExit(func() { got = append(got, 2) })
	stopAll()
	stopAll()
	if !slices.Equal(got, []int{2, 1}) {
		t.Errorf("stops ran in the order %v; want [2 1], once each", got)
	}
}

// A server's process is set to die with the test binary, and its output
// goes to the log file given.
func TestCommand(t *testing.T) {
	log, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := command(log, "/bin/sh", "-c", "echo started")
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Pdeathsig == 0 {
		t.Error("command sets no parent-death signal")
	}
	if err := cmd.Run(); err != nil {
		t.Skipf("no /bin/sh: %v", err)
	}
	b, _ := os.ReadFile(log.Name())
	if string(b) != "started\n" {
		t.Errorf("log holds %q; want the command's output", b)
	}
}
