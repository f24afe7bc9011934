package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

type fetched struct {
	blocks  []*block.Block
	bytes   int
	err     error
	release func() // gives the chunk's memory back to the download's budget; nil if none was taken
}

type commitJob struct {
	blocks   []*block.Block
	bytes    int
	releases []func() // called once the blocks are on disk
}

// liveBatchBytes bounds the frames a live batch holds in memory, from the
// read to the commit (with the one block that may wait for its parent
// beside it): one prefetch's worth.
const liveBatchBytes = maxPrefetchBytes

// stream runs one batch from peer as one lifetime: a downloader goroutine
// reads chunks, this goroutine verifies them (in parallel inside the
// verifier), and a committer writes each verified run in one store
// transaction. Channels of pipelineDepth bound what is read ahead. The
// three start together and end together: stream returns only after both
// goroutines have, and only then closes the peer's stream.
func (s *Syncer) stream(ctx context.Context, b batch) error {
	peer, avail, req := b.peer, b.avail, b.req
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wreq := wire.Request{From: req.from, To: req.to, Batch: s.cfg.Batch, Chunk: s.cfg.Chunk}
	st, err := b.opened, error(nil)
	if st == nil {
		st, err = peer.Blocks(bctx, wreq)
	}
	if s.markBusy(peer, err) {
		return nil // "later" is not a fault: plan again, with another peer or after a wait
	}
	if err != nil {
		s.dropRefused(peer, err)
		return nil
	}
	defer st.Close()
	s.notBusy(peer)
	g := st.Grant()
	if reason := checkGrant(g, avail, wreq, req); reason != "" {
		s.drop(peer, DropLied, "%s", reason)
		return nil
	}
	if s.goal.kind == goalPull {
		if s.goal.pull.low == 0 {
			s.goal.pull.low = g.To
			s.noteReduction(peer, g, wreq)
		}
	} else {
		s.planPrefetch(ctx, g, req.floor) // a pull is one batch: nothing to fetch ahead
	}
	s.markUsed(peer)
	s.cfg.Observer.Batch(peer.Name(), g)

	chunks := make(chan fetched, pipelineDepth)
	commits := make(chan commitJob, pipelineDepth)
	budget := newMemBudget(cmp.Or(s.cfg.LiveBatchBytes, liveBatchBytes))
	defer budget.closeOn(bctx)()
	var lifetime errgroup.Group
	started := time.Now()
	defer func() { s.cfg.Observer.Timed("batch", time.Since(started)) }()
	lifetime.Go(func() error {
		defer close(chunks)
		for {
			held := 0
			asked := time.Now()
			blocks, n, err := st.Next(func(bytes int) error {
				if err := budget.take(bytes); err != nil {
					return err
				}
				held += bytes
				return nil
			})
			if err == nil {
				s.cfg.Observer.Timed("chunk", time.Since(asked))
			}
			select {
			case chunks <- fetched{blocks, n, err, func() { budget.give(held) }}:
			case <-bctx.Done():
				return nil
			}
			if err != nil {
				return nil
			}
		}
	})
	lifetime.Go(func() error { return s.commitLoop(commits, budget.starved) })

	verr := s.receive(ctx, b, g, chunks, commits)
	close(commits)
	cancel()       // stops the downloader, inside Next or waiting to hand over a chunk
	budget.close() // or waiting for memory
	if err := lifetime.Wait(); err != nil {
		return err
	}
	return verr
}

// batch is what one batch's download works from: the peer and what it
// advertised, the range asked, and the trusted headers the batch must
// link between.
type batch struct {
	peer   peerclient.Peer
	avail  wire.Availability
	req    request
	above  *block.Header     // the verified block above the range (nil: the batch holds the tip)
	floor  *block.Header     // the stored block below the range, if any
	opened peerclient.Stream // the batch already downloaded by a prefetch, or nil
}

// verifyAhead is how many chunks are verified at once: the next chunk's
// proofs start while the last one's tail is still on one core, so the
// cores never wait at a chunk boundary. Two is enough on two cores and
// bounds what is held.
const verifyAhead = 2

// inflight is a chunk being verified while the next ones arrive.
type inflight struct {
	seg      []*block.Block
	expect   int // blocks that verify if all is well: all but the last, which waits for its parent (unless it is stored)
	bytes    int
	releases []func()
	done     chan verifiedPrefix
	result   *verifiedPrefix // taken from done before settle
}

// nextChunk waits for the next chunk or for the oldest verification in
// queue to finish, whichever comes first: settling that one commits its
// blocks, which gives memory back to the downloader, which may be waiting
// for exactly that. settled says the oldest verification finished (its
// result is kept for settle); otherwise ok is false when the downloader is
// done.
func nextChunk(chunks <-chan fetched, queue []*inflight) (f fetched, ok, settled bool) {
	if len(queue) == 0 {
		f, ok = <-chunks
		return f, ok, false
	}
	select {
	case f, ok = <-chunks:
		return f, ok, false
	case r := <-queue[0].done:
		queue[0].result = &r
		return fetched{}, true, true
	}
}

type verifiedPrefix struct {
	n   int
	err error
}

// receive verifies chunks as they arrive and queues verified blocks for
// commit, in order. Each chunk is verified on the assumption that the ones
// above it pass (their headers are linked before anything is launched);
// results are taken in order, and the first failure ends the batch with
// what was verified above it committed and everything below discarded.
func (s *Syncer) receive(ctx context.Context, b batch, g wire.Grant, chunks <-chan fetched, commits chan<- commitJob) error {
	peer, above, floor := b.peer, b.above, b.floor
	pending, carryFrom := s.carry, s.carryFrom
	s.carry, s.carryFrom = nil, nil
	expect := g.From
	var (
		queue    []*inflight
		verifier sync.WaitGroup // owns every verification launched here
		stopped  bool
		runErr   error
	)
	defer verifier.Wait()
	// settle takes the oldest chunk's result: commits its verified prefix,
	// or stops the batch and blames whoever sent the bad block.
	settle := func() {
		f := queue[0]
		queue = queue[1:]
		r := f.result
		if r == nil {
			v := <-f.done
			r = &v
		}
		if stopped {
			return
		}
		if r.n > 0 {
			commits <- commitJob{blocks: f.seg[:r.n], bytes: f.bytes, releases: f.releases}
		}
		var be *verify.BlockError
		switch {
		case errors.As(r.err, &be) && unlinkedFromFloor(be, floor):
			stopped, runErr = true, divergedBelow(peer, floor, f.seg[len(f.seg)-1])
		case errors.As(r.err, &be) && be.UntrustedTip:
			s.drop(peer, DropUntrustedTip, "its tip is not trusted: %v; a chain older than the honesty grace is anchored by a trusted checkpoint", be)
			stopped = true
		case errors.As(r.err, &be):
			culprit := peer
			if be.Height > g.From && carryFrom != nil {
				culprit = carryFrom // the block carried over from the previous batch
			}
			s.drop(culprit, DropBadBlock, "sent an invalid block: %v", be)
			stopped = true
		case r.err != nil:
			stopped, runErr = true, r.err
		case r.n < f.expect:
			stopped, runErr = true, fmt.Errorf("verified %d of blocks %d-%d, expected %d", r.n, f.seg[0].Height(), f.seg[len(f.seg)-1].Height(), f.expect)
		}
	}
	drain := func() {
		for len(queue) > 0 {
			settle()
		}
	}
	for {
		f, ok, settled := nextChunk(chunks, queue)
		if settled {
			if settle(); stopped {
				drain()
				return runErr
			}
			continue
		}
		if !ok {
			break
		}
		if errors.Is(f.err, io.EOF) {
			if expect+1 != g.To {
				drain()
				s.drop(peer, DropLied, "ended the stream at height %d; it granted down to %d", expect+1, g.To)
				return runErr
			}
			break
		}
		if f.err != nil {
			drain()
			s.drop(peer, streamDropKind(f.err), "%v", f.err)
			return runErr
		}
		if uint64(len(f.blocks)) > expect-g.To+1 {
			drain()
			s.drop(peer, DropProtocol, "sent %d blocks where %d-%d belong", len(f.blocks), expect, g.To)
			return runErr
		}
		for i, b := range f.blocks {
			if want := expect - uint64(i); b.Height() != want {
				drain()
				s.drop(peer, DropProtocol, "sent height %d where %d belongs", b.Height(), want)
				return runErr
			}
		}
		expect -= uint64(len(f.blocks))
		seg := make([]*block.Block, 0, len(pending)+len(f.blocks))
		seg = append(append(seg, pending...), f.blocks...)
		// The lowest block waits for its parent's reference time, unless
		// the parent is stored (the floor) or it is block 1 (genesis names
		// its committee).
		var below *block.Header
		n := len(seg) - 1
		switch low := seg[len(seg)-1].Height(); {
		case floor != nil && low == floor.Height+1:
			below, n = floor, len(seg)
		case low == 1:
			n = len(seg)
		}
		if n == 0 {
			pending = seg // one block, waiting for its parent
			if f.release != nil {
				f.release() // not counted: a waiting block must not stop the next chunk
			}
			continue
		}
		job := &inflight{seg: seg, expect: n, bytes: f.bytes, done: make(chan verifiedPrefix, 1)}
		if f.release != nil {
			job.releases = []func(){f.release}
		}
		segment := verify.Segment{Above: above, Tip: above == nil, Trusted: s.anchor(above, seg[0]), Blocks: seg, Below: below}
		verifier.Go(func() {
			n, err := s.cfg.Verifier.VerifyDescending(ctx, segment)
			job.done <- verifiedPrefix{n, err}
		})
		queue = append(queue, job)
		above, pending = &seg[n-1].Header, seg[n:]
		for len(queue) >= verifyAhead || (len(queue) > 0 && stopped) {
			settle()
		}
		if stopped {
			drain()
			return runErr
		}
		if ctx.Err() != nil {
			break // interrupted: what is verified is queued; run() reports it
		}
	}
	drain()
	if stopped {
		return runErr
	}
	if above == nil && len(pending) > 0 {
		// The whole batch was one unverified tip. It is never carried to
		// another peer's batch: the tip is verified with its parent from the
		// same sender, or not at all.
		s.drop(peer, DropProtocol, "granted a lone tip (%d) whose parent is not stored: a tip must come with its parent", pending[0].Height())
		return nil
	}
	if len(pending) > 0 {
		s.carry, s.carryFrom = pending, peer
	}
	return nil
}

// verifyAndCommit verifies pending against the trusted header above and
// writes the verified prefix at once. It returns the new trusted header
// and the blocks still waiting.
func (s *Syncer) verifyAndCommit(ctx context.Context, above *block.Header, pending []*block.Block, floor *block.Header) (*block.Header, []*block.Block, error) {
	var below *block.Header
	if floor != nil && len(pending) > 0 && pending[len(pending)-1].Height() == floor.Height+1 {
		below = floor
	}
	n, err := s.cfg.Verifier.VerifyDescending(ctx, verify.Segment{Above: above, Tip: above == nil, Blocks: pending, Below: below})
	if n > 0 {
		if cerr := s.commit(commitJob{blocks: append([]*block.Block(nil), pending[:n]...)}); cerr != nil {
			return above, pending, cerr
		}
		above = &pending[n-1].Header
		pending = pending[n:]
	}
	if err != nil {
		return above, nil, err
	}
	return above, pending, nil
}

// commitLoop writes verified runs in order. Runs that queued up while the
// last commit was syncing to disk are written together in one
// transaction: one fsync for all of them, so a slow disk drains the queue
// instead of holding chunks in memory.
func (s *Syncer) commitLoop(jobs <-chan commitJob, starved func() bool) error {
	var first error
	for job := range jobs {
		if first != nil {
			continue // drain so the verifier never blocks
		}
		first = s.commit(gatherQueued(job, jobs, gathering{least: s.commitBytes(), within: commitGatherWait, starved: starved}))
	}
	return first
}

// gathering is when a commit stops gathering runs and writes: once it
// holds least bytes, once within has passed since its first run (so a slow
// peer's blocks are not held back), or as soon as the download waits for
// the memory the gathered runs hold (starved), whichever comes first.
type gathering struct {
	least   int
	within  time.Duration
	starved func() bool
}

// gatherQueued appends runs from jobs to job as g says, then the runs
// already waiting. Runs arrive highest first, each continuing the one
// before it, so together they are still one descending run.
func gatherQueued(job commitJob, jobs <-chan commitJob, g gathering) commitJob {
	if job.bytes < g.least {
		poll := time.NewTicker(starvedPoll)
		defer poll.Stop()
		deadline := time.Now().Add(g.within)
		for job.bytes < g.least && time.Now().Before(deadline) && (g.starved == nil || !g.starved()) {
			select {
			case next, ok := <-jobs:
				if !ok {
					return job
				}
				job = merged(job, next)
			case <-poll.C:
			}
		}
	}
	for {
		select {
		case next, ok := <-jobs:
			if !ok {
				return job
			}
			job = merged(job, next)
		default:
			return job
		}
	}
}

// commitGatherWait bounds how long verified blocks wait to be committed;
// starvedPoll is how often a gathering commit looks at the download.
const (
	commitGatherWait = time.Second
	starvedPoll      = 10 * time.Millisecond
)

func merged(job, next commitJob) commitJob {
	job.blocks = append(job.blocks[:len(job.blocks):len(job.blocks)], next.blocks...)
	job.bytes += next.bytes
	job.releases = append(job.releases[:len(job.releases):len(job.releases)], next.releases...)
	return job
}

// commitBatchBytes is how many bytes of verified blocks a commit gathers
// before it writes (the batch's end writes what is left). Each commit of a
// descending run leaves a partly filled page in every bucket it touches,
// so fewer, larger commits keep the store close to its blocks' size
// (store.newStorePageSize has the measurements); a kill loses at most this
// much verified work, never anything committed.
const commitBatchBytes = 4 << 20

// commitBytes is commitBatchBytes, or half the live batch's memory when
// that is smaller: the gathered blocks hold their frames' budget until they
// are committed, and the download must never wait on them.
func (s *Syncer) commitBytes() int {
	return min(commitBatchBytes, cmp.Or(s.cfg.LiveBatchBytes, liveBatchBytes)/2)
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
	for _, release := range job.releases {
		release()
	}
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

// checkGrant says what is wrong with a grant, or "". The grant must be
// exactly what the peer's own availability answer and our request
// negotiate (wire.GrantFor): a peer that grants more blocks or larger
// chunks than that, or other heights, is lying. Only an open-ended request
// may find the peer's tip higher than it advertised a moment ago.
func checkGrant(g wire.Grant, avail wire.Availability, wreq wire.Request, req request) string {
	if wreq.From == 0 && g.From > avail.ServeTo {
		avail.ServeTo = g.From
	}
	want, err := wire.GrantFor(avail, wreq)
	switch {
	case err != nil:
		return fmt.Sprintf("granted %d-%d though its availability cannot serve the request: %v", g.From, g.To, err)
	case g != want:
		return fmt.Sprintf("granted %d-%d in chunks of %d (frames of %d bytes); the negotiated grant was %d-%d in chunks of %d (frames of %d bytes)",
			g.From, g.To, g.Chunk, g.MaxFrameBytes, want.From, want.To, want.Chunk, want.MaxFrameBytes)
	case g.From <= req.floor:
		return fmt.Sprintf("granted %d-%d, at or below the stored height %d", g.From, g.To, req.floor)
	}
	return ""
}
