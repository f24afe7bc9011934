package peerclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/wire"
)

// ExportPeer serves an export file as a peer, so import runs the same
// verified sync as every other command.
type ExportPeer struct {
	path string
	opts Options
}

// NewExportPeer returns a peer reading the export file at path.
func NewExportPeer(path string, opts Options) *ExportPeer { return &ExportPeer{path: path, opts: opts} }

func (p *ExportPeer) Name() string { return "export:" + p.path }

// openFile opens the export file, refusing anything but a regular file
// before opening it: opening a FIFO would block until a writer came.
func (p *ExportPeer) openFile() (*os.File, error) {
	fi, err := os.Stat(p.path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): import reads export files written by vcsync export", p.path, fi.Mode().Type())
	}
	return os.Open(p.path)
}

func (p *ExportPeer) header() (wire.ExportHeader, error) {
	f, err := p.openFile()
	if err != nil {
		return wire.ExportHeader{}, err
	}
	defer f.Close()
	h, err := wire.ReadExportHeader(bufio.NewReader(f))
	if err != nil {
		return h, fmt.Errorf("%s: %w", p.path, err)
	}
	return h, nil
}

func (p *ExportPeer) Availability(context.Context) (wire.Availability, error) {
	h, err := p.header()
	if err != nil {
		return wire.Availability{}, err
	}
	return wire.Availability{
		NetworkType: h.NetworkType, ChainID: h.ChainID, InOrder: h.To, LastSynced: h.To, Top: h.To,
		ServeFrom: h.From, ServeTo: h.To, MaxBatch: h.To - h.From + 1, MaxChunk: h.Chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes,
	}, nil
}

func (p *ExportPeer) Blocks(ctx context.Context, req wire.Request) (Stream, error) {
	g, err := localGrant(ctx, p, req)
	if err != nil {
		return nil, err
	}
	f, err := p.openFile()
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 1<<20)
	hdr, err := wire.ReadExportHeader(r)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &exportStream{grant: g, f: f, r: r, opts: p.opts, next: hdr.To, fileChunk: hdr.Chunk}, nil
}

// exportStream reads the file's frames in order, skipping heights above the
// grant and re-chunking to the granted chunk size.
type exportStream struct {
	grant     wire.Grant
	f         *os.File
	r         *bufio.Reader
	opts      Options
	next      uint64 // the height the next block in the file must have
	fileChunk int    // most blocks in one of the file's frames
	pending   []*block.Block
	sizes     []int // each pending block's share of its frame's bytes
}

func (s *exportStream) Grant() wire.Grant { return s.grant }

func (s *exportStream) Next(reserve Reserve) ([]*block.Block, int, error) {
	for len(s.pending) < s.grant.Chunk && s.next >= s.grant.To && s.next > 0 {
		payload, err := wire.ReadFrameBytesReserving(s.r, wire.FrameLimit(s.grant, s.opts.MaxBlock), reserve)
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("export file ends at height %d, before %d", s.next+1, s.grant.To)
		}
		if err != nil {
			return nil, 0, err
		}
		blocks, err := wire.DecodeFrame(payload, s.fileChunk, s.opts.MaxBlock)
		if err != nil {
			return nil, 0, err
		}
		n := 4 + len(payload)
		for _, b := range blocks {
			if b.Height() != s.next {
				return nil, 0, fmt.Errorf("%w: export file has height %d where %d belongs", wire.ErrProtocol, b.Height(), s.next)
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
