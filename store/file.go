package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/swap"
)

// ErrCreatedElsewhere says another process put a store at the path while
// this one was building it there.
var ErrCreatedElsewhere = errors.New("another process created the store at this path first")

// openBolt opens path with bbolt, waiting up to timeout for its lock, and
// makes sure that the file it locked is still the one the path names: a
// command that replaces the store by rename (compact --replace) may have
// swapped it while this one waited, and writing into the old inode would
// lose every commit. It then opens what the path names now.
//
// pageSize is the page size of a file bbolt creates (0: the OS's); an
// existing file keeps its own.
func openBolt(path string, readOnly bool, timeout time.Duration, pageSize int) (*bolt.DB, error) {
	for attempt := 0; ; attempt++ {
		if err := fsck.RegularFile(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		var opened *os.File
		opts := &bolt.Options{Timeout: timeout, ReadOnly: readOnly, PageSize: pageSize,
			OpenFile: func(name string, flag int, mode os.FileMode) (*os.File, error) {
				// O_NONBLOCK: a FIFO swapped in after the check still cannot hang us.
				f, err := os.OpenFile(name, flag|syscall.O_NONBLOCK, mode)
				opened = f
				if err == nil && failpoint.Armed("lock-wait") {
					if busy, _ := scratch.Locked(name); busy {
						failpoint.Hit("lock-wait") // tests start a first writer's finish here
					}
				}
				return f, err
			}}
		var db *bolt.DB
		err := guardPath(path, nil, func() (err error) {
			db, err = bolt.Open(path, 0o644, opts)
			return err
		})
		if errors.Is(err, berrors.ErrTimeout) {
			if holder := lockHolder(path); holder != "" {
				return nil, fmt.Errorf("open %s: %w: %s", path, ErrLocked, holder)
			}
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		if err != nil {
			return nil, err
		}
		same, err := namesFile(path, opened)
		if err == nil && same {
			return db, nil
		}
		db.Close()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		if attempt == 3 {
			return nil, fmt.Errorf("open %s: the file was replaced again and again while waiting for its lock", path)
		}
	}
}

// namesFile reports whether path still names the open file f.
func namesFile(path string, f *os.File) (bool, error) {
	if f == nil {
		return false, errors.New("bbolt opened no file")
	}
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("the store was removed while waiting for its lock")
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, now), nil
}

// newScratch removes what interrupted creations of final left behind and
// names a fresh scratch file for a new one. A scratch file still locked
// belongs to a live process creating the same store: that is refused.
func newScratch(final string) (string, error) {
	name, err := scratch.Name(final, "new")
	if errors.Is(err, scratch.ErrBusy) {
		return "", fmt.Errorf("create store %s: another process is creating it: %w", final, ErrLocked)
	}
	if err != nil {
		return "", fmt.Errorf("create store %s: %w", final, err)
	}
	return name, nil
}

// removeScratchNames removes what creations of the store at path left
// beside it: its own scratch name, if a kill came between the link that
// put it in place and the unlink of the old name (a second name of the
// same file, so any opener, a reader too, may drop it), and, for a writer,
// scratch files of creations killed before their first commit. The caller
// holds the store's lock, so a live creation of it cannot be under way.
func removeScratchNames(path string, readOnly bool) {
	for _, name := range scratch.Names(path, "new") {
		if same, _ := swap.SameFile(name, path); same {
			os.Remove(name) // fails harmlessly on a read-only directory
		}
	}
	if !readOnly {
		scratch.Sweep(path, "new")
	}
}

// publish puts a store being created at its path, right after its first
// commit: a hard link (which never replaces a file someone else put there)
// and the removal of the scratch name, made durable by one directory
// fsync, after which the store is written in place. A kill before the link leaves only a
// scratch file, which the next creation removes; a kill after it leaves
// the store at its path holding every commit.
func (s *Store) publish() error {
	failpoint.Hit("create-before-link")
	if err := os.Link(s.path, s.final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("put the new store %s in place: %w; this run's blocks were not kept", s.final, ErrCreatedElsewhere)
		}
		return fmt.Errorf("put the new store %s in place: %w", s.final, err)
	}
	failpoint.Hit("create-after-link")
	os.Remove(s.path) // the same file, under its scratch name
	// One directory fsync makes the link and the unlink durable together.
	if err := swap.SyncDir(filepath.Dir(s.final)); err != nil {
		return fmt.Errorf("put the new store %s in place: %w", s.final, err)
	}
	failpoint.Hit("create-after-dir-sync")
	s.mu.Lock() // readers on other goroutines name s.path in their errors
	s.path, s.final = s.final, ""
	s.mu.Unlock()
	return nil
}

// nameTheStore rewrites a file error about the scratch file to name the
// path the user gave ("write blocks.db (being created; nothing of it was
// kept): no space left"); bbolt names the file it opened, which stays the
// scratch name after the store was put in place.
func (s *Store) nameTheStore(err error) error {
	var pe *os.PathError
	if s.scratch == "" || !errors.As(err, &pe) || pe.Path != s.scratch {
		return err
	}
	if s.final != "" {
		pe.Path = s.final + " (being created; nothing of it was kept)"
	} else {
		pe.Path = s.path
	}
	return err
}
