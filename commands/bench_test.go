package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
)

// BenchmarkInspect1M times `vcsync inspect` on a store of 1,000,000 blocks
// as a whole process (start, open, read the indices, print, exit): it must
// not scan. The store's blocks are linked but unsigned (the store does not
// check proofs, and inspect reads none), so it builds in seconds.
func BenchmarkInspect1M(b *testing.B) {
	const blocks = 1_000_000
	path := filepath.Join(b.TempDir(), "blocks.db")
	id := store.Identity{ChainID: 42, NetworkType: 2}
	s, err := store.Open(path, store.Options{Create: true, Identity: &id})
	if err != nil {
		b.Fatal(err)
	}
	var prev common.Hash
	batch := make([]*block.Block, 0, 10_000)
	for h := uint64(1); h <= blocks; h++ {
		blk := &block.Block{Header: block.Header{ProtocolVersion: 1, VirtualChainID: 42, NetworkType: 2, Height: h, PrevHash: prev,
			RefTime: uint32(h)}, Body: make([]byte, 64)}
		blk.Seal()
		prev = blk.Hash()
		if batch = append(batch, blk); len(batch) == cap(batch) {
			if _, err := s.AppendForward(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	s.Close()
	fi, _ := os.Stat(path)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "inspect", "--store", path, "--json")
		cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("inspect: %v\n%s", err, out)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/inspect")
	b.ReportMetric(float64(fi.Size())/(1<<20), "store_MiB")
}
