package store

import (
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/chain"
)

// State is the store's sync progress (InOrder, LastSynced, Top; package
// chain defines it and its rules of reading).
type State = chain.State

// Range is an inclusive range of heights, From <= To.
type Range = chain.Range

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
