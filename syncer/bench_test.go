package syncer_test

import (
	"context"
	"math/rand"
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
)

// BenchmarkSync20k syncs 20,000 blocks into an empty store from a peer on
// 127.0.0.1 with full verification, and reports blocks/s next to bare
// signature recoveries/s measured in the same run.
func BenchmarkSync20k(b *testing.B) {
	const blocks = 20000
	n, err := devnet.New(devnet.Config{Seed: "bench-sync", Blocks: blocks})
	if err != nil {
		b.Fatal(err)
	}
	files, _, err := n.Generate(filepath.Join(b.TempDir(), "src"), nil)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := store.Open(files.Store, store.Options{ReadOnly: true})
	defer src.Close()
	srv := httptest.NewServer(peerserver.New(src, peerserver.Options{}).Handler())
	defer srv.Close()
	docSrc, _ := verify.NewDocSource(n.ManagementDoc(), n.ChainID)
	id := store.Identity{ChainID: n.ChainID, NetworkType: n.NetworkType}

	var synced uint64
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		sy := syncer.New(syncer.Config{Store: s, Peers: []peerclient.Peer{peerclient.NewHTTP(srv.URL, peerclient.Options{})},
			Verifier: &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}, Rand: rand.New(rand.NewSource(1))})
		b.StartTimer()
		start := time.Now()
		res, err := sy.Sync(context.Background())
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil || res.Blocks != blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		synced += res.Blocks
		s.Close()
	}
	rate := float64(synced) / elapsed.Seconds()
	rec := devnet.BareRecoverRate(40000)
	b.ReportMetric(rate, "blocks/s")
	b.ReportMetric(rec, "recovers/s")
	b.ReportMetric(rate/rec, "blocks_per_recover")
}
