package peerclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vcsync/vcsync/block"
)

// Paths and headers of the HTTP protocol (docs/PROTOCOL.md).
const (
	PathAvailability = "/v1/availability"
	PathBlocks       = "/v1/blocks"
	HeaderFrom       = "Vcsync-Batch-From"
	HeaderTo         = "Vcsync-Batch-To"
	HeaderChunk      = "Vcsync-Chunk"
	HeaderMaxFrame   = "Vcsync-Max-Frame-Bytes"
	FrameContentType = "application/x-vcsync-frames"
	// maxAvailabilityBytes bounds the availability answer; it is a few hundred bytes.
	maxAvailabilityBytes = 64 << 10
)

// ErrStalled marks a peer that did not deliver a chunk in time.
var ErrStalled = errors.New("peer stalled")

// HTTPPeer is a peer reached over HTTP.
type HTTPPeer struct {
	base   string
	opts   Options
	client *http.Client
}

// NewHTTP returns a peer at base (http://host:port).
func NewHTTP(base string, opts Options) *HTTPPeer {
	if opts.ChunkTimeout <= 0 {
		opts.ChunkTimeout = DefaultChunkTimeout
	}
	return &HTTPPeer{base: base, opts: opts, client: &http.Client{}}
}

func (p *HTTPPeer) Name() string { return p.base }

func (p *HTTPPeer) Availability(ctx context.Context) (Availability, error) {
	var a Availability
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+PathAvailability, nil)
	if err != nil {
		return a, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return a, fmt.Errorf("availability: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return a, fmt.Errorf("availability: HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAvailabilityBytes)).Decode(&a); err != nil {
		return a, fmt.Errorf("%w: availability answer: %v", ErrProtocol, err)
	}
	return a, nil
}

func (p *HTTPPeer) Blocks(ctx context.Context, r Request) (Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	url := fmt.Sprintf("%s%s?from=%d&to=%d&batch=%d&chunk=%d", p.base, PathBlocks, r.From, r.To, r.Batch, r.Chunk)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	// The response headers are the first thing owed: give them one chunk timeout too.
	stall := time.AfterFunc(p.opts.ChunkTimeout, cancel)
	resp, err := p.client.Do(req)
	if err != nil {
		cancel()
		if !stall.Stop() {
			return nil, fmt.Errorf("%w: no answer within %s", ErrStalled, p.opts.ChunkTimeout)
		}
		return nil, fmt.Errorf("blocks: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		stall.Stop()
		cancel()
		return nil, fmt.Errorf("blocks %d-%d: HTTP %s: %s", r.From, r.To, resp.Status, strings.TrimSpace(string(msg)))
	}
	g, err := parseGrant(resp.Header)
	if err != nil {
		resp.Body.Close()
		stall.Stop()
		cancel()
		return nil, err
	}
	stall.Stop()
	return &httpStream{grant: g, body: resp.Body, cancel: cancel, stall: stall, opts: p.opts}, nil
}

func parseGrant(h http.Header) (Grant, error) {
	var g Grant
	var err error
	num := func(name string) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(h.Get(name), 10, 64)
		if err != nil {
			err = fmt.Errorf("%w: header %s %q", ErrProtocol, name, h.Get(name))
		}
		return v
	}
	g.From, g.To = num(HeaderFrom), num(HeaderTo)
	g.Chunk, g.MaxFrameBytes = int(num(HeaderChunk)), int(num(HeaderMaxFrame))
	if err == nil && (g.To == 0 || g.To > g.From || g.Chunk <= 0 || g.MaxFrameBytes <= 0) {
		err = fmt.Errorf("%w: grant %d-%d chunk %d frame %d is not valid", ErrProtocol, g.From, g.To, g.Chunk, g.MaxFrameBytes)
	}
	return g, err
}

type httpStream struct {
	grant  Grant
	body   io.ReadCloser
	cancel context.CancelFunc
	stall  *time.Timer
	opts   Options
	mu     sync.Mutex
}

func (s *httpStream) Grant() Grant { return s.grant }

func (s *httpStream) Next() ([]*block.Block, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The clock runs only while we wait for the peer, not while the
	// caller verifies what it already has.
	s.stall.Reset(s.opts.ChunkTimeout)
	blocks, n, err := readFrame(s.body, frameLimit(s.grant, s.opts.MaxBlock), s.grant.Chunk, s.opts.MaxBlock)
	fired := !s.stall.Stop()
	if err != nil && !errors.Is(err, io.EOF) && fired {
		return nil, 0, fmt.Errorf("%w: no chunk within %s", ErrStalled, s.opts.ChunkTimeout)
	}
	return blocks, n, err
}

func (s *httpStream) Close() error {
	s.stall.Stop()
	s.cancel()
	return s.body.Close()
}
