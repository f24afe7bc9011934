// Package wire is the peer protocol shared by the client (peerclient) and the
// server (peerserver): the availability answer, the batch grant and the
// frames blocks travel in (docs/PROTOCOL.md); export files frame their
// blocks the same way. Every reader here treats its input as hostile: sizes
// are checked before memory is spent on them. It knows nothing of how
// blocks are verified or stored.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rlp"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
)

// Protocol defaults, served in the availability answer.
const (
	// DefaultMaxBatch is the original node's batch (blocks per session).
	DefaultMaxBatch = 1000
	// DefaultMaxChunk keeps a chunk of ordinary blocks well under a MiB, so
	// verification and commit can start long before the batch has arrived.
	DefaultMaxChunk = 100
	// DefaultMaxFrameBytes bounds one frame: the original sent a whole
	// batch in one message and a batch over the 20 MiB transport limit
	// never arrived. A block larger than this travels alone in its frame.
	DefaultMaxFrameBytes = 16 << 20
	// frameOverhead is the RLP list header around a frame's blocks.
	frameOverhead = 16
	// MaxChunkLimit is the most blocks a frame may ever hold, whatever a
	// peer advertises: it bounds the per-frame bookkeeping before a frame
	// is decoded.
	MaxChunkLimit = 10_000
)

// Availability is a peer's answer to "what do you have?".
type Availability struct {
	NetworkType   uint32 `json:"network_type"`
	ChainID       uint32 `json:"chain_id"`
	InOrder       uint64 `json:"in_order"`
	LastSynced    uint64 `json:"last_synced"`
	Top           uint64 `json:"top"`
	ServeFrom     uint64 `json:"serve_from"` // the peer serves ServeFrom..ServeTo, contiguous
	ServeTo       uint64 `json:"serve_to"`
	MaxBatch      uint64 `json:"max_batch"`
	MaxChunk      int    `json:"max_chunk"`
	MaxFrameBytes int    `json:"max_frame_bytes"`
	// Version 2 answers name the blocks at InOrder and Top by hash, so a
	// client holding those heights can tell that it diverged from the
	// peer. An older peer's answer has neither (version absent: 1).
	Version     int          `json:"version,omitempty"`
	InOrderHash *common.Hash `json:"in_order_hash,omitempty"`
	TopHash     *common.Hash `json:"top_hash,omitempty"`
}

// AvailabilityVersion is the version of the availability answer this
// vcsync gives.
const AvailabilityVersion = 2

// WithHashes names the blocks at InOrder and Top by hash (version 2). A
// hash the source cannot give is left out: the answer stays useful, and a
// block that cannot be read fails when it is served.
func (a Availability) WithHashes(hash func(h uint64) (common.Hash, error)) Availability {
	a.Version = AvailabilityVersion
	for _, f := range []struct {
		height uint64
		dst    **common.Hash
	}{{a.InOrder, &a.InOrderHash}, {a.Top, &a.TopHash}} {
		if f.height == 0 {
			continue
		}
		if h, err := hash(f.height); err == nil {
			*f.dst = &h
		}
	}
	return a
}

// Identity is the chain the peer serves.
func (a Availability) Identity() chain.Identity {
	return chain.Identity{NetworkType: a.NetworkType, ChainID: a.ChainID}
}

// StoreAvailability is what a store can serve: only 1..InOrder, the heights
// it holds with no gap.
func StoreAvailability(id chain.Identity, st chain.State) Availability {
	a := Availability{
		NetworkType: id.NetworkType, ChainID: id.ChainID,
		InOrder: st.InOrder, LastSynced: st.LastSynced, Top: st.Top,
		MaxBatch: DefaultMaxBatch, MaxChunk: DefaultMaxChunk, MaxFrameBytes: DefaultMaxFrameBytes,
	}
	if st.InOrder > 0 {
		a.ServeFrom, a.ServeTo = 1, st.InOrder
	}
	return a
}

// Grant is what a peer agrees to send: heights From down to To, in frames
// of at most Chunk blocks and MaxFrameBytes bytes.
type Grant struct {
	From, To      uint64
	Chunk         int
	MaxFrameBytes int
}

// Blocks is the number of blocks granted.
func (g Grant) Blocks() uint64 { return g.From - g.To + 1 }

// RangeError says why a request cannot be served.
type RangeError struct{ Reason string }

func (e *RangeError) Error() string { return e.Reason }

// Request asks for heights From down to To (From 0: the peer's highest; To
// 0: as low as granted), at most Batch blocks (0: the peer's maximum) in
// chunks of Chunk blocks.
type Request struct {
	From, To uint64
	Batch    uint64
	Chunk    int
}

// GrantFor negotiates req against what a serves.
func GrantFor(a Availability, req Request) (Grant, error) {
	from, to, chunk := req.From, req.To, req.Chunk
	if a.ServeTo == 0 {
		return Grant{}, &RangeError{"this peer serves no blocks"}
	}
	if from == 0 {
		if to > a.ServeTo {
			return Grant{}, &RangeError{fmt.Sprintf("nothing at or above height %d: this peer serves %d-%d", to, a.ServeFrom, a.ServeTo)}
		}
		from = a.ServeTo
	}
	if to == 0 {
		to = a.ServeFrom
	}
	switch {
	case from > a.ServeTo || from < a.ServeFrom:
		return Grant{}, &RangeError{fmt.Sprintf("height %d is outside what this peer serves (%d-%d)", from, a.ServeFrom, a.ServeTo)}
	case to > from:
		return Grant{}, &RangeError{fmt.Sprintf("range %d-%d is not descending", from, to)}
	}
	to = max(to, a.ServeFrom)
	batch := a.MaxBatch
	if req.Batch > 0 && req.Batch < batch {
		batch = req.Batch
	}
	if from-to+1 > batch {
		to = from - batch + 1
	}
	if chunk <= 0 || chunk > a.MaxChunk {
		chunk = a.MaxChunk
	}
	return Grant{From: from, To: to, Chunk: chunk, MaxFrameBytes: a.MaxFrameBytes}, nil
}

// FrameWriter packs encoded blocks into frames: a 4-byte big-endian length,
// then an RLP list of the encoded blocks. It reuses its buffers, so a
// server streaming a batch allocates nothing per block.
type FrameWriter struct {
	w      io.Writer
	grant  Grant
	blocks []byte // the queued encoded blocks, back to back
	count  int
}

// NewFrameWriter writes frames for grant to w.
func NewFrameWriter(w io.Writer, g Grant) *FrameWriter { return &FrameWriter{w: w, grant: g} }

// Add queues one encoded block (copied) and writes a frame when the chunk is full.
func (f *FrameWriter) Add(raw []byte) error {
	if f.count > 0 && len(f.blocks)+len(raw)+frameOverhead > f.grant.MaxFrameBytes {
		if err := f.Flush(); err != nil {
			return err
		}
	}
	f.blocks = append(f.blocks, raw...)
	f.count++
	if f.count >= f.grant.Chunk {
		return f.Flush()
	}
	return nil
}

// Flush writes any queued blocks as a frame.
func (f *FrameWriter) Flush() error {
	if f.count == 0 {
		return nil
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(rlp.ListSize(uint64(len(f.blocks)))))
	if _, err := f.w.Write(hdr[:]); err != nil {
		return err
	}
	enc := rlp.NewEncoderBuffer(f.w)
	list := enc.List()
	enc.Write(f.blocks) // already encoded: the list's content as is
	enc.ListEnd(list)
	if err := enc.Flush(); err != nil {
		return err
	}
	f.blocks, f.count = f.blocks[:0], 0
	if fl, ok := f.w.(interface{ Flush() }); ok {
		fl.Flush()
	}
	return nil
}

// ErrProtocol marks a peer that broke the wire rules.
var ErrProtocol = errors.New("protocol violation")

// ReadFrameBytes reads one frame's payload, checking its length against
// limit before allocating. It returns io.EOF at a clean end of stream. It
// does not decode: callers that time the peer stop the clock before
// DecodeFrame, so the client's own decoding never counts against the peer.
func ReadFrameBytes(r io.Reader, limit int) ([]byte, error) {
	return ReadFrameBytesReserving(r, limit, nil)
}

// ReadFrameBytesReserving is ReadFrameBytes that first calls reserve (if
// not nil) with the frame's size on the wire, once its header says it is
// within limit and before its memory is taken: a caller bounding what it
// holds can wait there, or refuse.
func ReadFrameBytesReserving(r io.Reader, limit int, reserve func(int) error) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read frame header: %w", err)
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > limit {
		return nil, fmt.Errorf("%w: frame of %d bytes over the %d-byte limit", ErrProtocol, n, limit)
	}
	if reserve != nil {
		if err := reserve(4 + n); err != nil {
			return nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, fmt.Errorf("read frame of %d bytes: %w", n, err)
	}
	return payload, nil
}

// DecodeFrame decodes a frame's payload into at most maxChunk blocks, each
// checked against maxBlock. The blocks keep slices of payload as their
// bytes: the caller gives it up and must not reuse it.
func DecodeFrame(payload []byte, maxChunk, maxBlock int) ([]*block.Block, error) {
	content, rest, err := rlp.SplitList(payload)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%d bytes after the list", len(rest))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: frame is not an RLP list of blocks: %v", ErrProtocol, err)
	}
	n, err := rlp.CountValues(content)
	if err != nil {
		return nil, fmt.Errorf("%w: frame is not an RLP list of blocks: %v", ErrProtocol, err)
	}
	// Counted before decoding, so a frame of a million empty entries costs nothing.
	if n == 0 || n > maxChunk {
		return nil, fmt.Errorf("%w: frame holds %d blocks, chunk is %d", ErrProtocol, n, maxChunk)
	}
	// Each block is decoded in place: it keeps a slice of the payload, which
	// nothing reuses, as its bytes (ReadFrameBytes allocates every frame).
	blocks := make([]*block.Block, 0, n)
	for len(content) > 0 {
		_, _, after, err := rlp.Split(content)
		if err != nil {
			return nil, fmt.Errorf("%w: frame is not an RLP list of blocks: %v", ErrProtocol, err)
		}
		b, err := block.DecodeOwned(content[:len(content)-len(after)], maxBlock)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
		}
		blocks = append(blocks, b)
		content = after
	}
	return blocks, nil
}

// ReadFrame reads and decodes one frame; it returns the blocks and the
// frame's size on the wire.
func ReadFrame(r io.Reader, limit, maxChunk, maxBlock int) ([]*block.Block, int, error) {
	payload, err := ReadFrameBytes(r, limit)
	if err != nil {
		return nil, 0, err
	}
	blocks, err := DecodeFrame(payload, maxChunk, maxBlock)
	if err != nil {
		return nil, 0, err
	}
	return blocks, 4 + len(payload), nil
}

// FrameLimit is the largest frame a client accepts for a grant: the
// negotiated limit (never above the client's own ceiling: the peer is
// untrusted), or one maximal block alone.
func FrameLimit(g Grant, maxBlock int) int {
	if maxBlock <= 0 {
		maxBlock = block.DefaultMaxSize
	}
	return max(min(g.MaxFrameBytes, DefaultMaxFrameBytes), maxBlock+frameOverhead)
}
