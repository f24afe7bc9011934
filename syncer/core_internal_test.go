package syncer

// The sync core against in-memory fakes: no signing, no HTTP, no bbolt.
// The planner, the grant check, the choice of prefetch peers and the
// admission of what a peer streams are checked here in milliseconds; the
// end-to-end tests (real signatures, servers and stores) are beside them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

var fakeID = chain.Identity{ChainID: 42, NetworkType: 2}

// fakeChain is a linked chain of unsigned blocks, fakeChain[h-1] at height h.
func fakeChain(n int) []*block.Block {
	var prev common.Hash
	out := make([]*block.Block, n)
	for i := range out {
		b := &block.Block{Header: block.Header{ProtocolVersion: 2, VirtualChainID: fakeID.ChainID, NetworkType: fakeID.NetworkType,
			Height: uint64(i + 1), PrevHash: prev, RefTime: uint32(1000 + i)}, Body: []byte{byte(i)}}
		b.Seal()
		prev = b.Hash()
		out[i] = b
	}
	return out
}

// fakeStore keeps blocks in a map and the three indices as the store's
// write rules move them for descending runs.
type fakeStore struct {
	mu     sync.Mutex
	blocks map[uint64]*block.Block
	st     chain.State
}

func newFakeStore(held ...*block.Block) *fakeStore {
	s := &fakeStore{blocks: map[uint64]*block.Block{}}
	for _, b := range held {
		s.blocks[b.Height()] = b
	}
	for h := uint64(1); s.blocks[h] != nil; h++ {
		s.st.InOrder = h
	}
	for h := range s.blocks {
		s.st.Top = max(s.st.Top, h)
	}
	s.st.LastSynced = s.st.Top
	for s.st.LastSynced > 1 && s.blocks[s.st.LastSynced-1] != nil {
		s.st.LastSynced--
	}
	return s
}

func (s *fakeStore) Identity() chain.Identity { return fakeID }
func (s *fakeStore) State() (chain.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st, nil
}
func (s *fakeStore) Get(h uint64) (*block.Block, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.blocks[h]; b != nil {
		return b, nil
	}
	return nil, store.ErrNotFound
}
func (s *fakeStore) Has(h uint64) (bool, error) {
	_, err := s.Get(h)
	return err == nil, nil
}
func (s *fakeStore) Hash(h uint64) (common.Hash, error) {
	b, err := s.Get(h)
	if err != nil {
		return common.Hash{}, err
	}
	return b.Hash(), nil
}

// CommitDescending keeps the store's rule: a run is the highest blocks of a
// new reverse run (above Top) or continues the current one downwards.
func (s *fakeStore) CommitDescending(run []*block.Block) (chain.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	top, low := run[0].Height(), run[len(run)-1].Height()
	if top != s.st.LastSynced-1 && top <= s.st.Top {
		return s.st, fmt.Errorf("fake store: run %d-%d neither continues LastSynced %d nor starts above Top %d", top, low, s.st.LastSynced, s.st.Top)
	}
	for _, b := range run {
		s.blocks[b.Height()] = b
	}
	s.st.Top, s.st.LastSynced = max(s.st.Top, top), low
	for s.blocks[s.st.InOrder+1] != nil {
		s.st.InOrder++
	}
	if s.st.LastSynced <= s.st.InOrder+1 {
		s.st.LastSynced = s.st.Top
		for s.st.LastSynced > 1 && s.blocks[s.st.LastSynced-1] != nil {
			s.st.LastSynced--
		}
	}
	return s.st, nil
}

// fakeVerifier trusts a block when it links by hash to the trusted block
// above it and is not in bad; like the real one, the lowest block waits
// for its parent unless the segment has it (Below) or it is block 1.
type fakeVerifier struct {
	bad   map[uint64]bool
	calls int
	mu    sync.Mutex
}

func (v *fakeVerifier) VerifyDescending(_ context.Context, seg verify.Segment) (int, error) {
	v.mu.Lock()
	v.calls++
	v.mu.Unlock()
	above := seg.Above
	n := 0
	for i, b := range seg.Blocks {
		if above != nil && above.PrevHash != b.Hash() {
			return n, &verify.BlockError{Height: b.Height(), Reason: "does not link to the block above"}
		}
		if i == len(seg.Blocks)-1 && seg.Below == nil && b.Height() != 1 {
			return n, nil // waits for its parent
		}
		if v.bad[b.Height()] {
			return n, &verify.BlockError{Height: b.Height(), Reason: "bad proof"}
		}
		above, n = &b.Header, n+1
	}
	return n, nil
}

// fakePeer serves a chain from memory; edit, if set, rewrites each chunk
// it sends (the lies under test).
type fakePeer struct {
	name  string
	chain []*block.Block
	edit  func(chunk []*block.Block) []*block.Block
	avail func(a wire.Availability) wire.Availability
	grant func(g wire.Grant) wire.Grant
}

func (p *fakePeer) Name() string { return p.name }

func (p *fakePeer) Availability(context.Context) (wire.Availability, error) {
	top := uint64(len(p.chain))
	a := wire.Availability{NetworkType: fakeID.NetworkType, ChainID: fakeID.ChainID, InOrder: top, Top: top, ServeFrom: 1, ServeTo: top,
		MaxBatch: 1000, MaxChunk: 100, MaxFrameBytes: wire.DefaultMaxFrameBytes}
	if p.avail != nil {
		a = p.avail(a)
	}
	return a, nil
}

func (p *fakePeer) Blocks(ctx context.Context, req wire.Request) (peerclient.Stream, error) {
	a, _ := p.Availability(ctx)
	g, err := wire.GrantFor(a, req)
	if err != nil {
		return nil, err
	}
	if p.grant != nil {
		g = p.grant(g)
	}
	st := &fakeStream{g: g}
	var chunk []*block.Block
	for h := g.From; h >= g.To && h >= 1; h-- {
		if chunk = append(chunk, p.chain[h-1]); len(chunk) == g.Chunk || h == g.To || h == 1 {
			if p.edit != nil {
				chunk = p.edit(chunk)
			}
			st.chunks, chunk = append(st.chunks, chunk), nil
		}
	}
	return st, nil
}

type fakeStream struct {
	g      wire.Grant
	chunks [][]*block.Block
}

func (s *fakeStream) Grant() wire.Grant { return s.g }
func (s *fakeStream) Next(reserve peerclient.Reserve) ([]*block.Block, int, error) {
	if len(s.chunks) == 0 {
		return nil, 0, io.EOF
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	size := 0
	for _, b := range c {
		size += len(b.Body) + 200
	}
	if reserve != nil {
		if err := reserve(size); err != nil {
			return nil, 0, err
		}
	}
	return c, size, nil
}
func (s *fakeStream) Close() error { return nil }

func fakeSyncer(st Store, v Verifier, peers ...peerclient.Peer) *Syncer {
	return New(Config{Store: st, Verifier: v, Peers: peers, Batch: 30, Chunk: 7, CollectTimeout: time.Second,
		Choose: func([]string) int { return 0 }})
}

func TestPlan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		st    chain.State
		carry uint64 // the carried block's height (0: none)
		pull  *pullBudget
		trust uint64
		want  request
	}{
		{name: "empty store: from the peer's tip down to 1", want: request{to: 1, tip: true, fetch: true}},
		{name: "no gap: from the tip down to Top+1", st: chain.State{InOrder: 100, LastSynced: 100, Top: 100},
			want: request{to: 101, tip: true, floor: 100, fetch: true}},
		{name: "gap: one batch below LastSynced", st: chain.State{InOrder: 10, LastSynced: 150, Top: 200},
			want: request{from: 149, to: 120, floor: 10, fetch: true}},
		{name: "gap smaller than a batch: down to InOrder+1", st: chain.State{InOrder: 130, LastSynced: 150, Top: 200},
			want: request{from: 149, to: 131, floor: 130, fetch: true}},
		{name: "carry: below the carried block", st: chain.State{InOrder: 10, LastSynced: 150, Top: 200}, carry: 149,
			want: request{from: 148, to: 119, floor: 10, fetch: true}},
		{name: "carry right above the floor: finish it without a peer", st: chain.State{InOrder: 10, LastSynced: 150, Top: 200}, carry: 11,
			want: request{floor: 10}},
		{name: "checkpoint above Top: start there, anchored", st: chain.State{InOrder: 20, LastSynced: 20, Top: 20}, trust: 180,
			want: request{from: 180, to: 151, tip: true, floor: 20, fetch: true}},
		{name: "pull from a height: one batch, its tip with its parent", st: chain.State{InOrder: 20, LastSynced: 20, Top: 20},
			pull: &pullBudget{from: 50, to: 50}, want: request{from: 50, to: 49, tip: true, floor: 20, fetch: true}},
		{name: "pull down to a bound", st: chain.State{InOrder: 20, LastSynced: 20, Top: 20},
			pull: &pullBudget{from: 100, to: 90}, want: request{from: 100, to: 90, tip: true, floor: 20, fetch: true}},
		{name: "pull after its grant: only the lowest block's parent", st: chain.State{InOrder: 20, LastSynced: 90, Top: 100},
			pull: &pullBudget{from: 100, low: 90}, want: request{from: 89, to: 89, floor: 20, fetch: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := goal{kind: goalSync}
			if tc.pull != nil {
				g = goal{kind: goalPull, pull: *tc.pull}
			}
			var trust *Checkpoint
			if tc.trust != 0 {
				trust = &Checkpoint{Height: tc.trust}
			}
			if got := plan(tc.st, tc.carry, g, trust, 30); got != tc.want {
				t.Fatalf("plan(%+v) = %+v, want %+v", tc.st, got, tc.want)
			}
		})
	}
}

func TestCheckGrant(t *testing.T) {
	t.Parallel()
	avail := wire.Availability{NetworkType: fakeID.NetworkType, ChainID: fakeID.ChainID, InOrder: 500, Top: 500, ServeFrom: 1, ServeTo: 500,
		MaxBatch: 100, MaxChunk: 20, MaxFrameBytes: wire.DefaultMaxFrameBytes}
	gapReq := wire.Request{From: 300, To: 1, Batch: 50, Chunk: 10}
	honest, err := wire.GrantFor(avail, gapReq)
	if err != nil {
		t.Fatal(err)
	}
	tipReq := wire.Request{To: 401, Batch: 50, Chunk: 10}
	tipGrant, _ := wire.GrantFor(avail, tipReq)
	grown := avail
	grown.ServeTo, grown.Top = 510, 510
	newerTip, _ := wire.GrantFor(grown, tipReq)
	with := func(g wire.Grant, edit func(*wire.Grant)) wire.Grant { edit(&g); return g }
	cases := []struct {
		name string
		g    wire.Grant
		wreq wire.Request
		req  request
		want string // "" or a part of the complaint
	}{
		{"the negotiated grant", honest, gapReq, request{from: 300, to: 1}, ""},
		{"more blocks than negotiated", with(honest, func(g *wire.Grant) { g.To -= 10 }), gapReq, request{from: 300}, "the negotiated grant was"},
		{"larger chunks", with(honest, func(g *wire.Grant) { g.Chunk = 20 }), gapReq, request{from: 300}, "in chunks of 20"},
		{"other heights", with(honest, func(g *wire.Grant) { g.From, g.To = g.From-1, g.To-1 }), gapReq, request{from: 300}, "the negotiated grant was"},
		{"larger frames", with(honest, func(g *wire.Grant) { g.MaxFrameBytes *= 2 }), gapReq, request{from: 300}, "frames of"},
		{"at or below what is stored", honest, gapReq, request{from: 300, floor: 300}, "at or below the stored height 300"},
		{"an open-ended batch from a tip that grew since", newerTip, tipReq, request{to: 401, tip: true, floor: 400}, ""},
		{"an open-ended batch past what it serves", with(tipGrant, func(g *wire.Grant) { g.From = 600 }), tipReq, request{to: 401, tip: true}, "the negotiated grant was"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkGrant(tc.g, avail, tc.wreq, tc.req)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("checkGrant(%+v) = %q, want %q", tc.g, got, tc.want)
			}
		})
	}
}

// Prefetches go to a live peer that serves the whole range and is not
// already downloading; to a downloading one only when no other can; never
// to a dropped peer, one that cannot serve the range, or a busy one.
func TestPrefetchPeerChoice(t *testing.T) {
	t.Parallel()
	peer := func(name string) peerclient.Peer { return &fakePeer{name: name} }
	serving := func(from, to uint64) wire.Availability { return wire.Availability{ServeFrom: from, ServeTo: to} }
	a, b, c, d := peer("a"), peer("b"), peer("c"), peer("d")
	s := fakeSyncer(newFakeStore(), &fakeVerifier{})
	s.known = []answer{{peer: a, avail: serving(1, 500)}, {peer: b, avail: serving(1, 500)}, {peer: c, avail: serving(300, 500)}, {peer: d, avail: serving(1, 500)}}
	s.drop(d, DropBadBlock, "lied")
	s.pre.running = []*prefetch{{from: 400, to: 371, peer: a, done: make(chan struct{})}}
	names := func(from, to uint64) string {
		var got []string
		for i := 0; i < 20; i++ { // Choose walks every index of the pool
			j := i
			s.cfg.Choose = func(n []string) int { return j % len(n) }
			p, _, ok := s.prefetchPeer(from, to)
			if !ok {
				return "none"
			}
			got = append(got, p.Name())
		}
		sort.Strings(got)
		return strings.Join(slicesCompact(got), ",")
	}
	if got := names(200, 171); got != "b" {
		t.Fatalf("range 200-171: chose %s, want only b (a downloads, c does not serve it, d is dropped)", got)
	}
	if got := names(450, 421); got != "b,c" {
		t.Fatalf("range 450-421: chose %s, want b and c", got)
	}
	s.drop(b, DropSlow, "slow")
	if got := names(200, 171); got != "a" {
		t.Fatalf("with b dropped: chose %s, want the downloading a rather than nothing", got)
	}
	if got := names(900, 871); got != "none" {
		t.Fatalf("a range nobody serves: chose %s", got)
	}
}

func slicesCompact(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// What a peer streams is admitted only as the grant and the chain allow:
// an honest peer fills the store; a peer whose chunks skip, repeat or
// reorder heights, go past the grant, or carry a block the verifier
// refuses is dropped with the right kind, and the store holds only what
// was verified, the honest chain's blocks.
func TestAdmission(t *testing.T) {
	t.Parallel()
	honest := fakeChain(100)
	forged := func(h uint64) *block.Block {
		b := *honest[h-1]
		b.Body = []byte("forged")
		b.Seal()
		return &b
	}
	at := func(h uint64, edit func(chunk []*block.Block, i int) []*block.Block) func([]*block.Block) []*block.Block {
		return func(chunk []*block.Block) []*block.Block {
			for i, b := range chunk {
				if b.Height() == h {
					return edit(append([]*block.Block(nil), chunk...), i)
				}
			}
			return chunk
		}
	}
	cases := []struct {
		name   string
		peer   fakePeer
		bad    map[uint64]bool
		kind   DropKind
		reason string
	}{
		{name: "honest"},
		{name: "skipped height", peer: fakePeer{edit: at(90, func(c []*block.Block, i int) []*block.Block { return append(c[:i], c[i+1:]...) })},
			kind: DropProtocol, reason: "where"},
		{name: "repeated height", peer: fakePeer{edit: at(90, func(c []*block.Block, i int) []*block.Block {
			return append(c[:i+1], c[i:]...)
		})}, kind: DropProtocol, reason: "where"},
		{name: "reordered heights", peer: fakePeer{edit: at(90, func(c []*block.Block, i int) []*block.Block {
			if i+1 < len(c) {
				c[i], c[i+1] = c[i+1], c[i]
			}
			return c
		})}, kind: DropProtocol, reason: "where"},
		{name: "a block past the grant", peer: fakePeer{edit: func(c []*block.Block) []*block.Block {
			if c[len(c)-1].Height() == 71 { // the batch's last chunk (100 down to 71)
				return append(c, honest[69])
			}
			return c
		}}, kind: DropProtocol, reason: "where 72-71 belong"},
		{name: "a forged block that does not link", peer: fakePeer{edit: at(80, func(c []*block.Block, i int) []*block.Block {
			c[i] = forged(80)
			return c
		})}, kind: DropBadBlock, reason: "does not link"},
		{name: "a block the verifier refuses", bad: map[uint64]bool{60: true}, kind: DropBadBlock, reason: "bad proof"},
		{name: "a grant past the availability", peer: fakePeer{grant: func(g wire.Grant) wire.Grant { g.Chunk++; return g }},
			kind: DropLied, reason: "negotiated grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newFakeStore()
			liar := tc.peer
			liar.name, liar.chain = "liar", honest
			v := &fakeVerifier{bad: tc.bad}
			res, err := fakeSyncer(st, v, &liar).Sync(context.Background())
			state, _ := st.State()
			for h, b := range st.blocks {
				if b != honest[h-1] {
					t.Fatalf("stored block %d is not the honest chain's", h)
				}
			}
			if tc.kind == "" {
				if err != nil || state.InOrder != 100 || len(res.PeersDropped) != 0 {
					t.Fatalf("honest peer: err %v, state %+v, dropped %+v", err, state, res.PeersDropped)
				}
				return
			}
			if !errors.Is(err, ErrNoPeer) || len(res.PeersDropped) != 1 || res.PeersDropped[0].Kind != tc.kind ||
				!strings.Contains(res.PeersDropped[0].Reason, tc.reason) {
				t.Fatalf("err %v, dropped %+v; want one %s drop naming %q", err, res.PeersDropped, tc.kind, tc.reason)
			}
		})
	}
}

// Each goal says when its run is done: a gap run when the gap is closed and
// nothing is carried; a pull when the lowest height of its grant is stored;
// a sync anchored on a checkpoint when the store holds everything up to it
// (an unanchored sync ends when no peer is ahead).
func TestGoalUnmet(t *testing.T) {
	t.Parallel()
	chainOf := fakeChain(100)
	s := fakeSyncer(newFakeStore(append(chainOf[:10:10], chainOf[60:]...)...), &fakeVerifier{}) // 1-10, 61-100: a gap
	gap, _ := s.cfg.Store.State()
	closed := chain.State{InOrder: 100, LastSynced: 100, Top: 100}
	cases := []struct {
		name  string
		g     goal
		st    chain.State
		carry bool
		trust *Checkpoint
		want  bool
	}{
		{"gap open", goal{kind: goalGap}, gap, false, nil, true},
		{"gap closed", goal{kind: goalGap}, closed, false, nil, false},
		{"gap closed, a block still carried", goal{kind: goalGap}, closed, true, nil, true},
		{"pull not granted yet", goal{kind: goalPull, pull: pullBudget{from: 50}}, gap, false, nil, true},
		{"pull whose lowest is missing", goal{kind: goalPull, pull: pullBudget{from: 50, low: 40}}, gap, false, nil, true},
		{"pull whose lowest is stored", goal{kind: goalPull, pull: pullBudget{from: 70, low: 65}}, gap, false, nil, false},
		{"sync", goal{kind: goalSync}, closed, false, nil, true},
		{"sync below its checkpoint", goal{kind: goalSync}, gap, false, &Checkpoint{Height: 100}, true},
		{"sync that reached its checkpoint", goal{kind: goalSync}, closed, false, &Checkpoint{Height: 100}, false},
	}
	for _, tc := range cases {
		s.goal, s.cfg.Trust, s.carry = tc.g, tc.trust, nil
		if tc.carry {
			s.carry = []*block.Block{chainOf[50]}
		}
		if got, err := s.unmet(tc.st); err != nil || got != tc.want {
			t.Errorf("%s: unmet %v (%v), want %v", tc.name, got, err, tc.want)
		}
	}
}
