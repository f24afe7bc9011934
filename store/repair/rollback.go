// Package repair is the store's guts tools, kept apart from the store as
// bbolt keeps its command line apart from its core: rollback, repair in
// place, salvage into a new file, and compaction. Each plans first, then
// writes through the store in one transaction (Store.Rewrite) or into a new
// file that appears only once checked. It knows nothing of peers,
// committees or flags.
package repair

import (
	"errors"
	"fmt"
	"time"

	"github.com/vcsync/vcsync/store"
)

// ErrForceNeeded marks a rollback that removes more blocks than its
// limit and was not forced.
var ErrForceNeeded = errors.New("refused without force")

// RollbackPlan is what Rollback removes and the indices it leaves.
type RollbackPlan struct {
	To      uint64      `json:"to"`
	Before  store.State `json:"-"`
	After   store.State `json:"-"`
	Removed uint64      `json:"removed"` // blocks deleted
	From    uint64      `json:"removed_from,omitempty"`
	Until   uint64      `json:"removed_to,omitempty"`
	// BelowInOrder is how many removed blocks were part of the gap-free
	// run 1..InOrder (on a store without a gap, all of them).
	BelowInOrder uint64 `json:"removed_below_in_order"`
}

// PlanRollback says what rolling s back to height to would do. It never
// refuses: whether a plan may be written is Rollback's question.
func PlanRollback(s *store.Store, to uint64) (RollbackPlan, error) {
	st, err := s.State()
	if err != nil {
		return RollbackPlan{}, err
	}
	p := RollbackPlan{To: to, Before: st, After: st}
	if to >= st.Top {
		return p, nil
	}
	switch {
	case to < st.InOrder || !st.GapOpen():
		p.After = store.State{InOrder: to, LastSynced: to, Top: to}
	case to < st.LastSynced:
		// The whole upper run goes: what is left is 1..InOrder.
		p.After = store.State{InOrder: st.InOrder, LastSynced: st.InOrder, Top: st.InOrder}
	default:
		p.After = store.State{InOrder: st.InOrder, LastSynced: st.LastSynced, Top: to}
	}
	p.Removed = st.Blocks() - p.After.Blocks()
	if to < st.InOrder {
		p.BelowInOrder = st.InOrder - to
	}
	if p.Removed > 0 {
		p.From, p.Until = p.After.Top+1, st.Top
		if st.GapOpen() && p.After.Top >= st.InOrder {
			p.From = max(p.After.Top+1, st.LastSynced) // the gap held nothing to remove
		}
	}
	return p, nil
}

// Rollback applies a plan in one transaction: the blocks above the new Top
// go and the new indices are written, or nothing. The transaction refuses
// a plan made on indices that changed since. A plan removing more than
// maxRemove blocks needs force: a mistyped height must not discard a
// chain's history.
func Rollback(s *store.Store, to, maxRemove uint64, force bool) (RollbackPlan, error) {
	p, err := PlanRollback(s, to)
	if err != nil || p.Removed == 0 {
		return p, err
	}
	if p.Removed > maxRemove && !force {
		return p, fmt.Errorf("%w: rolling back to %d removes %d blocks (%d-%d), more than the %d allowed",
			ErrForceNeeded, to, p.Removed, p.From, p.Until, maxRemove)
	}
	after := p.After
	after.LastCommit = time.Now() // a rollback is a commit
	return p, s.Rewrite(store.Rewrite{What: "rollback", Before: p.Before, After: after, From: p.After.Top + 1})
}
