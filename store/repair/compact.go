package repair

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/swap"
)

// compactTxBytes bounds one transaction of the copy, so compacting a large
// store does not hold it all in memory: until a commit bbolt keeps the
// transaction's nodes and then their pages, about twice this in heap
// (bench/scale.sh: 143 MiB peak heap with 64 MiB, flat in the chain's length).
const compactTxBytes = 16 << 20

// pageSize is the page size of a compacted copy. bbolt keeps a
// leaf's entries in one page (or a run of pages when an entry is larger), so
// blocks of a few KiB waste the rest of 4 KiB pages: two 2 KiB blocks that
// do not quite fit one page take two. Measured on 20,000 blocks synced in
// reverse and compacted (syncer's BenchmarkDiskUse): disk used over block
// bytes, 22 members (1.9 KiB blocks) 1.49 with 4 KiB pages, 1.11 with 16 KiB,
// 1.08 with 64 KiB; 4 members (0.9 KiB) 1.23, 1.18, 1.16. bbolt reads any
// page size, so a compacted store is written from then on with 64 KiB pages.
// A small store keeps the system's page size: bbolt's first pages alone
// would make a few hundred KiB of blocks larger.
func (c compaction) pageSize(diskBytes int64) int {
	if diskBytes < c.largePagesFrom {
		return 0 // bbolt's default, the OS page size
	}
	return 64 << 10
}

// largePagesFrom is the disk use from which compacting into large pages
// pays.
const largePagesFrom = 16 << 20

// compaction is how a store is compacted: the disk use from which its copy
// gets large pages (a test compacts a small store into them).
type compaction struct{ largePagesFrom int64 }

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

// CompactTo writes a compacted copy of s to out, then checks it equal to
// s, entry for entry in every bucket. out must not exist: the copy is
// written beside it and renamed into place once checked, so out is either
// absent or whole.
func CompactTo(s *store.Store, out string) (CompactReport, error) {
	return compaction{largePagesFrom}.to(s, out)
}

func (c compaction) to(s *store.Store, out string) (CompactReport, error) {
	rep := CompactReport{Path: s.Path(), Out: out}
	if _, err := os.Lstat(out); err == nil {
		return rep, fmt.Errorf("%s exists: compact writes a new file", out)
	}
	tmpPath, err := scratch.Name(out, "compact")
	if err != nil {
		return rep, fmt.Errorf("compact into %s: %w", out, err)
	}
	defer os.Remove(tmpPath)
	dst, err := bolt.Open(tmpPath, 0o644, &bolt.Options{PageSize: c.pageSize(s.DiskBytes())})
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	// dst stays open, and so locked, until the copy is in place: an
	// unlocked scratch file is debris to another writer's sweep.
	defer dst.Close()
	if err := s.View(func(src *bolt.Tx) error { return copyCurrentFormat(dst, src) }); err != nil {
		return rep, fmt.Errorf("compact: %w", scratch.Named(err, tmpPath, out))
	}
	format, err := storeFormat(dst)
	if err != nil {
		return rep, fmt.Errorf("compact: the copy does not read back: %w", err)
	}
	if format != store.FormatVersion {
		return rep, fmt.Errorf("compact: the copy has format %d, not %d", format, store.FormatVersion)
	}
	rep.FormatBefore, rep.FormatAfter = s.Format(), format
	if rep.Blocks, err = sameAs(s.View, dst.View); err != nil {
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
	rep.DiskBefore, rep.DiskAfter = s.DiskBytes(), swap.DiskBytes(out)
	return rep, nil
}

// storeFormat reads the layout version of a store file, refusing one that
// lacks the meta or blocks bucket.
func storeFormat(db *bolt.DB) (uint64, error) {
	var format uint64
	err := db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(layout.Meta)
		if meta == nil || meta.Get(layout.KeyFormat) == nil || tx.Bucket(layout.Blocks) == nil {
			return fmt.Errorf("%w: no meta bucket, format version or blocks bucket", store.ErrNotVcsync)
		}
		format = layout.Number(meta, layout.KeyFormat)
		return nil
	})
	return format, err
}

// copyCurrentFormat copies src's meta and blocks buckets into the empty
// dst, keys ascending into full pages (FillPercent 1), committing every
// compactTxBytes so memory stays flat, and writes the current format
// version: a format 1 store's hashes bucket, which holds nothing the
// blocks do not, is left behind. (bbolt's Compact copies every bucket as
// it is; this is the same walk, minus the index.)
func copyCurrentFormat(dst *bolt.DB, stx *bolt.Tx) error {
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
				v = layout.Key(store.FormatVersion)
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
}

// view is a read transaction of a store file: Store.View, or bbolt's own
// on a file the store does not hold open.
type view func(fn func(*bolt.Tx) error) error

// sameAs compares every entry of the meta and blocks buckets of two store
// files (but the format version) and returns the number of blocks.
func sameAs(a, b view) (uint64, error) {
	var blocks uint64
	err := a(func(tx *bolt.Tx) error {
		return b(func(otx *bolt.Tx) error {
			for _, name := range [][]byte{layout.Meta, layout.Blocks} {
				n, err := sameBucket(name, tx.Bucket(name), otx.Bucket(name))
				if err != nil {
					return err
				}
				if bytes.Equal(name, layout.Blocks) {
					blocks = n
				}
			}
			return nil
		})
	})
	return blocks, err
}

// sameBucket compares two buckets entry for entry and counts them.
func sameBucket(name []byte, a, b *bolt.Bucket) (uint64, error) {
	if a == nil || b == nil {
		return 0, fmt.Errorf("bucket %s is missing", name)
	}
	var n uint64
	ca, cb := a.Cursor(), b.Cursor()
	ka, va := ca.First()
	kb, vb := cb.First()
	for ; ka != nil || kb != nil; ka, va = ca.Next() {
		formatKey := bytes.Equal(name, layout.Meta) && bytes.Equal(ka, layout.KeyFormat) && bytes.Equal(ka, kb)
		if !bytes.Equal(ka, kb) || (!bytes.Equal(va, vb) && !formatKey) {
			return n, fmt.Errorf("bucket %s differs at key %x", name, ka)
		}
		n++
		kb, vb = cb.Next()
	}
	return n, nil
}

// CompactInPlace compacts s and swaps the copy in:
//
//  1. write the copy to STORE.compact and check it equal (fsync'd);
//  2. swap it in by the journaled procedure of swap.Replace, and check the
//     swapped-in file equal again.
//
// The store's exclusive lock is held throughout, so a writer waiting for it
// wakes on the old file, sees that the path names another one and opens
// that (store.Open). A kill at any step leaves STORE a whole store (the old
// file or the checked copy); the next writable Open reads the journal and
// undoes (before the rename) or finishes (after it) the swap.
func CompactInPlace(s *store.Store) (CompactReport, error) {
	return compaction{largePagesFrom}.inPlace(s)
}

func (c compaction) inPlace(s *store.Store) (CompactReport, error) {
	path := s.Path()
	copyPath, bak := swap.CopyPath(path), swap.BackupPath(path)
	if _, err := os.Lstat(bak); err == nil {
		return CompactReport{Path: path}, fmt.Errorf("%s exists and no interrupted compaction names it: it is not vcsync's; move it away first", bak)
	}
	os.Remove(copyPath) // an unfinished copy of a killed run, never a store anyone uses
	rep, err := c.to(s, copyPath)
	if err != nil {
		return rep, err
	}
	if rep.DiskAfter > rep.DiskBefore {
		os.Remove(copyPath)
		return rep, fmt.Errorf("%w: the compacted copy would take %d bytes of disk, the store takes %d; the store was kept as it was",
			ErrNotSmaller, rep.DiskAfter, rep.DiskBefore)
	}
	failpoint.Hit("compact-copy-checked")
	err = swap.Replace(path, func() error {
		// s still reads the old file (the backup): check the new path against it.
		swapped, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: 1})
		if err != nil {
			return fmt.Errorf("the swapped-in copy does not open: %w", err)
		}
		defer swapped.Close()
		if _, err := sameAs(s.View, swapped.View); err != nil {
			return fmt.Errorf("the swapped-in copy differs: %w", err)
		}
		return nil
	})
	if err == nil {
		rep.Out, rep.Replaced = path, true
	}
	return rep, err
}

// ErrNotSmaller says a compaction would have grown the store's disk use.
var ErrNotSmaller = errors.New("compaction would not make the store smaller")
