// Package verify decides which blocks vcsync may trust: hash links, block
// proofs (weighted quorum, honest stake) and the tip rule, against the
// committee a committee.Source names for each block's parent's reference
// time, and the audit of a stored chain. Where committees come from
// (Ethereum, documents) is the committee packages' business.
package verify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/committee"
)

// DefaultHonestyGrace is how long a committee is assumed to stay honest
// after its reference time: the PoS contracts' exit cooling period.
const DefaultHonestyGrace = 12 * time.Hour

// Verifier checks blocks of one chain against a committee source.
type Verifier struct {
	Source      committee.Source
	ChainID     uint32
	NetworkType uint32
	Grace       time.Duration    // honesty grace for the tip rule; 0 means DefaultHonestyGrace
	Now         func() time.Time // the clock for the tip rule; nil means time.Now
	Workers     int              // parallel signature checks; 0 means GOMAXPROCS

	// slots bounds the signature checks running at once across every
	// concurrent VerifyDescending: callers may verify the next chunk while
	// the last one finishes, and more recoveries than cores only adds
	// thread switching to cgo calls.
	slotsOnce sync.Once
	slots     chan struct{}

	recoveries atomic.Uint64 // signature recoveries performed, for benchmarks and tests
}

// Recoveries is the number of signature recoveries v has performed.
func (v *Verifier) Recoveries() uint64 { return v.recoveries.Load() }

// Refresh asks the committee source to learn what it can since it was
// read (a newer document, new Ethereum events), if it is a source that
// can; a follower calls it between rounds.
func (v *Verifier) Refresh(ctx context.Context) error {
	if r, ok := v.Source.(committee.Refresher); ok {
		return r.Refresh(ctx)
	}
	return nil
}

func (v *Verifier) checkSlots() chan struct{} {
	v.slotsOnce.Do(func() {
		workers := v.Workers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		v.slots = make(chan struct{}, workers)
	})
	return v.slots
}

func (v *Verifier) grace() time.Duration {
	if v.Grace <= 0 {
		return DefaultHonestyGrace
	}
	return v.Grace
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

// Segment is a run of blocks to verify, highest first.
type Segment struct {
	// Above is the trusted header directly above Blocks[0]. When nil,
	// Blocks[0] stands on its own: by the tip rule if Tip is set, by its
	// own proof otherwise (auditing a stored range).
	Above *block.Header
	Tip   bool
	// Trusted, when set, is the hash Blocks[0] must have: an operator's
	// checkpoint (--trust), which anchors the segment in place of the tip
	// rule. The block's proof is still checked, by its committee's quorum.
	Trusted *common.Hash
	Blocks  []*block.Block
	// Below is the header of the block under the last one, when the caller
	// has it (from the store). Without it the last block cannot be checked:
	// its committee is named by its parent's reference time.
	Below *block.Header
}

// VerifyDescending verifies seg and returns how many blocks, from the
// front, are verified. A block that waits for its parent is not an error:
// it is simply not counted, and the caller holds it for the next segment.
// A *BlockError means a block is bad; other errors are the source's.
func (v *Verifier) VerifyDescending(ctx context.Context, seg Segment) (int, error) {
	bs := seg.Blocks
	if len(bs) == 0 {
		return 0, nil
	}
	hashes := make([]common.Hash, len(bs))
	for i, b := range bs {
		hashes[i] = b.Hash()
	}
	if seg.Trusted != nil && hashes[0] != *seg.Trusted {
		return 0, invalid(bs[0].Height(), "hash %s is not the trusted checkpoint's %s", hashes[0].Hex(), seg.Trusted.Hex())
	}
	linked, linkErr := v.linkedPrefix(seg, hashes)
	// When the lowest block names another parent than Below, Below's
	// reference time says nothing about its committee: it is not verified.
	// Its header is still authentic (the block above names its hash), so
	// it names the committee of the block above.
	var be *BlockError
	unlinkedLow := errors.As(linkErr, &be) && be.Unlinked

	// Block i's committee is named by its parent's reference time: the next
	// block in the segment, the caller's Below, or the genesis reference time.
	// Committees are looked up block by block, so a block whose reference
	// time names no committee stops the segment there: the blocks above it
	// are still checked and kept.
	var jobs []proofJob
	var planErr error
	for i := 0; i < linked; i++ {
		b := bs[i]
		if unlinkedLow && i == len(bs)-1 {
			break
		}
		var parent *block.Header
		fromPeer := false
		switch {
		case i+1 < linked:
			parent, fromPeer = &bs[i+1].Header, true
		case i+1 < len(bs):
			// bs[i+1] failed its link, so its reference time is not authenticated.
		case seg.Below != nil:
			parent = seg.Below
		}
		if parent == nil && b.Height() != 1 {
			break
		}
		job, err := v.planProof(ctx, proofCase{index: i, b: b, parent: parent, fromPeer: fromPeer,
			isTip: i == 0 && seg.Above == nil && seg.Tip && seg.Trusted == nil})
		if err != nil {
			planErr = err
			break
		}
		jobs = append(jobs, job)
	}
	if n, err := v.runProofs(jobs, hashes); err != nil {
		return n, err
	}
	if planErr != nil {
		return len(jobs), planErr
	}
	return len(jobs), linkErr
}

// linkedPrefix checks identity, heights and hash links from the top and
// returns how many leading blocks pass, with the error at the first that does not.
func (v *Verifier) linkedPrefix(seg Segment, hashes []common.Hash) (int, error) {
	bs := seg.Blocks
	for i, b := range bs {
		h := &b.Header
		if h.VirtualChainID != v.ChainID || h.NetworkType != v.NetworkType {
			return i, invalid(h.Height, "block is for chain %d network %d, verifying chain %d network %d",
				h.VirtualChainID, h.NetworkType, v.ChainID, v.NetworkType)
		}
		var above *block.Header
		if i == 0 {
			above = seg.Above
		} else {
			above = &bs[i-1].Header
		}
		if above != nil {
			if h.Height+1 != above.Height {
				return i, invalid(h.Height, "expected height %d below block %d", above.Height-1, above.Height)
			}
			if above.PrevHash != hashes[i] {
				return i, invalid(h.Height, "hash %s does not link to block %d (its parent is %s)",
					hashes[i].Hex(), above.Height, above.PrevHash.Hex())
			}
		}
	}
	last := bs[len(bs)-1]
	if b := seg.Below; b != nil {
		if b.Height+1 != last.Height() || b.Hash() != last.Header.PrevHash {
			be := invalid(last.Height(), "parent hash %s does not link to the known block %d (%s)",
				last.Header.PrevHash.Hex(), b.Height, b.Hash().Hex())
			be.Unlinked = true
			return len(bs), be
		}
	}
	return len(bs), nil
}

type proofJob struct {
	index int
	b     *block.Block
	rule  proofRule
	where string // context for the error: which rule was applied
	stale bool   // the tip rule past the honesty grace: a refusal is an untrusted tip
}

// proofCase is a block whose proof is to be checked, and what names its
// committee.
type proofCase struct {
	index  int // in its segment
	b      *block.Block
	parent *block.Header // nil for block 1 (the genesis reference time)
	// fromPeer says the parent header came with the block from an untrusted
	// sender, so a reference time that names no committee is the block's
	// fault, not the source's.
	fromPeer bool
	isTip    bool // the tip rule applies
}

// planProof picks the rule a block must pass.
func (v *Verifier) planProof(ctx context.Context, pc proofCase) (proofJob, error) {
	i, b, fromPeer, isTip := pc.index, pc.b, pc.fromPeer, pc.isTip
	prevRef, err := v.parentRefTime(ctx, b, pc.parent)
	if err != nil {
		return proofJob{}, err
	}
	lookup := func() (*committee.Committee, error) {
		c, err := v.Source.CommitteeAt(ctx, prevRef)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, committee.ErrNoCommittee) && (fromPeer || isTip) {
			return nil, invalid(b.Height(), "its parent's reference time %d names no committee: %v", prevRef, err)
		}
		return nil, fmt.Errorf("committee for block %d (parent ref time %d): %w", b.Height(), prevRef, err)
	}
	if isTip {
		age := v.now().Sub(time.Unix(int64(prevRef), 0))
		if age > v.grace() {
			cur, err := v.Source.Current(ctx)
			if err != nil {
				return proofJob{}, fmt.Errorf("current committee: %w", err)
			}
			// The tip's own committee may sign too (it need not be current),
			// but only current members' weight counts.
			signing, err := lookup()
			var be *BlockError
			if errors.As(err, &be) {
				signing = nil
			} else if err != nil {
				return proofJob{}, err
			}
			return proofJob{index: i, b: b, rule: honestRule(cur, signing), stale: true, where: fmt.Sprintf(
				"tip: parent ref time %d is %s old, past the %s honesty grace, so honest stake of the current committee must sign",
				prevRef, age.Round(time.Second), v.grace())}, nil
		}
	}
	c, err := lookup()
	if err != nil {
		return proofJob{}, err
	}
	where := ""
	if isTip {
		where = fmt.Sprintf("tip: parent ref time %d is within the %s honesty grace, so its committee must sign with quorum", prevRef, v.grace())
	}
	return proofJob{index: i, b: b, rule: quorumRule(c), where: where}, nil
}

func (v *Verifier) parentRefTime(ctx context.Context, b *block.Block, parent *block.Header) (uint32, error) {
	if b.Height() == 1 {
		t, err := v.Source.GenesisRefTime(ctx)
		if err != nil {
			return 0, fmt.Errorf("genesis reference time: %w", err)
		}
		return t, nil
	}
	return parent.RefTime, nil
}

// runProofs checks the jobs' proofs on all workers and returns how many
// leading jobs passed and the error of the first that did not.
func (v *Verifier) runProofs(jobs []proofJob, hashes []common.Hash) (int, error) {
	errs := make([]error, len(jobs))
	workers := v.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int, len(jobs))
	for j := range jobs {
		next <- j
	}
	close(next)
	for w := 0; w < min(workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots := v.checkSlots()
			for j := range next {
				job := jobs[j]
				hdr := &job.b.Header
				digest := block.SigningDigest(hdr.NetworkType, hdr.VirtualChainID, hdr.Height, hashes[job.index])
				slots <- struct{}{}
				_, errs[j] = checkProof(job.b, digest, job.rule, &v.recoveries)
				<-slots
			}
		}()
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			var be *BlockError
			if errors.As(err, &be) && jobs[j].where != "" {
				be.Reason = jobs[j].where + ": " + be.Reason
				be.UntrustedTip = jobs[j].stale
			}
			return j, err
		}
	}
	return len(jobs), nil
}

// VerifyTip checks tip by the tip rule. parent is the tip's parent header,
// which must be known (and link) unless the tip is block 1.
func (v *Verifier) VerifyTip(ctx context.Context, tip *block.Block, parent *block.Header) error {
	if parent == nil && tip.Height() != 1 {
		return invalid(tip.Height(), "tip's parent header is unknown; a tip is never trusted without it")
	}
	n, err := v.VerifyDescending(ctx, Segment{Tip: true, Blocks: []*block.Block{tip}, Below: parent})
	if err != nil {
		return err
	}
	if n != 1 {
		return invalid(tip.Height(), "tip was not verified")
	}
	return nil
}
