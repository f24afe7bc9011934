package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/swap"
)

// compactTxBytes bounds one transaction of the copy, so compacting a large
// store does not hold it all in memory: until a commit bbolt keeps the
// transaction's nodes and then their pages, about twice this in heap
// (bench/scale.sh: 143 MiB peak heap with 64 MiB, flat in the chain's length).
const compactTxBytes = 16 << 20

// compactPageSize is the page size of a compacted copy. bbolt keeps a
// leaf's entries in one page (or a run of pages when an entry is larger), so
// blocks of a few KiB waste the rest of 4 KiB pages: two 2 KiB blocks that
// do not quite fit one page take two. Measured on 20,000 blocks synced in
// reverse and compacted (syncer's BenchmarkDiskUse): disk used over block
// bytes, 22 members (1.9 KiB blocks) 1.49 with 4 KiB pages, 1.11 with 16 KiB,
// 1.08 with 64 KiB; 4 members (0.9 KiB) 1.23, 1.18, 1.16. bbolt reads any
// page size, so a compacted store is written from then on with 64 KiB pages.
// A small store keeps the system's page size: bbolt's first pages alone
// would make a few hundred KiB of blocks larger.
func compactPageSize(diskBytes int64) int {
	if diskBytes < largePagesFrom {
		return 0 // bbolt's default, the OS page size
	}
	return 64 << 10
}

// largePagesFrom is the disk use from which compacting into large pages
// pays (a variable so a test can compact a small store into them).
var largePagesFrom int64 = 16 << 20

// CompactReport says what a compaction did.
type CompactReport struct {
	Path        string `json:"path"`
	Out         string `json:"out"`
	BytesBefore int64  `json:"bytes_before"` // file sizes (bbolt's files are sparse)
	BytesAfter  int64  `json:"bytes_after"`
	// DiskBefore and DiskAfter are the disk space the files take (their
	// allocated blocks): what compaction is for, and what it is judged on.
	DiskBefore int64  `json:"disk_before"`
	DiskAfter  int64  `json:"disk_after"`
	Blocks     uint64 `json:"blocks"`
	// FormatBefore and FormatAfter are the layout versions: compacting a
	// format 1 store rewrites it as the current format.
	FormatBefore uint64 `json:"format_before"`
	FormatAfter  uint64 `json:"format_after"`
	Replaced     bool   `json:"replaced"`
	Backup       string `json:"backup,omitempty"`
}

// Smaller says whether the copy takes less disk than the store.
func (r CompactReport) Smaller() bool { return r.DiskAfter < r.DiskBefore }

// CompactTo writes a compacted copy of s to out with bbolt's Compact, then
// checks it equal to s, entry for entry in every bucket. out must not
// exist: the copy is written beside it and renamed into place once checked,
// so out is either absent or whole.
func (s *Store) CompactTo(out string) (CompactReport, error) {
	rep := CompactReport{Path: s.path, Out: out}
	if _, err := os.Lstat(out); err == nil {
		return rep, fmt.Errorf("%s exists: compact writes a new file", out)
	}
	tmpPath, err := scratch.Name(out, "compact")
	if err != nil {
		return rep, fmt.Errorf("compact into %s: %w", out, err)
	}
	defer os.Remove(tmpPath)
	dst, err := bolt.Open(tmpPath, 0o644, &bolt.Options{PageSize: compactPageSize(swap.DiskBytes(s.path))})
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	// dst stays open, and so locked, until the copy is in place: an
	// unlocked scratch file is debris to another writer's sweep.
	defer dst.Close()
	if err := s.guard(nil, func() error { return copyCurrentFormat(dst, s.db) }); err != nil {
		return rep, fmt.Errorf("compact: %w", scratch.Named(err, tmpPath, out))
	}
	copyStore := &Store{db: dst, path: tmpPath, maxBlock: s.maxBlock}
	if err := copyStore.init(Options{ReadOnly: true}); err != nil {
		return rep, fmt.Errorf("compact: the copy does not read back: %w", err)
	}
	if copyStore.format != FormatVersion {
		return rep, fmt.Errorf("compact: the copy has format %d, not %d", copyStore.format, FormatVersion)
	}
	rep.FormatBefore, rep.FormatAfter = s.format, copyStore.format
	if rep.Blocks, err = s.sameAs(copyStore); err != nil {
		return rep, fmt.Errorf("compact: the copy differs, nothing was written: %w", err)
	}
	failpoint.Hit("compact-out-checked")
	// A link never replaces a file another process put at out meanwhile.
	if err := os.Link(tmpPath, out); err != nil {
		return rep, fmt.Errorf("compact: put the copy at %s: %w", out, err)
	}
	os.Remove(tmpPath) // one directory fsync makes the link and this durable
	if err := swap.SyncDir(filepath.Dir(out)); err != nil {
		return rep, err
	}
	rep.BytesBefore, _ = s.FileBytes()
	if fi, err := os.Stat(out); err == nil {
		rep.BytesAfter = fi.Size()
	}
	rep.DiskBefore, rep.DiskAfter = swap.DiskBytes(s.path), swap.DiskBytes(out)
	return rep, nil
}

// copyCurrentFormat copies src's meta and blocks buckets into the empty
// dst, keys ascending into full pages (FillPercent 1), committing every
// compactTxBytes so memory stays flat, and writes the current format
// version: a format 1 store's hashes bucket, which holds nothing the
// blocks do not, is left behind. (bbolt's Compact copies every bucket as
// it is; this is the same walk, minus the index.)
func copyCurrentFormat(dst, src *bolt.DB) error {
	return src.View(func(stx *bolt.Tx) error {
		tx, err := dst.Begin(true)
		if err != nil {
			return err
		}
		defer func() { tx.Rollback() }()
		pending := 0
		for _, name := range [][]byte{layout.Meta, layout.Blocks} {
			from := stx.Bucket(name)
			if from == nil {
				return fmt.Errorf("bucket %s is missing", name)
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
			c := from.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if bytes.Equal(name, layout.Meta) && bytes.Equal(k, layout.KeyFormat) {
					v = layout.Key(FormatVersion)
				}
				to := tx.Bucket(name)
				to.FillPercent = 1.0
				if err := to.Put(k, v); err != nil {
					return err
				}
				if pending += len(k) + len(v); pending < compactTxBytes {
					continue
				}
				if err := tx.Commit(); err != nil {
					return err
				}
				if tx, err = dst.Begin(true); err != nil {
					return err
				}
				pending = 0
			}
		}
		return tx.Commit()
	})
}

// sameAs compares every bucket entry of s and o and returns the number of blocks.
func (s *Store) sameAs(o *Store) (uint64, error) {
	var blocks uint64
	err := s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			return o.db.View(func(otx *bolt.Tx) error {
				for _, name := range [][]byte{layout.Meta, layout.Blocks} {
					a, b := tx.Bucket(name), otx.Bucket(name)
					if a == nil || b == nil {
						return fmt.Errorf("bucket %s is missing", name)
					}
					ca, cb := a.Cursor(), b.Cursor()
					ka, va := ca.First()
					kb, vb := cb.First()
					for ; ka != nil || kb != nil; ka, va = ca.Next() {
						formatKey := bytes.Equal(name, layout.Meta) && bytes.Equal(ka, layout.KeyFormat) && bytes.Equal(ka, kb)
						if !bytes.Equal(ka, kb) || (!bytes.Equal(va, vb) && !formatKey) {
							return fmt.Errorf("bucket %s differs at key %x", name, ka)
						}
						if bytes.Equal(name, layout.Blocks) {
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

// CompactInPlace compacts the store and swaps the copy in, as a small
// journaled procedure:
//
//  1. write the copy to STORE.compact and check it equal (fsync'd);
//  2. write STORE.compact-journal (fsync'd, with the directory);
//  3. link STORE.bak to the old file, rename STORE.compact over STORE,
//     fsync the directory;
//  4. check the swapped-in file equal again, remove STORE.bak, remove the
//     journal.
//
// The store's exclusive lock is held throughout, so a writer waiting for it
// wakes on the old file, sees that the path names another one and opens
// that (openBolt). A kill at any step leaves STORE a whole store (the old
// file or the checked copy); the next writable Open reads the journal and
// undoes (before the rename) or finishes (after it) the swap.
func (s *Store) CompactInPlace() (CompactReport, error) {
	copyPath, bak := swap.CopyPath(s.path), swap.BackupPath(s.path)
	if _, err := os.Lstat(bak); err == nil {
		return CompactReport{Path: s.path}, fmt.Errorf("%s exists and no interrupted compaction names it: it is not vcsync's; move it away first", bak)
	}
	os.Remove(copyPath) // an unfinished copy of a killed run, never a store anyone uses
	rep, err := s.CompactTo(copyPath)
	if err != nil {
		return rep, err
	}
	if rep.DiskAfter > rep.DiskBefore {
		os.Remove(copyPath)
		return rep, fmt.Errorf("%w: the compacted copy would take %d bytes of disk, the store takes %d; the store was kept as it was",
			ErrNotSmaller, rep.DiskAfter, rep.DiskBefore)
	}
	failpoint.Hit("compact-copy-checked")
	err = swap.Replace(s.path, func() error {
		// s still reads the old file (the backup): check the new path against it.
		swapped, err := Open(s.path, Options{ReadOnly: true, MaxBlock: s.maxBlock, LockTimeout: 1})
		if err != nil {
			return fmt.Errorf("the swapped-in copy does not open: %w", err)
		}
		defer swapped.Close()
		if _, err := s.sameAs(swapped); err != nil {
			return fmt.Errorf("the swapped-in copy differs: %w", err)
		}
		return nil
	})
	if err == nil {
		rep.Out, rep.Replaced = s.path, true
	}
	return rep, err
}

// ErrNotSmaller says a compaction would have grown the store's disk use.
var ErrNotSmaller = errors.New("compaction would not make the store smaller")

// finishInterrupted finishes or undoes a compact --replace that was killed
// (its journal is still there). The caller holds the store's exclusive lock.
func (s *Store) finishInterrupted() error {
	what, err := swap.Recover(s.path)
	if err != nil {
		return fmt.Errorf("an interrupted compaction in place of %s: %w", s.path, err)
	}
	s.Recovered = what
	return nil
}
