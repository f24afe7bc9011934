package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// writeFormat1 rewrites a store as format 1 laid it out: the hashes
// bucket (height -> hash || parent hash) beside the blocks, and version 1
// in the meta bucket.
func writeFormat1(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		hashes, err := tx.CreateBucket(layout.Hashes)
		if err != nil {
			return err
		}
		c := tx.Bucket(layout.Blocks).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			b, err := block.Decode(v, 0)
			if err != nil {
				return err
			}
			hash := b.Hash()
			if err := hashes.Put(k, append(hash.Bytes(), b.Header.PrevHash.Bytes()...)); err != nil {
				return err
			}
		}
		return tx.Bucket(layout.Meta).Put(layout.KeyFormat, layout.Key(layout.FormatWithHashIndex))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A format 1 store (with the hash index) is read and written as it is,
// its index kept whole, so an older release can still open it; check still
// holds the index to its blocks; compact rewrites it as format 2, without
// the index, smaller, every block and index value the same.
func TestFormat1StoreIsKeptThenCompactedToTheCurrentFormat(t *testing.T) {
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
	writeFormat1(t, path)

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
	if err := s.Check(nil); err != nil {
		t.Fatalf("check of a format 1 store written by this release: %v", err)
	}
	if h, err := s.Hash(550); err != nil || h != chain[549].Hash() {
		t.Fatalf("hash of 550: %s %v", h, err)
	}
	// Its index is held to its blocks, as before.
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Hashes).Put(layout.Key(7), make([]byte, 64)) })
	var ce *CheckError
	if err := s.Check(nil); !errors.As(err, &ce) || ce.Height != 7 || !strings.Contains(err.Error(), "hash index") {
		t.Fatalf("check with a broken index entry: %v", err)
	}
	s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(layout.Hashes).Put(layout.Key(7), append(chain[6].Hash().Bytes(), chain[6].Header.PrevHash.Bytes()...))
	})
	s.Close()

	s, _ = Open(path, Options{ReadOnly: true})
	out := filepath.Join(t.TempDir(), "compacted.db")
	rep, err := s.CompactTo(out)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rep.FormatBefore != 1 || rep.FormatAfter != FormatVersion || rep.Blocks != 600 || rep.DiskAfter >= rep.DiskBefore {
		t.Fatalf("compact of a format 1 store: %+v", rep)
	}
	c, err := Open(out, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Format() != FormatVersion {
		t.Fatalf("compacted store has format %d", c.Format())
	}
	c.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(layout.Hashes) != nil {
			t.Error("the compacted store still has the hashes bucket")
		}
		return nil
	})
	if err := c.Check(nil); err != nil {
		t.Fatalf("check of the compacted store: %v", err)
	}
	if st, _ := c.State(); st.InOrder != 600 || st.Top != 600 {
		t.Fatalf("compacted state %+v", st)
	}
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
