package peerclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/wire"
)

// Errors a stream reports when a peer is too slow; match with errors.Is.
var (
	// ErrStalled: the peer sent nothing for a whole chunk timeout.
	ErrStalled = errors.New("peer stalled")
	// ErrSlow: the peer sent something, but less than a chunk's worth of
	// blocks (or progressBytes) in a chunk timeout of waiting.
	ErrSlow = errors.New("peer too slow")
	// ErrRedirect: the peer answered with a redirect, which is never followed.
	ErrRedirect = errors.New("peer answered with a redirect")
	// ErrRefused: the peer answered a request with an error status.
	ErrRefused = errors.New("peer refused the request")
	// ErrBusy: the peer said "later" (HTTP 503 or 429), or refused the
	// connection. Not a fault: see BusyError.
	ErrBusy = errors.New("peer is busy")
)

// BusyError is a peer's "later": how long it asked to wait (Retry-After),
// zero if it did not say.
type BusyError struct {
	RetryAfter time.Duration
	Reason     string
}

func (e *BusyError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("peer is busy (retry after %s): %s", e.RetryAfter, e.Reason)
	}
	return "peer is busy: " + e.Reason
}

func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// maxRetryAfter caps what a peer may ask a client to wait: a hostile
// Retry-After of a year must not park the peer for the run.
const maxRetryAfter = time.Minute

// busyAnswer reads a 503 or 429 answer as a BusyError.
func busyAnswer(resp *http.Response, msg string) *BusyError {
	e := &BusyError{Reason: fmt.Sprintf("HTTP %s: %s", resp.Status, msg)}
	if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
		e.RetryAfter = min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	return e
}

// progressBytes is the other way a peer shows progress: blocks can be
// large, so this many bytes in a chunk timeout counts like a full chunk.
// 1 MiB per 5s is 200 KiB/s, the slowest link an operator would still
// choose to sync over.
const progressBytes = 1 << 20

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
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The protocol never compresses: a gzip body is refused as garbage
	// rather than inflated (a bomb would be bounded anyway, but costs CPU).
	transport.DisableCompression = true
	return &HTTPPeer{base: base, opts: opts, client: &http.Client{
		Transport: transport,
		// A redirect could point the client at a host the operator never
		// listed, or at an internal URL: refuse it and blame the peer.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w to %s", ErrRedirect, req.URL.Redacted())
		},
	}}
}

func (p *HTTPPeer) Name() string { return p.base }

func (p *HTTPPeer) Availability(ctx context.Context) (wire.Availability, error) {
	var a wire.Availability
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+wire.PathAvailability, nil)
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
	return wire.DecodeAvailability(resp.Body)
}

func (p *HTTPPeer) Blocks(ctx context.Context, r wire.Request) (Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	url := fmt.Sprintf("%s%s?from=%d&to=%d&batch=%d&chunk=%d", p.base, wire.PathBlocks, r.From, r.To, r.Batch, r.Chunk)
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
		if errors.Is(err, syscall.ECONNREFUSED) {
			// It answered the availability question a moment ago: full, or restarting.
			return nil, &BusyError{Reason: "connection refused"}
		}
		return nil, fmt.Errorf("blocks: %w", err)
	}
	fail := func(err error) (Stream, error) {
		resp.Body.Close()
		stall.Stop()
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			return fail(busyAnswer(resp, strings.TrimSpace(string(msg))))
		}
		return fail(fmt.Errorf("%w: blocks %d-%d: HTTP %s: %s", ErrRefused, r.From, r.To, resp.Status, strings.TrimSpace(string(msg))))
	}
	g, err := wire.ParseGrant(resp.Header)
	if err != nil {
		return fail(err)
	}
	stall.Stop()
	want := r.Chunk
	if want <= 0 || want > g.Chunk*16 {
		want = g.Chunk
	}
	return &httpStream{grant: g, body: resp.Body, cancel: cancel, stall: stall, opts: p.opts,
		left: p.opts.ChunkTimeout, wantBlocks: want}, nil
}

// httpStream reads frames with a stall clock that runs only while the
// client waits for bytes: not while it decodes, and not while the caller
// verifies. The peer must show progress, a chunk's worth of blocks (the
// chunk the client asked for) or progressBytes, within every chunk
// timeout of waiting: a peer that drips one block per frame just inside
// the timeout is dropped as slow (CometBFT: judge liveness in blocks).
type httpStream struct {
	grant      wire.Grant
	body       io.ReadCloser
	cancel     context.CancelFunc
	stall      *time.Timer
	opts       Options
	left       time.Duration // waiting time the peer has left to show progress
	wantBlocks int           // blocks that count as progress
	blocks     int           // progress since the clock was last wound
	bytes      int
}

func (s *httpStream) Grant() wire.Grant { return s.grant }

func (s *httpStream) Next(reserve Reserve) ([]*block.Block, int, error) {
	start := time.Now()
	s.stall.Reset(s.left)
	payload, err := wire.ReadFrameBytesReserving(s.body, wire.FrameLimit(s.grant, s.opts.MaxBlock), s.reserving(reserve))
	fired := !s.stall.Stop()
	s.left -= time.Since(start)
	if fired {
		// The timer cancelled the request: the stream is over either way.
		if s.blocks > 0 || len(payload) > 0 {
			return nil, 0, fmt.Errorf("%w: %d blocks in %s of waiting, under the %d-block chunk (or %d bytes) a peer must deliver in that time",
				ErrSlow, s.blocks, s.opts.ChunkTimeout, s.wantBlocks, progressBytes)
		}
		return nil, 0, fmt.Errorf("%w: nothing within %s", ErrStalled, s.opts.ChunkTimeout)
	}
	if err != nil {
		return nil, 0, err
	}
	blocks, err := wire.DecodeFrame(payload, s.grant.Chunk, s.opts.MaxBlock)
	if err != nil {
		return nil, 0, err
	}
	s.blocks += len(blocks)
	s.bytes += 4 + len(payload)
	if s.blocks >= s.wantBlocks || s.bytes >= progressBytes {
		s.left, s.blocks, s.bytes = s.opts.ChunkTimeout, 0, 0
	} else if s.left <= 0 {
		return nil, 0, fmt.Errorf("%w: %d blocks in %s of waiting, under the %d-block chunk (or %d bytes) a peer must deliver in that time",
			ErrSlow, s.blocks, s.opts.ChunkTimeout, s.wantBlocks, progressBytes)
	}
	return blocks, 4 + len(payload), nil
}

func (s *httpStream) Close() error {
	s.stall.Stop()
	s.cancel()
	return s.body.Close()
}

// reserving stops the stall clock while reserve waits: a client waiting
// for its own memory to free is not a slow peer.
func (s *httpStream) reserving(reserve Reserve) func(int) error {
	if reserve == nil {
		return nil
	}
	return func(n int) error {
		stopped := s.stall.Stop()
		waitStart := time.Now()
		err := reserve(n)
		if stopped {
			s.left += time.Since(waitStart)
			s.stall.Reset(s.left)
		}
		return err
	}
}
