package store

import (
	"errors"
	"fmt"
)

// reopenAfterPages bounds what bbolt remembers about one open: its freelist
// keeps, for every reused page still in use, the transaction that allocated
// it (about 20 bytes per page, kept until the file is closed). A sync that
// writes millions of blocks through one open would grow that map without
// bound, so the store closes and reopens the file after this many page
// allocations (16 MiB of 4 KiB pages), which costs a millisecond or so.
const reopenAfterPages int64 = 4096

// reopenLimit is the store's page count between reopens: reopenAfterPages
// unless a test set its own.
func (s *Store) reopenLimit() int64 {
	if s.reopenAfter > 0 {
		return s.reopenAfter
	}
	return reopenAfterPages
}

// trimBookkeeping reopens the file once enough pages were allocated since
// it was opened. Called after a commit, by the writer. The commit stands
// either way: a failed reopen is kept in dbErr, which every later use of the
// store reports.
func (s *Store) trimBookkeeping() {
	s.mu.RLock()
	if s.db == nil {
		s.mu.RUnlock()
		return
	}
	stats := s.db.Stats()
	s.mu.RUnlock()
	if stats.TxStats.GetPageCount() >= s.reopenLimit() {
		s.reopen()
	}
}

// reopen closes and opens the file again. The file lock is released for
// the moment between the two (bbolt holds it per open); if another process
// takes it then, the store reports ErrLocked from then on, after the last
// commit, so the file is consistent.
func (s *Store) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return s.closedErr()
	}
	if err := s.db.Close(); err != nil {
		s.db, s.dbErr = nil, fmt.Errorf("reopen store %s: %w", s.path, err)
		return s.dbErr
	}
	if s.betweenReopen != nil {
		s.betweenReopen(s.path)
	}
	db, err := openBolt(s.path, false, s.timeout, 0)
	switch {
	case errors.Is(err, ErrLocked):
		s.db, s.dbErr = nil, fmt.Errorf("reopen %s: %w", s.path, ErrLocked)
	case err != nil:
		s.db, s.dbErr = nil, fmt.Errorf("reopen store %s: %w", s.path, err)
	default:
		s.db = db
	}
	return s.dbErr
}

// closedErr says why the store cannot be used: it was closed, or could not
// be reopened. The caller holds mu.
func (s *Store) closedErr() error {
	if s.dbErr != nil {
		return s.dbErr
	}
	return fmt.Errorf("store %s is closed", s.path)
}

// Release closes the file and gives up its lock until Acquire, so other
// processes (inspect, verify, export) can open the store while a long-lived
// writer (sync --follow) idles between rounds. Uses meanwhile say the store
// is released. A store still being created keeps its lock: it is not at
// its path yet.
func (s *Store) Release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final != "" || s.db == nil || s.closed {
		return nil
	}
	err := s.db.Close()
	s.db, s.dbErr = nil, fmt.Errorf("store %s is released between rounds", s.path)
	return err
}

// Acquire opens the file again after Release, waiting for its lock as Open
// does, and checks it still holds the same chain (the path may now name a
// compacted or repaired copy: openBolt follows it).
func (s *Store) Acquire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil || s.closed {
		return nil
	}
	db, err := openBolt(s.path, false, s.timeout, 0)
	if err != nil {
		return fmt.Errorf("take the store %s back: %w", s.path, err)
	}
	s.db, s.dbErr = db, nil
	id := s.id
	if err := s.initUnguarded(Options{Identity: &id}); err != nil {
		s.db.Close()
		s.db, s.dbErr = nil, err
		return err
	}
	if err := s.finishInterrupted(); err != nil {
		return err
	}
	return nil
}
