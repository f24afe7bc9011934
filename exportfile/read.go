package exportfile

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/internal/countio"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/wire"
)

// Stdin is the export file name that means standard input.
const Stdin = "-"

// ErrTruncated marks an export file (or stream) that ends before the
// blocks its header promises: damage, not a dropped connection.
var ErrTruncated = errors.New("export file is truncated")

// ErrNothingWritten means an export read from a pipe or FIFO got no byte
// within the chunk timeout: nobody is writing it.
var ErrNothingWritten = errors.New("nothing was written to it")

// File is an export file read as a peer's source (peerclient.Local), so
// import runs the same verified sync as every other command. A regular file is opened for
// each request; a pipe (stdin, a FIFO, a shell's <(...)) can be read
// only once, so it is opened once and served in one pass, one batch at a
// time, highest first, as the file is written.
type File struct {
	path string
	opts peerclient.Options

	once    sync.Once
	openErr error
	pipe    *pipeSource // nil for a regular file
	marks   frameMarks  // a regular file's frames seen so far, to start a batch near its range
}

// frameMarks remembers where frames of a regular export file begin (by the
// height of their first block): the last frame each batch read, where the
// next batch starts. Each batch seeks to the marked frame at or just above
// its range instead of reading the file from its start: a descending
// import of a million blocks would otherwise read the file a thousand
// times. One entry per batch.
type frameMarks struct {
	mu sync.Mutex
	at map[uint64]int64
}

func (m *frameMarks) add(height uint64, offset int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at == nil {
		m.at = map[uint64]int64{}
	}
	m.at[height] = offset
}

// nearest is the lowest marked frame whose first height is at or above from.
func (m *frameMarks) nearest(from uint64) (height uint64, offset int64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, off := range m.at {
		if h >= from && (!ok || h < height) {
			height, offset, ok = h, off, true
		}
	}
	return height, offset, ok
}

// pipeSource is the one reader of a pipe, shared by the batches that take
// turns on it.
type pipeSource struct {
	mu     sync.Mutex
	f      *os.File
	r      *bufio.Reader
	sum    hash.Hash // every byte read, for Finish
	hdr    Header
	next   uint64         // the height the next block read will have
	left   []pendingBlock // read by the last batch, below its range
	active bool           // a stream is reading
}

// NewFile returns the source reading the export file at path (Stdin:
// standard input).
func NewFile(path string, opts peerclient.Options) *File {
	if opts.ChunkTimeout <= 0 {
		opts.ChunkTimeout = peerclient.DefaultChunkTimeout
	}
	return &File{path: path, opts: opts}
}

// NewPeer returns a peer reading the export file at path.
func NewPeer(path string, opts peerclient.Options) *peerclient.Local {
	return &peerclient.Local{Source: NewFile(path, opts)}
}

func (p *File) Name() string {
	if p.path == Stdin {
		return "export:stdin"
	}
	return "export:" + p.path
}

func (p *File) osPath() string {
	if p.path == Stdin {
		return "/dev/stdin"
	}
	return p.path
}

// Sequential says the file is a pipe: it serves one batch at a time, in
// descending order, and cannot go back.
func (p *File) Sequential() (bool, error) {
	p.once.Do(p.classify)
	return p.pipe != nil, p.openErr
}

// classify looks at what the path names before opening it: a regular file
// is opened per request; a pipe is opened now, without blocking (a FIFO
// with no writer reads as empty instead of hanging in open(2)), and its
// header read; anything else is refused.
func (p *File) classify() {
	fi, err := os.Stat(p.osPath())
	if err != nil {
		p.openErr = err
		return
	}
	switch {
	case fi.Mode().IsRegular():
		return
	case fi.Mode()&os.ModeNamedPipe == 0:
		p.openErr = fmt.Errorf("%s is not a regular file or a pipe (%s): import reads export files written by vcsync export", p.path, fi.Mode().Type())
		return
	}
	// O_NONBLOCK puts the pipe on Go's poller: reads honour deadlines and
	// a close, so a stalled writer cannot hold the import for ever.
	f, err := os.OpenFile(p.osPath(), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		p.openErr = err
		return
	}
	src := &pipeSource{f: f, sum: sha256.New()}
	src.r = bufio.NewReaderSize(io.TeeReader(deadlineReader{f, p.opts.ChunkTimeout}, src.sum), 1<<20)
	if err := waitForWriter(src.r, p.opts.ChunkTimeout); err != nil {
		f.Close()
		p.openErr = fmt.Errorf("%s: %w", p.Name(), err)
		return
	}
	if src.hdr, err = ReadHeader(src.r); err != nil {
		f.Close()
		p.openErr = fmt.Errorf("%s: %w", p.Name(), err)
		return
	}
	src.next = src.hdr.To
	p.pipe = src
}

// waitForWriter waits, up to timeout, for a FIFO's first byte: opened
// without blocking, a FIFO nobody has opened for writing yet reads as
// empty, and an operator may start the import before the export.
func waitForWriter(r *bufio.Reader, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := r.Peek(1)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, io.EOF):
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("%w within %s", ErrNothingWritten, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deadlineReader gives every read of a pipe the chunk timeout.
type deadlineReader struct {
	f       *os.File
	timeout time.Duration
}

func (d deadlineReader) Read(b []byte) (int, error) {
	d.f.SetReadDeadline(time.Now().Add(d.timeout))
	n, err := d.f.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w: the export stream sent nothing for %s", peerclient.ErrStalled, d.timeout)
	}
	return n, err
}

// openFile opens a regular export file, refusing anything else before
// opening it: opening a FIFO would block until a writer came.
func (p *File) openFile() (*os.File, error) {
	fi, err := os.Stat(p.path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): import reads export files written by vcsync export", p.path, fi.Mode().Type())
	}
	return os.Open(p.path)
}

func (p *File) header() (Header, error) {
	if pipe, err := p.Sequential(); err != nil || pipe {
		if err != nil {
			return Header{}, err
		}
		return p.pipe.hdr, nil
	}
	f, err := p.openFile()
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	h, err := ReadHeader(bufio.NewReader(f))
	if err != nil {
		return h, fmt.Errorf("%s: %w", p.path, err)
	}
	return h, nil
}

func (p *File) Availability(context.Context) (wire.Availability, error) {
	h, err := p.header()
	if err != nil {
		return wire.Availability{}, err
	}
	return wire.Availability{
		NetworkType: h.NetworkType, ChainID: h.ChainID, InOrder: h.To, LastSynced: h.To, Top: h.To,
		ServeFrom: h.From, ServeTo: h.To, MaxBatch: h.To - h.From + 1, MaxChunk: h.Chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes,
	}, nil
}

// Read streams a grant from the file.
func (p *File) Read(_ context.Context, g wire.Grant) (peerclient.Stream, error) {
	if pipe, err := p.Sequential(); err != nil {
		return nil, err
	} else if pipe {
		return p.pipe.stream(g, p.opts)
	}
	f, err := p.openFile()
	if err != nil {
		return nil, err
	}
	counted := &countio.Reader{R: f}
	r := bufio.NewReaderSize(counted, 1<<20)
	hdr, err := ReadHeader(r)
	if err != nil {
		f.Close()
		return nil, err
	}
	st := &exportStream{grant: g, r: r, opts: p.opts, next: hdr.To, fileChunk: hdr.Chunk, marks: &p.marks,
		offset:  func() int64 { return counted.N - int64(r.Buffered()) },
		release: func(uint64, []pendingBlock) error { return f.Close() }}
	if height, offset, ok := p.marks.nearest(g.From); ok && height < hdr.To {
		// Start at the frame holding the batch's top, not at the file's.
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		counted.N = offset
		r.Reset(counted)
		st.next = height
	}
	return st, nil
}

// stream hands the pipe to one batch, from where the last one stopped.
func (s *pipeSource) stream(g wire.Grant, opts peerclient.Options) (peerclient.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	highest := s.next
	if len(s.left) > 0 {
		highest = s.left[0].b.Height()
	}
	switch {
	case s.active:
		return nil, errors.New("the export stream is being read by another batch: a pipe is read one batch at a time")
	case g.From > highest:
		return nil, fmt.Errorf("the export stream has already passed height %d (the highest it can still give is %d): a pipe cannot go back; import the file again", g.From, highest)
	}
	s.active = true
	st := &exportStream{grant: g, r: s.r, opts: opts, next: s.next, fileChunk: s.hdr.Chunk,
		release: func(next uint64, left []pendingBlock) error {
			s.mu.Lock()
			s.next, s.left, s.active = next, left, false
			s.mu.Unlock()
			return nil
		}}
	for _, p := range s.left {
		st.pending, st.sizes = append(st.pending, p.b), append(st.sizes, p.size)
	}
	s.left = nil
	return st, nil
}

// Finish reads a pipe to its end, so the writer (an export on another
// host) is not cut off, and returns the SHA-256 of everything the file
// held (hex). For a regular file it hashes the file.
func (p *File) Finish() (string, error) {
	if p.pipe == nil {
		f, err := p.openFile()
		if err != nil {
			return "", err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("%s: %w", p.Name(), err)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	s := p.pipe
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.Copy(io.Discard, s.r); err != nil {
		return "", fmt.Errorf("%s: %w", p.Name(), err)
	}
	return hex.EncodeToString(s.sum.Sum(nil)), nil
}

// Close closes a pipe.
func (p *File) Close() error {
	if p.pipe != nil {
		return p.pipe.f.Close()
	}
	return nil
}

// exportStream reads the file's frames in order, skipping heights above the
// grant and re-chunking to the granted chunk size. Blocks of the last frame
// that lie below the grant are kept for the next batch (a pipe cannot read
// them again).
type exportStream struct {
	grant     wire.Grant
	r         *bufio.Reader
	opts      peerclient.Options
	next      uint64 // the height the next block in the file must have
	fileChunk int    // most blocks in one of the file's frames
	pending   []*block.Block
	sizes     []int                                        // each pending block's share of its frame's bytes
	release   func(next uint64, left []pendingBlock) error // gives the reader back
	// A regular file's stream notes where the last frame it read begins:
	// the next batch starts in that frame.
	marks  *frameMarks
	offset func() int64
	last   frameMark
}

type frameMark struct {
	height uint64
	offset int64
}

type pendingBlock struct {
	b    *block.Block
	size int
}

func (s *exportStream) Grant() wire.Grant { return s.grant }

// ready is how many pending blocks are within the grant.
func (s *exportStream) ready() int {
	n := 0
	for n < len(s.pending) && s.pending[n].Height() >= s.grant.To {
		n++
	}
	return n
}

func (s *exportStream) Next(reserve peerclient.Reserve) ([]*block.Block, int, error) {
	for len(s.pending) > 0 && s.pending[0].Height() > s.grant.From { // above the batch: the store has them
		s.pending, s.sizes = s.pending[1:], s.sizes[1:]
	}
	for s.ready() < s.grant.Chunk && s.next >= s.grant.To && s.next > 0 {
		start := int64(-1)
		if s.offset != nil {
			start = s.offset()
		}
		// A frame wholly above the batch is read to be thrown away: it is
		// not counted against the batch's memory, which it would otherwise
		// fill without ever giving back (one frame at a time is read).
		frameReserve := reserve
		if s.fileChunk > 0 && s.next >= s.grant.From+uint64(s.fileChunk) {
			frameReserve = func(int) error { return nil }
		}
		payload, err := wire.ReadFrameBytesReserving(s.r, wire.FrameLimit(s.grant, s.opts.MaxBlock), frameReserve)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, 0, fmt.Errorf("%w: it ends after height %d, before %d", ErrTruncated, s.next+1, s.grant.To)
		}
		if err != nil {
			return nil, 0, err
		}
		blocks, err := wire.DecodeFrame(payload, s.fileChunk, s.opts.MaxBlock)
		if err != nil {
			return nil, 0, err
		}
		if len(blocks) > 0 {
			s.last = frameMark{height: blocks[0].Height(), offset: start}
		}
		n := 4 + len(payload)
		for _, b := range blocks {
			if b.Height() != s.next {
				return nil, 0, fmt.Errorf("%w: export file has height %d where %d belongs", wire.ErrProtocol, b.Height(), s.next)
			}
			s.next--
			if b.Height() <= s.grant.From {
				s.pending = append(s.pending, b)
				s.sizes = append(s.sizes, n/len(blocks))
			}
		}
	}
	k := min(s.ready(), s.grant.Chunk)
	if k == 0 {
		return nil, 0, io.EOF
	}
	out, n := s.pending[:k:k], 0
	for _, size := range s.sizes[:k] {
		n += size
	}
	s.pending, s.sizes = s.pending[k:], s.sizes[k:]
	return out, n, nil
}

// Close gives the reader back, with what was read but not delivered.
func (s *exportStream) Close() error {
	if s.marks != nil && s.last.height > 0 {
		s.marks.add(s.last.height, s.last.offset)
	}
	left := make([]pendingBlock, len(s.pending))
	for i, b := range s.pending {
		left[i] = pendingBlock{b, s.sizes[i]}
	}
	return s.release(s.next, left)
}
