package repair

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/storetest"
	"github.com/vcsync/vcsync/store/internal/swap"
)

// gapStore holds 1..100 and 301..500 of a linked chain.
func gapStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	chain := storetest.LinkedChain(500)
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := store.Open(path, store.Options{Create: true, Identity: &storetest.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendForward(chain[:100]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitDescending(storetest.Desc(chain, 500, 301)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestRollback(t *testing.T) {
	s, _ := gapStore(t)
	p, err := Rollback(s, 400, 100, false)
	if err != nil || p.Removed != 100 || p.BelowInOrder != 0 {
		t.Fatalf("rollback 400: %+v %v", p, err)
	}
	storetest.MustState(t, s, 100, 301, 400)
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
	// Below LastSynced: the whole upper run goes.
	if p, err := Rollback(s, 200, 100, false); err != nil || p.Removed != 100 {
		t.Fatalf("rollback 200: %+v %v", p, err)
	}
	storetest.MustState(t, s, 100, 100, 100)
	// More than the limit needs force, and changes nothing without it;
	// the plan says how much of it was gap-free history.
	p, err = Rollback(s, 50, 49, false)
	if !errors.Is(err, ErrForceNeeded) || p.Removed != 50 || p.BelowInOrder != 50 {
		t.Fatalf("rollback past the limit: %+v %v", p, err)
	}
	storetest.MustState(t, s, 100, 100, 100)
	if _, err := Rollback(s, 50, 49, true); err != nil {
		t.Fatal(err)
	}
	storetest.MustState(t, s, 50, 50, 50)
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
}

func corruptValue(t *testing.T, path string, h uint64, v []byte) {
	t.Helper()
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Blocks).Put(layout.Key(h), v) }); err != nil {
		t.Fatal(err)
	}
}

func TestRepairTurnsDamageIntoTheGap(t *testing.T) {
	s, path := gapStore(t)
	s.Close()
	corruptValue(t, path, 40, []byte("damaged"))
	corruptValue(t, path, 420, []byte("damaged too"))
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := PlanRepair(s, nil)
	if err != nil || !p.InPlace || len(p.Damaged) != 2 {
		t.Fatalf("plan %+v %v", p, err)
	}
	// 41..100 and 301..419 are good but fall inside the new gap 40..420.
	if p.After != (store.State{InOrder: 39, LastSynced: 421, Top: 500}) || p.Dropped != 60+119 {
		t.Fatalf("plan after %+v dropped %d", p.After, p.Dropped)
	}
	if err := Repair(s, p); err != nil {
		t.Fatal(err)
	}
	storetest.MustState(t, s, 39, 421, 500)
	if err := fsck.Check(s, nil); err != nil {
		t.Fatalf("after repair: %v", err)
	}
	if p, _ := PlanRepair(s, nil); !p.Nothing {
		t.Fatalf("second plan: %+v", p)
	}
}

func TestRepairDamagedTipAndBrokenIndices(t *testing.T) {
	s, path := gapStore(t)
	s.Close()
	corruptValue(t, path, 500, []byte("damaged tip"))
	s, _ = store.Open(path, store.Options{})
	p, _ := PlanRepair(s, nil)
	if err := Repair(s, p); err != nil {
		t.Fatal(err)
	}
	storetest.MustState(t, s, 100, 100, 100)
	s.Close()

	// Indices that break the rule are rebuilt from the stored heights.
	db, _ := bolt.Open(path, 0o644, nil)
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Meta).Put(layout.KeyLastSynced, layout.Key(7)) })
	db.Close()
	s, _ = store.Open(path, store.Options{})
	defer s.Close()
	p, err := PlanRepair(s, nil)
	if err != nil || p.After != (store.State{InOrder: 100, LastSynced: 100, Top: 100}) {
		t.Fatalf("plan %+v %v", p, err)
	}
	if err := Repair(s, p); err != nil {
		t.Fatal(err)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSalvageCopiesReadableBlocks(t *testing.T) {
	s, path := gapStore(t)
	s.Close()
	corruptValue(t, path, 60, []byte("damaged"))
	out := filepath.Join(t.TempDir(), "salvaged.db")
	rep, err := Salvage(path, out, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 1..59 from the bottom, 301..500 from the top.
	if rep.Copied != 59+200 || rep.Unusable != 41 || rep.State.InOrder != 59 || rep.State.LastSynced != 301 || rep.State.Top != 500 {
		t.Fatalf("salvage %+v", rep)
	}
	n, _ := store.Open(out, store.Options{ReadOnly: true})
	defer n.Close()
	if err := fsck.Check(n, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Salvage(path, out, nil, 0); err == nil {
		t.Fatal("salvage overwrote an existing file")
	}
}

// A compaction whose copy would take more disk than the store (here: a
// small store copied into 64 KiB pages) keeps the store as it was.
func TestCompactInPlaceNeverGrowsTheStore(t *testing.T) {
	s, path := gapStore(t)
	before, _ := os.ReadFile(path)
	rep, err := compaction{largePagesFrom: 0}.inPlace(s)
	if !errors.Is(err, ErrNotSmaller) || rep.Replaced || rep.DiskAfter <= rep.DiskBefore {
		t.Fatalf("compact in place into large pages: %+v %v", rep, err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the store changed")
	}
	if _, err := os.Stat(swap.CopyPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused copy was left behind: %v", err)
	}
}

func TestCompact(t *testing.T) {
	s, path := gapStore(t)
	out := filepath.Join(t.TempDir(), "compact.db")
	rep, err := CompactTo(s, out)
	if err != nil || rep.Blocks != 300 {
		t.Fatalf("compact: %+v %v", rep, err)
	}
	if _, err := CompactTo(s, out); err == nil {
		t.Fatal("compact overwrote an existing file")
	}
	rep, err = CompactInPlace(s)
	if err != nil || !rep.Replaced {
		t.Fatalf("compact in place: %+v %v", rep, err)
	}
	if _, err := os.Stat(path + ".bak"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("backup left behind: %v", err)
	}
	s.Close()
	n, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	storetest.MustState(t, n, 100, 301, 500)
	if err := fsck.Check(n, nil); err != nil {
		t.Fatal(err)
	}
}
