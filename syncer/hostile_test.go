package syncer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/wire"
)

// tamper serves a store as a hostile peer would: edit rewrites what it
// sends for a height (nothing, one block or several), and fabricated blocks
// above the honest top make it advertise more than the honest chain has.
type tamper struct {
	peerserver.Source
	above []*block.Block // fabricated heights top+1, top+2, ...
	edit  func(h uint64, b *block.Block) []*block.Block
}

func (t *tamper) State() (store.State, error) {
	st, err := t.Source.State()
	if err == nil && len(t.above) > 0 {
		st.InOrder += uint64(len(t.above))
		st.LastSynced, st.Top = st.InOrder, st.InOrder
	}
	return st, err
}

func (t *tamper) ReadRange(hi, lo uint64, fn func(h uint64, raw []byte) error) error {
	st, err := t.Source.State()
	if err != nil {
		return err
	}
	for h := hi; h >= lo && h > 0; h-- {
		var b *block.Block
		if h > st.InOrder {
			b = t.above[h-st.InOrder-1]
		} else if err := t.Source.ReadRange(h, h, func(_ uint64, raw []byte) error {
			b, err = block.Decode(raw, 0)
			return err
		}); err != nil {
			return err
		}
		out := []*block.Block{b}
		if t.edit != nil {
			out = t.edit(h, copyBlock(b))
		}
		for _, ob := range out {
			raw, err := ob.Encode()
			if err != nil {
				return err
			}
			if err := fn(h, raw); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyBlock(b *block.Block) *block.Block {
	c := *b
	c.Body = append([]byte(nil), b.Body...)
	c.Proof = append([][]byte(nil), b.Proof...)
	return &c
}

// hostileCase is one misbehaviour: a Source tamper, an HTTP middleware, or both.
type hostileCase struct {
	name string
	// src returns the tamper for the fixture (nil: honest blocks).
	src func(f *fixture) *tamper
	mw  func(http.Handler) http.Handler
	// kind is the drop reason the hostile peer must get when it is alone.
	kind syncer.DropKind
	// reason is a fragment of the drop reason.
	reason string
	// namedOnly: the case tampers with proofs that name their signers.
	namedOnly bool
}

// The hostile matrix's chain: two batches below its tip, so every case is
// met on the first batch and, with Parallel, on one fetched ahead.
const (
	matrixTop     = 300
	matrixBatch   = 150
	matrixChunk   = 20
	hostileHeight = 250 // inside the first batch below the tip
)

func onHeight(at uint64, edit func(f *fixture, b *block.Block) []*block.Block) func(f *fixture) *tamper {
	return func(f *fixture) *tamper {
		return &tamper{edit: func(h uint64, b *block.Block) []*block.Block {
			if h != at {
				return []*block.Block{b}
			}
			return edit(f, b)
		}}
	}
}

// fabricatedAbove makes n blocks above the honest tip, linked to it, with
// reference times chosen by refTime(i) and signed by sign.
func fabricatedAbove(f *fixture, n int, refTime func(i int) uint32, sign func(b *block.Block)) []*block.Block {
	top := f.chain[len(f.chain)-1]
	prev := top.Hash()
	var out []*block.Block
	for i := 0; i < n; i++ {
		h := top.Height() + uint64(i) + 1
		hdr := f.net.Header(h, prev)
		hdr.RefTime = refTime(i)
		b := &block.Block{Header: hdr, Body: []byte("fabricated")}
		b.Seal()
		sign(b)
		prev = b.Hash()
		out = append(out, b)
	}
	return out
}

// flipRecoveryID changes one byte of the block's first signature: its
// recovery id V. The name and the other 64 bytes (and so the block's hash)
// are kept, and a check against the member's known key would pass.
func flipRecoveryID(_ *fixture, b *block.Block) []*block.Block {
	entry := append([]byte(nil), b.Proof[0]...)
	entry[len(entry)-1] ^= 1
	b.Proof[0] = entry
	return []*block.Block{b}
}

func wireMW(path string, serve func(w http.ResponseWriter, r *http.Request, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				next.ServeHTTP(w, r)
				return
			}
			serve(w, r, next)
		})
	}
}

// frameOf encodes blocks as one wire frame.
func frameOf(t *testing.T, blocks ...*block.Block) []byte {
	var buf bytes.Buffer
	fw := wire.NewFrameWriter(&buf, wire.Grant{Chunk: len(blocks), MaxFrameBytes: 1 << 30})
	for _, b := range blocks {
		raw, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		fw.Add(raw)
	}
	fw.Flush()
	return buf.Bytes()
}

// hostileCases are the hostile peers; trickle holds one wire frame per
// height of the chain served.
func hostileCases(t *testing.T, trickle map[uint64][]byte) []hostileCase {
	grantHeaders := func(w http.ResponseWriter, from, to uint64, chunk int) {
		wire.SetGrantHeaders(w.Header(), wire.Grant{From: from, To: to, Chunk: chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes})
		w.WriteHeader(http.StatusOK)
	}
	return []hostileCase{
		{name: "forged signature", kind: syncer.DropBadBlock, reason: fmt.Sprint("block ", hostileHeight),
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Proof[0] = f.chain[hostileHeight].Proof[0] // a real member's signature over another block
				return []*block.Block{b}
			})},
		{name: "signature naming another member", kind: syncer.DropBadBlock, reason: "signature 0", namedOnly: true,
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				// Member 1's signature presented as member 0's.
				named, _ := b.Entry(0)
				_, sig := b.Entry(1)
				b.Proof = [][]byte{append(named.Bytes(), sig...)}
				return []*block.Block{b}
			})},
		{name: "flipped recovery id of a known signer", kind: syncer.DropBadBlock, reason: "not by the signer it names", namedOnly: true,
			src: onHeight(hostileHeight, flipRecoveryID)},
		{name: "flipped recovery id at the tip", kind: syncer.DropBadBlock, reason: "not by the signer it names", namedOnly: true,
			src: onHeight(matrixTop, flipRecoveryID)},
		{name: "signature naming a stranger", kind: syncer.DropBadBlock, reason: "not a member", namedOnly: true,
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				_, sig := b.Entry(0)
				b.Proof[0] = append(crypto.PubkeyToAddress(f.net.OutsiderKey().PublicKey).Bytes(), sig...)
				return []*block.Block{b}
			})},
		{name: "bare signature in a named proof", kind: syncer.DropProtocol, reason: "a named entry is 85", namedOnly: true,
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				_, sig := b.Entry(0)
				b.Proof[0] = sig
				return []*block.Block{b}
			})},
		{name: "outsider signature", kind: syncer.DropBadBlock, reason: "not a member",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Proof = b.Proof[:len(b.Proof)-1]
				b.Sign(f.net.OutsiderKey())
				return []*block.Block{b}
			})},
		{name: "under quorum", kind: syncer.DropBadBlock, reason: "quorum needs",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Proof = b.Proof[:1]
				return []*block.Block{b}
			})},
		{name: "duplicate signature", kind: syncer.DropBadBlock, reason: "signed more than once",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Proof = append(b.Proof[:len(b.Proof)-1], b.Proof[0])
				return []*block.Block{b}
			})},
		{name: "forged signature after quorum", kind: syncer.DropBadBlock, reason: "not a member",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Sign(f.net.OutsiderKey())
				return []*block.Block{b}
			})},
		{name: "junk signatures after quorum", kind: syncer.DropBadBlock, reason: "can give at most",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				for i := 0; i < 250; i++ {
					b.Proof = append(b.Proof, b.Proof[0])
				}
				return []*block.Block{b}
			})},
		{name: "proof over the format limit", kind: syncer.DropProtocol, reason: "too many signatures",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				for i := 0; i < block.MaxProofSignatures; i++ {
					b.Proof = append(b.Proof, b.Proof[0])
				}
				return []*block.Block{b}
			})},
		{name: "broken link", kind: syncer.DropBadBlock, reason: "does not link",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Body = []byte("rewritten history")
				b.Seal()
				f.net.Sign(b) // a real quorum signs the rewrite: only the link shows it
				return []*block.Block{b}
			})},
		{name: "other chain", kind: syncer.DropBadBlock, reason: "is for chain 43",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Header.VirtualChainID = 43
				return []*block.Block{b}
			})},
		{name: "skipped height", kind: syncer.DropProtocol, reason: "where",
			src: onHeight(hostileHeight, func(*fixture, *block.Block) []*block.Block { return nil })},
		{name: "duplicate height", kind: syncer.DropProtocol, reason: "where",
			src: onHeight(hostileHeight, func(_ *fixture, b *block.Block) []*block.Block { return []*block.Block{b, b} })},
		{name: "out of order heights", kind: syncer.DropProtocol, reason: "where",
			src: func(f *fixture) *tamper {
				return &tamper{edit: func(h uint64, b *block.Block) []*block.Block {
					switch h {
					case hostileHeight:
						return []*block.Block{f.chain[hostileHeight-2]}
					case hostileHeight - 1:
						return []*block.Block{f.chain[hostileHeight-1]}
					}
					return []*block.Block{b}
				}}
			}},
		{name: "oversize block", kind: syncer.DropProtocol, reason: "too large",
			src: onHeight(hostileHeight, func(f *fixture, b *block.Block) []*block.Block {
				b.Body = make([]byte, 300<<10) // over the client's 256 KiB in this suite
				b.Seal()
				f.net.Sign(b)
				return []*block.Block{b}
			})},
		{name: "forged tip", kind: syncer.DropBadBlock, reason: "not a member",
			src: func(f *fixture) *tamper {
				return &tamper{above: fabricatedAbove(f, 3, func(i int) uint32 { return f.net.RefTime(uint64(len(f.chain))) },
					func(b *block.Block) { b.Sign(f.net.OutsiderKey()) })}
			}},
		{name: "tip whose parent's ref time is past the document", kind: syncer.DropBadBlock, reason: "names no committee",
			src: func(f *fixture) *tamper {
				return &tamper{above: fabricatedAbove(f, 2, func(int) uint32 { return 0xfffffff0 }, func(b *block.Block) { f.net.Sign(b) })}
			}},
		{name: "tip whose parent's ref time is before the first committee", kind: syncer.DropBadBlock, reason: "names no committee",
			src: func(f *fixture) *tamper {
				// Within the honesty grace, but older than the chain's first committee.
				return &tamper{above: fabricatedAbove(f, 2, func(int) uint32 { return f.net.RefTime(0) - 100 }, func(b *block.Block) { f.net.Sign(b) })}
			}},
		{name: "lone fabricated tip then refusal", kind: syncer.DropProtocol, reason: "lone tip",
			src: func(f *fixture) *tamper {
				return &tamper{above: fabricatedAbove(f, 1, func(int) uint32 { return f.net.RefTime(uint64(len(f.chain))) },
					func(b *block.Block) { f.net.Sign(b) })}
			},
			mw: func(next http.Handler) http.Handler {
				// A batch of one, advertised and granted, so the fabricated tip comes alone.
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == wire.PathBlocks {
						q := r.URL.Query()
						q.Set("batch", "1")
						r.URL.RawQuery = q.Encode()
						next.ServeHTTP(w, r)
						return
					}
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					w.Write(bytes.Replace(rec.Body.Bytes(), []byte(`"max_batch":1000`), []byte(`"max_batch":1`), 1))
				})
			}},
		{name: "lying availability", kind: syncer.DropLied, reason: "negotiated grant",
			mw: wireMW(wire.PathAvailability, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				w.Write([]byte(`{"network_type":2,"chain_id":42,"in_order":9000,"top":9000,"serve_from":1,"serve_to":9000,"max_batch":1000,"max_chunk":100,"max_frame_bytes":16777216}`))
			})},
		{name: "impossible availability", kind: syncer.DropProtocol, reason: "impossible range",
			mw: wireMW(wire.PathAvailability, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				w.Write([]byte(`{"network_type":2,"chain_id":42,"in_order":9000,"top":9000,"serve_from":700,"serve_to":600,"max_batch":1000,"max_chunk":100,"max_frame_bytes":16777216}`))
			})},
		{name: "garbage availability", kind: syncer.DropProtocol, reason: "availability answer",
			mw: wireMW(wire.PathAvailability, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				w.Write(bytes.Repeat([]byte{0xde, 0xad}, 1000))
			})},
		{name: "grant larger than negotiated", kind: syncer.DropLied, reason: "negotiated grant",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				grantHeaders(w, matrixTop, 1, 1000) // asked: matrixBatch blocks in chunks of matrixChunk
			})},
		{name: "grant of other heights", kind: syncer.DropLied, reason: "negotiated grant",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				grantHeaders(w, matrixTop-1, matrixTop-matrixBatch, matrixChunk)
			})},
		{name: "frame length of 4 GiB", kind: syncer.DropProtocol, reason: "over the",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				grantHeaders(w, matrixTop, matrixTop-matrixBatch+1, matrixChunk)
				w.Write([]byte{0xff, 0xff, 0xff, 0xff})
			})},
		{name: "garbage frames", kind: syncer.DropProtocol, reason: "not an RLP list",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				grantHeaders(w, matrixTop, matrixTop-matrixBatch+1, matrixChunk)
				var n [4]byte
				binary.BigEndian.PutUint32(n[:], 5000)
				w.Write(n[:])
				w.Write(bytes.Repeat([]byte{0xff}, 5000))
			})},
		{name: "gzip body", kind: syncer.DropProtocol, reason: "over the",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				w.Header().Set("Content-Encoding", "gzip")
				grantHeaders(w, matrixTop, matrixTop-matrixBatch+1, matrixChunk)
				w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}) // a gzip header: never inflated
				w.Write(bytes.Repeat([]byte{0}, 100))
			})},
		{name: "stall mid-frame", kind: syncer.DropStalled, reason: "nothing within",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				grantHeaders(w, matrixTop, matrixTop-matrixBatch+1, matrixChunk)
				w.Write([]byte{0, 0, 0x10, 0, 1, 2, 3})
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			})},
		{name: "slow trickle", kind: syncer.DropSlow, reason: fmt.Sprintf("under the %d-block chunk", matrixChunk),
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				// One block per frame, each well inside the chunk timeout (500ms).
				grantHeaders(w, matrixTop, matrixTop-matrixBatch+1, matrixChunk)
				for h := uint64(matrixTop); h > matrixTop-matrixBatch; h-- {
					w.Write(trickle[h])
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						return
					case <-time.After(150 * time.Millisecond):
					}
				}
			})},
		{name: "reset mid-stream", kind: syncer.DropDisconnected, reason: "read frame",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				next.ServeHTTP(&cutAfter{ResponseWriter: w, left: 30_000}, r)
			})},
		{name: "redirect", kind: syncer.DropProtocol, reason: "redirect",
			mw: func(http.Handler) http.Handler {
				return http.RedirectHandler("http://127.0.0.1:1/elsewhere", http.StatusFound)
			}},
		{name: "error answer to a batch it advertised", kind: syncer.DropLied, reason: "refused the batch",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				http.Error(w, "no", http.StatusInternalServerError)
			})},
		// Busy (503, 429) is "later"; any other refusal of an advertised
		// range is a lie, 416 included.
		{name: "416 for a batch it advertised", kind: syncer.DropLied, reason: "refused the batch",
			mw: wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				http.Error(w, `{"error":"not served"}`, http.StatusRequestedRangeNotSatisfiable)
			})},
	}
}

const hostileBlocks = 600

func TestHostilePeers(t *testing.T) {
	t.Parallel()
	named := newFixtureWith(t, devnet.Config{Seed: "sync-" + t.Name(), Blocks: matrixTop, RotateEvery: 100})
	// And against a chain of protocol 1, whose proofs do not name signers.
	bare := newFixtureWith(t, devnet.Config{Seed: "sync-bare", Blocks: matrixTop, RotateEvery: 100, BareSignatures: true})
	variants := []struct {
		name           string
		f              *fixture
		parallel, held int
	}{
		// Each case with one batch at a time, and with batches fetched
		// ahead from several peers (the hostile one preferred for those too).
		{"parallel=1", named, 1, 0},
		{"parallel=3", named, 3, 0},
		// And with memory for one frame at a time: every fault must end the
		// batch while the downloader waits for memory the batch still holds.
		{"one frame in memory", named, 1, 1},
		{"bare signatures", bare, 1, 0},
	}
	for _, v := range variants {
		f := *v.f // each variant its own settings over the shared, read-only chain
		f.batch, f.chunk, f.parallel, f.held = matrixBatch, matrixChunk, v.parallel, v.held
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			runHostileCases(t, &f)
		})
	}
}

func runHostileCases(t *testing.T, f *fixture) {
	honestRaw := make([][]byte, len(f.chain))
	for i, b := range f.chain {
		honestRaw[i], _ = b.Encode()
	}
	// One frame per height, for the slow-trickle case.
	trickle := map[uint64][]byte{}
	for _, b := range f.chain {
		trickle[b.Height()] = frameOf(t, b)
	}
	for _, tc := range hostileCases(t, trickle) {
		if tc.namedOnly && !f.chain[0].NamesSigners() {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			// The cases share the fixture read-only (its chain, served
			// afresh per case) and spend most of their time waiting out a
			// hostile peer's stall or timeout: they run side by side.
			t.Parallel()
			hostile := func() peerclient.Peer {
				var wrap func(peerserver.Source) peerserver.Source
				if tc.src != nil {
					tm := tc.src(f)
					wrap = func(s peerserver.Source) peerserver.Source { tm.Source = s; return tm }
				}
				return f.serveWith(t, wrap, tc.mw, peerclient.Options{ChunkTimeout: 500 * time.Millisecond, MaxBlock: 256 << 10})
			}
			// Alone: dropped with the right kind, and nothing unverified stored.
			s := f.emptyStore(t)
			p := hostile()
			res, err := f.syncerPreferring(t, s, p.Name(), p).Sync(context.Background())
			if !errors.Is(err, syncer.ErrNoPeer) {
				t.Fatalf("alone: err %v, want ErrNoPeer", err)
			}
			if len(res.PeersDropped) != 1 || res.PeersDropped[0].Kind != tc.kind || !strings.Contains(res.PeersDropped[0].Reason, tc.reason) {
				t.Fatalf("alone: dropped %+v, want kind %s with %q", res.PeersDropped, tc.kind, tc.reason)
			}
			mustHoldOnlyHonestBlocks(t, s, honestRaw)

			// Beside an honest peer, tried first: the sync completes and the
			// store is the honest chain, byte for byte.
			s = f.emptyStore(t)
			p = hostile()
			res, err = f.syncerPreferring(t, s, p.Name(), p, f.serve(t, nil, nil)).Sync(context.Background())
			if err != nil {
				t.Fatalf("with an honest peer: %v (%+v)", err, res)
			}
			if len(res.PeersDropped) != 1 || res.PeersDropped[0].Peer != p.Name() {
				t.Fatalf("with an honest peer: dropped %+v", res.PeersDropped)
			}
			mustHoldOnlyHonestBlocks(t, s, honestRaw)
			if st, _ := s.State(); st.InOrder != matrixTop || st.Top != matrixTop {
				t.Fatalf("with an honest peer: state %+v", st)
			}
		})
	}
}

// mustHoldOnlyHonestBlocks checks that every stored block is the honest
// chain's, byte for byte, and the store is consistent.
func mustHoldOnlyHonestBlocks(t *testing.T, s *store.Store, honest [][]byte) {
	t.Helper()
	if err := fsck.Check(s, nil); err != nil {
		t.Fatal(err)
	}
	st, _ := s.State()
	for h := uint64(1); h <= st.Top; h++ {
		raw, err := s.GetRaw(h)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if h > uint64(len(honest)) || !bytes.Equal(raw, honest[h-1]) {
			t.Fatalf("stored block %d is not the honest chain's", h)
		}
	}
}

// A frame past the grant is the same fault, and gets the same drop kind,
// whether it arrives on the live batch or on one fetched ahead.
func TestFramePastTheGrantIsOneFaultLiveOrPrefetched(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hostileBlocks)
	extra := frameOf(t, f.chain[0])
	honestRaw := make([][]byte, len(f.chain))
	for i, b := range f.chain {
		honestRaw[i], _ = b.Encode()
	}
	for _, tc := range []struct {
		name     string
		parallel int
		below    uint64 // the extra frame goes on batches asked from at most this height
	}{{"live", 1, hostileBlocks}, {"prefetched", 3, hostileBlocks / 2}} {
		t.Run(tc.name, func(t *testing.T) {
			mw := wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				next.ServeHTTP(w, r)
				// from=0 asks for the peer's top: the live batch.
				if from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64); from != 0 && from <= tc.below || tc.parallel == 1 {
					w.Write(extra)
				}
			})
			f.parallel = tc.parallel
			p := f.serveWith(t, nil, mw, peerclient.Options{ChunkTimeout: 500 * time.Millisecond})
			s := f.emptyStore(t)
			res, err := f.syncerPreferring(t, s, p.Name(), p).Sync(context.Background())
			if !errors.Is(err, syncer.ErrNoPeer) {
				t.Fatalf("err %v, want ErrNoPeer", err)
			}
			if len(res.PeersDropped) != 1 || res.PeersDropped[0].Kind != syncer.DropProtocol {
				t.Fatalf("dropped %+v, want kind %s", res.PeersDropped, syncer.DropProtocol)
			}
			if tc.parallel > 1 && res.Blocks == 0 {
				t.Fatal("the clean live batch was not committed: the fault did not land on the prefetched one")
			}
			mustHoldOnlyHonestBlocks(t, s, honestRaw)
		})
	}
}

// A peer that names a false hash for a height the store holds is not
// believed: its block is fetched and checked, and the peer that cannot
// back the claim is dropped as a liar; the store is untouched and the run
// succeeds. A peer whose block at that height verifies would have shown
// that the store diverged (commands' TestSyncFindsAForgedTop*).
func TestFalseHashInAvailabilityIsALie(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300)
	s := f.emptyStore(t)
	if _, err := f.syncer(t, s, 1, f.serve(t, nil, nil)).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	liar := f.serve(t, nil, wireMW(wire.PathAvailability, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var a wire.Availability
		json.Unmarshal(rec.Body.Bytes(), &a)
		fake := common.HexToHash("0x1234")
		a.InOrderHash, a.TopHash = &fake, &fake
		json.NewEncoder(w).Encode(a)
	}))
	res, err := f.syncer(t, s, 1, liar).Sync(context.Background())
	if err != nil || len(res.PeersDropped) != 1 || res.PeersDropped[0].Kind != syncer.DropLied ||
		!strings.Contains(res.PeersDropped[0].Reason, "named block 300 0x0000000000000000000000000000000000000000000000000000000000001234, which it does not back") {
		t.Fatalf("%+v %v", res, err)
	}
	f.mustBeSynced(t, s)
}
