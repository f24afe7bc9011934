package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/wire"
)

// Many peers at once. A remote peer's upload and latency, not the CPU,
// bound a sync from it; so while batch k is verified and committed, the
// next lower batches are downloaded from other peers chosen at random among
// those serving them. Trust is unchanged: a prefetched batch is only bytes
// in memory until the main loop reaches it, and then it goes through
// exactly the path a live batch takes (grant check, heights, links, proofs,
// commit in descending order). Memory is bounded by (Parallel+1) x batch:
// the prefetches and the batch being verified.

// DefaultParallel is how many batches `vcsync sync` fetches at once: with
// four peers behind 1 MiB/s links, 4 synced 3.7x as fast as 1
// (BenchmarkSyncSlowLinks); on loopback, where the CPU is the limit, it
// costs nothing.
const DefaultParallel = 4

// DefaultSlowAfter is how long the main loop waits for a prefetched batch
// before its peer loses it and is dropped as slow: four chunk timeouts, so
// a peer still inside the stall rule but holding everything back is
// replaced long before it would finish.
const DefaultSlowAfter = 4 * peerclient.DefaultChunkTimeout

// prefetch is one batch being downloaded ahead of the main loop.
type prefetch struct {
	from, to uint64
	peer     peerclient.Peer
	avail    wire.Availability
	cancel   context.CancelFunc
	done     chan struct{} // closed when the download ended
	err      error         // the peer would not start the batch
	grant    wire.Grant
	chunks   []fetched // ends with io.EOF or the stream's error
}

// prefetcher owns the downloads running ahead; every one is waited for.
type prefetcher struct {
	mu      sync.Mutex
	running []*prefetch
	wg      sync.WaitGroup
}

// planPrefetch schedules downloads of the Parallel ranges below a granted
// batch, as the main loop will ask for them: each starts one below the
// lowest block of the one above (that block waits for its parent), down to
// floor+1. While the main loop verifies a batch that was prefetched, it
// downloads nothing itself, so Parallel downloads keep Parallel links busy.
func (s *Syncer) planPrefetch(ctx context.Context, g wire.Grant, floor uint64) {
	if s.cfg.Parallel <= 1 {
		return
	}
	to := g.To
	for i := 0; i < s.cfg.Parallel && to > floor+2; i++ {
		from := to - 1
		to = max(floor+1, from-min(from, s.cfg.Batch)+1)
		if s.pre.has(from, to) {
			continue
		}
		peer, avail, ok := s.prefetchPeer(from, to)
		if !ok {
			return
		}
		s.pre.start(ctx, wire.Request{From: from, To: to, Batch: s.cfg.Batch, Chunk: s.cfg.Chunk}, peer, avail)
	}
}

// prefetchPeer picks at random a live peer whose last availability answer
// serves from..to, preferring one not already downloading.
func (s *Syncer) prefetchPeer(from, to uint64) (peerclient.Peer, wire.Availability, bool) {
	var idle, busy []answer
	for _, a := range s.known {
		if s.isDropped(a.peer) || a.avail.ServeFrom > to || a.avail.ServeTo < from || s.busyUntil(a.peer).After(time.Now()) {
			continue // a busy peer is not asked for more than it grants
		}
		if s.pre.busy(a.peer) {
			busy = append(busy, a)
		} else {
			idle = append(idle, a)
		}
	}
	pool := idle
	if len(pool) == 0 {
		pool = busy
	}
	if len(pool) == 0 {
		return nil, wire.Availability{}, false
	}
	a := s.pick(pool)
	return a.peer, a.avail, true
}

func (p *prefetcher) has(from, to uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.running {
		if f.from == from && f.to == to {
			return true
		}
	}
	return false
}

func (p *prefetcher) busy(peer peerclient.Peer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.running {
		if f.peer == peer {
			return true
		}
	}
	return false
}

func (p *prefetcher) start(ctx context.Context, req wire.Request, peer peerclient.Peer, avail wire.Availability) {
	from, to := req.From, req.To
	pctx, cancel := context.WithCancel(ctx)
	f := &prefetch{from: from, to: to, peer: peer, avail: avail, cancel: cancel, done: make(chan struct{})}
	p.mu.Lock()
	p.running = append(p.running, f)
	p.mu.Unlock()
	p.wg.Go(func() {
		defer close(f.done)
		st, err := peer.Blocks(pctx, req)
		if err != nil {
			f.err = err
			return
		}
		defer st.Close()
		f.grant = st.Grant()
		// At most the granted batch is held: the grant is checked against
		// the request when the main loop takes it, and a stream that sends
		// more than granted ends in an error here.
		// Every frame is counted before its memory is taken, so a prefetch
		// never holds more than maxPrefetchBytes, the frame being read
		// included.
		limit, held := f.grant.Blocks(), 0
		reserve := func(bytes int) error {
			if held+bytes > maxPrefetchBytes {
				return errTooBig
			}
			held += bytes
			return nil
		}
		for got := uint64(0); ; {
			blocks, n, err := st.Next(reserve)
			if errors.Is(err, errTooBig) {
				f.err, f.chunks = errTooBig, nil
				return
			}
			if err == nil && got+uint64(len(blocks)) > limit {
				err = errTooMany
			}
			f.chunks = append(f.chunks, fetched{blocks: blocks, bytes: n, err: err})
			if err != nil {
				return
			}
			got += uint64(len(blocks))
		}
	})
}

var (
	// errTooMany is the fault the live stream reports as "sent N blocks
	// where H-L belong": the same wire rule broken, the same drop kind.
	errTooMany = fmt.Errorf("%w: sent more blocks than it granted", wire.ErrProtocol)
	errTooBig  = errors.New("the batch is larger than a prefetch may hold")
)

// maxPrefetchBytes bounds what one prefetch holds in memory. A batch of
// ordinary blocks is a few MiB; one of huge blocks is left to the live
// stream, which holds two chunks at a time.
const maxPrefetchBytes = 64 << 20

// take removes and returns the download of exactly from..to, if any; the
// others stay. A download of another range is of no use to this plan.
func (p *prefetcher) take(from, to uint64) *prefetch {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range p.running {
		if f.from == from && f.to == to {
			p.running = append(p.running[:i:i], p.running[i+1:]...)
			return f
		}
	}
	return nil
}

// cancelAbove stops the downloads of ranges above from: the plan will
// never ask for them.
func (p *prefetcher) cancelAbove(from uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := p.running[:0]
	for _, f := range p.running {
		if f.from > from {
			f.cancel()
			continue
		}
		keep = append(keep, f)
	}
	p.running = keep
}

// cancelAll stops every download and waits for them.
func (p *prefetcher) cancelAll() {
	p.mu.Lock()
	running := p.running
	p.running = nil
	p.mu.Unlock()
	for _, f := range running {
		f.cancel()
	}
	p.wg.Wait()
}

// replay is a finished download read back as a stream.
type replay struct {
	grant  wire.Grant
	chunks []fetched
}

func (r *replay) Grant() wire.Grant { return r.grant }

func (r *replay) Next(peerclient.Reserve) ([]*block.Block, int, error) {
	if len(r.chunks) == 0 {
		return nil, 0, io.EOF
	}
	c := r.chunks[0]
	r.chunks = r.chunks[1:]
	return c.blocks, c.bytes, c.err
}

func (r *replay) Close() error { return nil }

// awaitPrefetch waits for a download the plan needs. A peer that holds
// the sync back for longer than SlowAfter loses its batch and is dropped
// as slow; the loop then fetches the range live from another peer.
func (s *Syncer) awaitPrefetch(ctx context.Context, f *prefetch) (peerclient.Stream, bool) {
	timer := time.NewTimer(s.cfg.SlowAfter)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		f.cancel()
		<-f.done
		s.drop(f.peer, DropSlow, "its batch %d-%d held the sync back for %s", f.from, f.to, s.cfg.SlowAfter)
		return nil, false
	case <-ctx.Done():
		f.cancel()
		<-f.done
		return nil, false
	}
	f.cancel()
	if s.markBusy(f.peer, f.err) {
		return nil, false // fetched live instead, from a peer that is free
	}
	if errors.Is(f.err, errTooBig) {
		return nil, false // fetched live instead, two chunks at a time
	}
	if f.err != nil {
		s.dropRefused(f.peer, f.err)
		return nil, false
	}
	return &replay{grant: f.grant, chunks: f.chunks}, true
}
