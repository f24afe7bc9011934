// Package peerserver serves a store's blocks to peers over HTTP, read-only:
// availability as JSON, blocks as a descending stream of length-prefixed
// frames (docs/PROTOCOL.md), within bounds on streams and memory. It
// knows nothing of verification: it serves what the store holds.
package peerserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/wire"
)

// Source is what the server reads; *store.Store is one.
type Source interface {
	Identity() store.Identity
	State() (store.State, error)
	Hash(h uint64) (common.Hash, error)
	ReadRange(hi, lo uint64, fn func(h uint64, raw []byte) error) error
}

// Defaults for Options' zero values.
const (
	// DefaultMaxStreams bounds concurrent block streams; each holds at most
	// one frame in memory, so this bounds the server's memory too.
	DefaultMaxStreams = 16
	// DefaultWriteTimeout is how long one frame may take to reach a client
	// before the stream is dropped, so a dead client frees its slot.
	DefaultWriteTimeout = 30 * time.Second
)

// Options limit what the server gives.
type Options struct {
	MaxBatch      uint64
	MaxChunk      int
	MaxFrameBytes int
	MaxStreams    int
	// MaxStreamsPerClient bounds the streams one client address holds
	// (0: DefaultMaxStreamsPerClient).
	MaxStreamsPerClient int
	WriteTimeout        time.Duration
	Log                 *slog.Logger // nil: no request log
	Observer            Observer     // nil: none
}

// Server answers peers from a Source.
type Server struct {
	src   Source
	opts  Options
	slots *slots
}

// New returns a server reading src.
func New(src Source, opts Options) *Server {
	if opts.MaxBatch == 0 {
		opts.MaxBatch = wire.DefaultMaxBatch
	}
	if opts.MaxChunk <= 0 {
		opts.MaxChunk = wire.DefaultMaxChunk
	}
	if opts.MaxFrameBytes <= 0 {
		opts.MaxFrameBytes = wire.DefaultMaxFrameBytes
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if opts.MaxStreamsPerClient <= 0 {
		opts.MaxStreamsPerClient = DefaultMaxStreamsPerClient
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	return &Server{src: src, opts: opts, slots: newSlots(opts.MaxStreams, opts.MaxStreamsPerClient)}
}

// Handler routes the protocol's two endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wire.PathAvailability, s.observed("availability", s.handleAvailability))
	mux.HandleFunc("GET "+wire.PathBlocks, s.observed("blocks", s.handleBlocks))
	mux.HandleFunc("GET /healthz", s.observed("healthz", s.handleHealth(false)))
	mux.HandleFunc("GET /readyz", s.observed("readyz", s.handleHealth(true)))
	return mux
}

// health is /healthz's and /readyz's answer.
type health struct {
	OK      bool   `json:"ok"`
	InOrder uint64 `json:"in_order"`
	Top     uint64 `json:"top"`
	Error   string `json:"error,omitempty"`
}

// handleHealth answers /healthz (the store reads) and, with ready,
// /readyz (and it has blocks to serve). Either is 503 when it is not so,
// for a load balancer or an orchestrator to act on.
func (s *Server) handleHealth(ready bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st, err := s.src.State()
		h := health{OK: err == nil, InOrder: st.InOrder, Top: st.Top}
		if err != nil {
			h.Error = err.Error()
		} else if ready && st.InOrder == 0 {
			h.OK, h.Error = false, "the store holds no block from height 1 to serve"
		}
		w.Header().Set("Content-Type", "application/json")
		if !h.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(h)
	}
}

// Observer hears what the server does, for metrics; every method may be
// called from any goroutine.
type Observer interface {
	Request(endpoint string, status int) // a request was answered
	StreamOpened()                       // a block stream took a slot
	StreamClosed()                       // and gave it back
	StreamRefused()                      // a block request was answered busy
	Served(blocks, bytes int)            // a frame was written
}

type nopObserver struct{}

func (nopObserver) Request(string, int) {}
func (nopObserver) StreamOpened()       {}
func (nopObserver) StreamClosed()       {}
func (nopObserver) StreamRefused()      {}
func (nopObserver) Served(int, int)     {}

// observed reports each answer of h with its status.
func (s *Server) observed(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h(rec, r)
		s.opts.Observer.Request(endpoint, rec.status)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) availability() (wire.Availability, error) {
	st, err := s.src.State()
	if err != nil {
		return wire.Availability{}, err
	}
	a := wire.StoreAvailability(s.src.Identity(), st)
	a.MaxBatch, a.MaxChunk, a.MaxFrameBytes = s.opts.MaxBatch, s.opts.MaxChunk, s.opts.MaxFrameBytes
	return a.WithHashes(s.src.Hash), nil
}

func (s *Server) handleAvailability(w http.ResponseWriter, r *http.Request) {
	a, err := s.availability()
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

func (s *Server) handleBlocks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var params [4]uint64
	for i, name := range []string{"from", "to", "batch", "chunk"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				httpError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q is not a number", name, v))
				return
			}
			params[i] = n
		}
	}
	a, err := s.availability()
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	g, err := wire.GrantFor(a, wire.Request{From: params[0], To: params[1], Batch: params[2], Chunk: int(min(params[3], 1<<20))})
	var re *wire.RangeError
	if errors.As(err, &re) {
		httpError(w, http.StatusRequestedRangeNotSatisfiable, err.Error())
		return
	}
	// A slot is held until the stream ends, fails or stalls (the per-frame
	// write deadline): the deferred release runs in every case.
	release, refusal := s.slots.take(r.RemoteAddr)
	if release == nil {
		if s.opts.Log != nil && s.slots.shouldLog(r.RemoteAddr, time.Now()) {
			s.opts.Log.Warn("busy: stream refused", "client", clientOf(r.RemoteAddr), "why", refusal, "quiet_for", refusalLogEvery.String())
		}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		httpError(w, http.StatusServiceUnavailable, refusal)
		s.opts.Observer.StreamRefused()
		return
	}
	defer release()
	s.opts.Observer.StreamOpened()
	defer s.opts.Observer.StreamClosed()
	wire.SetGrantHeaders(w.Header(), g)
	w.WriteHeader(http.StatusOK)
	start := time.Now()
	blocks, bytes, err := s.stream(r.Context(), w, g)
	if s.opts.Log != nil { // one access line per stream
		outcome, level := "ok", slog.LevelInfo
		if err != nil {
			outcome, level = err.Error(), slog.LevelWarn
		}
		s.opts.Log.Log(r.Context(), level, "stream", "client", r.RemoteAddr, "from", g.From, "to", g.To, "blocks", blocks,
			"bytes", bytes, "seconds", time.Since(start).Seconds(), "outcome", outcome)
	}
}

// stream writes the grant chunk by chunk, each chunk read in its own read
// transaction so a slow client never pins one for the whole batch.
// It returns the blocks and bytes written.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, g wire.Grant) (blocks, bytes int, err error) {
	rc := http.NewResponseController(w)
	fw := wire.NewFrameWriter(flushWriter{w: w, rc: rc}, g)
	for hi := g.From; hi >= g.To; {
		if err := ctx.Err(); err != nil {
			return blocks, bytes, err
		}
		lo := max(g.To, hi-min(hi, uint64(g.Chunk))+1)
		rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		chunk := 0
		if err := s.src.ReadRange(hi, lo, func(_ uint64, raw []byte) error { chunk += len(raw); return fw.Add(raw) }); err != nil {
			return blocks, bytes, err
		}
		if err := fw.Flush(); err != nil {
			return blocks, bytes, err
		}
		s.opts.Observer.Served(int(hi-lo+1), chunk)
		blocks, bytes = blocks+int(hi-lo+1), bytes+chunk
		hi = lo - 1
	}
	return blocks, bytes, nil
}

type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f flushWriter) Flush()                      { f.rc.Flush() }

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// idleTimeout closes a keep-alive connection no request has used for this
// long: long enough for a syncing client's next batch, short enough that
// clients that went away free their descriptors.
const idleTimeout = 2 * time.Minute

// Serve serves the handler on ln until ctx is done, then shuts down
// gracefully: open streams get shutdownGrace to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	// Idle keep-alive connections are closed after idleTimeout: a fleet's
	// clients must not hold connections (and file descriptors) for ever.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idleTimeout}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-done
	return nil
}

// shutdownGrace lets in-flight chunks finish on SIGINT/SIGTERM without
// keeping an operator waiting.
const shutdownGrace = 5 * time.Second
