package verify_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcsync/vcsync/internal/floors"

	"github.com/vcsync/vcsync/committee/mgmt"

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
		for _, form := range floors.ProofForms {
			b.Run(fmt.Sprintf("committee=%d/proof=%s", size, form.Name), func(b *testing.B) { benchAudit(b, 20000, size, form.Bare) })
		}
	}
}

func benchAudit(b *testing.B, blocks uint64, committee int, bare bool) {
	n, _ := devnet.New(devnet.Config{Seed: "bench", Blocks: blocks, CommitteeSize: committee, BareSignatures: bare})
	files, _, err := n.Generate(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := mgmt.NewDocSource(n.ManagementDoc(), n.ChainID)
	v := &verify.Verifier{Source: src, ChainID: n.ChainID, NetworkType: n.NetworkType}
	s, err := store.Open(filepath.Clean(files.Store), store.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	floorsBefore := floors.MeasureFloors(floors.FloorRounds, floors.FloorOps)
	b.ResetTimer()
	var verified uint64
	start, before := time.Now(), v.Recoveries()
	for i := 0; i < b.N; i++ {
		r, err := v.Audit(context.Background(), s, verify.AuditRequest{From: 1, To: blocks})
		if err != nil {
			b.Fatal(err)
		}
		verified += r.Verified
	}
	elapsed := time.Since(start)
	checked := v.Recoveries() - before
	b.StopTimer()
	// The machine's speed drifts: the floors are medians of rounds before
	// and after the run.
	rates := floorsBefore.Merge(floors.MeasureFloors(floors.FloorRounds, floors.FloorOps))
	bareRecover, bareVerify := rates.Recover, rates.Verify
	inAudit := float64(checked) / elapsed.Seconds()
	b.ReportMetric(float64(verified)/elapsed.Seconds(), "blocks/s")
	b.ReportMetric(float64(checked)/float64(verified), "sigs/block")
	b.ReportMetric(inAudit, "audit_sigs/s")
	b.ReportMetric(bareRecover, "bare_recovers/s")
	b.ReportMetric(bareVerify, "bare_verifies/s")
	b.ReportMetric(bareVerify/bareRecover, "verify_over_recover")
	b.ReportMetric(inAudit/bareRecover, "vs_recover_floor")
	b.ReportMetric(inAudit/bareVerify, "vs_verify_floor")
}
