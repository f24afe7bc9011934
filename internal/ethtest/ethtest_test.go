package ethtest

import (
	"testing"
	"time"
)

// Right after a transaction is mined the simulated beacon may still refuse
// to move its clock; AdjustTime must move it every time, or tests that
// need Ethereum time to pass a reference time fail one run in many.
func TestAdjustTimeMovesTheClockRightAfterATransaction(t *testing.T) {
	t.Parallel()
	pc := NewPosChain(t)
	for i := 0; i < 20; i++ {
		mined := pc.Call("setOrbsAddress", pc.Addr, pc.Addr).BlockNumber.Uint64()
		before := pc.BlockTime(mined)
		pc.AdjustTime(time.Hour)
		if after := pc.BlockTime(mined + 1); after != before+3600 {
			t.Fatalf("call %d: the block after the transaction is at %d, want %d", i, after, before+3600)
		}
	}
}
