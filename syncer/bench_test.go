package syncer_test

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vcsync/vcsync/internal/floors"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/mgmt"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/internal/metrics"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

// BenchmarkSync20k syncs 20,000 blocks into an empty store from a peer on
// 127.0.0.1 with full verification and fsync'd commits, for the devnet's
// 4-member committee and a real network's 22 members, with proofs that name
// their signers (protocol 2) and with bare ones (protocol 1). It reports
// blocks/s and the signatures checked per second during the sync, against
// bare recoveries and bare known-key verifications per second on every
// core, measured in the same run.
func BenchmarkSync20k(b *testing.B) {
	for _, size := range []int{4, 22} {
		for _, form := range floors.ProofForms {
			b.Run(fmt.Sprintf("committee=%d/proof=%s", size, form.Name), func(b *testing.B) { benchSync(b, 20000, size, form.Bare) })
		}
	}
}

// benchParallel is the CLI's default: with one peer, the batches below the
// one being verified are fetched ahead from it, so a batch boundary does
// not wait on the network.
const benchParallel = syncer.DefaultParallel

func benchSync(b *testing.B, blocks uint64, committee int, bare bool) {
	n, srv, docSrc, id := servedChain(b, devnet.Config{Seed: "bench-sync", Blocks: blocks, CommitteeSize: committee, BareSignatures: bare})

	var synced, checked uint64
	var elapsed time.Duration
	floorsBefore := floors.MeasureFloors(floors.FloorRounds, floors.FloorOps)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		v := &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}
		sy := syncer.New(syncer.Config{Store: s, Peers: []peerclient.Peer{peerclient.NewHTTP(srv.URL, peerclient.Options{})},
			Verifier: v, Rand: rand.New(rand.NewSource(1)),
			Parallel: benchParallel})
		b.StartTimer()
		start := time.Now()
		res, err := sy.Sync(context.Background())
		elapsed += time.Since(start)
		checked += v.Recoveries()
		b.StopTimer()
		if err != nil || res.Blocks != blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		synced += res.Blocks
		s.Close()
	}
	rate := float64(synced) / elapsed.Seconds()
	inSync := float64(checked) / elapsed.Seconds()
	// The machine's speed drifts: the floors are medians of rounds before
	// and after the run.
	rates := floorsBefore.Merge(floors.MeasureFloors(floors.FloorRounds, floors.FloorOps))
	bareRecover, bareVerify := rates.Recover, rates.Verify
	b.ReportMetric(rate, "blocks/s")
	b.ReportMetric(float64(checked)/float64(synced), "sigs/block")
	b.ReportMetric(inSync, "sync_sigs/s")
	b.ReportMetric(bareRecover, "bare_recovers/s")
	b.ReportMetric(bareVerify, "bare_verifies/s")
	b.ReportMetric(bareVerify/bareRecover, "verify_over_recover")
	b.ReportMetric(inSync/bareRecover, "vs_recover_floor")
	b.ReportMetric(inSync/bareVerify, "vs_verify_floor")
}

// BenchmarkMetricsOverhead syncs the same 5,000-block chain (4 members, so
// verification is cheap and the observer's share is as large as it gets)
// alternately without an observer and with the Prometheus registry the
// commands attach (--metrics-addr), five runs each, and reports the median
// rate of each and their ratio; then the time of one scrape of the
// registry after a sync, encoded as the /metrics endpoint does.
func BenchmarkMetricsOverhead(b *testing.B) {
	const blocks = 5000
	n, srv, docSrc, id := servedChain(b, devnet.Config{Seed: "bench-metrics", Blocks: blocks})
	run := func(obs syncer.Observer) float64 {
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sy := syncer.New(syncer.Config{Store: s, Peers: []peerclient.Peer{peerclient.NewHTTP(srv.URL, peerclient.Options{})},
			Verifier: &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}, Rand: rand.New(rand.NewSource(1)),
			Parallel: benchParallel, Observer: obs})
		start := time.Now()
		res, err := sy.Sync(context.Background())
		if err != nil || res.Blocks != blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		return blocks / time.Since(start).Seconds()
	}
	var bare, observed []float64
	var reg *metrics.Registry
	for i := 0; i < b.N; i++ {
		for range 5 {
			bare = append(bare, run(nil))
			reg = metrics.New("bench")
			observed = append(observed, run(reg))
		}
	}
	slices.Sort(bare)
	slices.Sort(observed)
	b.ReportMetric(bare[len(bare)/2], "bare_blocks/s")
	b.ReportMetric(observed[len(observed)/2], "observed_blocks/s")
	b.ReportMetric(observed[len(observed)/2]/bare[len(bare)/2], "observed/bare")
	const scrapes = 200
	start := time.Now()
	for range scrapes {
		if err := reg.WriteText(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/scrapes, "scrape_µs")
}

// servedChain generates cfg's chain and serves its store on 127.0.0.1 for
// the benchmark; it returns the network, the server, the chain's committee
// source and its identity.
func servedChain(b *testing.B, cfg devnet.Config) (*devnet.Network, *httptest.Server, committee.Source, store.Identity) {
	n, err := devnet.New(cfg)
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
	srv := httptest.NewServer(peerserver.New(src, peerserver.Options{}).Handler())
	b.Cleanup(func() { srv.Close(); src.Close() })
	docSrc, err := mgmt.NewDocSource(n.ManagementDoc(), n.ChainID)
	if err != nil {
		b.Fatal(err)
	}
	return n, srv, docSrc, store.Identity{ChainID: n.ChainID, NetworkType: n.NetworkType}
}
