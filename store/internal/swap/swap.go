// Package swap is how a store file is replaced by a compacted copy while
// nothing can be lost: a journaled swap that a kill at any step leaves
// finishable or undoable by the next writer (Recover), and the durable
// file steps (fsync'd writes, removals and directory entries) it and the
// store's other writers are built of. It knows nothing of a store's
// contents.
package swap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/vcsync/vcsync/internal/failpoint"
)

// Recover finishes or undoes a swap that was killed (its journal is still
// there) and says what it did; "" when there was none. The caller holds
// the store's exclusive lock.
func Recover(path string) (string, error) {
	if _, err := os.Lstat(JournalPath(path)); err != nil {
		return "", nil
	}
	if _, err := os.Lstat(CopyPath(path)); err == nil {
		return Undo(path)
	}
	return Finish(path)
}

// The files of a compact --replace, beside the store: the checked copy,
// the old file kept while the copy is swapped in, and the journal that
// says a swap was under way (so the next writer can finish or undo it).
func CopyPath(path string) string    { return path + ".compact" }
func BackupPath(path string) string  { return path + ".bak" }
func JournalPath(path string) string { return path + ".compact-journal" }

// Replace swaps the checked copy at CopyPath(path) in for path, as a small
// journaled procedure:
//
//  1. write the journal (fsync'd, with the directory);
//  2. link BackupPath(path) to the old file, rename the copy over path,
//     fsync the directory;
//  3. run check on the swapped-in file, then remove the backup and the
//     journal.
//
// A kill at any step leaves path a whole file (the old one or the checked
// copy), and the journal tells Recover which. A failure before the rename
// undoes the swap.
func Replace(path string, check func() error) error {
	copyPath, bak, journal := CopyPath(path), BackupPath(path), JournalPath(path)
	if err := WriteDurably(journal, []byte("compaction in place: "+filepath.Base(copyPath)+" -> "+filepath.Base(path)+"\n")); err != nil {
		os.Remove(copyPath)
		return fmt.Errorf("compact: write the journal %s: %w", journal, err)
	}
	failpoint.Hit("compact-journal-written")
	undo := func(cause error) error {
		if _, err := Undo(path); err != nil {
			return fmt.Errorf("%w (and undoing it: %v; the next writer will finish it)", cause, err)
		}
		return cause
	}
	if err := os.Link(path, bak); err != nil {
		return undo(fmt.Errorf("compact: keep the old file as %s: %w", bak, err))
	}
	failpoint.Hit("compact-backup-linked")
	if err := os.Rename(copyPath, path); err != nil {
		return undo(fmt.Errorf("compact: swap in the copy: %w", err))
	}
	failpoint.Hit("compact-swapped")
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("compact: %w (the next writer finishes the swap)", err)
	}
	failpoint.Hit("compact-swap-durable")
	if err := check(); err != nil {
		return fmt.Errorf("compact: %w; the old file is %s", err, bak)
	}
	_, err := Finish(path)
	return err
}

// Undo rolls back a swap that had not renamed the copy in: the
// store is the old file; the copy, the backup link and the journal go.
func Undo(path string) (string, error) {
	bak := BackupPath(path)
	if same, _ := SameFile(path, bak); same {
		os.Remove(bak)
	}
	if err := os.Remove(CopyPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := RemoveDurably(JournalPath(path)); err != nil {
		return "", err
	}
	return fmt.Sprintf("undid an interrupted compaction in place: %s is the file it was; the unfinished copy was removed", path), nil
}

// Finish completes a swap whose rename happened: the store is the
// checked copy; the backup and the journal go.
func Finish(path string) (string, error) {
	if err := os.Remove(BackupPath(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	failpoint.Hit("compact-backup-removed")
	if err := RemoveDurably(JournalPath(path)); err != nil {
		return "", err
	}
	return fmt.Sprintf("finished an interrupted compaction in place: %s is the compacted copy; the old file was removed", path), nil
}

func SameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// WriteDurably writes a small file and makes it and its name durable.
func WriteDurably(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

func RemoveDurably(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// DiskBytes is the disk space a file takes: its allocated blocks, not its
// (sparse) size.
func DiskBytes(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// SyncDir makes a rename in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
