// Package scratch names the hidden files a writer builds beside the path
// it will put them at (".NAME.TAG-RANDOM"), and sweeps away what killed
// writers left: a scratch file nobody holds a lock on is debris. A writer
// holds an exclusive flock on its scratch file for as long as it writes it
// (bbolt takes one itself; Create takes one for plain files), so a sweep
// never removes a file a live process is writing.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vcsync/vcsync/internal/failpoint"
)

// ErrBusy says another live process is writing a scratch file for the
// same path.
var ErrBusy = errors.New("another process is writing it")

func prefix(final, tag string) string { return "." + filepath.Base(final) + "." + tag + "-" }

// Names lists the scratch files of final with tag.
func Names(final, tag string) []string {
	names, _ := filepath.Glob(filepath.Join(filepath.Dir(final), globEscape(prefix(final, tag))+"*"))
	return names
}

// Sweep removes the unlocked scratch files of final with tag. It returns
// ErrBusy (naming the file) if one is locked by a live process.
func Sweep(final, tag string) error {
	for _, name := range Names(final, tag) {
		busy, err := Locked(name)
		if err != nil {
			continue // gone meanwhile, or not a regular file: not ours to judge
		}
		if busy {
			return fmt.Errorf("%s: %w (%s is locked)", final, ErrBusy, name)
		}
		os.Remove(name)
	}
	return nil
}

// Name sweeps final's debris and returns a fresh scratch path for a bbolt
// file (bbolt creates and locks it).
func Name(final, tag string) (string, error) {
	if err := Sweep(final, tag); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(filepath.Dir(final), prefix(final, tag)+"*")
	if err != nil {
		return "", err
	}
	f.Close()
	os.Remove(f.Name())
	return f.Name(), nil
}

// Create sweeps final's debris and creates a scratch file for a plain
// writer, locked until it is closed.
func Create(final, tag string) (*os.File, error) {
	if err := Sweep(final, tag); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(final), prefix(final, tag)+"*")
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// Locked reports whether another open file description holds a flock on path.
func Locked(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false, err
	}
	defer f.Close() // releases the probe's lock
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

func globEscape(s string) string {
	return strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`).Replace(s)
}

// Commit makes the scratch file f durable and puts it at final: fsync,
// chmod to perm, rename (after the failpoint named point, if any), close
// and an fsync of the directory, so what Commit reports done survives a
// power cut. f stays open, so locked, until it is in place: an unlocked
// scratch file is debris to another writer's sweep. On error f is closed
// and final is as it was.
func Commit(f *os.File, final string, perm os.FileMode, point string) error {
	defer f.Close()
	err := f.Sync()
	if err == nil {
		err = f.Chmod(perm)
	}
	if err != nil {
		return Named(err, f.Name(), final)
	}
	failpoint.Hit(point)
	if err := os.Rename(f.Name(), final); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(final))
}

// WriteFile writes data to final through a scratch file (see Commit):
// final holds either what it held or all of data, never part of it.
func WriteFile(final, tag string, data []byte, perm os.FileMode) error {
	f, err := Create(final, tag)
	if err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	defer os.Remove(f.Name()) // gone already once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return Named(err, f.Name(), final)
	}
	return Commit(f, final, perm, "")
}

// Named rewrites a file error about the scratch file to name the path the
// user gave ("write out.vcx (being written; nothing of it was kept): no
// space left on device"), since the scratch name means nothing to them.
func Named(err error, scratchPath, final string) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path == scratchPath {
		pe.Path = final + " (being written; nothing of it was kept)"
	}
	return err
}

// SyncDir makes a rename or link in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
