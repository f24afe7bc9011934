package syncer_test

import (
	"context"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

// throttled is a slow link: every write waits as a link of rate bytes/s
// would, and every flushed frame waits latency more.
type throttled struct {
	http.ResponseWriter
	rate    float64
	latency time.Duration
}

func (t *throttled) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(float64(len(p)) / t.rate * float64(time.Second)))
	return t.ResponseWriter.Write(p)
}

func (t *throttled) Flush() {
	time.Sleep(t.latency)
	t.ResponseWriter.(http.Flusher).Flush()
}

func (t *throttled) Unwrap() http.ResponseWriter { return t.ResponseWriter }

func throttle(rate float64, latency time.Duration) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wire.PathBlocks {
				w = &throttled{ResponseWriter: w, rate: rate, latency: latency}
			}
			h.ServeHTTP(w, r)
		})
	}
}

// BenchmarkSyncSlowLinks syncs 20,000 blocks from 4 peers on 127.0.0.1,
// each behind a 1 MiB/s link with 50 ms of latency per frame (the devnet's
// 4-member committee, so the links and not the CPU are the limit): first
// one batch at a time, then 4 at once, and reports both rates and their
// ratio, measured in the same run.
func BenchmarkSyncSlowLinks(b *testing.B) {
	const blocks = 20000
	n, err := devnet.New(devnet.Config{Seed: "bench-links", Blocks: blocks})
	if err != nil {
		b.Fatal(err)
	}
	files, _, err := n.Generate(filepath.Join(b.TempDir(), "src"), nil)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := store.Open(files.Store, store.Options{ReadOnly: true})
	defer src.Close()
	var peers []peerclient.Peer
	for i := 0; i < 4; i++ {
		srv := httptest.NewServer(throttle(1<<20, 50*time.Millisecond)(peerserver.New(src, peerserver.Options{}).Handler()))
		defer srv.Close()
		peers = append(peers, peerclient.NewHTTP(srv.URL, peerclient.Options{}))
	}
	docSrc, _ := verify.NewDocSource(n.ManagementDoc(), n.ChainID)
	id := store.Identity{ChainID: n.ChainID, NetworkType: n.NetworkType}
	rate := func(parallel int) float64 {
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sy := syncer.New(syncer.Config{Store: s, Peers: peers, Parallel: parallel, Rand: rand.New(rand.NewSource(1)),
			Verifier: &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}})
		start := time.Now()
		res, err := sy.Sync(context.Background())
		if err != nil || res.Blocks != blocks {
			b.Fatalf("parallel %d: synced %d: %v", parallel, res.Blocks, err)
		}
		return float64(blocks) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	var one, four float64
	for i := 0; i < b.N; i++ {
		one += rate(1)
		four += rate(4)
	}
	b.ReportMetric(one/float64(b.N), "blocks/s_parallel1")
	b.ReportMetric(four/float64(b.N), "blocks/s_parallel4")
	b.ReportMetric(four/one, "speedup")
}

// stallsMidBatch passes the first `after` bytes of every batch it serves,
// then writes nothing until the request ends: a peer that stops partway.
type stallsMidBatch struct {
	http.ResponseWriter
	ctx   context.Context
	after int
}

func (s *stallsMidBatch) Write(p []byte) (int, error) {
	if s.after <= 0 {
		<-s.ctx.Done()
		return 0, s.ctx.Err()
	}
	s.after -= len(p)
	return s.ResponseWriter.Write(p)
}

func (s *stallsMidBatch) Flush() { s.ResponseWriter.(http.Flusher).Flush() }

// BenchmarkSyncSlowLinksStaller is BenchmarkSyncSlowLinks's --parallel 4
// run twice: with four honest peers, and with one of them stopping partway
// through every batch it serves (chosen first whenever it can serve, so
// the sync always meets it). It reports how much longer the second run
// took next to the chunk timeout, which is what one stalling peer may cost.
func BenchmarkSyncSlowLinksStaller(b *testing.B) {
	const (
		blocks  = 20000
		timeout = 2 * time.Second
	)
	n, err := devnet.New(devnet.Config{Seed: "bench-links", Blocks: blocks})
	if err != nil {
		b.Fatal(err)
	}
	files, _, err := n.Generate(filepath.Join(b.TempDir(), "src"), nil)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := store.Open(files.Store, store.Options{ReadOnly: true})
	defer src.Close()
	serve := func(stall bool) peerclient.Peer {
		h := throttle(1<<20, 50*time.Millisecond)(peerserver.New(src, peerserver.Options{}).Handler())
		if stall {
			inner := h
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == wire.PathBlocks {
					w = &stallsMidBatch{ResponseWriter: w, ctx: r.Context(), after: 150 << 10}
				}
				inner.ServeHTTP(w, r)
			})
		}
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		return peerclient.NewHTTP(srv.URL, peerclient.Options{ChunkTimeout: timeout})
	}
	honest := []peerclient.Peer{serve(false), serve(false), serve(false), serve(false)}
	staller := serve(true)
	withStaller := append(append([]peerclient.Peer(nil), honest[:3]...), staller)
	docSrc, _ := verify.NewDocSource(n.ManagementDoc(), n.ChainID)
	id := store.Identity{ChainID: n.ChainID, NetworkType: n.NetworkType}
	prefer := func(names []string) int {
		for i, name := range names {
			if name == staller.Name() {
				return i
			}
		}
		return rand.Intn(len(names))
	}
	run := func(peers []peerclient.Peer) (time.Duration, syncer.Result) {
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sy := syncer.New(syncer.Config{Store: s, Peers: peers, Parallel: 4, Choose: prefer,
			Verifier: &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}})
		start := time.Now()
		res, err := sy.Sync(context.Background())
		if err != nil || res.Blocks != blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		return time.Since(start), res
	}
	b.ResetTimer()
	var clean, stalled time.Duration
	for i := 0; i < b.N; i++ {
		d, _ := run(honest)
		clean += d
		d, res := run(withStaller)
		stalled += d
		if len(res.PeersDropped) != 1 || res.PeersDropped[0].Peer != staller.Name() {
			b.Fatalf("dropped %+v, want the staller alone", res.PeersDropped)
		}
	}
	b.ReportMetric(clean.Seconds()/float64(b.N), "s_honest")
	b.ReportMetric(stalled.Seconds()/float64(b.N), "s_with_staller")
	b.ReportMetric((stalled-clean).Seconds()/float64(b.N), "s_cost_of_staller")
	b.ReportMetric(timeout.Seconds(), "s_chunk_timeout")
}
