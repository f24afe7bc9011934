// Package syncer is vcsync's one sync core: it plans what the store is
// missing, asks peers what they have, picks one at random, streams a batch
// in chunks, verifies every block and commits verified chunks, tip to
// genesis. pull, sync, close-gaps and import all run it. It declares the
// Store and Verifier it needs and knows nothing of flags, output,
// Prometheus or where committees come from.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
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
	Dropped(peer, kind, reason string)           // a peer was dropped for the rest of the run
	PeerTip(height uint64)                       // the highest height an answering peer advertised
	Timed(what string, d time.Duration)          // how long a "batch" (request to last chunk) or a "chunk" (one read) took
}

// Store is what the sync core needs of a block store (store.Store is one):
// the chain it holds, its heights, the blocks it has, and committing a
// verified run below what it holds, in one transaction.
type Store interface {
	Identity() chain.Identity
	State() (chain.State, error)
	Get(height uint64) (*block.Block, error)
	Has(height uint64) (bool, error)
	Hash(height uint64) (common.Hash, error)
	CommitDescending(blocks []*block.Block) (chain.State, error)
}

// Verifier checks a descending run of blocks from a peer (verify.Verifier
// is one): how many of them, from the top, it trusts, and why not the rest.
type Verifier interface {
	VerifyDescending(ctx context.Context, seg verify.Segment) (int, error)
}

// Config wires a Syncer.
type Config struct {
	Store          Store
	Verifier       Verifier
	Peers          []peerclient.Peer
	Batch          uint64
	Chunk          int
	CollectTimeout time.Duration
	Rand           *rand.Rand // peer choice; nil: seeded from the clock
	// Choose picks one of the candidate peers (sorted by name) and returns
	// its index; nil picks at random with Rand. Tests inject it to make a
	// choice deterministic.
	Choose   func(names []string) int
	Observer Observer // nil: silent
	// Parallel is how many batches are fetched at once, from different
	// peers (prefetch.go); 1 is the original one-batch-at-a-time flow.
	Parallel int
	// SlowAfter: how long a prefetched batch may hold the sync back
	// before its peer is dropped as slow (0: DefaultSlowAfter).
	SlowAfter time.Duration
	// LiveBatchBytes bounds the frames the live batch holds in memory,
	// from the read to the commit (0: 64 MiB). A frame larger than it is
	// still read, alone.
	LiveBatchBytes int
	// BusyTimeout: how long the sync waits in a row while every peer that
	// could help answers "later" (0: DefaultBusyTimeout). See busy.go.
	BusyTimeout time.Duration
	// Trust is an operator's checkpoint (--trust): while the store's Top
	// is below it, the sync starts there, and the block at its height is
	// anchored by its hash instead of the tip rule (checkpoint.go).
	Trust *Checkpoint
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
	// BusyAnswers counts the "later" answers of busy peers (never a drop);
	// BusyWaitSeconds is how long the run waited with every useful peer busy.
	BusyAnswers     int     `json:"busy_answers"`
	BusyWaitSeconds float64 `json:"busy_wait_seconds"`
	// NextRoundSeconds, in a round of Follow, is when the next round
	// starts: stale-after, or a backoff after failed rounds.
	NextRoundSeconds float64 `json:"next_round_seconds,omitempty"`
	// Reduced is a pull's batch when its peer granted fewer blocks than
	// asked (its own batch limit), so a pull that moved less says why.
	Reduced *Reduction `json:"reduced,omitempty"`
}

// Reduction is a batch a peer granted smaller than asked.
type Reduction struct {
	Peer    string `json:"peer"`
	Asked   uint64 `json:"asked"`
	Granted uint64 `json:"granted"`
}

// noteReduction records a pull's grant smaller than the batch it asked.
func (s *Syncer) noteReduction(p peerclient.Peer, g wire.Grant, req wire.Request) {
	asked := min(s.cfg.Batch, g.From-max(req.To, 1)+1)
	if got := g.From - g.To + 1; got < asked {
		s.mu.Lock()
		s.res.Reduced = &Reduction{Peer: p.Name(), Asked: asked, Granted: got}
		s.mu.Unlock()
	}
}

// ErrIncomplete means a pull ended before its batch was committed.
var ErrIncomplete = errors.New("the batch was not completed")

// ErrInterrupted means the run was cancelled (SIGINT): what was verified is
// committed, the store is consistent, and the next run resumes.
var ErrInterrupted = errors.New("interrupted; the store is consistent and the next run resumes")

// Syncer runs the flow against one store. A Syncer runs once.
type Syncer struct {
	cfg         Config
	mu          sync.Mutex // guards res, dropped and busy: the committer goroutine updates res
	dropped     map[string]string
	busy        map[string]*busyPeer // peers that said "later", by name
	busySince   time.Time            // when the current wait for a busy peer began
	res         Result
	start       time.Time
	asked       bool            // an availability question went out
	hashChecked map[string]bool // peers whose named hashes were compared, by name
	answered    map[string]bool // peers that answered one in time, by name

	// carry is the lowest block received so far, linked by hash to the
	// verified block above it (so its header is authentic) but waiting for
	// its parent's reference time to check its proof: held over to the next
	// batch, never dropped and fetched again, unless its sender is dropped.
	// An unverified tip is never carried (see receive).
	carry     []*block.Block
	carryFrom peerclient.Peer

	goal goal // what the run is for, set when it starts

	known []answer   // the last availability answers, for choosing prefetch peers
	pre   prefetcher // batches downloading ahead of the main loop
}

// PullRangeError is a pull asked to end (To) above where it starts (From):
// a pull runs downwards. Gap is the store's heights when an open gap fixed
// From (the gap is closed first); zero when From was asked for.
type PullRangeError struct {
	From, To uint64
	Gap      chain.State
}

func (e *PullRangeError) Error() string {
	if e.Gap.GapOpen() {
		return fmt.Sprintf("the lowest height %d is above %d, where the pull starts: a gap is open (InOrder %d, LastSynced %d) and is closed first, downwards",
			e.To, e.From, e.Gap.InOrder, e.Gap.LastSynced)
	}
	return fmt.Sprintf("the lowest height %d is above the highest %d: a pull runs from a higher height down to a lower one", e.To, e.From)
}

// goal is what a run is for. The kind is fixed when the run starts (Sync,
// CloseGap or Pull); a pull's budget learns its lowest height from the
// first grant.
type goal struct {
	kind goalKind
	pull pullBudget // goalPull only
}

type goalKind int

const (
	goalSync goalKind = iota // the whole chain: the gap first, then from the peers' tip
	goalGap                  // only the gap between InOrder and LastSynced
	goalPull                 // one batch, as asked, committed whole
)

// pullBudget is what Pull asked for and, once a peer granted it, the
// lowest height the batch must leave committed.
type pullBudget struct {
	from, to uint64 // as given (0: plan like sync / as far as the batch goes)
	low      uint64 // 0 until the first grant
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
	if cfg.Choose == nil {
		r := cfg.Rand
		cfg.Choose = func(names []string) int { return r.Intn(len(names)) }
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 1
	}
	if cfg.SlowAfter <= 0 {
		cfg.SlowAfter = DefaultSlowAfter
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = DefaultBusyTimeout
	}
	return &Syncer{cfg: cfg, dropped: map[string]string{}, busy: map[string]*busyPeer{}, res: Result{PeersUsed: []string{}, PeersDropped: []Dropped{}}}
}

type nopObserver struct{}

func (nopObserver) Target(uint64)                   {}
func (nopObserver) Batch(string, wire.Grant)        {}
func (nopObserver) Committed(store.State, int, int) {}
func (nopObserver) Dropped(string, string, string)  {}
func (nopObserver) PeerTip(uint64)                  {}
func (nopObserver) Timed(string, time.Duration)     {}

// Sync runs the flow until the store holds 1..tip with no gap: the gap
// first, then from the best peer's tip down to Top+1, and so on.
func (s *Syncer) Sync(ctx context.Context) (Result, error) {
	s.goal = goal{kind: goalSync}
	return s.run(ctx)
}

// CloseGap only closes the gap between InOrder and LastSynced.
func (s *Syncer) CloseGap(ctx context.Context) (Result, error) {
	s.goal = goal{kind: goalGap}
	return s.run(ctx)
}

// Pull runs the same loop as Sync with a budget of one batch: from down to
// to (from 0: planned like sync, the gap first; to 0: as far as the peer's
// batch goes). It ends when every block of the granted batch is committed
// (fetching the lowest one's parent if needed to verify it), and fails
// with ErrIncomplete (or ErrNoPeer) otherwise.
func (s *Syncer) Pull(ctx context.Context, from, to uint64) (Result, error) {
	s.start = time.Now()
	st, err := s.cfg.Store.State()
	if err != nil {
		return s.result(), err
	}
	if from != 0 {
		if st.GapOpen() && from != st.LastSynced-1 {
			return s.result(), fmt.Errorf("a gap is open (InOrder %d, LastSynced %d): a pull must start at %d", st.InOrder, st.LastSynced, st.LastSynced-1)
		}
		if !st.GapOpen() && from <= st.Top {
			return s.result(), fmt.Errorf("height %d is already stored (Top %d): a pull starts above Top or at the gap", from, st.Top)
		}
	}
	if to != 0 && from != 0 && to > from {
		return s.result(), &PullRangeError{From: from, To: to}
	}
	if to != 0 && from == 0 && st.GapOpen() && to > st.LastSynced-1 {
		return s.result(), &PullRangeError{From: st.LastSynced - 1, To: to, Gap: st}
	}
	s.goal = goal{kind: goalPull, pull: pullBudget{from: from, to: to}}
	return s.run(ctx)
}

// unmet says whether the run's goal still needs a batch.
func (s *Syncer) unmet(st store.State) (bool, error) {
	switch s.goal.kind {
	case goalGap:
		return st.GapOpen() || len(s.carry) > 0, nil
	case goalPull:
		if s.goal.pull.low == 0 {
			return true, nil // nothing granted yet
		}
		has, err := s.cfg.Store.Has(s.goal.pull.low)
		return !has, err
	}
	return !s.reachedCheckpoint(st), nil
}

func (s *Syncer) result() Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res
	r.PeersUsed = append([]string{}, r.PeersUsed...)
	r.PeersDropped = append([]Dropped{}, r.PeersDropped...)
	// A peer that never answered in time was never dropped (it might have
	// answered the next round), but a summary that omitted it would say
	// nothing of a dead peer.
	for _, p := range s.cfg.Peers {
		if _, dropped := s.dropped[p.Name()]; s.asked && !dropped && !s.answered[p.Name()] {
			r.PeersDropped = append(r.PeersDropped, Dropped{Peer: p.Name(), Kind: DropUnreachable,
				Reason: fmt.Sprintf("never answered the availability question within the collect timeout (%s)", s.cfg.CollectTimeout)})
		}
	}
	r.Seconds = time.Since(s.start).Seconds()
	return r
}

// run repeats batches while the goal is unmet and there is something to fetch.
func (s *Syncer) run(ctx context.Context) (Result, error) {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	interrupted := func() (Result, error) {
		return s.result(), fmt.Errorf("%w (%w)", ErrInterrupted, ctx.Err())
	}
	defer s.pre.cancelAll() // nothing downloads after a run returns
	if err := s.checkCheckpoint(); err != nil {
		return s.result(), err
	}
	for {
		if ctx.Err() != nil {
			return interrupted()
		}
		st, err := s.cfg.Store.State()
		if err != nil {
			return s.result(), err
		}
		if ok, err := s.unmet(st); err != nil || !ok {
			return s.result(), err
		}
		done, err := s.batch(ctx, st, plan(st, s.carryLow(), s.goal, s.cfg.Trust, s.cfg.Batch))
		if ctx.Err() != nil {
			return interrupted()
		}
		if err != nil {
			return s.result(), err
		}
		if done {
			if low := s.goal.pull.low; s.goal.kind == goalPull && low != 0 {
				return s.result(), fmt.Errorf("%w: no peer serves the rest of the batch down to %d", ErrIncomplete, low)
			}
			return s.result(), nil // no peer is ahead of the store: nothing to do
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

// carryLow is the height of the lowest carried block, 0 if none.
func (s *Syncer) carryLow() uint64 {
	if len(s.carry) == 0 {
		return 0
	}
	return s.carry[len(s.carry)-1].Height()
}

// plan decides the next batch from the indices (README, "How sync works"):
// while a gap is open, LastSynced-1 down to max(InOrder+1, LastSynced-batch);
// with no gap, open-ended from the peer's tip down to Top+1; a carried block
// (its lowest at carryLow) is continued below; a checkpoint above Top is
// started from. A pull narrows it to its budget.
func plan(st store.State, carryLow uint64, g goal, trust *Checkpoint, batch uint64) request {
	floor := st.Top
	if st.GapOpen() {
		floor = st.InOrder
	}
	r := request{floor: floor, fetch: true}
	switch {
	case carryLow != 0:
		if carryLow == floor+1 {
			return request{floor: floor}
		}
		r.from = carryLow - 1
	case g.kind == goalPull && g.pull.low == 0 && g.pull.from != 0:
		r.from, r.tip = g.pull.from, !st.GapOpen()
	case st.GapOpen():
		r.from = st.LastSynced - 1
	case trust != nil && st.Top < trust.Height:
		r.from, r.tip = trust.Height, true // start at the checkpoint: nothing above it is anchored
	default:
		r.to, r.tip = st.Top+1, true
	}
	if r.from != 0 {
		r.to = max(floor+1, r.from-min(r.from, batch)+1)
	}
	if p := g.pull; g.kind == goalPull {
		switch {
		case p.low != 0:
			// Only the lowest block's parent is still needed, to verify it.
			r.to = max(r.to, p.low-1)
		case p.to != 0:
			r.to = max(r.to, p.to)
		}
		if r.from != 0 {
			r.to = min(r.to, r.from)
		}
		if r.tip && r.from != 0 && r.to == r.from && r.to > floor+1 {
			r.to-- // a tip is verified with its parent, so ask for both
		}
	}
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
		s.carry = nil
		_, pending, err := s.verifyAndCommit(ctx, above, carry, floor)
		var be *verify.BlockError
		if errors.As(err, &be) && unlinkedFromFloor(be, floor) {
			return false, divergedBelow(from, floor, carry[len(carry)-1])
		}
		if errors.As(err, &be) {
			s.drop(from, DropBadBlock, "sent an invalid block: %v", be)
			return false, nil
		}
		if err == nil && len(pending) > 0 {
			return false, fmt.Errorf("block %d could not be verified on top of stored block %d", carry[len(carry)-1].Height(), req.floor)
		}
		return false, err
	}
	if req.from != 0 {
		s.pre.cancelAbove(req.from) // the plan has moved below them
		if f := s.pre.take(req.from, req.to); f != nil && !s.isDropped(f.peer) {
			opened, ok := s.awaitPrefetch(ctx, f)
			if !ok {
				return false, nil // the peer was dropped; plan again
			}
			return false, s.stream(ctx, batch{peer: f.peer, avail: f.avail, req: req, above: above, floor: floor, opened: opened})
		}
	}
	hadCarry := len(s.carry) > 0
	peer, avail, err := s.choose(ctx, st, req)
	if err != nil || peer == nil {
		return peer == nil && err == nil, err
	}
	if hadCarry && len(s.carry) == 0 {
		// Choosing dropped the carried block's sender, and the block with
		// it: this request starts below a block no longer held. Plan again
		// from the verified block, or the next peer is blamed for the gap.
		return false, nil
	}
	s.cfg.Observer.Target(max(avail.ServeTo, st.Top) - st.Blocks())
	return false, s.stream(ctx, batch{peer: peer, avail: avail, req: req, above: above, floor: floor})
}
