package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// A scratch file nobody holds is debris of a killed creation: the next
// creation removes it. One still locked belongs to a live creator: the
// second creator is refused and names the store.
func TestCreationRemovesDebrisAndRefusesASecondCreator(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocks.db")
	debris := filepath.Join(dir, ".blocks.db.new-123")
	if err := os.WriteFile(debris, []byte("left by a killed run"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := Open(path, Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := os.Stat(debris); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("debris left: %v", err)
	}
	_, err = Open(path, Options{Create: true, Identity: &testID, LockTimeout: time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another process is creating it") || !strings.Contains(err.Error(), path) {
		t.Fatalf("second creator: %v", err)
	}
}

// A creator that finds, at its first commit, that a store appeared at its
// path meanwhile fails naming that, keeps nothing and touches nothing.
func TestCreatorLosingTheRaceFailsAndKeepsNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocks.db")
	loser, err := Open(path, Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("someone else's"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = loser.AppendForward(linkedChain(3))
	if !errors.Is(err, ErrCreatedElsewhere) || !strings.Contains(err.Error(), path) {
		t.Fatalf("commit after another creator: %v", err)
	}
	loser.Close()
	if got := dirEntries(t, dir); len(got) != 1 {
		t.Fatalf("directory holds %v", got)
	}
	if data, _ := os.ReadFile(path); string(data) != "someone else's" {
		t.Fatal("the other store was touched")
	}
}

// A FIFO, a directory or a device given as a store is refused before it is
// opened (opening a FIFO would block forever).
func TestNonRegularFilesAreRefusedWithoutOpening(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skip("mkfifo:", err)
	}
	for path, kind := range map[string]string{fifo: "a named pipe", dir: "a directory", os.DevNull: "a device"} {
		for _, opts := range []Options{{ReadOnly: true}, {}, {Create: true, Identity: &testID}} {
			_, err := Open(path, opts)
			if err == nil || !strings.Contains(err.Error(), kind) {
				t.Fatalf("open %s (%+v): %v", path, opts, err)
			}
		}
	}
}
