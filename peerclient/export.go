package peerclient

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vcsync/vcsync/block"
)

// ExportMagic opens every export file.
const ExportMagic = "VCSYNCX1"

// maxExportHeader bounds the JSON header of an export file.
const maxExportHeader = 64 << 10

// ExportHeader describes an export file: blocks To down to From follow as frames.
type ExportHeader struct {
	NetworkType uint32 `json:"network_type"`
	ChainID     uint32 `json:"chain_id"`
	From        uint64 `json:"from"`
	To          uint64 `json:"to"`
	Chunk       int    `json:"chunk"`
}

// WriteExportHeader writes the magic and the header.
func WriteExportHeader(w io.Writer, h ExportHeader) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	for _, part := range [][]byte{[]byte(ExportMagic), n[:], data} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

func readExportHeader(r io.Reader) (ExportHeader, error) {
	var h ExportHeader
	var pre [len(ExportMagic) + 4]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:len(ExportMagic)]) != ExportMagic {
		return h, fmt.Errorf("not a vcsync export file (no %s header)", ExportMagic)
	}
	n := binary.BigEndian.Uint32(pre[len(ExportMagic):])
	if n > maxExportHeader {
		return h, fmt.Errorf("export header of %d bytes is over the %d-byte limit", n, maxExportHeader)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return h, fmt.Errorf("read export header: %w", err)
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("export header: %w", err)
	}
	if h.From == 0 || h.From > h.To || h.Chunk <= 0 {
		return h, fmt.Errorf("export header range %d-%d chunk %d is not valid", h.From, h.To, h.Chunk)
	}
	return h, nil
}

// ExportPeer serves an export file as a peer, so import runs the same
// verified sync as every other command.
type ExportPeer struct {
	path string
	opts Options
}

// NewExportPeer returns a peer reading the export file at path.
func NewExportPeer(path string, opts Options) *ExportPeer { return &ExportPeer{path: path, opts: opts} }

func (p *ExportPeer) Name() string { return "export:" + p.path }

func (p *ExportPeer) header() (ExportHeader, error) {
	f, err := os.Open(p.path)
	if err != nil {
		return ExportHeader{}, err
	}
	defer f.Close()
	h, err := readExportHeader(bufio.NewReader(f))
	if err != nil {
		return h, fmt.Errorf("%s: %w", p.path, err)
	}
	return h, nil
}

func (p *ExportPeer) Availability(context.Context) (Availability, error) {
	h, err := p.header()
	if err != nil {
		return Availability{}, err
	}
	return Availability{
		NetworkType: h.NetworkType, ChainID: h.ChainID, InOrder: h.To, LastSynced: h.To, Top: h.To,
		ServeFrom: h.From, ServeTo: h.To, MaxBatch: h.To - h.From + 1, MaxChunk: h.Chunk, MaxFrameBytes: DefaultMaxFrameBytes,
	}, nil
}

func (p *ExportPeer) Blocks(ctx context.Context, req Request) (Stream, error) {
	g, err := localGrant(ctx, p, req)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p.path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	hdr, err := readExportHeader(r)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &exportStream{grant: g, f: f, r: r, opts: p.opts, next: hdr.To}, nil
}

// exportStream reads the file's frames in order, skipping heights above the
// grant and re-chunking to the granted chunk size.
type exportStream struct {
	grant   Grant
	f       *os.File
	r       *bufio.Reader
	opts    Options
	next    uint64 // the height the next block in the file must have
	pending []*block.Block
	sizes   []int // each pending block's share of its frame's bytes
}

func (s *exportStream) Grant() Grant { return s.grant }

func (s *exportStream) Next() ([]*block.Block, int, error) {
	for len(s.pending) < s.grant.Chunk && s.next >= s.grant.To && s.next > 0 {
		blocks, n, err := readFrame(s.r, frameLimit(s.grant, s.opts.MaxBlock), DefaultMaxBatch, s.opts.MaxBlock)
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("export file ends at height %d, before %d", s.next+1, s.grant.To)
		}
		if err != nil {
			return nil, 0, err
		}
		for _, b := range blocks {
			if b.Height() != s.next {
				return nil, 0, fmt.Errorf("%w: export file has height %d where %d belongs", ErrProtocol, b.Height(), s.next)
			}
			s.next--
			if b.Height() <= s.grant.From && b.Height() >= s.grant.To {
				s.pending = append(s.pending, b)
				s.sizes = append(s.sizes, n/len(blocks))
			}
		}
	}
	if len(s.pending) == 0 {
		return nil, 0, io.EOF
	}
	k := min(len(s.pending), s.grant.Chunk)
	out, n := s.pending[:k:k], 0
	for _, size := range s.sizes[:k] {
		n += size
	}
	s.pending, s.sizes = s.pending[k:], s.sizes[k:]
	return out, n, nil
}

func (s *exportStream) Close() error { return s.f.Close() }
