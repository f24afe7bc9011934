package verify_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

// BenchmarkAuditVsRecover reports `verify all` blocks/s next to bare
// signature recoveries/s measured in the same run, and their ratio.
// A block with a committee of 4 equal-ish weights needs about 3 recoveries,
// so the ideal ratio is about 1/3.
func BenchmarkAuditVsRecover(b *testing.B) {
	const blocks = 2000
	n, _ := devnet.New(devnet.Config{Seed: "bench", Blocks: blocks})
	dir := b.TempDir()
	files, _, err := n.Generate(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := verify.NewDocSource(n.ManagementDoc(), n.ChainID)
	v := &verify.Verifier{Source: src, ChainID: n.ChainID, NetworkType: n.NetworkType}
	s, err := store.Open(filepath.Clean(files.Store), store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	var verified uint64
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r, err := v.Audit(context.Background(), s, 1, blocks, nil)
		if err != nil {
			b.Fatal(err)
		}
		verified += r.Verified
	}
	rate := float64(verified) / time.Since(start).Seconds()
	b.StopTimer()
	rec := devnet.BareRecoverRate(20000)
	b.ReportMetric(rate, "blocks/s")
	b.ReportMetric(rec, "recovers/s")
	b.ReportMetric(rate/rec, "blocks_per_recover")
}
