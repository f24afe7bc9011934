package verify_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

// BenchmarkAuditVsRecover audits a stored 20,000-block chain (`verify all`)
// for the devnet's 4-member committee and a real network's 22 members, and
// reports the recoveries per second the audit performed next to bare
// recoveries per second on every core measured in the same run: the
// efficiency against the signature floor.
func BenchmarkAuditVsRecover(b *testing.B) {
	for _, size := range []int{4, 22} {
		b.Run(fmt.Sprintf("committee=%d", size), func(b *testing.B) { benchAudit(b, 20000, size) })
	}
}

func benchAudit(b *testing.B, blocks uint64, committee int) {
	n, _ := devnet.New(devnet.Config{Seed: "bench", Blocks: blocks, CommitteeSize: committee})
	files, _, err := n.Generate(b.TempDir(), nil)
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
	bareBefore := devnet.BareRecoverRate(40000)
	b.ResetTimer()
	var verified uint64
	start, before := time.Now(), verify.Recoveries()
	for i := 0; i < b.N; i++ {
		r, err := v.Audit(context.Background(), s, 1, blocks, nil)
		if err != nil {
			b.Fatal(err)
		}
		verified += r.Verified
	}
	elapsed := time.Since(start)
	recovered := verify.Recoveries() - before
	b.StopTimer()
	// The machine's speed drifts: take the floor before and after the run.
	bare := (bareBefore + devnet.BareRecoverRate(40000)) / 2
	inAudit := float64(recovered) / elapsed.Seconds()
	b.ReportMetric(float64(verified)/elapsed.Seconds(), "blocks/s")
	b.ReportMetric(float64(recovered)/float64(verified), "recovers/block")
	b.ReportMetric(inAudit, "audit_recovers/s")
	b.ReportMetric(bare, "bare_recovers/s")
	b.ReportMetric(inAudit/bare, "efficiency")
}
