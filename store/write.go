package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// RuleError says which height a write was refused at and why. It matches
// ErrRefused with errors.Is.
type RuleError struct {
	Height uint64
	Reason string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("write refused at height %d: %s", e.Height, e.Reason)
}

func (e *RuleError) Is(target error) bool { return target == ErrRefused }

func refuse(h uint64, format string, args ...any) error {
	return &RuleError{Height: h, Reason: fmt.Sprintf(format, args...)}
}

// CommitDescending writes blocks given from the highest height down, in one
// transaction: all of them and the new indices, or nothing.
//
// While a gap is open the only accepted write is LastSynced-1, and it must
// be the parent of the stored block LastSynced. Filling InOrder+1 (which
// must link to the stored block InOrder) closes the gap: InOrder and
// LastSynced become Top. With no gap, a block above Top starts a new
// descending run (or, at Top+1 and linked to Top, simply extends the chain).
func (s *Store) CommitDescending(blocks []*block.Block) (State, error) {
	return s.write(blocks, s.applyDescending)
}

// AppendForward writes blocks in ascending order on top of a store with no
// gap: each must be Top+1 and link to Top. Used by import and follow mode.
func (s *Store) AppendForward(blocks []*block.Block) (State, error) {
	return s.write(blocks, s.applyForward)
}

// pageFill is bbolt's FillPercent for the block buckets. On commit bbolt
// cuts an overfull page from the left into pieces of this size; within one
// transaction our keys arrive in order (a chunk of a descending run is still
// an ascending key range), so full pieces are right. bbolt's default of 50%
// left a reverse-synced store twice the size of its blocks.
const pageFill = 1.0

type applyFunc func(tx *bolt.Tx, st *State, b *block.Block, hash common.Hash, prev *block.Block) error

func (s *Store) write(blocks []*block.Block, apply applyFunc) (State, error) {
	var out State
	near := uint64(0)
	if len(blocks) > 0 {
		near = blocks[0].Height()
	}
	err := s.guard(at(near), func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			tx.Bucket(layout.Blocks).FillPercent = pageFill
			if s.hashIndexed() {
				tx.Bucket(layout.Hashes).FillPercent = pageFill
			}
			meta := tx.Bucket(layout.Meta)
			st := layout.ReadState(meta)
			var prev *block.Block // the block written before, a neighbour to link to without reading it back
			for _, b := range blocks {
				if err := s.checkIdentity(b); err != nil {
					return err
				}
				hash := b.Hash()
				if err := apply(tx, &st, b, hash, prev); err != nil {
					return err
				}
				if err := s.put(tx, b, hash); err != nil {
					return err
				}
				prev = b
			}
			st.LastCommit = time.Now()
			out = st
			return layout.WriteState(meta, st)
		})
	})
	if err != nil {
		return out, s.nameTheStore(err)
	}
	if len(blocks) == 0 {
		return out, nil
	}
	s.committed = true
	if s.final != "" && !s.publishAtClose {
		if err := s.publish(); err != nil {
			return out, err
		}
	}
	failpoint.Hit("after-commit")
	s.trimBookkeeping()
	return out, nil
}

func (s *Store) checkIdentity(b *block.Block) error {
	h := &b.Header
	if h.VirtualChainID != s.id.ChainID || h.NetworkType != s.id.NetworkType {
		return refuse(h.Height, "block is for chain %d network %d, store holds %s",
			h.VirtualChainID, h.NetworkType, s.id)
	}
	if h.Height == 0 {
		return refuse(0, "height 0 is not a block")
	}
	return nil
}

func (s *Store) applyDescending(tx *bolt.Tx, st *State, b *block.Block, hash common.Hash, prev *block.Block) error {
	h := b.Height()
	if !st.GapOpen() {
		switch {
		case h <= st.Top:
			return refuse(h, "already stored (Top %d); a new descending run must start above Top", st.Top)
		case h == st.Top+1:
			return s.applyForward(tx, st, b, hash, prev)
		default:
			st.LastSynced, st.Top = h, h
			return nil
		}
	}
	if h != st.LastSynced-1 {
		return refuse(h, "a gap is open (InOrder %d, LastSynced %d): only height %d may be written",
			st.InOrder, st.LastSynced, st.LastSynced-1)
	}
	if err := linksBelow(tx, h+1, hash, prev); err != nil {
		return err
	}
	if h == st.InOrder+1 {
		if err := linksAbove(tx, h, b.Header.PrevHash, prev); err != nil {
			return err
		}
		st.InOrder, st.LastSynced = st.Top, st.Top
		return nil
	}
	st.LastSynced = h
	return nil
}

func (s *Store) applyForward(tx *bolt.Tx, st *State, b *block.Block, hash common.Hash, prev *block.Block) error {
	h := b.Height()
	if st.GapOpen() {
		return refuse(h, "a gap is open (InOrder %d, LastSynced %d): close it before appending", st.InOrder, st.LastSynced)
	}
	if h != st.Top+1 {
		return refuse(h, "forward append must write Top+1 = %d", st.Top+1)
	}
	if err := linksAbove(tx, h, b.Header.PrevHash, prev); err != nil {
		return err
	}
	st.InOrder, st.LastSynced, st.Top = h, h, h
	return nil
}

// neighbour is the header and hash of the stored block at height h: the
// block written just before in this transaction when it is that one, else
// read back from the store.
func neighbour(tx *bolt.Tx, h uint64, prev *block.Block) (block.Header, common.Hash, error) {
	if prev != nil && prev.Height() == h {
		return prev.Header, prev.Hash(), nil
	}
	return storedHeader(tx, h)
}

// linksBelow checks that the stored block at height `above` names hash as its parent.
func linksBelow(tx *bolt.Tx, above uint64, hash common.Hash, prev *block.Block) error {
	header, _, err := neighbour(tx, above, prev)
	if err != nil {
		return refuse(above-1, "stored block %d above it cannot be read: %v", above, err)
	}
	if header.PrevHash != hash {
		return refuse(above-1, "block hash %s does not link to stored block %d (its parent is %s)",
			hash.Hex(), above, header.PrevHash.Hex())
	}
	return nil
}

// linksAbove checks that parent (the parent hash of block h) is the hash of the stored block h-1.
func linksAbove(tx *bolt.Tx, h uint64, parent common.Hash, prev *block.Block) error {
	if h == 1 {
		return nil
	}
	_, stored, err := neighbour(tx, h-1, prev)
	if errors.Is(err, ErrNotFound) {
		return refuse(h, "parent block %d is not stored", h-1)
	}
	if err != nil {
		return refuse(h, "parent block %d cannot be read: %v", h-1, err)
	}
	if stored != parent {
		return refuse(h, "parent hash %s does not match stored block %d (%s)", parent.Hex(), h-1, stored.Hex())
	}
	return nil
}

func (s *Store) put(tx *bolt.Tx, b *block.Block, hash common.Hash) error {
	enc := b.Raw() // the bytes received, for a block that arrived encoded
	if enc == nil {
		var err error
		if enc, err = b.Encode(); err != nil {
			return err
		}
	}
	key := layout.Key(b.Height())
	if err := tx.Bucket(layout.Blocks).Put(key, enc); err != nil {
		return fmt.Errorf("put block %d: %w", b.Height(), err)
	}
	if !s.hashIndexed() {
		return nil
	}
	// A format 1 store keeps its index whole, for older releases.
	idx := make([]byte, 0, 64)
	idx = append(append(idx, hash[:]...), b.Header.PrevHash[:]...)
	return tx.Bucket(layout.Hashes).Put(key, idx)
}
