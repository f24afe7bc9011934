package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// State is the store's sync progress: blocks 1..InOrder are present with no
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

func readState(meta *bolt.Bucket) State {
	st := State{
		InOrder:    getU64(meta, keyInOrder),
		LastSynced: getU64(meta, keyLastSynced),
		Top:        getU64(meta, keyTop),
	}
	if ns := getU64(meta, keyLastCommit); ns != 0 {
		st.LastCommit = time.Unix(0, int64(ns))
	}
	return st
}

func writeState(meta *bolt.Bucket, st State) error {
	for k, v := range map[string]uint64{
		string(keyInOrder): st.InOrder, string(keyLastSynced): st.LastSynced,
		string(keyTop): st.Top, string(keyLastCommit): uint64(st.LastCommit.UnixNano()),
	} {
		if err := meta.Put([]byte(k), u64(v)); err != nil {
			return err
		}
	}
	return nil
}
