package syncer_test

import (
	"context"
	"errors"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/wire"
)

// busyFor answers the first n batch requests with 503 (and Retry-After
// when retryAfter is set), then serves; it counts the refusals.
func busyFor(n int64, retryAfter string, refused *atomic.Int64) func(http.Handler) http.Handler {
	var seen atomic.Int64
	return wireMW(wire.PathBlocks, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if seen.Add(1) <= n {
			refused.Add(1)
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			http.Error(w, `{"error":"too many concurrent streams; try another peer or later"}`, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// A peer that says "later" is waited for and used, never dropped: alone
// (the sync waits for its backoff) and with its Retry-After honoured, at
// one batch at a time and with batches fetched ahead.
func TestBusyPeerIsNotALiar(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hostileBlocks)
	for _, tc := range []struct {
		name       string
		parallel   int
		refusals   int64
		retryAfter string
	}{{"backoff", 1, 2, ""}, {"retry-after", 1, 1, "1"}, {"parallel", 3, 2, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			var refused atomic.Int64
			f.parallel = tc.parallel
			p := f.serveWith(t, nil, busyFor(tc.refusals, tc.retryAfter, &refused), peerclient.Options{})
			s := f.emptyStore(t)
			start := time.Now()
			res, err := f.syncerPreferring(t, s, p.Name(), p).Sync(context.Background())
			if err != nil {
				t.Fatalf("sync from a busy peer: %v (%+v)", err, res)
			}
			if len(res.PeersDropped) != 0 {
				t.Fatalf("a busy peer was dropped: %+v", res.PeersDropped)
			}
			if int64(res.BusyAnswers) != refused.Load() || refused.Load() != tc.refusals {
				t.Fatalf("busy answers %d, the peer refused %d times (want %d)", res.BusyAnswers, refused.Load(), tc.refusals)
			}
			if res.BusyWaitSeconds <= 0 {
				t.Fatalf("the run waited on its only peer but reports %v s", res.BusyWaitSeconds)
			}
			if tc.retryAfter != "" && time.Since(start) < time.Second {
				t.Fatalf("Retry-After: 1 was not honoured: the sync took %s", time.Since(start))
			}
			f.mustBeSynced(t, s)
		})
	}
}

// A peer that is never free ends the run after BusyTimeout with a reason
// naming it busy, and is still not dropped as a liar.
func TestAlwaysBusyPeerEndsTheRunAfterBusyTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hostileBlocks)
	var refused atomic.Int64
	p := f.serveWith(t, nil, busyFor(1<<30, "", &refused), peerclient.Options{})
	s := f.emptyStore(t)
	sy := syncer.New(syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{p}, Batch: 300, Chunk: 40,
		BusyTimeout: 1500 * time.Millisecond})
	res, err := sy.Sync(context.Background())
	if !errors.Is(err, syncer.ErrNoPeer) || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("err %v, want ErrNoPeer saying the peer is busy", err)
	}
	if len(res.PeersDropped) != 0 || res.BusyAnswers < 2 {
		t.Fatalf("dropped %+v after %d busy answers", res.PeersDropped, res.BusyAnswers)
	}
	if st, _ := s.State(); st.Top != 0 {
		t.Fatalf("stored %+v from a peer that never sent a block", st)
	}
}

// A busy peer beside a free one: the free one serves meanwhile.
func TestBusyPeerBesideAFreeOne(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hostileBlocks)
	var refused atomic.Int64
	busy := f.serveWith(t, nil, busyFor(1<<30, "30", &refused), peerclient.Options{})
	free := f.serve(t, nil, nil)
	s := f.emptyStore(t)
	res, err := f.syncerPreferring(t, s, busy.Name(), busy, free).Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if len(res.PeersDropped) != 0 || res.BusyAnswers != 1 || res.BusyWaitSeconds != 0 {
		t.Fatalf("dropped %+v, %d busy answers, waited %v s: the free peer should have served at once",
			res.PeersDropped, res.BusyAnswers, res.BusyWaitSeconds)
	}
	f.mustBeSynced(t, s)
}

// A fleet: clients syncing at once from one server with default limits
// (16 slots, 2 per client address, and every client here is 127.0.0.1),
// behind a 4 MiB/s link per stream so that streams overlap, all finish
// with the chain, each with its own peer client and store, and none drops
// the server.
func TestFleetOfClientsAllFinishFromOneServer(t *testing.T) {
	t.Parallel()
	const clients = 4
	f := newFixture(t, hostileBlocks)
	url := f.serve(t, nil, throttle(4<<20, 0)).Name()
	results := make([]syncer.Result, clients)
	errs := make([]error, clients)
	stores := make([]*store.Store, clients)
	var fleet sync.WaitGroup
	for i := range clients {
		stores[i] = f.emptyStore(t)
		fleet.Go(func() {
			peer := peerclient.NewHTTP(url, peerclient.Options{})
			results[i], errs[i] = syncer.New(syncer.Config{Store: stores[i], Verifier: f.verifier(t), Peers: []peerclient.Peer{peer},
				Batch: 200, Chunk: 40, Parallel: 3, Rand: rand.New(rand.NewSource(int64(i)))}).Sync(context.Background())
		})
	}
	fleet.Wait()
	busy := 0
	for i := range clients {
		if errs[i] != nil || len(results[i].PeersDropped) != 0 {
			t.Fatalf("client %d: %v, dropped %+v", i, errs[i], results[i].PeersDropped)
		}
		busy += results[i].BusyAnswers
		f.mustBeSynced(t, stores[i])
	}
	t.Logf("%d busy answers across the fleet", busy)
	if busy == 0 {
		t.Fatal("no client was ever told to wait: the test did not load the server")
	}
}

// A peer that goes away after its batch takes the block it sent that
// still waits for its parent with it; the next peer's batch must then be
// planned from the verified block, not below the discarded one, or that
// honest peer is blamed for the gap (seen in BenchmarkFleet with a server
// killed mid-run: "expected height 2001 below block 2002").
func TestCarrySenderGoneDoesNotBlameTheNextPeer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, hostileBlocks)
	var served atomic.Bool
	gone := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if served.Load() {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close() // as a crashed server: the connection just ends
				}
				return
			}
			next.ServeHTTP(w, r)
			if r.URL.Path == wire.PathBlocks {
				served.Store(true)
			}
		})
	}
	first := f.serve(t, nil, gone)
	honest := f.serve(t, nil, nil)
	s := f.emptyStore(t)
	res, err := f.syncerPreferring(t, s, first.Name(), first, honest).Sync(context.Background())
	if err != nil {
		t.Fatalf("sync: %v (%+v)", err, res)
	}
	for _, d := range res.PeersDropped {
		if d.Peer == honest.Name() {
			t.Fatalf("the honest peer was dropped: %+v", d)
		}
	}
	f.mustBeSynced(t, s)
}
