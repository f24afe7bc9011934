package syncer

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
)

// Checkpoint is a block an operator trusts by its hash, read out of band
// from a node they trust (`vcsync inspect --block H`), as Lighthouse's
// checkpoint sync and CometBFT's trust height and hash: hash links then
// authenticate everything below it. It is how a chain older than the
// honesty grace (an old export) is anchored when the tip rule cannot be:
// past the grace a tip needs honest stake of the current committee, which
// an old committee's signatures never give.
type Checkpoint struct {
	Height uint64
	Hash   common.Hash
}

// anchor is the trusted hash the first block of a segment must have: the
// checkpoint's, when the segment starts a run at its height.
func (s *Syncer) anchor(above *block.Header, first *block.Block) *common.Hash {
	if t := s.cfg.Trust; t != nil && above == nil && first.Height() == t.Height {
		return &t.Hash
	}
	return nil
}

// checkCheckpoint refuses a checkpoint the store already contradicts.
func (s *Syncer) checkCheckpoint() error {
	t := s.cfg.Trust
	if t == nil {
		return nil
	}
	h, err := s.cfg.Store.Hash(t.Height)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("checkpoint: %w", err)
	case h != t.Hash:
		return fmt.Errorf("%w: the store holds block %d %s, not the trusted checkpoint %s", ErrDiverged, t.Height, h.Hex(), t.Hash.Hex())
	}
	return nil
}

// reachedCheckpoint says a sync anchored on a checkpoint is done: the store
// holds 1..Height with nothing left to verify. Nothing above the checkpoint
// is anchored by it; a sync without --trust takes the tip from there.
func (s *Syncer) reachedCheckpoint(st store.State) bool {
	t := s.cfg.Trust
	return t != nil && !st.GapOpen() && st.Top >= t.Height && len(s.carry) == 0
}
