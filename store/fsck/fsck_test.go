package fsck_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store/fsck"
)

// boltFile writes a real bbolt file of n keys with 1 KiB values, on 4 KiB pages.
func boltFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.db")
	db, err := bolt.Open(path, 0o644, &bolt.Options{PageSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("blocks"))
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], uint64(i+1))
			if err := b.Put(k[:], []byte(fmt.Sprintf("%01024d", i+1))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

func TestCheckFile(t *testing.T) {
	t.Parallel()
	good := boltFile(t, 200)
	fh, err := fsck.CheckFile(good)
	if err != nil || fh.PageSize != 4096 || fh.Need > fh.Size || len(fh.MetaProblems) != 0 {
		t.Fatalf("a healthy file: %+v %v", fh, err)
	}
	data, _ := os.ReadFile(good)
	cases := []struct {
		name   string
		file   []byte
		opens  bool   // one meta page is still good
		detail string // in the error (or the problems) when not
	}{
		{"empty", nil, false, "empty"},
		{"truncated to half", data[:len(data)/2], false, "truncated"},
		{"meta page 0 flipped", flipped(data, 16+20), true, "meta page 0: checksum mismatch"},
		{"both meta pages zeroed", zeroed(data, 0, 2*4096), false, "neither meta page is valid"},
		{"not bbolt", []byte(strings.Repeat("junk", 4096)), false, "neither meta page is valid"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "d.db")
		os.WriteFile(path, tc.file, 0o644)
		fh, err := fsck.CheckFile(path)
		if tc.opens {
			if err != nil || !strings.Contains(strings.Join(fh.MetaProblems, "; "), tc.detail) {
				t.Errorf("%s: %+v %v; want it to open, naming %q", tc.name, fh, err, tc.detail)
			}
			continue
		}
		var de *fsck.DamageError
		if !errors.As(err, &de) || !errors.Is(err, fsck.ErrDamaged) || !strings.Contains(err.Error(), tc.detail) {
			t.Errorf("%s: %v; want a damage error naming %q", tc.name, err, tc.detail)
		}
	}
}

// The raw scan finds every key of a file whose tree is unreachable, and
// nothing it finds is taken for more than the bytes of a leaf page.
func TestScanLeavesWithoutTheTree(t *testing.T) {
	t.Parallel()
	path := boltFile(t, 300)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, zeroed(data, 0, 2*4096), 0o644) // both meta pages gone: bbolt cannot open it
	seen := map[uint64]bool{}
	err := fsck.ScanLeaves(path, 4096, func(k, v []byte) {
		if len(k) == 8 && len(v) == 1024 {
			seen[binary.BigEndian.Uint64(k)] = true
		}
	})
	if err != nil || len(seen) != 300 {
		t.Fatalf("scan found %d of 300 keys: %v", len(seen), err)
	}
}

func flipped(data []byte, at int) []byte {
	out := append([]byte(nil), data...)
	out[at] ^= 0xff
	return out
}

func zeroed(data []byte, from, to int) []byte {
	out := append([]byte(nil), data...)
	clear(out[from:to])
	return out
}
