//go:build unix

package testserver

import "syscall"

// Pause stops the server's process (SIGSTOP) without closing its
// connections, as a server that hangs or a network that drops packets
// would: its clients' calls wait for answers that do not come.
func (s *RedisServer) Pause() { s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (s *RedisServer) Resume() { s.cmd.Process.Signal(syscall.SIGCONT) }
