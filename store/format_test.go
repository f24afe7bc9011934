package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/storetest"
)

// A format 1 store (with the hash index) is read and written as it is,
// its index kept whole, so an older release can still open it; check still
// holds the index to its blocks. (store/repair's compaction rewrites it as
// format 2.)
func TestFormat1StoreIsKeptAndItsIndexChecked(t *testing.T) {
	chain := linkedChain(600)
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := Open(path, Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendForward(chain[:400]); err != nil {
		t.Fatal(err)
	}
	s.Close()
	storetest.WriteFormat1(t, path)

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("open a format 1 store: %v", err)
	}
	if s.Format() != layout.FormatWithHashIndex {
		t.Fatalf("format %d", s.Format())
	}
	if _, err := s.AppendForward(chain[400:]); err != nil {
		t.Fatal(err)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatalf("check of a format 1 store written by this release: %v", err)
	}
	if h, err := s.Hash(550); err != nil || h != chain[549].Hash() {
		t.Fatalf("hash of 550: %s %v", h, err)
	}
	// Its index is held to its blocks, as before.
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Hashes).Put(layout.Key(7), make([]byte, 64)) })
	var ce *CheckError
	if err := fsck.Check(s, nil); !errors.As(err, &ce) || ce.Height != 7 || !strings.Contains(err.Error(), "hash index") {
		t.Fatalf("check with a broken index entry: %v", err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(layout.Hashes).Put(layout.Key(7), append(chain[6].Hash().Bytes(), chain[6].Header.PrevHash.Bytes()...))
	})
	s.Close()

}

// A store of a format this release does not know is refused by name.
func TestUnknownFormatIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, _ := Open(path, Options{Create: true, Identity: &testID})
	s.AppendForward(linkedChain(3))
	s.Close()
	db, _ := bolt.Open(path, 0o644, nil)
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Meta).Put(layout.KeyFormat, layout.Key(3)) })
	db.Close()
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "format version 3, this vcsync reads 1 and 2") {
		t.Fatalf("open of format 3: %v", err)
	}
}
