package commands

import (
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// pageOffsets finds the byte offsets of a branch page and of a leaf page in
// the middle of a bbolt file.
func pageOffsets(t *testing.T, path string) (branch, leaf int64, pageSize int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pageSize = db.Info().PageSize
	var leaves []int
	db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil || p == nil {
				return nil
			}
			id += p.OverflowCount
			switch p.Type {
			case "branch":
				if branch == 0 {
					branch = int64(id * pageSize)
				}
			case "leaf":
				leaves = append(leaves, id)
			}
		}
	})
	if branch == 0 || len(leaves) == 0 {
		t.Fatal("no branch or leaf page found")
	}
	return branch, int64(leaves[len(leaves)/2] * pageSize), pageSize
}

type damageCase struct {
	name string
	// damage changes the file at path (a copy of a healthy store).
	damage func(t *testing.T, path string)
	// opens: the store still opens (bbolt uses its other meta page, or the
	// damage is inside a block); otherwise every command says it is damaged.
	opens bool
	// lost: nothing of the chain is left to salvage.
	lost bool
	// firstBad: the height verify all must name.
	firstBad uint64
}

func truncateAt(off func(t *testing.T, path string) int64) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.Truncate(path, off(t, path)); err != nil {
			t.Fatal(err)
		}
	}
}

func patchAt(off func(t *testing.T, path string) int64, patch func([]byte)) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		patch(data[off(t, path):])
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fixed(n int64) func(*testing.T, string) int64 {
	return func(*testing.T, string) int64 { return n }
}

// pageSizeOf reads the page size from a healthy store's first meta page
// (offset 24: after the page header and the magic and version words).
func pageSizeOf(t *testing.T, path string) int {
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 32 {
		t.Fatalf("read %s: %v", path, err)
	}
	return int(binary.LittleEndian.Uint32(data[16+8:]))
}

// metaPage is the offset of meta page n (0 or 1), plus extra bytes.
func metaPage(n, extra int64) func(*testing.T, string) int64 {
	return func(t *testing.T, p string) int64 { return n*int64(pageSizeOf(t, p)) + extra }
}

// zeroPages clears pages pages from the start of the file.
func zeroPages(pages int) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		size := pageSizeOf(t, path)
		patchAt(fixed(0), func(b []byte) { clear(b[:pages*size]) })(t, path)
	}
}

func flip(b []byte) { b[0] ^= 0xff }

func damageCases() []damageCase {
	branchAt := func(t *testing.T, p string) int64 { b, _, _ := pageOffsets(t, p); return b }
	leafAt := func(t *testing.T, p string) int64 { _, l, _ := pageOffsets(t, p); return l }
	half := func(t *testing.T, p string) int64 { fi, _ := os.Stat(p); return fi.Size() / 2 }
	return []damageCase{
		{name: "empty file", lost: true, damage: truncateAt(fixed(0))},
		{name: "truncated inside meta page 0", lost: true, damage: truncateAt(fixed(40))},
		{name: "truncated inside meta page 1", lost: true, damage: truncateAt(metaPage(1, 30))},
		{name: "truncated at a branch page", damage: truncateAt(func(t *testing.T, p string) int64 { return branchAt(t, p) + 100 })},
		{name: "truncated at a leaf page", damage: truncateAt(func(t *testing.T, p string) int64 { return leafAt(t, p) + 100 })},
		{name: "truncated to half", damage: truncateAt(half)},
		{name: "random bytes", lost: true, damage: func(t *testing.T, path string) {
			data := make([]byte, 1<<20)
			rand.New(rand.NewSource(1)).Read(data)
			os.WriteFile(path, data, 0o644)
		}},
		{name: "zeroed meta page 0", opens: true, damage: zeroPages(1)},
		{name: "flipped byte in meta page 0", opens: true, damage: patchAt(fixed(16+20), flip)},
		{name: "flipped byte in meta page 1", opens: true, damage: patchAt(metaPage(1, 16+20), flip)},
		{name: "both meta pages zeroed", damage: zeroPages(2)},
		{name: "flipped byte in a branch page", opens: true,
			damage: patchAt(func(t *testing.T, p string) int64 { return branchAt(t, p) + 16 + 15 }, flip)}, // high byte of a child page id
		{name: "flipped byte in a block value", opens: true, firstBad: 450, damage: func(t *testing.T, path string) {
			db, _ := bolt.Open(path, 0o644, nil)
			defer db.Close()
			db.Update(func(tx *bolt.Tx) error {
				var k [8]byte
				binary.BigEndian.PutUint64(k[:], 450)
				v := append([]byte(nil), tx.Bucket([]byte("blocks")).Get(k[:])...)
				v[len(v)/2] ^= 0x01
				return tx.Bucket([]byte("blocks")).Put(k[:], v)
			})
		}},
		{name: "indices disagree with the blocks", opens: true, damage: func(t *testing.T, path string) { setIndices(t, path, 800) }},
	}
}

// TestDamagedStores damages a healthy 600-block store the ways disks and
// people do and runs vcsync on it in a child process: no crash, the right
// exit code and message, the file unchanged by every reading command; then
// repair (in place, or salvage into a new file) and sync from an honest
// peer restore a store identical to the original, block for block.
func TestDamagedStores(t *testing.T) {
	t.Parallel()
	src := genStore(t, "600", "")
	good := filepath.Join(src, "blocks.db")
	mgmt := filepath.Join(src, "management.json")
	honest := "file://" + good
	for _, tc := range damageCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // every command here is a child process, each case in its own directory
			dir := t.TempDir()
			db := filepath.Join(dir, "blocks.db")
			data, _ := os.ReadFile(good)
			os.WriteFile(db, data, 0o644)
			tc.damage(t, db)
			before := fileSum(t, db)

			reads := [][]string{
				{"inspect", "--store", db},
				{"inspect", "--store", db, "--json"},
				{"inspect", "--store", db, "--block", "450"},
				{"inspect", "--store", db, "--check", "--json"},
				{"verify", "all", "--store", db, "--committee-file", mgmt, "--json"},
				{"export", "--store", db, "--from", "1", "--to", "100", "--out", filepath.Join(dir, "x.vcx")},
				{"repair", "--store", db},
				{"rollback", "--store", db, "--to", "590"},
			}
			for _, args := range reads {
				_, errs, code := runChild(t, args...)
				if !tc.opens && (code != ExitFailed || !strings.Contains(errs, "store file is damaged")) {
					t.Errorf("%s: exit %d, want 1 saying the file is damaged: %s", strings.Join(args, " "), code, errs)
				}
				if fileSum(t, db) != before {
					t.Fatalf("%s changed the file", strings.Join(args, " "))
				}
			}
			out, _, code := runChild(t, "inspect", "--store", db, "--check", "--json")
			if code != ExitFailed {
				t.Fatalf("inspect --check on a damaged store: exit %d\n%s", code, out)
			}
			if tc.opens {
				var r CheckReport
				if err := json.Unmarshal([]byte(out), &r); err != nil || r.OK || len(r.Problems) == 0 {
					t.Fatalf("check report %q: %v", out, err)
				}
			}

			if tc.firstBad != 0 {
				out, _, code := runChild(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--json")
				var r struct {
					FirstBad uint64 `json:"first_bad"`
					Reason   string `json:"reason"`
				}
				if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitFailed || r.FirstBad != tc.firstBad || r.Reason == "" {
					t.Fatalf("verify all: exit %d, %q: %v", code, out, err)
				}
			}

			// A damaged file used as a peer is dropped; the run goes on with the honest one.
			node := filepath.Join(dir, "node.db")
			out, errs, code := runChild(t, "sync", "--store", node, "--chain-id", "42", "--network-type", "2",
				"--committee-file", mgmt, "--peer", "file://"+db, "--peer", honest, "--json")
			if code != ExitOK {
				t.Fatalf("sync beside a damaged file peer: exit %d %s\n%s", code, errs, out)
			}
			if fileSum(t, db) != before {
				t.Fatal("syncing from it changed the damaged file")
			}

			// Repair: in place when the bbolt file allows it, else salvage.
			fixedDB := db
			if _, _, code := runChild(t, "repair", "--store", db, "--yes"); code != ExitOK {
				fixedDB = filepath.Join(dir, "salvaged.db")
				out, errs, code := runChild(t, "repair", "--store", db, "--out", fixedDB)
				if tc.lost {
					if code == ExitOK {
						t.Fatalf("salvaged something from a file with nothing left: %s", out)
					}
					return // nothing is readable: a sync into a new store is the repair
				}
				if code != ExitOK {
					t.Fatalf("salvage: exit %d %s", code, errs)
				}
				t.Logf("salvage: %s", strings.TrimSpace(out))
			}
			if out, errs, code := runChild(t, "sync", "--store", fixedDB, "--committee-file", mgmt, "--peer", honest); code != ExitOK {
				t.Fatalf("sync after repair: exit %d %s\n%s", code, errs, out)
			}
			mustEqualStores(t, good, fixedDB)
		})
	}
}
