package store

import (
	"strings"
	"testing"
)

// Rewrite deletes exactly the heights from From up that Keep does not
// keep, writes the new indices, and refuses a plan whose indices changed
// since, changing nothing.
func TestRewriteDeletesWhatIsNotKeptAndRefusesAStalePlan(t *testing.T) {
	chain := linkedChain(20)
	s := openNew(t)
	if _, err := s.AppendForward(chain); err != nil {
		t.Fatal(err)
	}
	before, _ := s.State()
	stale := before
	stale.Top = 19
	err := s.Rewrite(Rewrite{What: "rollback", Before: stale, After: State{InOrder: 5, LastSynced: 5, Top: 5}, From: 6})
	if err == nil || !strings.Contains(err.Error(), "the store changed while the rollback was planned") {
		t.Fatalf("a stale plan: %v", err)
	}
	mustState(t, s, 20, 20, 20)
	// Keep 1..10 and 16..20: the gap is 11..15.
	after := State{InOrder: 10, LastSynced: 16, Top: 20, LastCommit: before.LastCommit}
	keep := func(h uint64) bool { return h <= 10 || h >= 16 }
	if err := s.Rewrite(Rewrite{What: "repair", Before: before, After: after, From: 3, Keep: keep}); err != nil {
		t.Fatal(err)
	}
	mustState(t, s, 10, 16, 20)
	for h := uint64(1); h <= 20; h++ {
		if has, _ := s.Has(h); has != keep(h) {
			t.Errorf("height %d stored: %v, want %v", h, has, keep(h))
		}
	}
}
