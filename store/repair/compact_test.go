package repair

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/storetest"
)

// A writer waiting for the lock while compact --replace swaps the file
// writes into the file the path names afterwards, not into the old one.
func TestWriterWaitingThroughCompactReplaceWritesTheNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocks.db")
	chain := storetest.LinkedChain(20)
	s, err := store.Open(path, store.Options{Create: true, Identity: &storetest.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendForward(chain[:10]); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(path)
	type opened struct {
		s   *store.Store
		err error
	}
	waiter := make(chan opened, 1)
	go func() {
		w, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
		waiter <- opened{w, err}
	}()
	// Wait (by condition, not by time) until the waiter has the old file open.
	for deadline := time.Now().Add(10 * time.Second); openCount(t, old) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never opened the file")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := CompactInPlace(s); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.Stat(path); os.SameFile(now, old) {
		t.Fatal("compact --replace did not swap the file")
	}
	s.Close()
	got := <-waiter
	if got.err != nil {
		t.Fatal(got.err)
	}
	if _, err := got.s.AppendForward(chain[10:]); err != nil {
		t.Fatal(err)
	}
	got.s.Close()
	r, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	storetest.MustState(t, r, 20, 20, 20)
}

// openCount counts this process's open descriptors on the file fi names.
func openCount(t *testing.T, fi os.FileInfo) int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		if st, err := os.Stat(filepath.Join("/proc/self/fd", fd.Name())); err == nil && os.SameFile(st, fi) {
			n++
		}
	}
	return n
}

// compact rewrites a format 1 store (with the hash index) as format 2,
// without the index, smaller, every block and index value the same.
func TestCompactRewritesAFormat1StoreInTheCurrentFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := store.Open(path, store.Options{Create: true, Identity: &storetest.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendForward(storetest.LinkedChain(600)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	storetest.WriteFormat1(t, path)
	s, err = store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "compacted.db")
	rep, err := CompactTo(s, out)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rep.FormatBefore != 1 || rep.FormatAfter != store.FormatVersion || rep.Blocks != 600 || rep.DiskAfter >= rep.DiskBefore {
		t.Fatalf("compact of a format 1 store: %+v", rep)
	}
	c, err := store.Open(out, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Format() != store.FormatVersion {
		t.Fatalf("compacted store has format %d", c.Format())
	}
	c.View(func(tx *bolt.Tx) error {
		if tx.Bucket(layout.Hashes) != nil {
			t.Error("the compacted store still has the hashes bucket")
		}
		return nil
	})
	if err := fsck.Check(c, nil); err != nil {
		t.Fatalf("check of the compacted store: %v", err)
	}
	if st, _ := c.State(); st.InOrder != 600 || st.Top != 600 {
		t.Fatalf("compacted state %+v", st)
	}
}
