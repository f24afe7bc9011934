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
