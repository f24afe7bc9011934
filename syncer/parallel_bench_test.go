package syncer_test

import (
	"context"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcsync/vcsync/committee/mgmt"

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

// slowLinks is the chain both slow-link benchmarks sync, served by peers
// on 127.0.0.1 behind 1 MiB/s links with 50 ms of latency per frame.
type slowLinks struct {
	b      *testing.B
	n      *devnet.Network
	src    *store.Store
	docSrc *mgmt.DocSource
}

const slowLinksBlocks = 20000

func newSlowLinks(b *testing.B) *slowLinks {
	n, err := devnet.New(devnet.Config{Seed: "bench-links", Blocks: slowLinksBlocks})
	if err != nil {
		b.Fatal(err)
	}
	files, _, err := n.Generate(filepath.Join(b.TempDir(), "src"), nil)
	if err != nil {
		b.Fatal(err)
	}
	src, err := store.Open(files.Store, store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	docSrc, _ := mgmt.NewDocSource(n.ManagementDoc(), n.ChainID)
	return &slowLinks{b: b, n: n, src: src, docSrc: docSrc}
}

// peer serves the chain behind a slow link; wrap, when set, stands between
// the link and the client.
func (l *slowLinks) peer(opts peerclient.Options, wrap func(http.Handler) http.Handler) peerclient.Peer {
	h := throttle(1<<20, 50*time.Millisecond)(peerserver.New(l.src, peerserver.Options{}).Handler())
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	l.b.Cleanup(srv.Close)
	return peerclient.NewHTTP(srv.URL, opts)
}

// sync syncs the whole chain into an empty store and says how long it took.
func (l *slowLinks) sync(cfg syncer.Config) (time.Duration, syncer.Result) {
	id := store.Identity{ChainID: l.n.ChainID, NetworkType: l.n.NetworkType}
	s, err := store.Open(filepath.Join(l.b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
	if err != nil {
		l.b.Fatal(err)
	}
	defer s.Close()
	cfg.Store = s
	cfg.Verifier = &verify.Verifier{Source: l.docSrc, ChainID: l.n.ChainID, NetworkType: l.n.NetworkType}
	start := time.Now()
	res, err := syncer.New(cfg).Sync(context.Background())
	if err != nil || res.Blocks != slowLinksBlocks {
		l.b.Fatalf("parallel %d: synced %d: %v", cfg.Parallel, res.Blocks, err)
	}
	return time.Since(start), res
}

// BenchmarkSyncSlowLinks syncs 20,000 blocks from 4 peers on 127.0.0.1,
// each behind a 1 MiB/s link with 50 ms of latency per frame (the devnet's
// 4-member committee, so the links and not the CPU are the limit): first
// one batch at a time, then 4 at once, and reports both rates and their
// ratio, measured in the same run.
func BenchmarkSyncSlowLinks(b *testing.B) {
	l := newSlowLinks(b)
	var peers []peerclient.Peer
	for i := 0; i < 4; i++ {
		peers = append(peers, l.peer(peerclient.Options{}, nil))
	}
	rate := func(parallel int) float64 {
		d, _ := l.sync(syncer.Config{Peers: peers, Parallel: parallel, Rand: rand.New(rand.NewSource(1))})
		return slowLinksBlocks / d.Seconds()
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
	const timeout = 2 * time.Second
	l := newSlowLinks(b)
	opts := peerclient.Options{ChunkTimeout: timeout}
	honest := []peerclient.Peer{l.peer(opts, nil), l.peer(opts, nil), l.peer(opts, nil), l.peer(opts, nil)}
	staller := l.peer(opts, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == wire.PathBlocks {
				w = &stallsMidBatch{ResponseWriter: w, ctx: r.Context(), after: 150 << 10}
			}
			h.ServeHTTP(w, r)
		})
	})
	withStaller := append(append([]peerclient.Peer(nil), honest[:3]...), staller)
	prefer := func(names []string) int {
		for i, name := range names {
			if name == staller.Name() {
				return i
			}
		}
		return rand.Intn(len(names))
	}
	b.ResetTimer()
	var clean, stalled time.Duration
	for i := 0; i < b.N; i++ {
		d, _ := l.sync(syncer.Config{Peers: honest, Parallel: 4, Choose: prefer})
		clean += d
		d, res := l.sync(syncer.Config{Peers: withStaller, Parallel: 4, Choose: prefer})
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
