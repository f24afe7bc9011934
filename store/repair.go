package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// ErrForceNeeded marks a rollback that removes more blocks than its
// limit and was not forced.
var ErrForceNeeded = errors.New("refused without force")

// RollbackPlan is what Rollback removes and the indices it leaves.
type RollbackPlan struct {
	To      uint64 `json:"to"`
	Before  State  `json:"-"`
	After   State  `json:"-"`
	Removed uint64 `json:"removed"` // blocks deleted
	From    uint64 `json:"removed_from,omitempty"`
	Until   uint64 `json:"removed_to,omitempty"`
	// BelowInOrder is how many removed blocks were part of the gap-free
	// run 1..InOrder (on a store without a gap, all of them).
	BelowInOrder uint64 `json:"removed_below_in_order"`
}

// PlanRollback says what rolling back to height to would do. It never
// refuses: whether a plan may be written is Rollback's question.
func (s *Store) PlanRollback(to uint64) (RollbackPlan, error) {
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
		p.After = State{InOrder: to, LastSynced: to, Top: to}
	case to < st.LastSynced:
		// The whole upper run goes: what is left is 1..InOrder.
		p.After = State{InOrder: st.InOrder, LastSynced: st.InOrder, Top: st.InOrder}
	default:
		p.After = State{InOrder: st.InOrder, LastSynced: st.LastSynced, Top: to}
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
// and the new indices, or nothing. The plan is made again inside the
// transaction's view of the store, so a stale plan cannot be applied. A
// plan removing more than maxRemove blocks needs force: a mistyped height
// must not discard a chain's history.
func (s *Store) Rollback(to, maxRemove uint64, force bool) (RollbackPlan, error) {
	p, err := s.PlanRollback(to)
	if err != nil || p.Removed == 0 {
		return p, err
	}
	if p.Removed > maxRemove && !force {
		return p, fmt.Errorf("%w: rolling back to %d removes %d blocks (%d-%d), more than the %d allowed",
			ErrForceNeeded, to, p.Removed, p.From, p.Until, maxRemove)
	}
	err = s.guard(at(to), func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			if cur := layout.ReadState(tx.Bucket(layout.Meta)); cur.InOrder != p.Before.InOrder || cur.LastSynced != p.Before.LastSynced || cur.Top != p.Before.Top {
				return fmt.Errorf("the store changed while the rollback was planned")
			}
			if err := deleteAbove(tx, p.After.Top); err != nil {
				return err
			}
			after := p.After
			after.LastCommit = time.Now() // a rollback is a commit
			return layout.WriteState(tx.Bucket(layout.Meta), after)
		})
	})
	if err == nil {
		failpoint.Hit("after-commit")
	}
	return p, err
}

// deleteAbove removes blocks and hash entries above height h.
func deleteAbove(tx *bolt.Tx, h uint64) error {
	for _, name := range [][]byte{layout.Blocks, layout.Hashes} {
		b := tx.Bucket(name)
		if b == nil {
			continue // a format 2 store has no hashes bucket
		}
		c := b.Cursor()
		for k, _ := c.Seek(layout.Key(h + 1)); k != nil; k, _ = c.Seek(layout.Key(h + 1)) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// RepairPlan turns what the check found into indices sync can fix: the
// damaged heights become the gap (or a missing tip) and are refetched.
type RepairPlan struct {
	Damaged  []uint64 `json:"damaged"` // heights found damaged or missing
	Before   State    `json:"-"`
	After    State    `json:"-"`
	Dropped  uint64   `json:"dropped"`  // good blocks that must go too: the one-gap model cannot keep them
	Deleted  uint64   `json:"deleted"`  // entries deleted (damaged, dropped and strays)
	Strays   []uint64 `json:"strays"`   // entries outside the indices, deleted
	InPlace  bool     `json:"in_place"` // false: the file itself is damaged; salvage into a new file
	Problems []string `json:"problems"` // file-level problems that forbid repairing in place
	Nothing  bool     `json:"nothing"`  // the check found nothing to repair
}

// PlanRepair reads the store's problems and plans the repair. A store whose
// bbolt file is damaged (pages, faults) cannot be written safely: the plan
// then says so, and Salvage is the way.
func (s *Store) PlanRepair(extraBad []uint64) (RepairPlan, error) {
	st, err := s.State()
	if err != nil {
		return RepairPlan{}, err
	}
	p := RepairPlan{Before: st, After: st, InPlace: true, Damaged: []uint64{}, Strays: []uint64{}, Problems: []string{}}
	r, err := s.CheckAll(1<<20, nil)
	if err != nil {
		return p, err
	}
	bad := map[uint64]bool{}
	for _, h := range extraBad {
		bad[h] = true
	}
	for _, pr := range r.Problems {
		if pr.Kind == ProblemIndices {
			// Indices that break the rule are rebuilt from the heights
			// stored: the run up from 1 and the run down from the highest.
			if st, err = s.derivedState(); err != nil {
				return p, err
			}
			p.After = st
		}
	}
	for _, pr := range r.Problems {
		switch pr.Kind {
		case ProblemIndices:
		case ProblemMissing, ProblemOutside:
			if p.After != p.Before {
				continue // judged against the rebuilt indices below
			}
			if pr.Kind == ProblemOutside {
				p.Strays = append(p.Strays, pr.Height)
			} else {
				bad[pr.Height] = true
			}
		case ProblemFile, ProblemDamaged:
			p.InPlace = false
			p.Problems = append(p.Problems, pr.Kind+": "+pr.Detail)
		case ProblemLink:
			// Either side may be the bad one: both are refetched.
			bad[pr.Height], bad[pr.Height-1] = true, true
		case ProblemHashIndex:
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
	after := State{InOrder: min(st.InOrder, lo-1)}
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
func (s *Store) derivedState() (State, error) {
	var st State
	err := s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			blocks := tx.Bucket(layout.Blocks)
			for blocks.Get(layout.Key(st.InOrder+1)) != nil {
				st.InOrder++
			}
			st.LastSynced, st.Top = st.InOrder, st.InOrder
			k, _ := blocks.Cursor().Last()
			if len(k) != 8 {
				return nil
			}
			top := binary.BigEndian.Uint64(k)
			if top <= st.InOrder {
				return nil
			}
			low := top
			for low-1 > st.InOrder+1 && blocks.Get(layout.Key(low-1)) != nil {
				low--
			}
			st.LastSynced, st.Top = low, top
			return nil
		})
	})
	return st, err
}

// blockExpected reports whether the indices say height h is stored.
func blockExpected(st State, h uint64) bool {
	if h == 0 || h > st.Top {
		return false
	}
	return h <= st.InOrder || (st.GapOpen() && h >= st.LastSynced)
}

func countIn(hs []uint64, st State) int {
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
func (s *Store) Repair(p RepairPlan) error {
	if !p.InPlace {
		return fmt.Errorf("%w: the bbolt file itself is damaged (%v); only a salvage of its readable blocks into a new file repairs it", ErrDamaged, p.Problems)
	}
	if p.Nothing {
		return nil
	}
	err := s.guard(nil, func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			if cur := layout.ReadState(tx.Bucket(layout.Meta)); cur.InOrder != p.Before.InOrder || cur.LastSynced != p.Before.LastSynced || cur.Top != p.Before.Top {
				return fmt.Errorf("the store changed while the repair was planned")
			}
			for _, name := range [][]byte{layout.Blocks, layout.Hashes} {
				b := tx.Bucket(name)
				if b == nil {
					continue // a format 2 store has no hashes bucket
				}
				var doomed [][]byte
				c := b.Cursor()
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
					if len(k) != 8 || !blockExpected(p.After, binary.BigEndian.Uint64(k)) {
						doomed = append(doomed, append([]byte(nil), k...))
					}
				}
				for _, k := range doomed {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
			}
			after := p.After
			after.LastCommit = p.Before.LastCommit
			return layout.WriteState(tx.Bucket(layout.Meta), after)
		})
	})
	if err == nil {
		failpoint.Hit("after-commit")
	}
	return err
}

// SalvageReport says what Salvage copied.
type SalvageReport struct {
	Read     uint64 `json:"read"`     // blocks read and decoded
	Copied   uint64 `json:"copied"`   // blocks written to the new store
	Unusable uint64 `json:"unusable"` // stored blocks unreadable, undecodable or outside both linked runs
	// Method is how blocks were found: "bbolt" (through the file's B+tree)
	// or "page scan" (every leaf page read raw, when bbolt cannot reach the
	// tree; blocks removed by an earlier rollback may then come back).
	Method string `json:"method"`
	State  State  `json:"-"`
}

// salvageBatch bounds one transaction of the salvaged copy, in blocks and
// bytes, so memory stays flat in the store's size.
const (
	salvageBatchBlocks = 1000
	salvageBatchBytes  = 8 << 20
	// SalvageMemoryLimit is the soft memory limit repair --out gives the Go
	// runtime: a staging transaction and a copy batch (each at most
	// salvageBatchBytes, and bbolt's page copy of it) with room to spare,
	// so garbage does not double them (BenchmarkSalvageMillion).
	SalvageMemoryLimit = 6 * salvageBatchBytes
)

// Salvage copies every readable, decodable block of the store at src into
// a new store at dst, rebuilding the indices from what it could read: the
// linked run from block 1 up, and the linked run down from the highest
// block. It reads each height in its own guarded transaction, so damage
// costs only the blocks it touches, and writes in bounded batches. src is
// only read, under the shared lock every reader takes (refused while a
// writer holds it). dst is built beside its name and appears only once it
// is complete and checked: a failure (a full disk) leaves no file there.
func Salvage(src, dst string, id *Identity, maxBlock int) (SalvageReport, error) {
	var rep SalvageReport
	if _, err := os.Lstat(dst); err == nil {
		return rep, fmt.Errorf("%s exists: salvage writes a new file", dst)
	}
	sr := &salvageReader{id: id, maxBlock: maxBlock}
	defer sr.close()
	how, err := sr.open(src, dst)
	if err != nil {
		return rep, err
	}
	rep.Method = how
	if sr.id == nil {
		return rep, fmt.Errorf("%s: the chain identity is unreadable: give the chain id and network type", src)
	}
	out, err := Open(dst, Options{Create: true, New: true, Identity: sr.id, MaxBlock: maxBlock, PublishAtClose: true})
	if err != nil {
		return rep, err
	}
	if err := sr.copyRuns(out, &rep); err != nil {
		out.Discard()
		return rep, err
	}
	if rep.Copied == 0 {
		out.Discard()
		return rep, fmt.Errorf("%w: no readable block of chain %d network %d in %s", ErrDamaged, sr.id.ChainID, sr.id.NetworkType, src)
	}
	failpoint.Hit("salvage-copied")
	if rep.State, err = out.State(); err == nil {
		err = out.Check(nil)
	}
	if err != nil {
		out.Discard()
		return rep, fmt.Errorf("salvage into %s: the copy does not check, nothing was kept: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return rep, err
	}
	return rep, nil
}

// copyRuns writes the linked run up from block 1, then the linked run down
// from the highest block, and counts what it read.
func (r *salvageReader) copyRuns(out *Store, rep *SalvageReport) error {
	top := r.top()
	for h := uint64(1); h <= top; h++ {
		if r.block(h) != nil {
			rep.Read++
		}
	}
	var batch []*block.Block
	var batchBytes int
	flush := func(write func([]*block.Block) (State, error)) error {
		if len(batch) == 0 {
			return nil
		}
		_, err := write(batch)
		rep.Copied += uint64(len(batch))
		batch, batchBytes = batch[:0], 0
		failpoint.Hit("salvage-batch")
		return err
	}
	add := func(b *block.Block, write func([]*block.Block) (State, error)) error {
		batch = append(batch, b)
		batchBytes += len(b.Body) + 1024
		if len(batch) >= salvageBatchBlocks || batchBytes >= salvageBatchBytes {
			return flush(write)
		}
		return nil
	}
	// The low run: 1, 2, ... while each links to the one below.
	var low uint64
	var prev common.Hash
	for h := uint64(1); h <= top; h++ {
		b := r.block(h)
		if b == nil || (h > 1 && b.Header.PrevHash != prev) {
			break
		}
		if err := add(b, out.AppendForward); err != nil {
			return err
		}
		low, prev = h, b.Hash()
	}
	if err := flush(out.AppendForward); err != nil {
		return err
	}
	// The high run: down from the highest readable block while linked.
	h := top
	for h > low+1 && r.block(h) == nil {
		h--
	}
	var parent common.Hash
	for first := true; h > low+1; h-- {
		b := r.block(h)
		if b == nil || (!first && b.Hash() != parent) {
			break
		}
		if err := add(b, out.CommitDescending); err != nil {
			return err
		}
		parent, first = b.Header.PrevHash, false
	}
	if err := flush(out.CommitDescending); err != nil {
		return err
	}
	rep.Unusable = r.unreadable + rep.Read - rep.Copied
	return nil
}

// salvageReader reads the blocks of a damaged store by height: through
// bbolt when the file opens and its tree is reachable, else from a staging
// file filled by scanning the leaf pages raw. It learns the chain's
// identity from the store or, failing that, its first block.
type salvageReader struct {
	id         *Identity
	maxBlock   int
	src        *Store   // the store, read through bbolt
	staging    *bolt.DB // or the blocks a page scan found, by height
	stagePath  string
	unreadable uint64 // heights whose bytes could not be read at all
	counted    map[uint64]bool
}

// open opens src and says how its blocks will be read.
func (r *salvageReader) open(src, dst string) (string, error) {
	s, err := Open(src, Options{ReadOnly: true, MaxBlock: r.maxBlock})
	if errors.Is(err, ErrLocked) {
		return "", fmt.Errorf("salvage %s: %w; salvage reads a store only while nothing writes it", src, err)
	}
	if err == nil {
		if r.id == nil {
			r.id = &s.id
		}
		r.src = s
		if r.top() > 0 && r.anyReadable() {
			return "bbolt", nil
		}
		s.Close()
		r.src = nil
	}
	if err := regularFile(src); err != nil {
		return "", err
	}
	return "page scan", r.stage(src, dst)
}

// anyReadable reports whether bbolt reaches at least one block.
func (r *salvageReader) anyReadable() bool {
	for h, top := uint64(1), r.top(); h <= top; h++ {
		if r.block(h) != nil {
			return true
		}
	}
	return false
}

// stage scans src's leaf pages into a staging bbolt file beside dst (the
// first copy of a height found stays: later ones are older copies on freed
// pages), so the runs can be read by height with flat memory.
func (r *salvageReader) stage(src, dst string) error {
	fh, _ := fsck.CheckFile(src)
	pageSize := fh.PageSize
	if pageSize == 0 {
		pageSize = 4096
	}
	var err error
	if r.stagePath, err = scratch.Name(dst, "scan"); err != nil {
		return fmt.Errorf("salvage into %s: %w", dst, err)
	}
	if r.staging, err = bolt.Open(r.stagePath, 0o600, &bolt.Options{NoSync: true}); err != nil {
		return fmt.Errorf("salvage into %s: %w", dst, err)
	}
	tx, err := r.staging.Begin(true)
	if err != nil {
		return err
	}
	bk, _ := tx.CreateBucketIfNotExists(layout.Blocks)
	pending := 0
	scanErr := fsck.ScanLeaves(src, pageSize, func(k, v []byte) {
		if err != nil || len(k) != 8 || len(v) <= 8 || bk.Get(k) != nil {
			return
		}
		b, derr := block.Decode(v, r.maxBlock)
		if derr != nil || b.Height() != binary.BigEndian.Uint64(k) {
			return
		}
		if r.id == nil {
			r.id = &Identity{ChainID: b.Header.VirtualChainID, NetworkType: b.Header.NetworkType}
		}
		if err = bk.Put(append([]byte(nil), k...), append([]byte(nil), v...)); err != nil {
			return
		}
		if pending += len(v); pending >= salvageBatchBytes {
			if err = tx.Commit(); err == nil {
				tx, err = r.staging.Begin(true)
			}
			if err == nil {
				bk = tx.Bucket(layout.Blocks)
			}
			pending = 0
		}
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("salvage into %s: %w", dst, err)
	}
	return tx.Commit()
}

// top is the highest height there may be a block at.
func (r *salvageReader) top() uint64 {
	if r.src != nil {
		return r.src.highestKey()
	}
	var top uint64
	r.staging.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(layout.Blocks).Cursor().Last(); len(k) == 8 {
			top = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return top
}

// block returns the block at h if it reads and decodes, at that height, for
// the chain; nil otherwise.
func (r *salvageReader) block(h uint64) *block.Block {
	var raw []byte
	var err error
	if r.src != nil {
		raw, err = r.src.GetRaw(h)
		if err != nil && !errors.Is(err, ErrNotFound) {
			r.countUnreadable(h)
		}
	} else {
		r.staging.View(func(tx *bolt.Tx) error {
			raw = append([]byte(nil), tx.Bucket(layout.Blocks).Get(layout.Key(h))...)
			return nil
		})
	}
	if len(raw) == 0 {
		return nil
	}
	b, err := block.Decode(raw, r.maxBlock)
	if err != nil || b.Height() != h || b.Header.VirtualChainID != r.id.ChainID || b.Header.NetworkType != r.id.NetworkType {
		r.countUnreadable(h)
		return nil
	}
	return b
}

// countUnreadable counts a height whose stored bytes are unusable once,
// however often it is read.
func (r *salvageReader) countUnreadable(h uint64) {
	if r.counted == nil {
		r.counted = map[uint64]bool{}
	}
	if !r.counted[h] {
		r.counted[h] = true
		r.unreadable++
	}
}

func (r *salvageReader) close() {
	if r.src != nil {
		r.src.Close()
	}
	if r.staging != nil {
		r.staging.Close()
		os.Remove(r.stagePath)
	}
}

// highestKey is the highest height stored, or Top when the cursor cannot
// reach it.
func (s *Store) highestKey() uint64 {
	var top uint64
	s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			if meta := tx.Bucket(layout.Meta); meta != nil {
				top = layout.ReadState(meta).Top
			}
			return nil
		})
	})
	s.guard(nil, func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			if k, _ := tx.Bucket(layout.Blocks).Cursor().Last(); len(k) == 8 {
				top = max(top, binary.BigEndian.Uint64(k))
			}
			return nil
		})
	})
	return top
}
