package store

import (
	"fmt"
	"runtime/debug"

	"github.com/vcsync/vcsync/store/fsck"
)

// ErrDamaged matches every error about a damaged store file (package fsck
// defines it, with the checks of the file that need no store).
var ErrDamaged = fsck.ErrDamaged

// DamageError says what is damaged and, when known, near which block.
type DamageError = fsck.DamageError

// CheckError is the first problem the consistency check (fsck.Check)
// found; it matches ErrInconsistent.
type CheckError = fsck.CheckError

// guard runs fn, a read or write of the bbolt file, so that a panic of
// bbolt's (it asserts on pages that make no sense) or a fault on the
// mapped file (debug.SetPanicOnFault turns it into a panic) becomes a
// *DamageError naming the block being read, not a crash. near reports
// that block at the time of the panic.
func (s *Store) guard(near func() uint64, fn func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return s.closedErr()
	}
	return guardPath(s.path, near, fn)
}

func guardPath(path string, near func() uint64, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			var h uint64
			if near != nil {
				h = near()
			}
			err = &DamageError{Path: path, Height: h, Detail: fmt.Sprint(r)}
		}
	}()
	return fn()
}

func at(h uint64) func() uint64 { return func() uint64 { return h } }
