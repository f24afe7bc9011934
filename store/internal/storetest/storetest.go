// Package storetest builds the stores the store's own tests (store and
// store/repair) work on: linked chains without proofs (the store checks
// none) and a store rewritten in format 1's layout. Test machinery only:
// no shipped package imports it.
package storetest

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// ID is the chain the test stores hold.
var ID = chain.Identity{NetworkType: 2, ChainID: 42}

// LinkedChain returns blocks 1..n linked by parent hash (index i holds
// height i+1). The store does not check proofs, so these carry none.
func LinkedChain(n int) []*block.Block {
	out := make([]*block.Block, n)
	var prev common.Hash
	for i := range out {
		b := &block.Block{Header: block.Header{
			ProtocolVersion: 1, VirtualChainID: ID.ChainID, NetworkType: ID.NetworkType,
			Height: uint64(i + 1), PrevHash: prev, RefTime: uint32(1000 + i),
		}, Body: []byte{byte(i)}}
		b.Seal()
		out[i] = b
		prev = b.Hash()
	}
	return out
}

// Desc returns chain's blocks hi down to lo, as a reverse sync commits them.
func Desc(chain []*block.Block, hi, lo uint64) []*block.Block {
	var out []*block.Block
	for h := hi; h >= lo; h-- {
		out = append(out, chain[h-1])
	}
	return out
}

// WriteFormat1 rewrites the closed store at path as format 1 laid it out:
// the hashes bucket (height -> hash || parent hash) beside the blocks, and
// version 1 in the meta bucket.
func WriteFormat1(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		hashes, err := tx.CreateBucket(layout.Hashes)
		if err != nil {
			return err
		}
		c := tx.Bucket(layout.Blocks).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			b, err := block.Decode(v, 0)
			if err != nil {
				return err
			}
			hash := b.Hash()
			if err := hashes.Put(k, append(hash.Bytes(), b.Header.PrevHash.Bytes()...)); err != nil {
				return err
			}
		}
		return tx.Bucket(layout.Meta).Put(layout.KeyFormat, layout.Key(layout.FormatWithHashIndex))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Checked is a store whose indices can be read and checked.
type Checked interface {
	fsck.Readable
	State() (chain.State, error)
}

// MustState fails t unless the store's indices are in, last, top and it
// checks whole.
func MustState(t testing.TB, s Checked, in, last, top uint64) {
	t.Helper()
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.InOrder != in || st.LastSynced != last || st.Top != top {
		t.Fatalf("indices InOrder %d LastSynced %d Top %d, want %d %d %d", st.InOrder, st.LastSynced, st.Top, in, last, top)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatalf("check after write: %v", err)
	}
}
