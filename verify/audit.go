package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
)

// auditChunk is how many stored blocks are read and checked at a time:
// enough to keep every core busy, small enough to bound memory.
const auditChunk = 1000

// AuditRequest is what to audit.
type AuditRequest struct {
	From, To uint64
	// MaxErrors is how many bad blocks end the audit (at least one): an
	// operator looking for the height to roll back to wants them all, a
	// store damaged throughout should not print a million lines.
	MaxErrors int
	Progress  func(done uint64) // called with the running count, if set
}

// Finding is a stored block that did not verify.
type Finding struct {
	Height uint64 `json:"height"`
	Reason string `json:"reason"`
}

// AuditReport is the outcome of auditing stored blocks.
type AuditReport struct {
	Verified uint64 `json:"verified"`
	// FirstBad and Reason are the highest bad block, the first an audit
	// from the top meets; Bad lists every one found, highest first.
	FirstBad uint64    `json:"first_bad,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Bad      []Finding `json:"bad"`
	// StoppedAt is set when MaxErrors ended the audit: the blocks below it
	// were not checked.
	StoppedAt       uint64  `json:"stopped_at,omitempty"`
	Unverifiable    uint64  `json:"unverifiable,omitempty"` // a run's lowest block whose parent is not stored
	Seconds         float64 `json:"seconds"`
	BlocksPerSecond float64 `json:"blocks_per_second"`
}

// Audit verifies stored blocks req.From..req.To, highest first, on every
// core: hash links between neighbours and every block's proof. A bad block
// does not end it: the audit records the finding and goes on from the
// block below, which is then judged by its own proof and the chain below
// it, until req.MaxErrors findings. The error is the first finding's
// *BlockError (nil when every block verified), or what stopped the audit.
func (v *Verifier) Audit(ctx context.Context, s *store.Store, req AuditRequest) (r AuditReport, err error) {
	start := time.Now()
	r.Bad = []Finding{}
	defer func() {
		r.Seconds = time.Since(start).Seconds()
		if r.Seconds > 0 {
			r.BlocksPerSecond = float64(r.Verified) / r.Seconds
		}
	}()
	var first *BlockError
	var above *block.Header
	for hi := req.To; hi >= req.From && hi > 0; {
		lo := max(req.From, hi-min(hi, auditChunk)+1)
		blocks, unreadable, err := readDescending(s, hi, lo)
		if err != nil {
			return r, err
		}
		if bad := unlinkedTop(above, blocks); bad != nil {
			// Nothing above vouches for this block, and it does not
			// name the stored block below as its parent: it is the liar.
			blocks, unreadable = nil, bad
		}
		var below *block.Header
		if bottom := hi - uint64(len(blocks)); unreadable == nil && bottom >= 1 {
			if b, err := s.Get(bottom); err == nil {
				below = &b.Header
			}
		}
		n, verr := v.VerifyDescending(ctx, Segment{Above: above, Blocks: blocks, Below: below})
		r.Verified += uint64(n)
		if req.Progress != nil {
			req.Progress(r.Verified)
		}
		var be *BlockError
		switch {
		case verr != nil && !errors.As(verr, &be):
			return r, verr
		case be == nil && n < len(blocks):
			r.Unverifiable++ // the lowest block's parent is not stored, or cannot be read
			be = unreadable
		case be == nil:
			be = unreadable
		case be.Height > hi || be.Height < lo:
			return r, fmt.Errorf("audit: a finding at %d outside the blocks %d-%d being checked", be.Height, lo, hi)
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		if be == nil {
			above, hi = &blocks[len(blocks)-1].Header, lo-1
			continue
		}
		if first == nil {
			first = be
			r.FirstBad, r.Reason = be.Height, be.Error()
		}
		r.Bad = append(r.Bad, Finding{Height: be.Height, Reason: be.Error()})
		if len(r.Bad) >= max(1, req.MaxErrors) {
			if be.Height > req.From {
				r.StoppedAt = be.Height
			}
			break
		}
		// Go on below the bad block as if it were the top of a run: the
		// next block is judged by its own proof and the chain below it.
		above, hi = nil, be.Height-1
	}
	if first != nil {
		return r, first
	}
	return r, nil
}

// unlinkedTop is a finding for the first of blocks when no verified block
// above it (above is nil: the top of the audit, or the block below a bad
// one) and its parent hash is not the hash of the stored block below it.
// Within a run linked from above, a mismatch is the lower block's fault.
func unlinkedTop(above *block.Header, blocks []*block.Block) *BlockError {
	if above != nil || len(blocks) < 2 {
		return nil // a single block's parent is checked by VerifyDescending as Below
	}
	top, parent := blocks[0], blocks[1]
	if h := parent.Hash(); top.Header.PrevHash != h {
		return invalid(top.Height(), "parent hash %s does not link to the stored block %d (%s)",
			top.Header.PrevHash.Hex(), parent.Height(), h.Hex())
	}
	return nil
}

// readDescending reads stored blocks hi down to lo. A block that cannot be
// read ends the list there and is returned as a finding, not an error: the
// store holds a bad block. Other read failures are errors.
func readDescending(s *store.Store, hi, lo uint64) ([]*block.Block, *BlockError, error) {
	blocks := make([]*block.Block, 0, hi-lo+1)
	for h := hi; h >= lo; h-- {
		b, err := s.Get(h)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUndecodable) || errors.Is(err, store.ErrDamaged) {
			return blocks, invalid(h, "stored block cannot be read: %v", err), nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("audit: %w", err)
		}
		blocks = append(blocks, b)
	}
	return blocks, nil, nil
}
