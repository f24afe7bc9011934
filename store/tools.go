package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// What the store's own tools (store/fsck's check; store/repair's rollback,
// repair, salvage and compaction) need beyond reading and committing
// blocks: a guarded read of the file as bbolt lays it out, and the one
// change that may delete blocks. They read the layout through
// store/internal/layout, which nothing outside store/ can import.

// View runs fn in a read transaction, guarded like every read (damage
// becomes a *DamageError). fn must not keep tx or the bytes it hands out.
func (s *Store) View(fn func(tx *bolt.Tx) error) error { return s.ViewAt(nil, fn) }

// ViewAt is View whose damage error names the height near reports at the
// time of the fault (the block being read): the check's walk.
func (s *Store) ViewAt(near func() uint64, fn func(tx *bolt.Tx) error) error {
	return s.guard(near, func() error { return s.db.View(fn) })
}

// File is the bbolt file the store lives in now: for a store being
// created, its scratch file until it is put in place.
func (s *Store) File() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.path
}

// MaxBlock is the largest block the store decodes.
func (s *Store) MaxBlock() int { return s.maxBlock }

// Rewrite is a change of the indices that deletes the blocks they no
// longer hold: what a rollback or a repair writes.
type Rewrite struct {
	What   string // "rollback", "repair": named when the store changed meanwhile
	Before State  // the indices the change was planned on
	After  State  // the new indices, LastCommit as written
	// From is the lowest height the change may delete. Keep says which
	// heights from there stay (nil: none); every other entry from there is
	// deleted, blocks and a format 1 store's hash index alike, and so is
	// every key that names no height.
	From uint64
	Keep func(h uint64) bool
}

// Rewrite writes r in one transaction, or nothing: it is refused if the
// indices are no longer r.Before (the plan is stale).
func (s *Store) Rewrite(r Rewrite) error {
	err := s.guard(nil, func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(layout.Meta)
			if cur := layout.ReadState(meta); cur.InOrder != r.Before.InOrder || cur.LastSynced != r.Before.LastSynced || cur.Top != r.Before.Top {
				return fmt.Errorf("the store changed while the %s was planned", r.What)
			}
			for _, name := range [][]byte{layout.Blocks, layout.Hashes} {
				if b := tx.Bucket(name); b != nil { // a format 2 store has no hashes bucket
					if err := deleteUnkept(b, r.From, r.Keep); err != nil {
						return err
					}
				}
			}
			return layout.WriteState(meta, r.After)
		})
	})
	if err == nil {
		failpoint.Hit("after-commit")
	}
	return err
}

// deleteUnkept deletes the entries of b from height from up that keep does
// not keep. The doomed keys are collected first: a cursor must not delete
// under itself.
func deleteUnkept(b *bolt.Bucket, from uint64, keep func(uint64) bool) error {
	var doomed [][]byte
	c := b.Cursor()
	k, _ := c.First()
	if from > 0 {
		k, _ = c.Seek(layout.Key(from))
	}
	for ; k != nil; k, _ = c.Next() {
		if h, ok := layout.Height(k); !ok || keep == nil || !keep(h) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
