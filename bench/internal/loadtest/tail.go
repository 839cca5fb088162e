package loadtest

import (
	"bytes"
	"strings"
	"sync"
)

// TailBuffer is an io.Writer that keeps the last bytes written to it, up
// to a size given to NewTailBuffer, and counts the lines and bytes written.
// It is safe for concurrent use.
type TailBuffer struct {
	size int

	mu    sync.Mutex
	buf   []byte
	lines int64
	bytes int64
}

// NewTailBuffer returns a TailBuffer that keeps the last size bytes
// written to it.
func NewTailBuffer(size int) *TailBuffer {
	return &TailBuffer{size: size}
}

// Write keeps the end of p, dropping the oldest bytes beyond the buffer's
// size. It never fails.
func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines += int64(bytes.Count(p, []byte{'\n'}))
	b.bytes += int64(len(p))
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.size; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// Tail returns the last lines kept, ten at the most, without the final
// newline, or "" for none. Once the buffer is full its first line, which
// may have lost its start, is left out.
func (b *TailBuffer) Tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf
	if i := bytes.IndexByte(s, '\n'); len(s) == b.size && i >= 0 {
		s = s[i+1:] // drop a partial first line
	}
	lines := strings.Split(strings.TrimRight(string(s), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}

// Counts returns how many lines (newlines) and bytes have been written so
// far, kept or not.
func (b *TailBuffer) Counts() (lines, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lines, b.bytes
}
