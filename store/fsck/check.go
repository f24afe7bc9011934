package fsck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// ErrInconsistent matches every error saying a store breaks its own rules:
// what the check finds, and what the store finds while it reads.
var ErrInconsistent = errors.New("store is inconsistent")

// Readable is the store the check walks, through its guarded reads
// (package store's *Store): a fault in the mapped file while fn reads
// becomes a *DamageError near the height near reports.
type Readable interface {
	File() string // the bbolt file the store lives in now
	Identity() chain.Identity
	Format() uint64
	MaxBlock() int
	ViewAt(near func() uint64, fn func(tx *bolt.Tx) error) error
}

// CheckError names the first problem the consistency check found. It
// matches ErrInconsistent with errors.Is.
type CheckError struct {
	Height  uint64 // 0 when the problem is in the meta data
	Problem string
}

func (e *CheckError) Error() string {
	if e.Height == 0 {
		return fmt.Sprintf("store is inconsistent: %s", e.Problem)
	}
	return fmt.Sprintf("store is inconsistent at height %d: %s", e.Height, e.Problem)
}

func (e *CheckError) Is(target error) bool { return target == ErrInconsistent }

// Kinds of problem the check reports.
const (
	ProblemFile        = "file"        // a bbolt meta or page problem
	ProblemDamaged     = "damaged"     // reading made bbolt panic or fault
	ProblemIndices     = "indices"     // InOrder, LastSynced and Top break the rule
	ProblemMissing     = "missing"     // the indices say a block is stored; it is not
	ProblemOutside     = "outside"     // a block is stored where the indices say none is
	ProblemUndecodable = "undecodable" // the stored bytes are not a valid block
	ProblemHeight      = "height"      // the block says another height than its key
	ProblemChain       = "chain"       // the block is for another chain
	ProblemHashIndex   = "hash_index"  // the hash index entry does not match the block
	ProblemLink        = "link"        // the block does not link to its stored parent
)

// Problem is one thing wrong with a store.
type Problem struct {
	Height uint64 `json:"height"` // 0 when not tied to a block
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// CheckReport is everything the check found.
type CheckReport struct {
	Blocks    uint64    `json:"blocks"` // blocks read
	Problems  []Problem `json:"problems"`
	Truncated bool      `json:"truncated,omitempty"` // more problems than the limit
}

// OK reports whether nothing was found.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

type problems struct {
	r   *CheckReport
	max int
}

var errEnough = errors.New("enough problems")

func (p problems) add(h uint64, kind, format string, args ...any) error {
	if len(p.r.Problems) >= p.max {
		p.r.Truncated = true
		return errEnough
	}
	p.r.Problems = append(p.r.Problems, Problem{Height: h, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	return nil
}

// CheckAll reports every problem, up to max (<= 0: 100): the bbolt file's
// meta pages; then a walk of every stored block (it must decode, belong to
// this chain, sit at its key's height, match the hash index and link to its
// stored parent, and the stored heights must be exactly what the indices
// say); then, if the walk read every page without damage, bbolt's own page
// check (tx.Check, as `bbolt check` runs it). progress, if set, is called
// with the number of blocks read.
func CheckAll(s Readable, max int, progress func(done uint64)) (CheckReport, error) {
	if max <= 0 {
		max = 100
	}
	r := CheckReport{Problems: []Problem{}}
	p := problems{&r, max}
	fh, err := CheckFile(s.File())
	if err != nil && !errors.Is(err, ErrDamaged) {
		return r, err
	}
	if err != nil {
		p.add(0, ProblemFile, "%v", err)
		return r, nil
	}
	for _, mp := range fh.MetaProblems {
		if p.add(0, ProblemFile, "%s (bbolt opened the other meta page: the last commit may be lost)", mp) != nil {
			return r, nil
		}
	}
	var near uint64
	w := walker{s: s, p: p, near: &near, progress: progress}
	err = s.ViewAt(func() uint64 { return near }, w.walk)
	var de *DamageError
	switch {
	case errors.As(err, &de):
		p.add(de.Height, ProblemDamaged, "%s; the walk stopped here", de.Detail)
		return r, nil
	case errors.Is(err, errEnough):
		return r, nil
	case err != nil:
		return r, err
	}
	// bbolt checks its pages in a goroutine of its own, where a fault could
	// not be caught: only once the walk read every page without damage.
	err = s.ViewAt(nil, func(tx *bolt.Tx) error {
		for perr := range tx.Check() {
			if p.add(0, ProblemFile, "bbolt page check: %v", perr) != nil {
				for range tx.Check() {
				}
				return nil
			}
		}
		return nil
	})
	return r, err
}

// Check runs CheckAll and returns its first problem as an error (a
// *CheckError), or nil.
func Check(s Readable, progress func(done uint64)) error {
	r, err := CheckAll(s, 1, progress)
	if err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		pr := r.Problems[0]
		return &CheckError{Height: pr.Height, Problem: pr.Kind + ": " + pr.Detail}
	}
	return nil
}

// walker walks a store's blocks in one read transaction.
type walker struct {
	s        Readable
	p        problems
	near     *uint64 // the height being read, for a fault's report
	progress func(uint64)
}

func (w walker) walk(tx *bolt.Tx) error {
	p, near, progress := w.p, w.near, w.progress
	hashIndexed := w.s.Format() == layout.FormatWithHashIndex
	meta, blocks, hashes := tx.Bucket(layout.Meta), tx.Bucket(layout.Blocks), tx.Bucket(layout.Hashes)
	if meta == nil || blocks == nil || (hashIndexed && hashes == nil) {
		return p.add(0, ProblemFile, "a bucket is missing (meta, blocks or, in a format 1 store, hashes)")
	}
	if !hashIndexed {
		hashes = nil // a format 2 store has no index; a stray bucket is not read
	}
	st := layout.ReadState(meta)
	if err := checkIndices(st); err != nil {
		if err := p.add(0, ProblemIndices, "%s", err.(*CheckError).Problem); err != nil {
			return err
		}
	}
	expect := expectedHeights(st)
	where := fmt.Sprintf("indices InOrder %d, LastSynced %d, Top %d", st.InOrder, st.LastSynced, st.Top)
	var (
		prevH    uint64
		prevHash common.Hash
	)
	next, more := expect()
	c := blocks.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			if err := p.add(0, ProblemOutside, "block key %x is not an 8-byte height", k); err != nil {
				return err
			}
			continue
		}
		h := binary.BigEndian.Uint64(k)
		*near = h
		for more && next < h {
			if err := p.add(next, ProblemMissing, "block is missing (%s)", where); err != nil {
				return err
			}
			next, more = expect()
		}
		if !more || next != h {
			if err := p.add(h, ProblemOutside, "block is stored outside the indices (%s)", where); err != nil {
				return err
			}
			continue
		}
		next, more = expect()
		hash, parent, ok, err := w.checkBlock(hashes, h, k, v)
		if err != nil {
			return err
		}
		p.r.Blocks++
		if progress != nil {
			progress(p.r.Blocks)
		}
		if !ok {
			prevH = 0
			continue
		}
		if prevH != 0 && prevH == h-1 && parent != prevHash {
			if err := p.add(h, ProblemLink, "parent hash %s does not link to block %d (%s)", parent.Hex(), prevH, prevHash.Hex()); err != nil {
				return err
			}
		}
		prevH, prevHash = h, hash
	}
	for ; more; next, more = expect() {
		if err := p.add(next, ProblemMissing, "block is missing (%s)", where); err != nil {
			return err
		}
	}
	if hashes == nil {
		return nil
	}
	// A format 1 store's hash index entries with no block behind them.
	hc := hashes.Cursor()
	for k, _ := hc.First(); k != nil; k, _ = hc.Next() {
		if blocks.Get(k) == nil {
			h := uint64(0)
			if len(k) == 8 {
				h = binary.BigEndian.Uint64(k)
			}
			if err := p.add(h, ProblemHashIndex, "hash index entry with no block"); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBlock checks one stored block and returns its hash, its parent's
// hash and whether it is sound; in a format 1 store its hash index entry
// must match it.
func (w walker) checkBlock(hashes *bolt.Bucket, h uint64, k, v []byte) (common.Hash, common.Hash, bool, error) {
	var none common.Hash
	p, id := w.p, w.s.Identity()
	b, err := block.Decode(v, w.s.MaxBlock())
	if err != nil {
		return none, none, false, p.add(h, ProblemUndecodable, "%v", err)
	}
	if b.Height() != h {
		return none, none, false, p.add(h, ProblemHeight, "block says height %d", b.Height())
	}
	if b.Header.VirtualChainID != id.ChainID || b.Header.NetworkType != id.NetworkType {
		return none, none, false, p.add(h, ProblemChain, "block is for chain %d network %d, store holds %s", b.Header.VirtualChainID, b.Header.NetworkType, id)
	}
	hash := b.Hash()
	if hashes != nil {
		idx := hashes.Get(k)
		if len(idx) != 64 || !bytes.Equal(idx[:32], hash[:]) || !bytes.Equal(idx[32:], b.Header.PrevHash[:]) {
			return hash, b.Header.PrevHash, false, p.add(h, ProblemHashIndex, "hash index entry does not match the block")
		}
	}
	return hash, b.Header.PrevHash, true, nil
}

func checkIndices(st chain.State) error {
	noGap := st.InOrder == st.LastSynced && st.LastSynced == st.Top
	gap := st.LastSynced > st.InOrder+1 && st.LastSynced <= st.Top
	if !noGap && !gap {
		return bad(0, "indices InOrder %d, LastSynced %d, Top %d break the rule (InOrder = LastSynced = Top, or InOrder+1 < LastSynced <= Top)",
			st.InOrder, st.LastSynced, st.Top)
	}
	return nil
}

func bad(h uint64, format string, args ...any) error {
	return &CheckError{Height: h, Problem: fmt.Sprintf(format, args...)}
}

// expectedHeights yields the heights the indices say are stored, ascending.
func expectedHeights(st chain.State) func() (uint64, bool) {
	next := uint64(1)
	return func() (uint64, bool) {
		if next > st.InOrder && st.GapOpen() && next < st.LastSynced {
			next = st.LastSynced
		}
		if next > st.Top || (next > st.InOrder && !st.GapOpen()) {
			return 0, false
		}
		h := next
		next++
		return h, true
	}
}
