package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store/internal/layout"
)

// TrustedCheckpoint is the block an operator anchored the store on
// (--trust HEIGHT:HASH): every block below it was authenticated by hash
// links from it, not by the tip rule. Recorded so `inspect` can say so.
type TrustedCheckpoint struct {
	Height uint64    `json:"height"`
	Hash   string    `json:"hash"`
	At     time.Time `json:"recorded_at"`
}

// SetCheckpoint records the checkpoint, in one transaction, if the store
// holds that block with that hash.
func (s *Store) SetCheckpoint(height uint64, hash common.Hash) error {
	return s.guard(at(height), func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			if _, stored, err := storedHeader(tx, height); err != nil || stored != hash {
				return fmt.Errorf("checkpoint %d %s: %w", height, hash.Hex(), ErrNotFound)
			}
			rec := binary.BigEndian.AppendUint64(nil, height)
			rec = append(rec, hash.Bytes()...)
			rec = binary.BigEndian.AppendUint64(rec, uint64(time.Now().Unix()))
			return tx.Bucket(layout.Meta).Put(layout.KeyCheckpoint, rec)
		})
	})
}

// Checkpoint returns the recorded checkpoint, if any.
func (s *Store) Checkpoint() (*TrustedCheckpoint, error) {
	var c *TrustedCheckpoint
	err := s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(layout.Meta).Get(layout.KeyCheckpoint)
			if v == nil {
				return nil
			}
			if len(v) != 48 {
				return fmt.Errorf("%w: meta %s is %d bytes, not 48", ErrInconsistent, layout.KeyCheckpoint, len(v))
			}
			c = &TrustedCheckpoint{Height: binary.BigEndian.Uint64(v[:8]), Hash: common.BytesToHash(v[8:40]).Hex(),
				At: time.Unix(int64(binary.BigEndian.Uint64(v[40:])), 0).UTC()}
			return nil
		})
	})
	return c, err
}
