// Package chain names a virtual chain and a store's progress along it: the
// identity and the three heights every part of vcsync speaks of. It holds
// types only, so the peer protocol can use them without a storage engine.
package chain

import (
	"fmt"
	"time"
)

// Identity names the chain a store holds.
type Identity struct {
	NetworkType uint32 `json:"network_type"`
	ChainID     uint32 `json:"chain_id"`
}

func (id Identity) String() string {
	return fmt.Sprintf("chain %d network %d", id.ChainID, id.NetworkType)
}

// State is a store's sync progress: blocks 1..InOrder are present with no
// gap, and while a gap is open blocks LastSynced..Top are present too.
// With no gap, InOrder == LastSynced == Top.
type State struct {
	InOrder    uint64
	LastSynced uint64
	Top        uint64
	LastCommit time.Time // zero when nothing was ever committed
}

// Range is an inclusive range of heights, From <= To.
type Range struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// GapOpen reports whether heights are missing between InOrder and LastSynced.
func (s State) GapOpen() bool { return s.LastSynced > s.InOrder+1 }

// Gaps lists the missing heights below Top. The index model allows at most one.
func (s State) Gaps() []Range {
	if !s.GapOpen() {
		return []Range{}
	}
	return []Range{{From: s.InOrder + 1, To: s.LastSynced - 1}}
}

// Blocks is the number of stored blocks the indices account for.
func (s State) Blocks() uint64 {
	if s.GapOpen() {
		return s.InOrder + s.Top - s.LastSynced + 1
	}
	return s.InOrder
}
