// Package layout is a vcsync store's bbolt layout: its buckets, the keys of
// its meta bucket, how heights and numbers are encoded, and how the sync
// indices are read and written. The store and its tools (store/repair)
// share it; nothing outside store/ reads a store's buckets. It holds no
// rule of what may be written: package store enforces those.
package layout

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/chain"
)

// Format is the layout version written to the meta bucket. Version 2 keeps
// blocks and nothing derived from them; version 1 (FormatWithHashIndex)
// also kept a height -> hash || parent hash index (the Hashes bucket).
const (
	Format              = 2
	FormatWithHashIndex = 1
)

// The buckets.
var (
	Blocks = []byte("blocks") // height (8 bytes BE) -> encoded block
	Hashes = []byte("hashes") // format 1 only: height -> hash || prev hash
	Meta   = []byte("meta")
)

// The meta bucket's keys, each an 8-byte big-endian number but the
// checkpoint.
var (
	KeyFormat      = []byte("format_version")
	KeyNetworkType = []byte("network_type")
	KeyChainID     = []byte("chain_id")
	KeyInOrder     = []byte("in_order")
	KeyLastSynced  = []byte("last_synced")
	KeyTop         = []byte("top")
	KeyLastCommit  = []byte("last_commit") // unix nanoseconds
	// KeyCheckpoint holds the operator's trusted checkpoint: height (8
	// bytes BE) || hash (32) || unix seconds it was recorded (8 bytes BE).
	KeyCheckpoint = []byte("trusted_checkpoint")
)

// Key is the key of height h (and the encoding of every meta number).
func Key(h uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], h)
	return b[:]
}

// Height is the height a key names; ok is false for a key that names none.
func Height(k []byte) (h uint64, ok bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}

// Number reads a meta number (0 when it is missing or malformed).
func Number(b *bolt.Bucket, k []byte) uint64 {
	h, _ := Height(b.Get(k))
	return h
}

// ReadState reads the sync indices from the meta bucket.
func ReadState(meta *bolt.Bucket) chain.State {
	st := chain.State{
		InOrder:    Number(meta, KeyInOrder),
		LastSynced: Number(meta, KeyLastSynced),
		Top:        Number(meta, KeyTop),
	}
	if ns := Number(meta, KeyLastCommit); ns != 0 {
		st.LastCommit = time.Unix(0, int64(ns))
	}
	return st
}

// WriteState writes the sync indices into the meta bucket.
func WriteState(meta *bolt.Bucket, st chain.State) error {
	for k, v := range map[string]uint64{
		string(KeyInOrder): st.InOrder, string(KeyLastSynced): st.LastSynced,
		string(KeyTop): st.Top, string(KeyLastCommit): uint64(st.LastCommit.UnixNano()),
	} {
		if err := meta.Put([]byte(k), Key(v)); err != nil {
			return err
		}
	}
	return nil
}
