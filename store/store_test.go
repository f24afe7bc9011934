package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
	"github.com/vcsync/vcsync/store/internal/storetest"
)

// The test chains are storetest's.
var (
	testID      = storetest.ID
	linkedChain = storetest.LinkedChain
	desc        = storetest.Desc
	mustState   = storetest.MustState
)

func openNew(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "blocks.db"), Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustRefuse(t *testing.T, err error, wantHeight uint64, wantText string) {
	t.Helper()
	var re *RuleError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("error %v, want a refused write", err)
	}
	if re.Height != wantHeight || !strings.Contains(re.Error(), wantText) {
		t.Fatalf("refusal %q, want height %d and %q", re.Error(), wantHeight, wantText)
	}
}

func TestReverseSyncIndices(t *testing.T) {
	chain := linkedChain(10)
	s := openNew(t)
	mustState(t, s, 0, 0, 0)

	// A new run from the tip opens the gap 1..6.
	if _, err := s.CommitDescending(desc(chain, 10, 7)); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 0, 7, 10)
	if g := (State{InOrder: 0, LastSynced: 7, Top: 10}).Gaps(); len(g) != 1 || g[0] != (Range{From: 1, To: 6}) {
		t.Fatalf("gaps %v", g)
	}
	if _, err := s.CommitDescending(desc(chain, 6, 2)); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 0, 2, 10)
	// Filling InOrder+1 closes the gap.
	st, err := s.CommitDescending(desc(chain, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 10, 10, 10)
	if st.Blocks() != 10 || len(st.Gaps()) != 0 || st.LastCommit.IsZero() {
		t.Fatalf("state after closing: %+v", st)
	}
}

func TestGapClosingLinksToInOrder(t *testing.T) {
	chain := linkedChain(12)
	s := openNew(t)
	if _, err := s.CommitDescending(desc(chain, 4, 1)); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 4, 4, 4)
	if _, err := s.CommitDescending(desc(chain, 12, 6)); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 4, 6, 12)

	// Blocks 5 and 6 of another history: 5 links up to 6 but not down to 4.
	fork := linkedChain(6)
	fork[4].Header.PrevHash = common.HexToHash("0xbad")
	fork[5].Header.PrevHash = fork[4].Hash()
	s2 := openNew(t)
	if _, err := s2.CommitDescending(desc(chain, 4, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.CommitDescending([]*block.Block{fork[5]}); err != nil {
		t.Fatal(err)
	}
	_, err := s2.CommitDescending([]*block.Block{fork[4]})
	mustRefuse(t, err, 5, "does not match stored block 4")
	mustState(t, s2, 4, 6, 6)
}

func TestWriteRulesRefuse(t *testing.T) {
	chain := linkedChain(20)
	s := openNew(t)
	if _, err := s.CommitDescending(desc(chain, 20, 15)); err != nil {
		t.Fatal(err)
	}

	_, err := s.CommitDescending(desc(chain, 13, 13))
	mustRefuse(t, err, 13, "only height 14 may be written")

	_, err = s.CommitDescending([]*block.Block{linkedChain(30)[25]})
	mustRefuse(t, err, 26, "only height 14 may be written")

	forged := *chain[13]
	forged.Body = []byte("forged")
	forged.Seal()
	_, err = s.CommitDescending([]*block.Block{&forged})
	mustRefuse(t, err, 14, "does not link to stored block 15")

	_, err = s.AppendForward([]*block.Block{chain[0]})
	mustRefuse(t, err, 1, "close it before appending")

	other := *chain[13]
	other.Header.VirtualChainID = 7
	_, err = s.CommitDescending([]*block.Block{&other})
	mustRefuse(t, err, 14, "chain 7")

	mustState(t, s, 0, 15, 20)

	// With no gap, a descending run may not rewrite stored heights.
	s2 := openNew(t)
	if _, err := s2.CommitDescending(desc(chain, 5, 1)); err != nil {
		t.Fatal(err)
	}
	_, err = s2.CommitDescending(desc(chain, 5, 5))
	mustRefuse(t, err, 5, "already stored")
	// Top+1 must link to Top.
	stray := linkedChain(6)[5]
	stray.Header.PrevHash = common.HexToHash("0x01")
	_, err = s2.CommitDescending([]*block.Block{stray})
	mustRefuse(t, err, 6, "does not match stored block 5")
	mustState(t, s2, 5, 5, 5)
}

func TestAppendForward(t *testing.T) {
	chain := linkedChain(8)
	s := openNew(t)
	if _, err := s.AppendForward(chain[:5]); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 5, 5, 5)
	_, err := s.AppendForward(chain[6:7])
	mustRefuse(t, err, 7, "must write Top+1 = 6")
	if _, err := s.AppendForward(chain[5:]); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 8, 8, 8)
}

func TestChunkIsAtomic(t *testing.T) {
	chain := linkedChain(10)
	s := openNew(t)
	if _, err := s.CommitDescending(desc(chain, 10, 8)); err != nil {
		t.Fatal(err)
	}
	before, _ := s.State()
	// 7, 6 are fine; the third block skips a height, so the whole chunk fails.
	chunk := append(desc(chain, 7, 6), chain[3])
	_, err := s.CommitDescending(chunk)
	mustRefuse(t, err, 4, "only height 5 may be written")
	after, _ := s.State()
	if after != before {
		t.Fatalf("indices moved on a failed chunk: %+v -> %+v", before, after)
	}
	for _, h := range []uint64{7, 6} {
		if ok, _ := s.Has(h); ok {
			t.Fatalf("block %d of the failed chunk was stored", h)
		}
	}
	mustState(t, s, 0, 8, 10)
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "blocks.db")

	if _, err := Open(path, Options{ReadOnly: true}); !errors.Is(err, ErrNotExist) {
		t.Fatalf("read-only open of a missing store: %v", err)
	}
	if _, err := Open(path, Options{Create: true}); err == nil || !strings.Contains(err.Error(), "chain id") {
		t.Fatalf("create without identity: %v", err)
	}
	s, err := Open(path, Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A new store that never held a block leaves no file.
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an empty new store was left behind: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("scratch files left behind: %v", entries)
	}
	s, _ = Open(path, Options{Create: true, Identity: &testID})
	if _, err := s.AppendForward(linkedChain(1)); err != nil {
		t.Fatal(err)
	}
	// It is in place from its first commit on, under its own name only.
	if got := dirEntries(t, dir); len(got) != 1 || got[0] != "blocks.db" {
		t.Fatalf("after the first commit the directory holds %v", got)
	}
	s.Close()
	other := Identity{NetworkType: 2, ChainID: 43}
	if _, err := Open(path, Options{Identity: &other}); !errors.Is(err, ErrIdentity) {
		t.Fatalf("open with another chain id: %v", err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Identity() != testID {
		t.Fatalf("identity %v", ro.Identity())
	}
	ro.Close()

	// A bbolt file that is not a vcsync store.
	plain := filepath.Join(dir, "plain.db")
	db, _ := bolt.Open(plain, 0o644, nil)
	db.Close()
	if _, err := Open(plain, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "not a vcsync store") {
		t.Fatalf("open of a foreign bbolt file: %v", err)
	}

	// Another application's bbolt file, opened to write a store into it,
	// is refused and left exactly as it was; one with a "meta" bucket of
	// its own is not read as format version 0.
	for _, bucket := range []string{"users", "meta"} {
		foreign := filepath.Join(dir, bucket+".db")
		db, _ := bolt.Open(foreign, 0o644, nil)
		db.Update(func(tx *bolt.Tx) error {
			b, _ := tx.CreateBucket([]byte(bucket))
			return b.Put([]byte("alice"), []byte("1"))
		})
		db.Close()
		before, _ := os.ReadFile(foreign)
		_, err := Open(foreign, Options{Create: true, Identity: &testID})
		if !errors.Is(err, ErrNotVcsync) {
			t.Fatalf("a bbolt file with bucket %q opened to write: %v", bucket, err)
		}
		if after, _ := os.ReadFile(foreign); !bytes.Equal(before, after) {
			t.Fatalf("the file with bucket %q was changed", bucket)
		}
	}
}

func TestLockContention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blocks.db")
	writer, err := Open(path, Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	writer.AppendForward(linkedChain(1))
	writer.Close()
	writer, _ = Open(path, Options{})
	defer writer.Close()

	start := time.Now()
	_, err = Open(path, Options{ReadOnly: true, LockTimeout: 300 * time.Millisecond})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "store is locked by another process (is the node running?)") {
		t.Fatalf("message %q", err)
	}
	// bbolt retries the lock every 50ms, so it gives up within one step of the timeout.
	if elapsed < 200*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("gave up after %v, want about the 300ms timeout", elapsed)
	}
}

func TestCheckFindsCorruption(t *testing.T) {
	chain := linkedChain(6)
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := Open(path, Options{Create: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendForward(chain); err != nil {
		t.Fatal(err)
	}
	s.Close()

	corrupt := func(f func(tx *bolt.Tx) error) {
		db, err := bolt.Open(path, 0o644, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(f); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	check := func() error {
		s, err := Open(path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		return fsck.Check(s, nil)
	}
	if err := check(); err != nil {
		t.Fatalf("clean store: %v", err)
	}

	// Replace block 4 with a block from another history.
	alien := *chain[3]
	alien.Body = []byte("alien")
	alien.Seal()
	enc, _ := alien.Encode()
	corrupt(func(tx *bolt.Tx) error { return tx.Bucket(layout.Blocks).Put(layout.Key(4), enc) })
	var ce *CheckError
	if err := check(); !errors.As(err, &ce) || ce.Height != 5 || !strings.Contains(err.Error(), "does not link to block 4") {
		t.Fatalf("check after corrupting block 4: %v", err)
	}

	// Delete block 3: the indices now promise a missing block.
	good, _ := chain[3].Encode()
	corrupt(func(tx *bolt.Tx) error {
		if err := tx.Bucket(layout.Blocks).Put(layout.Key(4), good); err != nil {
			return err
		}
		return tx.Bucket(layout.Blocks).Delete(layout.Key(3))
	})
	if err := check(); !errors.As(err, &ce) || ce.Height != 3 || !strings.Contains(err.Error(), "block is missing") {
		t.Fatalf("check after deleting block 3: %v", err)
	}

	// Indices that break the model.
	corrupt(func(tx *bolt.Tx) error { return tx.Bucket(layout.Meta).Put(layout.KeyLastSynced, layout.Key(2)) })
	if err := check(); !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "break the rule") {
		t.Fatalf("check with bad indices: %v", err)
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	chain := linkedChain(10)
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, _ := Open(path, Options{Create: true, Identity: &testID})
	if _, err := s.AppendForward(chain); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, _ := bolt.Open(path, 0o644, nil)
	db.Update(func(tx *bolt.Tx) error {
		tx.Bucket(layout.Blocks).Put(layout.Key(2), []byte("not a block"))
		tx.Bucket(layout.Blocks).Delete(layout.Key(5))
		return tx.Bucket(layout.Blocks).Put(layout.Key(12), []byte("stray"))
	})
	db.Close()
	s, _ = Open(path, Options{ReadOnly: true})
	defer s.Close()
	r, err := fsck.CheckAll(s, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range r.Problems {
		got = append(got, fmt.Sprintf("%d:%s", p.Height, p.Kind))
	}
	if fmt.Sprint(got) != "[2:undecodable 5:missing 12:outside]" || r.Blocks != 9 {
		t.Fatalf("problems %v, blocks %d", got, r.Blocks)
	}
	if r, _ := fsck.CheckAll(s, 2, nil); len(r.Problems) != 2 || !r.Truncated {
		t.Fatalf("limit 2: %+v", r)
	}
}

func TestCheckFindsBrokenLink(t *testing.T) {
	chain := linkedChain(5)
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, _ := Open(path, Options{Create: true, Identity: &testID})
	if _, err := s.AppendForward(chain); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Rewrite block 3 with a wrong parent hash.
	b := *chain[2]
	b.Header.PrevHash = common.HexToHash("0x0123")
	enc, _ := b.Encode()
	db, _ := bolt.Open(path, 0o644, nil)
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Blocks).Put(layout.Key(3), enc) })
	db.Close()
	s, _ = Open(path, Options{ReadOnly: true})
	defer s.Close()
	var ce *CheckError
	if err := fsck.Check(s, nil); !errors.As(err, &ce) || ce.Height != 3 || !strings.Contains(err.Error(), "does not link to block 2") {
		t.Fatalf("check: %v", err)
	}
}

func TestReverseSyncedStoreIsCompact(t *testing.T) {
	chain := linkedChain(3000)
	for _, b := range chain {
		b.Body = make([]byte, 900)
		b.Seal()
	}
	// Re-link after changing the bodies.
	for i := 1; i < len(chain); i++ {
		chain[i].Header.PrevHash = chain[i-1].Hash()
	}
	s := openNew(t)
	for hi := uint64(3000); hi >= 1; hi -= 100 {
		if _, err := s.CommitDescending(desc(chain, hi, hi-99)); err != nil {
			t.Fatal(err)
		}
	}
	// bbolt grows the file in power-of-two steps, so measure the pages:
	// how much of the allocated leaf space holds data.
	var stats bolt.BucketStats
	s.db.View(func(tx *bolt.Tx) error {
		stats = tx.Bucket(layout.Blocks).Stats()
		return nil
	})
	// Three ~1 KiB blocks fit a 4 KiB page, so about 75% is the ceiling;
	// splits at bbolt's default 50% left the leaves 51% used.
	if fill := float64(stats.LeafInuse) / float64(stats.LeafAlloc); fill < 0.7 {
		t.Fatalf("block pages are %.0f%% used (%d of %d bytes)", 100*fill, stats.LeafInuse, stats.LeafAlloc)
	}
}

// A long run of commits reopens the file now and then so bbolt's per-open
// bookkeeping stays bounded; readers on other goroutines carry on across
// the reopens and every block stays where it was written.
func TestReopenBoundsBookkeeping(t *testing.T) {
	s := openNew(t)
	s.reopenAfter = 40
	chain := linkedChain(600)
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(readErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.State(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	var peak int64
	for hi := uint64(600); hi > 0; hi -= 5 {
		if _, err := s.CommitDescending(desc(chain, hi, hi-4)); err != nil {
			t.Fatal(err)
		}
		s.mu.RLock()
		st := s.db.Stats()
		s.mu.RUnlock()
		peak = max(peak, st.TxStats.GetPageCount())
	}
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatalf("reader during reopens: %v", err)
	}
	if peak >= s.reopenAfter+20 {
		t.Fatalf("%d pages allocated through one open; want a reopen after %d", peak, s.reopenAfter)
	}
	mustState(t, s, 600, 600, 600)
	for _, b := range chain {
		got, err := s.Get(b.Height())
		if err != nil || got.Hash() != b.Hash() {
			t.Fatalf("block %d after reopens: %v", b.Height(), err)
		}
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
}

// If another process takes the lock while the store reopens, the commit
// that triggered the reopen stands, every later use says the store is
// locked, and the file holds exactly what was committed.
func TestReopenLosesLockCleanly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := Open(path, Options{Create: true, Identity: &testID, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var intruder *bolt.DB
	s.reopenAfter = 1
	s.betweenReopen = func(path string) {
		var err error
		if intruder, err = bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second}); err != nil {
			t.Errorf("take the lock: %v", err)
		}
	}
	chain := linkedChain(10)
	st, err := s.CommitDescending(desc(chain, 10, 6))
	if err != nil || st.LastSynced != 6 {
		t.Fatalf("the commit before the reopen: %v %+v", err, st)
	}
	if _, err := s.CommitDescending(desc(chain, 5, 1)); !errors.Is(err, ErrLocked) {
		t.Fatalf("commit after losing the lock: %v, want ErrLocked", err)
	}
	if _, err := s.State(); !errors.Is(err, ErrLocked) {
		t.Fatalf("state after losing the lock: %v, want ErrLocked", err)
	}
	if err := s.Close(); !errors.Is(err, ErrLocked) {
		t.Fatalf("close: %v", err)
	}
	if intruder == nil {
		t.Fatal("the intruder never opened the file")
	}
	intruder.Close()
	again, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("the new store was not put in place: %v", err)
	}
	defer again.Close()
	mustState(t, again, 0, 6, 10)
}

// A writer of a new store (salvage) refuses a path another process filled
// since it looked, rather than opening that store and writing into it.
func TestNewStoreRefusesAPathThatExists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "blocks.db")
	s, err := Open(path, Options{Create: true, New: true, Identity: &testID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitDescending(desc(linkedChain(3), 3, 1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{Create: true, New: true, Identity: &testID}); !errors.Is(err, ErrExists) {
		t.Fatalf("a new store over an existing one: %v, want ErrExists", err)
	}
	if again, err := Open(path, Options{Create: true, Identity: &testID}); err != nil {
		t.Fatalf("without New the store opens as it is: %v", err)
	} else {
		mustState(t, again, 3, 3, 3)
		again.Close()
	}
}
