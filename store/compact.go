package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// compactTxBytes bounds one transaction of the copy, so compacting a large
// store does not hold it all in memory (bbolt's Compact commits each time).
const compactTxBytes = 64 << 20

// CompactReport says what a compaction did.
type CompactReport struct {
	Path        string `json:"path"`
	Out         string `json:"out"`
	BytesBefore int64  `json:"bytes_before"`
	BytesAfter  int64  `json:"bytes_after"`
	Blocks      uint64 `json:"blocks"`
	Replaced    bool   `json:"replaced"`
	Backup      string `json:"backup,omitempty"`
}

// CompactTo writes a compacted copy of s to out with bbolt's Compact, then
// checks it equal to s, entry for entry in every bucket. out must not
// exist: the copy is written beside it and renamed into place once checked,
// so out is either absent or whole.
func (s *Store) CompactTo(out string) (CompactReport, error) {
	rep := CompactReport{Path: s.path, Out: out}
	if _, err := os.Lstat(out); err == nil {
		return rep, fmt.Errorf("%s exists: compact writes a new file", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".compact-*")
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	os.Remove(tmpPath) // bbolt creates it afresh
	defer os.Remove(tmpPath)
	dst, err := bolt.Open(tmpPath, 0o644, nil)
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	err = s.guard(nil, func() error { return bolt.Compact(dst, s.db, compactTxBytes) })
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	copyStore, err := Open(tmpPath, Options{ReadOnly: true, MaxBlock: s.maxBlock})
	if err != nil {
		return rep, fmt.Errorf("compact: the copy does not open: %w", err)
	}
	rep.Blocks, err = s.sameAs(copyStore)
	copyStore.Close()
	if err != nil {
		return rep, fmt.Errorf("compact: the copy differs, nothing was written: %w", err)
	}
	if err := os.Rename(tmpPath, out); err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	if err := syncDir(filepath.Dir(out)); err != nil {
		return rep, err
	}
	rep.BytesBefore, _ = s.FileBytes()
	if fi, err := os.Stat(out); err == nil {
		rep.BytesAfter = fi.Size()
	}
	return rep, nil
}

// sameAs compares every bucket entry of s and o and returns the number of blocks.
func (s *Store) sameAs(o *Store) (uint64, error) {
	var blocks uint64
	err := s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			return o.db.View(func(otx *bolt.Tx) error {
				for _, name := range [][]byte{bucketMeta, bucketBlocks, bucketHashes} {
					a, b := tx.Bucket(name), otx.Bucket(name)
					if a == nil || b == nil {
						return fmt.Errorf("bucket %s is missing", name)
					}
					ca, cb := a.Cursor(), b.Cursor()
					ka, va := ca.First()
					kb, vb := cb.First()
					for ; ka != nil || kb != nil; ka, va = ca.Next() {
						if !bytes.Equal(ka, kb) || !bytes.Equal(va, vb) {
							return fmt.Errorf("bucket %s differs at key %x", name, ka)
						}
						if bytes.Equal(name, bucketBlocks) {
							blocks++
						}
						kb, vb = cb.Next()
					}
				}
				return nil
			})
		})
	})
	return blocks, err
}

// CompactInPlace compacts the store at path and swaps the copy in: the
// old file is kept as path.bak (a hard link) until the swapped-in copy has
// been opened and checked equal, then removed. The rename is atomic, so a
// kill at any point leaves path either the old file or the whole copy. The
// store must be open writable (an exclusive lock: nothing writes meanwhile).
func (s *Store) CompactInPlace() (CompactReport, error) {
	tmpOut := s.path + ".compact"
	os.Remove(tmpOut) // litter of a killed run: never a store anyone uses
	rep, err := s.CompactTo(tmpOut)
	if err != nil {
		return rep, err
	}
	bak := s.path + ".bak"
	if _, err := os.Lstat(bak); err == nil {
		os.Remove(tmpOut)
		return rep, fmt.Errorf("%s exists: move it away first (it may be an earlier backup)", bak)
	}
	if err := os.Link(s.path, bak); err != nil {
		os.Remove(tmpOut)
		return rep, fmt.Errorf("compact: keep the old file as %s: %w", bak, err)
	}
	if err := os.Rename(tmpOut, s.path); err != nil {
		os.Remove(bak)
		os.Remove(tmpOut)
		return rep, fmt.Errorf("compact: swap in the copy: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return rep, err
	}
	rep.Out, rep.Replaced, rep.Backup = s.path, true, bak
	// s still reads the old file (now bak): check the new path against it.
	swapped, err := Open(s.path, Options{ReadOnly: true, MaxBlock: s.maxBlock, LockTimeout: 1})
	if err != nil {
		return rep, fmt.Errorf("compact: the swapped-in copy does not open; the old file is %s: %w", bak, err)
	}
	_, err = s.sameAs(swapped)
	swapped.Close()
	if err != nil {
		return rep, fmt.Errorf("compact: the swapped-in copy differs; the old file is %s: %w", bak, err)
	}
	if err := os.Remove(bak); err != nil {
		return rep, err
	}
	rep.Backup = ""
	return rep, nil
}
