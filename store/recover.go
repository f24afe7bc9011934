package store

import (
	"fmt"

	"github.com/vcsync/vcsync/store/internal/swap"
)

// finishInterrupted finishes or undoes a compact --replace that was killed
// (its journal is still there). The caller holds the store's exclusive lock.
func (s *Store) finishInterrupted() error {
	what, err := swap.Recover(s.path)
	if err != nil {
		return fmt.Errorf("an interrupted compaction in place of %s: %w", s.path, err)
	}
	s.Recovered = what
	return nil
}
