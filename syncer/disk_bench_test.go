package syncer_test

import (
	bolt "go.etcd.io/bbolt"

	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/repair"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

// BenchmarkDiskUse syncs 20,000 blocks in reverse from a peer into an empty
// store, as a node's first sync does, then compacts it, for the devnet's
// 4-member committee and a real network's 22 members. It reports the disk
// each file takes (allocated blocks, not the sparse size) over the bytes
// of the blocks it holds.
func BenchmarkDiskUse(b *testing.B) {
	for _, size := range []int{4, 22} {
		b.Run(fmt.Sprintf("committee=%d", size), func(b *testing.B) { benchDiskUse(b, 20000, size) })
	}
}

func benchDiskUse(b *testing.B, blocks uint64, committee int) {
	n, srv, docSrc, id := servedChain(b, devnet.Config{Seed: "bench-disk", Blocks: blocks, CommitteeSize: committee})
	chain, err := n.Chain()
	if err != nil {
		b.Fatal(err)
	}
	var blockBytes int64
	for _, blk := range chain {
		raw, err := blk.Encode()
		if err != nil {
			b.Fatal(err)
		}
		blockBytes += int64(len(raw))
	}
	var synced, compacted float64
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "node.db")
		s, err := store.Open(path, store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		res, err := syncer.New(syncer.Config{Store: s, Peers: []peerclient.Peer{peerclient.NewHTTP(srv.URL, peerclient.Options{})},
			Verifier: &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}, Rand: rand.New(rand.NewSource(1)),
			Parallel: benchParallel}).Sync(context.Background())
		if err != nil || res.Blocks != blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		rep, err := repair.CompactTo(s, path+".compact")
		s.Close()
		if err != nil {
			b.Fatal(err)
		}
		synced, compacted = float64(disk(b, path)), float64(rep.DiskAfter)
		for name, p := range map[string]string{"synced": path, "compacted": path + ".compact"} {
			b.Logf("%s: %s", name, pageFill(b, p))
		}
	}
	b.ReportMetric(float64(blockBytes)/float64(blocks), "bytes/block")
	b.ReportMetric(synced/float64(blockBytes), "synced_disk/blocks")
	b.ReportMetric(compacted/float64(blockBytes), "compacted_disk/blocks")
}

// pageFill is bbolt's own page statistics of the blocks bucket and the
// file: how full the leaf pages are, what the branch pages and the
// freelist take (Bucket.Stats and DB.Stats, as `bbolt stats` prints them).
func pageFill(b *testing.B, path string) string {
	db, err := bolt.Open(path, 0o444, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var out string
	db.View(func(tx *bolt.Tx) error {
		st := tx.Bucket([]byte("blocks")).Stats()
		page := db.Info().PageSize
		leafAlloc := (st.LeafPageN + st.LeafOverflowN) * page
		branchAlloc := (st.BranchPageN + st.BranchOverflowN) * page
		out = fmt.Sprintf("%d KiB pages; blocks bucket: leaves %.1f%% used (%d pages + %d overflow), branches %d KiB allocated, %d KiB used; free pages %d (%d pending)",
			page>>10, 100*float64(st.LeafInuse)/float64(leafAlloc), st.LeafPageN, st.LeafOverflowN, branchAlloc>>10, st.BranchInuse>>10,
			db.Stats().FreePageN, db.Stats().PendingPageN)
		return nil
	})
	return out
}

func disk(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Blocks * 512
}
