package syncer_test

import (
	"context"
	"errors"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/exportfile"
	"github.com/vcsync/vcsync/store/fsck"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

// fixture is a signed devnet chain written to a source store.
type fixture struct {
	net   *devnet.Network
	chain []*block.Block
	src   string // path of a store holding the whole chain
	dir   string
	// parallel is Config.Parallel for the syncers the fixture makes.
	parallel int
	held     int // Config.LiveBatchBytes
	// batch and chunk are Config.Batch and Config.Chunk (300 and 40 unless set).
	batch uint64
	chunk int
}

func newFixture(t *testing.T, blocks uint64) *fixture {
	return newFixtureWith(t, devnet.Config{Seed: "sync-" + t.Name(), Blocks: blocks, RotateEvery: 200})
}

func newFixtureWith(t *testing.T, cfg devnet.Config) *fixture {
	t.Helper()
	n, err := devnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, chain, err := n.Generate(filepath.Join(dir, "src"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{net: n, chain: chain, src: files.Store, dir: dir, batch: 300, chunk: 40}
}

func (f *fixture) verifier(t *testing.T) *verify.Verifier {
	src, err := mgmt.NewDocSource(f.net.ManagementDoc(), f.net.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	return &verify.Verifier{Source: src, ChainID: f.net.ChainID, NetworkType: f.net.NetworkType}
}

// serve starts a peer server on 127.0.0.1 for a store reader (wrapped by wrap, if set).
func (f *fixture) serve(t *testing.T, wrap func(peerserver.Source) peerserver.Source, mw func(http.Handler) http.Handler) peerclient.Peer {
	t.Helper()
	return f.serveWith(t, wrap, mw, peerclient.Options{ChunkTimeout: 500 * time.Millisecond})
}

// serveWith is serve with the client's options for the peer.
func (f *fixture) serveWith(t *testing.T, wrap func(peerserver.Source) peerserver.Source, mw func(http.Handler) http.Handler, opts peerclient.Options) peerclient.Peer {
	t.Helper()
	s, err := store.Open(f.src, store.Options{ReadOnly: true, LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var src peerserver.Source = s
	if wrap != nil {
		src = wrap(s)
	}
	h := peerserver.New(src, peerserver.Options{}).Handler()
	if mw != nil {
		h = mw(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return peerclient.NewHTTP(srv.URL, opts)
}

func (f *fixture) forger(every uint64) func(peerserver.Source) peerserver.Source {
	return func(r peerserver.Source) peerserver.Source {
		return devnet.Forger{Source: r, Net: f.net, Every: every}
	}
}

func (f *fixture) emptyStore(t *testing.T) *store.Store {
	t.Helper()
	id := store.Identity{NetworkType: f.net.NetworkType, ChainID: f.net.ChainID}
	s, err := store.Open(filepath.Join(t.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (f *fixture) syncer(t *testing.T, s *store.Store, seed int64, peers ...peerclient.Peer) *syncer.Syncer {
	return syncer.New(syncer.Config{
		Store: s, Verifier: f.verifier(t), Peers: peers, Batch: f.batch, Chunk: f.chunk, Parallel: f.parallel,
		CollectTimeout: 2 * time.Second, Rand: rand.New(rand.NewSource(seed)),
	})
}

// syncerPreferring always chooses the peer named prefer while it is a
// candidate, so a test knows the hostile peer is tried first.
func (f *fixture) syncerPreferring(t *testing.T, s *store.Store, prefer string, peers ...peerclient.Peer) *syncer.Syncer {
	return syncer.New(syncer.Config{
		Store: s, Verifier: f.verifier(t), Peers: peers, Batch: f.batch, Chunk: f.chunk, CollectTimeout: 2 * time.Second, Parallel: f.parallel, LiveBatchBytes: f.held,
		Choose: func(names []string) int {
			for i, n := range names {
				if n == prefer {
					return i
				}
			}
			return 0
		},
	})
}

// mustBeSynced checks indices, the consistency walk and every stored hash against the chain.
func (f *fixture) mustBeSynced(t *testing.T, s *store.Store) {
	t.Helper()
	st, _ := s.State()
	n := uint64(len(f.chain))
	if st.InOrder != n || st.Top != n || st.LastSynced != n {
		t.Fatalf("indices %+v, want all at %d", st, n)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
	for _, h := range []uint64{1, n / 2, n} {
		got, _ := s.Hash(h)
		if got != f.chain[h-1].Hash() {
			t.Fatalf("block %d differs from the chain", h)
		}
	}
}

func TestSyncEmptyStoreToTip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1500)
	s := f.emptyStore(t)
	res, err := f.syncer(t, s, 1, f.serve(t, nil, nil), f.serve(t, nil, nil)).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
	if res.Blocks != 1500 || res.SyncedFrom != 1 || res.SyncedTo != 1500 || res.Bytes == 0 || len(res.PeersUsed) == 0 || len(res.PeersDropped) != 0 {
		t.Fatalf("result %+v", res)
	}
	// Every block is verified in the store, too.
	if _, err := f.verifier(t).Audit(context.Background(), s, verify.AuditRequest{From: 1, To: 1500}); err != nil {
		t.Fatal(err)
	}
}

func TestCloseGapOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 900)
	path := filepath.Join(t.TempDir(), "node.db")
	if err := f.net.WriteStore(path, f.chain[:850], []store.Range{{From: 1, To: 100}, {From: 601, To: 850}}); err != nil {
		t.Fatal(err)
	}
	s, _ := store.Open(path, store.Options{})
	defer s.Close()
	res, err := f.syncer(t, s, 1, f.serve(t, nil, nil)).CloseGap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.State()
	// The gap 101-600 is closed; blocks above 850 are left to sync.
	if st.InOrder != 850 || st.Top != 850 || res.Blocks != 500 || res.SyncedFrom != 101 || res.SyncedTo != 600 {
		t.Fatalf("state %+v result %+v", st, res)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
}

func TestForgingPeerIsDroppedAndNothingForgedIsCommitted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1000)
	s := f.emptyStore(t)
	forger := f.serve(t, f.forger(250), nil) // forges 250, 500, 750, 1000

	// Alone, the forger gets nowhere: its tip (1000) is forged.
	res, err := f.syncer(t, s, 1, forger).Sync(context.Background())
	if !errors.Is(err, syncer.ErrNoPeer) || len(res.PeersDropped) != 1 || !strings.Contains(res.PeersDropped[0].Reason, "block 1000") {
		t.Fatalf("forger alone: %v %+v", err, res)
	}
	if st, _ := s.State(); st.Top != 0 {
		t.Fatalf("forged tip was committed: %+v", st)
	}

	// With an honest peer beside it and the forger tried first, sync
	// completes and the forger is dropped.
	s = f.emptyStore(t)
	forger = f.serve(t, f.forger(250), nil)
	res, err = f.syncerPreferring(t, s, forger.Name(), forger, f.serve(t, nil, nil)).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
	if len(res.PeersDropped) != 1 || res.PeersDropped[0].Peer != forger.Name() || res.PeersDropped[0].Kind != syncer.DropBadBlock {
		t.Fatalf("the forger was not dropped: %+v", res)
	}
}

func TestForgedBlockMidBatchKeepsVerifiedPrefix(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 600)
	path := filepath.Join(t.TempDir(), "node.db")
	if err := f.net.WriteStore(path, f.chain, []store.Range{{From: 1, To: 100}, {From: 501, To: 600}}); err != nil {
		t.Fatal(err)
	}
	s, _ := store.Open(path, store.Options{})
	defer s.Close()
	res, err := f.syncer(t, s, 1, f.serve(t, f.forger(420), nil)).CloseGap(context.Background())
	if !errors.Is(err, syncer.ErrNoPeer) {
		t.Fatalf("err %v", err)
	}
	st, _ := s.State()
	// 500..421 verified and committed; 420 is forged and nothing at or below it is.
	if st.LastSynced != 421 || st.InOrder != 100 || res.Blocks != 80 {
		t.Fatalf("state %+v result %+v", st, res)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
}

func TestStallingAndLyingPeersAreDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 500)
	stall := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wire.PathBlocks {
				select { // never answers; the client's chunk timeout must end it
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	lie := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wire.PathAvailability {
				w.Write([]byte(`{"network_type":2,"chain_id":42,"in_order":9000,"top":9000,"serve_from":1,"serve_to":9000,"max_batch":1000,"max_chunk":100,"max_frame_bytes":1048576}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	// Alone, each is dropped with its reason.
	start := time.Now()
	res, err := f.syncer(t, f.emptyStore(t), 1, f.serve(t, nil, stall)).Sync(context.Background())
	if !errors.Is(err, syncer.ErrNoPeer) || len(res.PeersDropped) != 1 || !strings.Contains(res.PeersDropped[0].Reason, "stalled") {
		t.Fatalf("staller: %v %+v", err, res)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("dropping the staller took %v", time.Since(start))
	}
	// The liar's blocks are real, but its grant does not match what it advertised.
	res, err = f.syncer(t, f.emptyStore(t), 1, f.serve(t, nil, lie)).Sync(context.Background())
	if !errors.Is(err, syncer.ErrNoPeer) || len(res.PeersDropped) != 1 || res.PeersDropped[0].Kind != syncer.DropLied ||
		!strings.Contains(res.PeersDropped[0].Reason, "the negotiated grant was 9000-8701") {
		t.Fatalf("liar: %v %+v", err, res)
	}
	// Beside an honest peer, the job gets done whoever is chosen first.
	for seed := int64(1); seed <= 4; seed++ {
		s := f.emptyStore(t)
		if _, err := f.syncer(t, s, seed, f.serve(t, nil, stall), f.serve(t, nil, nil)).Sync(context.Background()); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		f.mustBeSynced(t, s)
	}
}

func TestFilePeer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 700)
	s := f.emptyStore(t)
	peer, err := peerclient.Open("file://"+f.src, peerclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.(*peerclient.Local).Close()
	if _, err := f.syncer(t, s, 1, peer).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
}

func TestExportThenImport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 800)
	src, _ := store.Open(f.src, store.Options{ReadOnly: true})
	out := filepath.Join(t.TempDir(), "blocks.vcx")
	if _, err := exportfile.Create(src, out, exportfile.Bounds{Lowest: 1, Highest: 800}, 64, false); err != nil {
		t.Fatal(err)
	}
	src.Close()
	s := f.emptyStore(t)
	res, err := f.syncer(t, s, 1, exportfile.NewPeer(out, peerclient.Options{})).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
	if res.Blocks != 800 {
		t.Fatalf("imported %d", res.Blocks)
	}
	// Importing again finds nothing missing.
	if res, err := f.syncer(t, s, 1, exportfile.NewPeer(out, peerclient.Options{})).Sync(context.Background()); err != nil || res.Blocks != 0 {
		t.Fatalf("second import: %d blocks, %v", res.Blocks, err)
	}
}

// An import reads its file once, each batch starting at the frame where
// the last one stopped: a batch deep in a long file neither reads the file
// from its start again nor counts the frames above it against its memory
// (which, with a budget of a few frames, once left the import waiting for
// ever at the first batch whose skipped frames filled it).
func TestImportOfALongFileDoesNotRereadIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3000)
	src, _ := store.Open(f.src, store.Options{ReadOnly: true})
	out := filepath.Join(t.TempDir(), "blocks.vcx")
	if _, err := exportfile.Create(src, out, exportfile.Bounds{Lowest: 1, Highest: 3000}, 40, false); err != nil {
		t.Fatal(err)
	}
	src.Close()
	s := f.emptyStore(t)
	sy := syncer.New(syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{exportfile.NewPeer(out, peerclient.Options{})},
		Batch: 300, Chunk: 40, CollectTimeout: time.Second, LiveBatchBytes: 200 << 10})
	done := make(chan error, 1)
	go func() { _, err := sy.Sync(context.Background()); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the import of a 3,000-block file with 200 KiB for its frames did not finish in a minute")
	}
	f.mustBeSynced(t, s)
}

// cancelAfter cancels the run after its first committed chunk.
type cancelAfter struct {
	once   sync.Once
	cancel context.CancelFunc
}

func (c *cancelAfter) Target(uint64)                   {}
func (c *cancelAfter) Batch(string, wire.Grant)        {}
func (c *cancelAfter) Dropped(string, string, string)  {}
func (c *cancelAfter) Committed(store.State, int, int) { c.once.Do(c.cancel) }
func (c *cancelAfter) PeerTip(uint64)                  {}
func (c *cancelAfter) Timed(string, time.Duration)     {}

func TestInterruptedRunResumes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1200)
	s := f.emptyStore(t)
	peer := f.serve(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	sy := syncer.New(syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{peer}, Batch: 300, Chunk: 20,
		Observer: &cancelAfter{cancel: cancel}})
	res, err := sy.Sync(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	st, _ := s.State()
	if res.Blocks == 0 || st.Top != 1200 || st.InOrder != 0 {
		t.Fatalf("after interrupt: %+v %+v", st, res)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatalf("store after interrupt: %v", err)
	}
	res2, err := f.syncer(t, s, 1, peer).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
	if res.Blocks+res2.Blocks != 1200 {
		t.Fatalf("blocks %d + %d, want 1200 with nothing fetched twice into the store", res.Blocks, res2.Blocks)
	}
}

func TestPullOneBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1000)
	s := f.emptyStore(t)
	peer := f.serve(t, nil, nil)
	res, err := f.syncer(t, s, 1, peer).Pull(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.State()
	// From the tip, one whole batch of 300: the lowest block is verified
	// with its parent, fetched for that and not stored.
	if st.Top != 1000 || st.LastSynced != 701 || res.Blocks != 300 {
		t.Fatalf("state %+v result %+v", st, res)
	}
	if _, err := f.syncer(t, s, 1, peer).Pull(context.Background(), 500, 0); err == nil || !strings.Contains(err.Error(), "must start at "+strconv.Itoa(700)) {
		t.Fatalf("pull inside a gap from the wrong height: %v", err)
	}
}

// cutAfter passes a response through until n body bytes, then aborts the
// connection, as a peer that dies mid-stream would.
type cutAfter struct {
	http.ResponseWriter
	left int
}

func (c *cutAfter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

func (c *cutAfter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }

func TestPeerDisconnectingMidStreamIsDropped(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 600)
	cut := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wire.PathBlocks {
				w = &cutAfter{ResponseWriter: w, left: 50_000} // a few chunks, then gone
			}
			h.ServeHTTP(w, r)
		})
	}
	s := f.emptyStore(t)
	res, err := f.syncer(t, s, 1, f.serve(t, nil, cut)).Sync(context.Background())
	if !errors.Is(err, syncer.ErrNoPeer) || len(res.PeersDropped) != 1 || !strings.Contains(res.PeersDropped[0].Reason, "read frame") {
		t.Fatalf("err %v result %+v", err, res)
	}
	// What arrived whole and verified is kept; the store is consistent.
	st, _ := s.State()
	if res.Blocks == 0 || st.Top != 600 || fsck.Check(s, nil) != nil {
		t.Fatalf("after the cut: %+v %+v", st, res)
	}
	if _, err := f.syncer(t, s, 1, f.serve(t, nil, nil)).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
}

// otherCurrent answers Current with a committee of its own.
type otherCurrent struct {
	committee.Source
	cur *committee.Committee
}

func (o otherCurrent) Current(context.Context) (*committee.Committee, error) { return o.cur, nil }

func TestPullAboveTopUsesTheTipRule(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 500)
	path := filepath.Join(t.TempDir(), "node.db")
	if err := f.net.WriteStore(path, f.chain[:300], nil); err != nil {
		t.Fatal(err)
	}
	s, _ := store.Open(path, store.Options{})
	defer s.Close()
	peer := f.serve(t, nil, nil)
	// Top+1 exactly: block 301 is the new top, trusted by the tip rule with its stored parent.
	if res, err := f.syncer(t, s, 1, peer).Pull(context.Background(), 301, 0); err != nil || res.Blocks != 1 {
		t.Fatalf("pull 301: %v %+v", err, res)
	}
	// Past the honesty grace, with a current committee that never signed, a new top is refused.
	other, _ := devnet.New(devnet.Config{Seed: "someone else", Blocks: 10})
	v := f.verifier(t)
	v.Source = otherCurrent{Source: v.Source, cur: other.Committee(1)}
	v.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	sy := syncer.New(syncer.Config{Store: s, Verifier: v, Peers: []peerclient.Peer{peer}, Batch: 300, Chunk: 40})
	res, err := sy.Pull(context.Background(), 450, 302)
	if !errors.Is(err, syncer.ErrNoPeer) || res.Blocks != 0 || res.PeersDropped[0].Kind != syncer.DropUntrustedTip || len(res.PeersDropped) != 1 || !strings.Contains(res.PeersDropped[0].Reason, "past the 12h0m0s honesty grace") {
		t.Fatalf("stale pull: %v %+v", err, res)
	}
	if st, _ := s.State(); st.Top != 301 {
		t.Fatalf("a refused tip moved the store: %+v", st)
	}
}

func TestPullCommitsExactlyItsRange(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1000)
	path := filepath.Join(t.TempDir(), "node.db")
	if err := f.net.WriteStore(path, f.chain[:100], nil); err != nil {
		t.Fatal(err)
	}
	s, _ := store.Open(path, store.Options{})
	defer s.Close()
	peer := f.serve(t, nil, nil)

	// --from 400 --to 200 above Top 100: 400 is a new top (tip rule), 200 is
	// verified with its parent 199, which is fetched for that and not stored.
	res, err := f.syncer(t, s, 1, peer).Pull(context.Background(), 400, 200)
	if err != nil || res.Blocks != 201 || res.SyncedFrom != 200 || res.SyncedTo != 400 {
		t.Fatalf("pull 400-200: %v %+v", err, res)
	}
	if st, _ := s.State(); st.InOrder != 100 || st.LastSynced != 200 || st.Top != 400 {
		t.Fatalf("after pull 400-200: %+v", st)
	}
	// --to alone: the gap first, stopping at --to.
	res, err = f.syncer(t, s, 1, peer).Pull(context.Background(), 0, 150)
	if err != nil || res.SyncedFrom != 150 || res.SyncedTo != 199 {
		t.Fatalf("pull --to 150: %v %+v", err, res)
	}
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
	// A pull whose only peer is dropped commits nothing and fails.
	res, err = f.syncer(t, f.emptyStore(t), 1, f.serve(t, f.forger(1000), nil)).Pull(context.Background(), 0, 0)
	if !errors.Is(err, syncer.ErrNoPeer) || res.Blocks != 0 {
		t.Fatalf("pull from a forger alone: %v %+v", err, res)
	}
}

// A file:// peer whose stored proof is corrupt is dropped, and nothing of
// the batch outlives Sync: closing the peer right after it is safe (run
// with -race in CI).
func TestDamagedFilePeerThenClose(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 500)
	bad := make([]*block.Block, len(f.chain))
	copy(bad, f.chain)
	forged := *f.chain[349]
	forged.Proof = nil
	forged.Sign(f.net.OutsiderKey())
	bad[349] = &forged
	path := filepath.Join(t.TempDir(), "peer.db")
	if err := f.net.WriteStore(path, bad, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		peer := peerclient.NewStorePeer(path, peerclient.Options{})
		s := f.emptyStore(t)
		res, err := f.syncer(t, s, 1, peer).Sync(context.Background())
		peer.Close()
		if !errors.Is(err, syncer.ErrNoPeer) || len(res.PeersDropped) != 1 || res.PeersDropped[0].Kind != syncer.DropBadBlock {
			t.Fatalf("run %d: %v %+v", i, err, res)
		}
		if st, _ := s.State(); st.Top != 500 || st.LastSynced != 351 {
			t.Fatalf("run %d: state %+v, want 500..351 committed", i, st)
		}
	}
}

// With batches fetched ahead from several peers, the sync spreads its
// batches over them, a peer that stalls in its batch is dropped after its
// timeout and its batch fetched again, and the store is the chain.
func TestParallelSyncSpreadsBatchesAndSurvivesAStaller(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1500)
	f.parallel = 4
	stall := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wire.PathBlocks {
				// The grant, then nothing: the chunk timeout must end it.
				h.ServeHTTP(&stallAfterHeaders{ResponseWriter: w, ctx: r.Context()}, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	staller := f.serve(t, nil, stall)
	s := f.emptyStore(t)
	// The staller is chosen whenever it serves what is asked, for the
	// first batch or a prefetch, so the test always meets it.
	prefer := func(names []string) int {
		for i, n := range names {
			if n == staller.Name() {
				return i
			}
		}
		return len(names) - 1
	}
	sy := syncer.New(syncer.Config{Store: s, Verifier: f.verifier(t), Batch: 300, Chunk: 40, Parallel: 4,
		CollectTimeout: 2 * time.Second, Choose: prefer,
		Peers: []peerclient.Peer{f.serve(t, nil, nil), f.serve(t, nil, nil), f.serve(t, nil, nil), staller}})
	start := time.Now()
	res, err := sy.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
	if len(res.PeersUsed) < 2 {
		t.Fatalf("batches came from %v only", res.PeersUsed)
	}
	if len(res.PeersDropped) != 1 || res.PeersDropped[0].Peer != staller.Name() || res.PeersDropped[0].Kind != syncer.DropStalled {
		t.Fatalf("dropped %+v", res.PeersDropped)
	}
	t.Logf("peers used %d, dropped %v, %v", len(res.PeersUsed), res.PeersDropped, time.Since(start))
}

// stallAfterHeaders passes the response headers through, then writes
// nothing until the request ends.
type stallAfterHeaders struct {
	http.ResponseWriter
	ctx  context.Context
	sent bool
}

func (s *stallAfterHeaders) Write(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		s.ResponseWriter.(http.Flusher).Flush()
	}
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}

func (s *stallAfterHeaders) Flush() {}

// A peer that never answers the availability question within the collect
// timeout is not dropped mid-run (the next round might reach it), but the
// summary lists it as unreachable instead of leaving it out.
func TestSilentPeerIsListedInTheSummary(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 200)
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // hold every request until the test ends
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer silent.Close()
	defer close(release)
	s := f.emptyStore(t)
	// Long enough for the honest peer to answer under the race detector on
	// a loaded machine (200 ms was not): the silent one is waited out whole.
	res, err := syncer.New(syncer.Config{Store: s, Verifier: f.verifier(t), Batch: 300, Chunk: 40, CollectTimeout: 2 * time.Second,
		Rand: rand.New(rand.NewSource(1)), Peers: []peerclient.Peer{f.serve(t, nil, nil), peerclient.NewHTTP(silent.URL, peerclient.Options{})}}).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
	if len(res.PeersDropped) != 1 || res.PeersDropped[0].Peer != silent.URL || res.PeersDropped[0].Kind != syncer.DropUnreachable ||
		!strings.Contains(res.PeersDropped[0].Reason, "never answered the availability question within the collect timeout (2s)") {
		t.Fatalf("dropped %+v", res.PeersDropped)
	}
}
