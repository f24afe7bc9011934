package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

type fetched struct {
	blocks []*block.Block
	bytes  int
	err    error
}

type commitJob struct {
	blocks []*block.Block
	bytes  int
}

// stream runs one batch from peer as a pipeline: a goroutine downloads
// chunks, this one verifies them (in parallel inside the verifier), and a
// committer writes each verified run in one store transaction. Channels of
// pipelineDepth bound the memory in flight.
func (s *Syncer) stream(ctx context.Context, peer peerclient.Peer, req request, above, floor *block.Header) error {
	st, err := peer.Blocks(ctx, wire.Request{From: req.from, To: req.to, Batch: s.cfg.Batch, Chunk: s.cfg.Chunk})
	if err != nil {
		s.drop(peer, fmt.Sprintf("refused the batch it advertised: %v", err))
		return nil
	}
	defer st.Close()
	g := st.Grant()
	if reason := checkGrant(g, req); reason != "" {
		s.drop(peer, reason)
		return nil
	}
	s.markUsed(peer)
	s.cfg.Observer.Batch(peer.Name(), g)

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan fetched, pipelineDepth)
	go func() {
		defer close(chunks)
		for {
			blocks, n, err := st.Next()
			select {
			case chunks <- fetched{blocks, n, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	commits := make(chan commitJob, pipelineDepth)
	commitErr := make(chan error, 1)
	go func() { commitErr <- s.commitLoop(commits) }()

	verr := s.receive(ctx, peer, g, above, floor, chunks, commits)
	close(commits)
	cancel()
	if err := <-commitErr; err != nil {
		return err
	}
	return verr
}

// receive verifies chunks as they arrive and queues verified blocks for commit.
func (s *Syncer) receive(ctx context.Context, peer peerclient.Peer, g wire.Grant, above, floor *block.Header,
	chunks <-chan fetched, commits chan<- commitJob) error {
	pending, carryFrom := s.carry, s.carryFrom
	s.carry = nil
	expect := g.From
	defer func() { s.carryFrom = peer }()
	for f := range chunks {
		if errors.Is(f.err, io.EOF) {
			if expect+1 != g.To {
				s.drop(peer, fmt.Sprintf("ended the stream at height %d; it granted down to %d", expect+1, g.To))
				return nil
			}
			break
		}
		if f.err != nil {
			s.drop(peer, f.err.Error())
			return nil
		}
		if got := f.blocks[0].Height(); got != expect || uint64(len(f.blocks)) > expect-g.To+1 {
			s.drop(peer, fmt.Sprintf("sent heights %d-%d where %d-%d belong", got, got-uint64(len(f.blocks))+1, expect, g.To))
			return nil
		}
		expect -= uint64(len(f.blocks))
		pending = append(pending, f.blocks...)
		var err error
		above, pending, err = s.verifyAndCommit(ctx, above, pending, floor, commits, f.bytes)
		if be := (*verify.BlockError)(nil); errors.As(err, &be) {
			culprit := peer
			if be.Height > g.From && carryFrom != nil {
				culprit = carryFrom // the block carried over from the previous batch
			}
			s.drop(culprit, "sent an invalid block: "+be.Error())
			return nil
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			s.carry, s.carryTip = pending, above == nil
			return nil // interrupted: what is verified is queued; run() reports it
		}
	}
	s.carry, s.carryTip = pending, above == nil
	return nil
}

// verifyAndCommit verifies pending against the trusted header above and
// queues (or, with commits nil, writes at once) the verified prefix. It
// returns the new trusted header and the blocks still waiting.
func (s *Syncer) verifyAndCommit(ctx context.Context, above *block.Header, pending []*block.Block, floor *block.Header,
	commits chan<- commitJob, bytes int) (*block.Header, []*block.Block, error) {
	var below *block.Header
	if floor != nil && len(pending) > 0 && pending[len(pending)-1].Height() == floor.Height+1 {
		below = floor
	}
	n, err := s.cfg.Verifier.VerifyDescending(ctx, verify.Segment{Above: above, Tip: above == nil, Blocks: pending, Below: below})
	if n > 0 {
		job := commitJob{blocks: append([]*block.Block(nil), pending[:n]...), bytes: bytes}
		if commits == nil {
			if cerr := s.commit(job); cerr != nil {
				return above, pending, cerr
			}
		} else {
			commits <- job
		}
		above = &pending[n-1].Header
		pending = pending[n:]
	}
	if err != nil {
		return above, nil, err
	}
	if commits == nil {
		s.carry, s.carryTip = pending, above == nil
	}
	return above, pending, nil
}

func (s *Syncer) commitLoop(jobs <-chan commitJob) error {
	var first error
	for job := range jobs {
		if first != nil {
			continue // drain so the verifier never blocks
		}
		first = s.commit(job)
	}
	return first
}

func (s *Syncer) commit(job commitJob) error {
	st, err := s.cfg.Store.CommitDescending(job.blocks)
	if err != nil {
		return fmt.Errorf("commit verified blocks %d-%d: %w", job.blocks[0].Height(), job.blocks[len(job.blocks)-1].Height(), err)
	}
	s.mu.Lock()
	hi, lo := job.blocks[0].Height(), job.blocks[len(job.blocks)-1].Height()
	if s.res.SyncedTo < hi {
		s.res.SyncedTo = hi
	}
	if s.res.SyncedFrom == 0 || lo < s.res.SyncedFrom {
		s.res.SyncedFrom = lo
	}
	s.res.Blocks += uint64(len(job.blocks))
	s.res.Bytes += uint64(job.bytes)
	s.mu.Unlock()
	s.cfg.Observer.Committed(st, len(job.blocks), job.bytes)
	return nil
}

func (s *Syncer) markUsed(p peerclient.Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.res.PeersUsed {
		if name == p.Name() {
			return
		}
	}
	s.res.PeersUsed = append(s.res.PeersUsed, p.Name())
}

// checkGrant says what is wrong with a grant for req, or "".
func checkGrant(g wire.Grant, req request) string {
	switch {
	case req.from != 0 && g.From != req.from:
		return fmt.Sprintf("granted from height %d, asked for %d", g.From, req.from)
	case g.From <= req.floor || g.To < req.to || g.To > g.From:
		return fmt.Sprintf("granted %d-%d for a request of %d-%d", g.From, g.To, req.from, req.to)
	}
	return ""
}
