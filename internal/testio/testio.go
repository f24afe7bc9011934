// Package testio holds the I/O helpers tests of several packages share.
// It is imported by test files only.
package testio

import (
	"bytes"
	"sync"
)

// LockedBuffer is a bytes.Buffer a test may read while a command, a server
// or a logger on another goroutine writes it.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
