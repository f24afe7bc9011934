package repair

import (
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// RepairPlan turns what the check found into indices sync can fix: the
// damaged heights become the gap (or a missing tip) and are refetched.
type RepairPlan struct {
	Damaged  []uint64    `json:"damaged"` // heights found damaged or missing
	Before   store.State `json:"-"`
	After    store.State `json:"-"`
	Dropped  uint64      `json:"dropped"`  // good blocks that must go too: the one-gap model cannot keep them
	Deleted  uint64      `json:"deleted"`  // entries deleted (damaged, dropped and strays)
	Strays   []uint64    `json:"strays"`   // entries outside the indices, deleted
	InPlace  bool        `json:"in_place"` // false: the file itself is damaged; salvage into a new file
	Problems []string    `json:"problems"` // file-level problems that forbid repairing in place
	Nothing  bool        `json:"nothing"`  // the check found nothing to repair
}

// PlanRepair reads the store's problems and plans the repair. A store whose
// bbolt file is damaged (pages, faults) cannot be written safely: the plan
// then says so, and Salvage is the way.
func PlanRepair(s *store.Store, extraBad []uint64) (RepairPlan, error) {
	st, err := s.State()
	if err != nil {
		return RepairPlan{}, err
	}
	p := RepairPlan{Before: st, After: st, InPlace: true, Damaged: []uint64{}, Strays: []uint64{}, Problems: []string{}}
	r, err := fsck.CheckAll(s, 1<<20, nil)
	if err != nil {
		return p, err
	}
	bad := map[uint64]bool{}
	for _, h := range extraBad {
		bad[h] = true
	}
	for _, pr := range r.Problems {
		if pr.Kind == fsck.ProblemIndices {
			// Indices that break the rule are rebuilt from the heights
			// stored: the run up from 1 and the run down from the highest.
			if st, err = derivedState(s); err != nil {
				return p, err
			}
			p.After = st
		}
	}
	for _, pr := range r.Problems {
		switch pr.Kind {
		case fsck.ProblemIndices:
		case fsck.ProblemMissing, fsck.ProblemOutside:
			if p.After != p.Before {
				continue // judged against the rebuilt indices below
			}
			if pr.Kind == fsck.ProblemOutside {
				p.Strays = append(p.Strays, pr.Height)
			} else {
				bad[pr.Height] = true
			}
		case fsck.ProblemFile, fsck.ProblemDamaged:
			p.InPlace = false
			p.Problems = append(p.Problems, pr.Kind+": "+pr.Detail)
		case fsck.ProblemLink:
			// Either side may be the bad one: both are refetched.
			bad[pr.Height], bad[pr.Height-1] = true, true
		case fsck.ProblemHashIndex:
			if pr.Height != 0 && !blockExpected(st, pr.Height) {
				p.Strays = append(p.Strays, pr.Height)
				continue
			}
			bad[pr.Height] = true
		default:
			bad[pr.Height] = true
		}
	}
	if r.Truncated {
		p.InPlace = false
		p.Problems = append(p.Problems, "more problems than one repair can list")
	}
	for h := range bad {
		if h != 0 {
			p.Damaged = append(p.Damaged, h)
		}
	}
	sort.Slice(p.Damaged, func(i, j int) bool { return p.Damaged[i] < p.Damaged[j] })
	if len(p.Damaged) == 0 && len(p.Strays) == 0 && len(p.Problems) == 0 && p.After == p.Before {
		p.Nothing = true
		return p, nil
	}
	if !p.InPlace || len(p.Damaged) == 0 {
		p.Deleted = uint64(len(p.Strays))
		return p, nil
	}
	lo, hi := p.Damaged[0], p.Damaged[len(p.Damaged)-1]
	after := store.State{InOrder: min(st.InOrder, lo-1)}
	switch {
	case st.GapOpen() && hi < st.LastSynced:
		after.LastSynced, after.Top = st.LastSynced, st.Top // damage only in the low run
	case hi < st.Top:
		after.LastSynced, after.Top = hi+1, st.Top
	default:
		// The tip itself is damaged: the upper run is gone; sync finds the tip again.
		after.LastSynced, after.Top = after.InOrder, after.InOrder
	}
	if after.LastSynced == after.InOrder+1 {
		after.InOrder = after.Top // nothing is missing after all
		after.LastSynced = after.Top
	}
	p.After = after
	kept := after.Blocks()
	p.Dropped = st.Blocks() - kept - uint64(countIn(p.Damaged, st))
	p.Deleted = st.Blocks() - kept + uint64(len(p.Strays))
	return p, nil
}

// derivedState reads the stored heights and returns the indices they
// support: 1..a with no gap, and b..top, the run down from the highest.
func derivedState(s *store.Store) (store.State, error) {
	var st store.State
	err := s.View(func(tx *bolt.Tx) error {
		blocks := tx.Bucket(layout.Blocks)
		for blocks.Get(layout.Key(st.InOrder+1)) != nil {
			st.InOrder++
		}
		st.LastSynced, st.Top = st.InOrder, st.InOrder
		k, _ := blocks.Cursor().Last()
		top, ok := layout.Height(k)
		if !ok || top <= st.InOrder {
			return nil
		}
		low := top
		for low-1 > st.InOrder+1 && blocks.Get(layout.Key(low-1)) != nil {
			low--
		}
		st.LastSynced, st.Top = low, top
		return nil
	})
	return st, err
}

// blockExpected reports whether the indices say height h is stored.
func blockExpected(st store.State, h uint64) bool {
	if h == 0 || h > st.Top {
		return false
	}
	return h <= st.InOrder || (st.GapOpen() && h >= st.LastSynced)
}

func countIn(hs []uint64, st store.State) int {
	n := 0
	for _, h := range hs {
		if blockExpected(st, h) {
			n++
		}
	}
	return n
}

// Repair applies a plan in place, in one transaction: everything the new
// indices do not account for is deleted (damaged heights, the good blocks
// the one-gap model cannot keep, strays), and the indices are rewritten.
func Repair(s *store.Store, p RepairPlan) error {
	if !p.InPlace {
		return fmt.Errorf("%w: the bbolt file itself is damaged (%v); only a salvage of its readable blocks into a new file repairs it", store.ErrDamaged, p.Problems)
	}
	if p.Nothing {
		return nil
	}
	after := p.After
	after.LastCommit = p.Before.LastCommit
	return s.Rewrite(store.Rewrite{What: "repair", Before: p.Before, After: after, Keep: func(h uint64) bool { return blockExpected(p.After, h) }})
}
