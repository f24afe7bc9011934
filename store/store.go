// Package store keeps a virtual chain's blocks in a bbolt file together with
// the three sync indices (InOrder, LastSynced, Top) and enforces the write
// rules that keep them true. Its check is package store/fsck; its tools
// (rollback, repair, salvage, compaction) are package store/repair. It
// knows nothing of peers, committees or flags: what it stores was verified
// before it was handed over.
package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/swap"
)

// FormatVersion is the on-disk layout version written to the meta bucket.
// Version 2 keeps blocks and nothing derived from them; version 1 also
// kept a height -> hash || parent hash index (the "hashes" bucket), 88
// bytes a block, 10% of a 4-member chain's store. A version 1 store is
// read and written as it is (its index kept up to date, so older vcsync
// releases can still open it) until `compact` rewrites it as version 2.
const FormatVersion = layout.Format

// DefaultLockTimeout is how long Open waits for another process's lock
// before giving up: long enough to ride out a short-lived reader, short
// enough that an operator is told at once that the node holds the file.
const DefaultLockTimeout = 2 * time.Second

// Errors callers match with errors.Is.
var (
	ErrLocked       = errors.New("store is locked by another process (is the node running?)")
	ErrNotExist     = errors.New("store does not exist")
	ErrIdentity     = errors.New("store belongs to another chain")
	ErrRefused      = errors.New("write refused")
	ErrNotFound     = errors.New("block not in store")
	ErrExists       = errors.New("the store exists")
	ErrInconsistent = fsck.ErrInconsistent
	ErrUndecodable  = errors.New("stored bytes are not a valid block")
)

// Identity names the chain a store holds (package chain defines it, so the
// peer protocol can name it without this package).
type Identity = chain.Identity

// Options for Open.
type Options struct {
	ReadOnly bool
	Create   bool // create the file when it is missing (needs Identity)
	// New, with Create, refuses a path that exists: the caller writes a
	// new store, and another process may have put one there since the
	// caller looked (salvage).
	New         bool
	Identity    *Identity     // when set, refuse a store of another chain
	LockTimeout time.Duration // 0 means DefaultLockTimeout
	MaxBlock    int           // largest block Get decodes; 0 means block.DefaultMaxSize
	// PublishAtClose keeps a store being created out of sight until Close
	// (after the caller checked it), for copies that must appear whole:
	// salvage. Otherwise a new store is put in place at its first commit.
	PublishAtClose bool
}

// ErrNotVcsync says a file is a bbolt file, but not a vcsync store.
var ErrNotVcsync = errors.New("not a vcsync store")

// Store is an open block store.
type Store struct {
	// mu lets write reopen db (see reopenAfterPages) while other
	// goroutines read: every use of db holds it for reading.
	mu       sync.RWMutex
	db       *bolt.DB
	dbErr    error // why db could not be reopened; the store is unusable then
	path     string
	id       Identity
	maxBlock int
	timeout  time.Duration
	// format is the store's layout version: FormatVersion, or
	// layout.FormatWithHashIndex for a store written before it.
	format uint64
	// committed is set once a write transaction commits.
	committed bool
	closed    bool

	// final is where a store being created appears once it holds a block
	// (its first commit, or Close with publishAtClose); until then it lives
	// in path, a scratch file beside it, and final is "" from then on.
	final          string
	publishAtClose bool
	scratch        string // the name a created store was opened under

	// reopenAfter and betweenReopen are a test's: a smaller page count
	// between reopens (0: reopenAfterPages), and a hook run while the file
	// is closed.
	reopenAfter   int64
	betweenReopen func(path string)

	// Recovered says what Open did to finish an interrupted command
	// (compact --replace), for the command to tell the user; "" if nothing.
	Recovered string
}

// newStorePageSize is the page size of a store vcsync creates. bbolt keeps
// a leaf's entries in one page, so blocks of a few KiB waste much of 4 KiB
// pages (two 2 KiB blocks that do not quite fit one page take two), and the
// tail of every page that cannot hold one more block is lost. Measured with
// syncer's BenchmarkDiskUse (20,000 blocks synced in reverse, commits of
// 4 MiB, store format 2; disk over block bytes): 4 members (0.9 KiB blocks)
// 1.098 with 16 KiB pages, 1.084 with 32 KiB, 1.113 with 64 KiB (each commit
// of a descending run leaves its first page partly filled); 22 members
// (1.9 KiB) 1.068 with 16 KiB, 1.052 with 32 KiB. With 4 KiB pages and
// per-chunk commits a 22-member store was 1.55. A store made by an older
// vcsync keeps its page size until compact.
const newStorePageSize = 32 << 10

// Open opens (or, with Create, creates) the store at path.
func Open(path string, opts Options) (*Store, error) {
	final := ""
	if err := fsck.RegularFile(path); errors.Is(err, os.ErrNotExist) {
		if opts.ReadOnly || !opts.Create {
			return nil, fmt.Errorf("%w: %s", ErrNotExist, path)
		}
		if opts.Identity == nil {
			return nil, fmt.Errorf("create store %s: the chain id and network type must be given", path)
		}
		// A new store is built in a scratch file beside its name and
		// appears there once it holds a block (publish).
		scratch, err := newScratch(path)
		if err != nil {
			return nil, err
		}
		final, path = path, scratch
	} else if err != nil {
		return nil, err
	} else if opts.New {
		return nil, fmt.Errorf("%w: %s (a new store was to be written there; another process may have created it meanwhile)", ErrExists, path)
	} else if _, err := fsck.CheckFile(path); err != nil {
		return nil, err
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	pageSize := 0
	if final != "" {
		pageSize = newStorePageSize
	}
	db, err := openBolt(path, opts.ReadOnly, timeout, pageSize)
	if errors.Is(err, ErrLocked) || errors.Is(err, ErrDamaged) {
		return nil, err
	}
	if err != nil {
		if final != "" {
			os.Remove(path)
			return nil, fmt.Errorf("create store %s: %w", final, scratch.Named(err, path, final))
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{db: db, path: path, final: final, publishAtClose: opts.PublishAtClose, maxBlock: opts.MaxBlock, timeout: timeout}
	if final != "" {
		s.scratch = path
	}
	if err := s.init(opts); err != nil {
		db.Close()
		if final != "" {
			os.Remove(path)
		}
		return nil, s.nameTheStore(err)
	}
	if final == "" {
		removeScratchNames(path, opts.ReadOnly)
	}
	if final == "" && !opts.ReadOnly {
		if err := s.finishInterrupted(); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) init(opts Options) error {
	return s.guard(nil, func() error { return s.initUnguarded(opts) })
}

func (s *Store) initUnguarded(opts Options) error {
	var fresh bool
	var others []string // buckets of another application
	err := s.db.View(func(tx *bolt.Tx) error {
		fresh = tx.Bucket(layout.Meta) == nil
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if len(others) < 5 {
				others = append(others, fmt.Sprintf("%q", name))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if fresh && len(others) > 0 {
		// Never add our buckets to another application's file.
		return fmt.Errorf("%w: %s is a bbolt file of something else (buckets %s, no vcsync meta bucket)", ErrNotVcsync, s.path, strings.Join(others, ", "))
	}
	if fresh {
		if opts.ReadOnly || opts.Identity == nil {
			return fmt.Errorf("%w: %s holds no vcsync meta bucket", ErrNotVcsync, s.path)
		}
		s.id = *opts.Identity
		return s.db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucket(layout.Meta)
			if err != nil {
				return err
			}
			if _, err := tx.CreateBucket(layout.Blocks); err != nil {
				return err
			}
			s.format = FormatVersion
			for k, v := range map[string]uint64{
				string(layout.KeyFormat): FormatVersion, string(layout.KeyNetworkType): uint64(s.id.NetworkType),
				string(layout.KeyChainID): uint64(s.id.ChainID), string(layout.KeyInOrder): 0,
				string(layout.KeyLastSynced): 0, string(layout.KeyTop): 0, string(layout.KeyLastCommit): 0,
			} {
				if err := meta.Put([]byte(k), layout.Key(v)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(layout.Meta)
		if meta.Get(layout.KeyFormat) == nil {
			return fmt.Errorf("%w: %s has a meta bucket but no vcsync format version", ErrNotVcsync, s.path)
		}
		s.format = layout.Number(meta, layout.KeyFormat)
		if s.format != FormatVersion && s.format != layout.FormatWithHashIndex {
			return fmt.Errorf("store %s has format version %d, this vcsync reads %d and %d", s.path, s.format, layout.FormatWithHashIndex, FormatVersion)
		}
		if tx.Bucket(layout.Blocks) == nil || (s.hashIndexed() && tx.Bucket(layout.Hashes) == nil) {
			return fmt.Errorf("store %s: %w: missing blocks or hashes bucket", s.path, ErrInconsistent)
		}
		s.id = Identity{NetworkType: uint32(layout.Number(meta, layout.KeyNetworkType)), ChainID: uint32(layout.Number(meta, layout.KeyChainID))}
		if opts.Identity != nil && *opts.Identity != s.id {
			return fmt.Errorf("%w: %s holds %s, expected %s", ErrIdentity, s.path, s.id, *opts.Identity)
		}
		return nil
	})
}

// Close releases the file and its lock.
//
// A store this process created and never put in place is removed (it
// holds no block, or the command failed before a PublishAtClose store was
// finished); with PublishAtClose and a commit, Close puts it in place.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	db, lost := s.db, s.dbErr // lost: a reopen failed; the commits before it stand
	s.db = nil
	s.mu.Unlock()
	var err error
	if s.final != "" && s.publishAtClose && s.committed && lost == nil {
		// Put in place while bbolt still holds the file's lock: an
		// unlocked scratch file is debris to the next writer's sweep.
		err = s.publish()
	}
	if db != nil {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = lost
	}
	if s.final != "" {
		os.Remove(s.path) // never put in place: nothing of it was kept
	}
	return err
}

// Discard closes a store being created with PublishAtClose without
// putting it in place.
func (s *Store) Discard() error {
	s.publishAtClose = false
	return s.Close()
}

// Path is the file the store lives in (for a store being created, the
// path it will have).
func (s *Store) Path() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.final != "" {
		return s.final
	}
	return s.path
}

// Identity is the chain the store holds.
func (s *Store) Identity() Identity { return s.id }

// FileBytes is the size of the store file.
func (s *Store) FileBytes() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// DiskBytes is the disk space the store file takes: its allocated blocks.
// bbolt grows its file in steps ahead of use, so the file's size says less.
func (s *Store) DiskBytes() int64 { return swap.DiskBytes(s.path) }

// State reads the indices.
func (s *Store) State() (State, error) {
	var st State
	err := s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			st = layout.ReadState(tx.Bucket(layout.Meta))
			return nil
		})
	})
	return st, err
}

// GetRaw returns a copy of the encoded block at height h.
func (s *Store) GetRaw(h uint64) ([]byte, error) {
	var out []byte
	err := s.guard(at(h), func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(layout.Blocks).Get(layout.Key(h))
			if v == nil {
				return fmt.Errorf("height %d: %w", h, ErrNotFound)
			}
			out = append([]byte(nil), v...)
			return nil
		})
	})
	return out, err
}

// Get returns the decoded block at height h.
func (s *Store) Get(h uint64) (*block.Block, error) {
	raw, err := s.GetRaw(h)
	if err != nil {
		return nil, err
	}
	b, err := block.DecodeOwned(raw, s.maxBlock)
	if err != nil {
		return nil, fmt.Errorf("stored block %d: %w: %w", h, ErrUndecodable, err)
	}
	return b, nil
}

// Has reports whether height h is stored.
func (s *Store) Has(h uint64) (bool, error) {
	var ok bool
	err := s.guard(at(h), func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			ok = tx.Bucket(layout.Blocks).Get(layout.Key(h)) != nil
			return nil
		})
	})
	return ok, err
}

// Hash returns the hash of the stored block at height h.
func (s *Store) Hash(h uint64) (common.Hash, error) {
	var hash common.Hash
	err := s.guard(at(h), func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			_, hash, _ = storedHeader(tx, h)
			if hash == (common.Hash{}) {
				return fmt.Errorf("height %d: %w", h, ErrNotFound)
			}
			return nil
		})
	})
	return hash, err
}

// storedHeader reads the header of the stored block at height h and its
// hash; found is false when there is none, and a stored value that is not
// a block is an ErrUndecodable.
func storedHeader(tx *bolt.Tx, h uint64) (header block.Header, hash common.Hash, err error) {
	v := tx.Bucket(layout.Blocks).Get(layout.Key(h))
	if v == nil {
		return header, hash, fmt.Errorf("height %d: %w", h, ErrNotFound)
	}
	header, hash, err = block.HeaderOf(v)
	if err != nil {
		return header, common.Hash{}, fmt.Errorf("stored block %d: %w: %w", h, ErrUndecodable, err)
	}
	return header, hash, nil
}

// hashIndexed says whether the store keeps format 1's hashes bucket.
func (s *Store) hashIndexed() bool { return s.format == layout.FormatWithHashIndex }

// Format is the store's on-disk layout version.
func (s *Store) Format() uint64 { return s.format }

// ReadRange calls fn for every stored height from hi down to lo inside one
// read transaction. raw is valid only during the call.
func (s *Store) ReadRange(hi, lo uint64, fn func(h uint64, raw []byte) error) error {
	cur := hi
	return s.guard(func() uint64 { return cur }, func() error {
		return s.readRange(hi, lo, &cur, fn)
	})
}

func (s *Store) readRange(hi, lo uint64, cur *uint64, fn func(h uint64, raw []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(layout.Blocks)
		for h := hi; h >= lo && h > 0; h-- {
			*cur = h
			v := blocks.Get(layout.Key(h))
			if v == nil {
				return fmt.Errorf("height %d: %w", h, ErrNotFound)
			}
			if err := fn(h, v); err != nil {
				return err
			}
		}
		return nil
	})
}
