package peerclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/wire"
)

// frameServer grants 1..n in chunks of chunk and writes one frame of
// perFrame blocks every gap.
func frameServer(t *testing.T, n uint64, chunk, perFrame int, gap time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := wire.Grant{From: n, To: 1, Chunk: chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes}
		wire.SetGrantHeaders(w.Header(), g)
		w.WriteHeader(http.StatusOK)
		fw := wire.NewFrameWriter(w, wire.Grant{Chunk: perFrame, MaxFrameBytes: wire.DefaultMaxFrameBytes})
		for h := n; h >= 1; h-- {
			b := &block.Block{Header: block.Header{Height: h}}
			b.Seal()
			raw, _ := b.Encode()
			fw.Add(raw)
			if (n-h+1)%uint64(perFrame) == 0 || h == 1 {
				fw.Flush()
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(gap):
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func drain(t *testing.T, st Stream, pause time.Duration) (int, error) {
	t.Helper()
	got := 0
	for {
		blocks, _, err := st.Next(nil)
		if err != nil {
			return got, err
		}
		got += len(blocks)
		time.Sleep(pause) // the caller verifying: not the peer's time
	}
}

func TestStallClockRunsOnlyWhileWaiting(t *testing.T) {
	// Full chunks every 60% of the timeout, read by a caller that takes
	// twice the timeout per chunk: never stalled.
	srv := frameServer(t, 200, 40, 40, 120*time.Millisecond)
	p := NewHTTP(srv.URL, Options{ChunkTimeout: 200 * time.Millisecond})
	st, err := p.Blocks(t.Context(), wire.Request{From: 200, To: 1, Chunk: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := drain(t, st, 400*time.Millisecond); got != 200 || !errors.Is(err, io.EOF) {
		t.Fatalf("got %d blocks, %v", got, err)
	}
}

func TestDripIsSlow(t *testing.T) {
	// One block per frame, each inside the timeout: under a chunk per timeout.
	srv := frameServer(t, 200, 40, 1, 60*time.Millisecond)
	p := NewHTTP(srv.URL, Options{ChunkTimeout: 200 * time.Millisecond})
	st, err := p.Blocks(t.Context(), wire.Request{From: 200, To: 1, Chunk: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := drain(t, st, 0)
	if !errors.Is(err, ErrSlow) || got > 10 {
		t.Fatalf("drip: %d blocks, %v; want ErrSlow within a few blocks", got, err)
	}
}

func TestRedirectsAreRefused(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the redirect was followed")
	}))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL+"/internal", http.StatusTemporaryRedirect))
	defer srv.Close()
	p := NewHTTP(srv.URL, Options{})
	if _, err := p.Availability(t.Context()); !errors.Is(err, ErrRedirect) {
		t.Fatalf("availability: %v", err)
	}
	if _, err := p.Blocks(t.Context(), wire.Request{}); !errors.Is(err, ErrRedirect) {
		t.Fatalf("blocks: %v", err)
	}
}

// A busy answer is ErrBusy with the peer's Retry-After, but a hostile
// Retry-After of a year parks the peer for at most a minute; 416 is a
// refusal, not busy.
func TestBusyAnswersAndTheirRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		busy       bool
		want       time.Duration
	}{
		{http.StatusServiceUnavailable, "3", true, 3 * time.Second},
		{http.StatusTooManyRequests, "", true, 0},
		{http.StatusServiceUnavailable, "31536000", true, time.Minute},
		{http.StatusServiceUnavailable, "soon", true, 0},
		{http.StatusRequestedRangeNotSatisfiable, "3", false, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			http.Error(w, "later", tc.status)
		}))
		_, err := NewHTTP(srv.URL, Options{}).Blocks(context.Background(), wire.Request{From: 10, To: 1, Batch: 10, Chunk: 10})
		srv.Close()
		var be *BusyError
		if errors.As(err, &be) != tc.busy || errors.Is(err, ErrBusy) != tc.busy {
			t.Fatalf("HTTP %d: %v, busy %v", tc.status, err, tc.busy)
		}
		if tc.busy && be.RetryAfter != tc.want {
			t.Fatalf("HTTP %d Retry-After %q: waits %s, want %s", tc.status, tc.retryAfter, be.RetryAfter, tc.want)
		}
		if !tc.busy && !errors.Is(err, ErrRefused) {
			t.Fatalf("HTTP %d: %v, want a refusal", tc.status, err)
		}
	}
}
