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

// AuditReport is the outcome of auditing stored blocks.
type AuditReport struct {
	Verified        uint64  `json:"verified"`
	FirstBad        uint64  `json:"first_bad,omitempty"`
	Reason          string  `json:"reason,omitempty"`
	Unverifiable    uint64  `json:"unverifiable,omitempty"` // a run's lowest block whose parent is not stored
	Seconds         float64 `json:"seconds"`
	BlocksPerSecond float64 `json:"blocks_per_second"`
}

// Audit verifies stored blocks from..to: hash links and proofs, highest
// first, on every core. progress, if set, is called with the running count.
// A bad block ends the audit with report.FirstBad set and a *BlockError.
func (v *Verifier) Audit(ctx context.Context, s *store.Store, from, to uint64, progress func(done uint64)) (r AuditReport, err error) {
	start := time.Now()
	defer func() {
		r.Seconds = time.Since(start).Seconds()
		if r.Seconds > 0 {
			r.BlocksPerSecond = float64(r.Verified) / r.Seconds
		}
	}()
	var above *block.Header
	for hi := to; hi >= from && hi > 0; {
		lo := max(from, hi-min(hi, auditChunk)+1)
		blocks := make([]*block.Block, 0, hi-lo+1)
		for h := hi; h >= lo; h-- {
			b, err := s.Get(h)
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrUndecodable) || errors.Is(err, store.ErrDamaged) {
				// The stored block itself is bad: a finding, not an I/O failure.
				be := invalid(h, "stored block cannot be read: %v", err)
				r.FirstBad, r.Reason = h, be.Error()
				return r, be
			}
			if err != nil {
				return r, fmt.Errorf("audit: %w", err)
			}
			blocks = append(blocks, b)
		}
		var below *block.Header
		if lo > 1 {
			if b, err := s.Get(lo - 1); err == nil {
				below = &b.Header
			}
		}
		var n int
		n, err = v.VerifyDescending(ctx, Segment{Above: above, Blocks: blocks, Below: below})
		r.Verified += uint64(n)
		if progress != nil {
			progress(r.Verified)
		}
		if err != nil {
			if be, ok := err.(*BlockError); ok {
				r.FirstBad, r.Reason = be.Height, be.Error()
			}
			return r, err
		}
		if n < len(blocks) {
			r.Unverifiable++
		}
		above = &blocks[len(blocks)-1].Header
		if err := ctx.Err(); err != nil {
			return r, err
		}
		hi = lo - 1
	}
	return r, nil
}
