package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
)

// CheckError names the first problem the consistency check found. It
// matches ErrInconsistent with errors.Is.
type CheckError struct {
	Height  uint64 // 0 when the problem is in the meta data
	Problem string
}

func (e *CheckError) Error() string {
	if e.Height == 0 {
		return fmt.Sprintf("store is inconsistent: %s", e.Problem)
	}
	return fmt.Sprintf("store is inconsistent at height %d: %s", e.Height, e.Problem)
}

func (e *CheckError) Is(target error) bool { return target == ErrInconsistent }

func bad(h uint64, format string, args ...any) error {
	return &CheckError{Height: h, Problem: fmt.Sprintf(format, args...)}
}

// Check walks every stored block: it must decode, belong to this chain, sit
// at its key's height, match the hash index and link to its stored parent;
// and the set of stored heights must be exactly what the indices say.
// progress, if set, is called after each block.
func (s *Store) Check(progress func(done uint64)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		st := readState(tx.Bucket(bucketMeta))
		if err := checkIndices(st); err != nil {
			return err
		}
		hashes := tx.Bucket(bucketHashes)
		if n, want := uint64(hashes.Stats().KeyN), st.Blocks(); n != want {
			return bad(0, "hash index holds %d entries, indices account for %d blocks", n, want)
		}
		expect := expectedHeights(st)
		var (
			done     uint64
			prevH    uint64
			prevHash common.Hash
		)
		c := tx.Bucket(bucketBlocks).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 {
				return bad(0, "block key %x is not an 8-byte height", k)
			}
			h := binary.BigEndian.Uint64(k)
			want, ok := expect()
			if !ok || h != want {
				if ok && h > want {
					return bad(want, "block is missing (indices InOrder %d, LastSynced %d, Top %d)", st.InOrder, st.LastSynced, st.Top)
				}
				return bad(h, "block is stored outside the indices (InOrder %d, LastSynced %d, Top %d)", st.InOrder, st.LastSynced, st.Top)
			}
			b, err := block.Decode(v, s.maxBlock)
			if err != nil {
				return bad(h, "%v", err)
			}
			if b.Height() != h {
				return bad(h, "block says height %d", b.Height())
			}
			if b.Header.VirtualChainID != s.id.ChainID || b.Header.NetworkType != s.id.NetworkType {
				return bad(h, "block is for chain %d network %d, store holds %s", b.Header.VirtualChainID, b.Header.NetworkType, s.id)
			}
			hash := b.Hash()
			idx := hashes.Get(k)
			if len(idx) != 64 || !bytes.Equal(idx[:32], hash[:]) || !bytes.Equal(idx[32:], b.Header.PrevHash[:]) {
				return bad(h, "hash index entry does not match the block")
			}
			if prevH != 0 && prevH == h-1 && b.Header.PrevHash != prevHash {
				return bad(h, "parent hash %s does not link to block %d (%s)", b.Header.PrevHash.Hex(), prevH, prevHash.Hex())
			}
			prevH, prevHash = h, hash
			done++
			if progress != nil {
				progress(done)
			}
		}
		if want, ok := expect(); ok {
			return bad(want, "block is missing (indices InOrder %d, LastSynced %d, Top %d)", st.InOrder, st.LastSynced, st.Top)
		}
		return nil
	})
}

func checkIndices(st State) error {
	noGap := st.InOrder == st.LastSynced && st.LastSynced == st.Top
	gap := st.LastSynced > st.InOrder+1 && st.LastSynced <= st.Top
	if !noGap && !gap {
		return bad(0, "indices InOrder %d, LastSynced %d, Top %d break the rule (InOrder = LastSynced = Top, or InOrder+1 < LastSynced <= Top)",
			st.InOrder, st.LastSynced, st.Top)
	}
	return nil
}

// expectedHeights yields the heights the indices say are stored, ascending.
func expectedHeights(st State) func() (uint64, bool) {
	next := uint64(1)
	return func() (uint64, bool) {
		if next > st.InOrder && st.GapOpen() && next < st.LastSynced {
			next = st.LastSynced
		}
		if next > st.Top || (next > st.InOrder && !st.GapOpen()) {
			return 0, false
		}
		h := next
		next++
		return h, true
	}
}
