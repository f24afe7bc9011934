// Package syncer is vcsync's one sync core: it plans what the store is
// missing, asks peers what they have, picks one at random, streams a batch
// in chunks, verifies every block and commits verified chunks, tip to
// genesis. pull, sync, close-gaps and import all run it.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

// Defaults for Config's zero values.
const (
	DefaultBatch = wire.DefaultMaxBatch
	DefaultChunk = wire.DefaultMaxChunk
	// DefaultCollectTimeout is how long availability answers are collected
	// before choosing among those that came (the original's 1s).
	DefaultCollectTimeout = time.Second
	// pipelineDepth is how many chunks may wait between stages: enough to
	// keep download, verification and commit busy at once, and the bound
	// that keeps memory independent of the chain's length.
	pipelineDepth = 2
)

// ErrNoPeer means no peer could give what the store is missing.
var ErrNoPeer = errors.New("no peer can help")

// Observer hears about progress; every method may be called from any goroutine.
type Observer interface {
	Target(blocks uint64)                        // how many blocks the run expects to add, as far as known
	Batch(peer string, g wire.Grant)             // a batch starts
	Committed(st store.State, blocks, bytes int) // a chunk was committed
	Dropped(peer, reason string)                 // a peer was dropped for the rest of the run
}

// Config wires a Syncer.
type Config struct {
	Store          *store.Store
	Verifier       *verify.Verifier
	Peers          []peerclient.Peer
	Batch          uint64
	Chunk          int
	CollectTimeout time.Duration
	Rand           *rand.Rand // peer choice; nil: seeded from the clock
	Observer       Observer   // nil: silent
}

// Dropped is a peer dropped during the run and why.
type Dropped struct {
	Peer   string `json:"peer"`
	Reason string `json:"reason"`
}

// Result summarizes a run.
type Result struct {
	SyncedFrom   uint64    `json:"synced_from"`
	SyncedTo     uint64    `json:"synced_to"`
	Blocks       uint64    `json:"blocks"`
	Bytes        uint64    `json:"bytes"`
	Seconds      float64   `json:"seconds"`
	PeersUsed    []string  `json:"peers_used"`
	PeersDropped []Dropped `json:"peers_dropped"`
}

// Syncer runs the flow against one store.
type Syncer struct {
	cfg     Config
	mu      sync.Mutex // guards res and dropped: the committer goroutine updates res
	dropped map[string]string
	res     Result
	start   time.Time

	// carry is the lowest block already received and linked to the block
	// above it, still waiting for its parent's reference time: held over to
	// the next chunk or batch, never dropped and fetched again. carryTip
	// means it is the unverified tip of a new run.
	carry     []*block.Block
	carryTip  bool
	carryFrom peerclient.Peer // who sent the carried block, to blame if its proof is bad
}

// New returns a Syncer.
func New(cfg Config) *Syncer {
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Chunk <= 0 {
		cfg.Chunk = DefaultChunk
	}
	if cfg.CollectTimeout <= 0 {
		cfg.CollectTimeout = DefaultCollectTimeout
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewSource(time.Now().UnixNano()))
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Syncer{cfg: cfg, dropped: map[string]string{}, res: Result{PeersUsed: []string{}, PeersDropped: []Dropped{}}}
}

type nopObserver struct{}

func (nopObserver) Target(uint64)                   {}
func (nopObserver) Batch(string, wire.Grant)        {}
func (nopObserver) Committed(store.State, int, int) {}
func (nopObserver) Dropped(string, string)          {}

// Sync runs the flow until the store holds 1..tip with no gap: the gap
// first, then from the best peer's tip down to Top+1, and so on.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	return s.run(ctx, func(store.State) bool { return true })
}

// CloseGap only closes the gap between InOrder and LastSynced.
func (s *Syncer) CloseGap(ctx context.Context) (Result, error) {
	return s.run(ctx, func(st store.State) bool { return st.GapOpen() || len(s.carry) > 0 })
}

// Pull runs one batch. With from == 0 it plans the batch like sync (the gap
// first); otherwise it asks for from down to to (to 0: as far as granted).
func (s *Syncer) Pull(ctx context.Context, from, to uint64) (Result, error) {
	s.start = time.Now()
	st, err := s.cfg.Store.State()
	if err != nil {
		return s.result(), err
	}
	req := s.plan(st)
	if from != 0 {
		if st.GapOpen() && from != st.LastSynced-1 {
			return s.result(), fmt.Errorf("a gap is open (InOrder %d, LastSynced %d): a pull must start at %d", st.InOrder, st.LastSynced, st.LastSynced-1)
		}
		if !st.GapOpen() && from <= st.Top {
			return s.result(), fmt.Errorf("height %d is already stored (Top %d): a pull starts above Top or at the gap", from, st.Top)
		}
		// Above Top with no gap, the first block is a new run's top: it has
		// nothing trusted above it and must pass the tip rule.
		req.from, req.to, req.tip = from, max(to, req.floor+1), !st.GapOpen()
	}
	_, err = s.batch(ctx, st, req)
	return s.result(), err
}

func (s *Syncer) result() Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res
	r.Seconds = time.Since(s.start).Seconds()
	return r
}

// run repeats batches while more(state) and there is something to fetch.
func (s *Syncer) run(ctx context.Context, more func(store.State) bool) (Result, error) {
	s.start = time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return s.result(), fmt.Errorf("interrupted; the store is consistent and the next run resumes: %w", err)
		}
		st, err := s.cfg.Store.State()
		if err != nil {
			return s.result(), err
		}
		if !more(st) {
			return s.result(), nil
		}
		done, err := s.batch(ctx, st, s.plan(st))
		if err != nil || done {
			return s.result(), err
		}
	}
}

// request is one planned batch.
type request struct {
	from, to uint64 // from 0: the peer's highest height
	tip      bool   // the first block received starts a new run: trust it by the tip rule
	floor    uint64 // the stored block right under the range (0: none)
	fetch    bool   // false: only the carried block needs finishing
}

// plan decides the next batch from the indices (REFERENCE.md): while a gap
// is open, LastSynced-1 down to max(InOrder+1, LastSynced-batch); with no
// gap, open-ended from the peer's tip down to Top+1.
func (s *Syncer) plan(st store.State) request {
	floor := st.Top
	if st.GapOpen() {
		floor = st.InOrder
	}
	r := request{floor: floor, fetch: true}
	switch {
	case len(s.carry) > 0:
		low := s.carry[len(s.carry)-1].Height()
		if low == floor+1 {
			return request{floor: floor, tip: s.carryTip}
		}
		r.from, r.tip = low-1, s.carryTip
	case st.GapOpen():
		r.from = st.LastSynced - 1
	default:
		r.to, r.tip = st.Top+1, true
		return r
	}
	r.to = max(floor+1, r.from-min(r.from, s.cfg.Batch)+1)
	return r
}

// batch runs one request and reports whether the store is synced (nothing
// left that any peer can give).
func (s *Syncer) batch(ctx context.Context, st store.State, req request) (bool, error) {
	var above *block.Header
	if !req.tip {
		b, err := s.cfg.Store.Get(st.LastSynced)
		if err != nil {
			return false, fmt.Errorf("read trusted block %d: %w", st.LastSynced, err)
		}
		above = &b.Header
	}
	var floor *block.Header
	if req.floor > 0 {
		b, err := s.cfg.Store.Get(req.floor)
		if err != nil {
			return false, fmt.Errorf("read stored block %d: %w", req.floor, err)
		}
		floor = &b.Header
	}
	if !req.fetch {
		// The carried block's parent is stored: finish it without a peer.
		carry, from := s.carry, s.carryFrom
		_, _, err := s.verifyAndCommit(ctx, above, carry, floor, nil, 0)
		var be *verify.BlockError
		if errors.As(err, &be) {
			s.drop(from, "sent an invalid block: "+be.Error())
			return false, nil
		}
		if err == nil && len(s.carry) == len(carry) {
			return false, fmt.Errorf("block %d could not be verified on top of stored block %d", carry[len(carry)-1].Height(), req.floor)
		}
		return false, err
	}
	peer, avail, err := s.choose(ctx, st, req)
	if err != nil || peer == nil {
		return peer == nil && err == nil, err
	}
	s.cfg.Observer.Target(max(avail.ServeTo, st.Top) - st.Blocks())
	return false, s.stream(ctx, peer, req, above, floor)
}
