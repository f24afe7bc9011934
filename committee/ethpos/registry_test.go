package ethpos_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/internal/ethtest"
)

// Following the ContractRegistry as the management service does: each
// event counts only from the address the registry named for its contract
// before its block; copies a new version makes before the switch, and
// whatever the old version emits after it, are not read; the first
// GuardiansRegistration's event signature is decoded; a change that
// leaves the committee as it was (an IP) makes no entry; and an Elections
// stake change weighs in at the next CommitteeChange (issue #16, items 3-4).
func TestEthSourceFollowsTheContractRegistry(t *testing.T) {
	pc := ethtest.NewPosChain(t)
	registry := pc.Addr
	committee1, registration1, elections := pc.DeployTestPoS(), pc.DeployTestPoS(), pc.DeployTestPoS()
	committee2, registration2 := pc.DeployTestPoS(), pc.DeployTestPoS()
	pc.CallAt(registry, "setContract", "committee", committee1)
	pc.CallAt(registry, "setContract", "guardiansRegistration", registration1)
	pc.CallAt(registry, "setContract", "elections", elections)
	pc.CallAt(registry, "setContract", "protocol", committee2) // a name whose events do not count

	var guardians, nodes []common.Address
	for i := 0; i < 4; i++ {
		_, g := ethtest.NewKey(t)
		_, n := ethtest.NewKey(t)
		guardians, nodes = append(guardians, g), append(nodes, n)
		pc.CallAt(registration1, "setOrbsAddressV1", g, n) // mainnet's first event signature
	}
	stakes := []int64{4000, 3000, 2000, 1000}
	for i, g := range guardians {
		pc.AdjustTime(time.Minute)
		pc.CallAt(committee1, "changeMember", g, ethtest.Stake(big.NewInt(stakes[i])), true, true)
	}
	full := pc.BlockTime(pc.CallAt(registration1, "setIp", guardians[0], [4]byte{10, 0, 0, 1}))

	// The new versions copy the state before the switch, as importMembers
	// and migrateGuardians do; a reader following the registry never sees it.
	pc.AdjustTime(time.Minute)
	for i, g := range guardians {
		pc.CallAt(committee2, "changeMember", g, ethtest.Stake(big.NewInt(9)), true, true)
		pc.CallAt(registration2, "setOrbsAddress", g, nodes[i])
	}
	pc.CallAt(registry, "setContract", "committee", committee2)
	pc.CallAt(registry, "setContract", "guardiansRegistration", registration2)
	copied := pc.BlockTime(pc.CallAt(registry, "setContract", "protocol", committee1))

	// After the switch the old versions stay writable; nothing they emit counts.
	pc.AdjustTime(time.Minute)
	pc.CallAt(committee1, "changeMember", guardians[1], ethtest.Stake(big.NewInt(1)), true, false)
	_, stale := ethtest.NewKey(t)
	pc.CallAt(registration1, "setOrbsAddressV1", guardians[3], stale)
	ignored := pc.BlockTime(pc.CallAt(registration1, "setOrbsAddress", guardians[2], stale))

	// The new registration's rotation counts; so does a stake change, at
	// the next CommitteeChange of anyone.
	pc.AdjustTime(time.Minute)
	_, rotated := ethtest.NewKey(t)
	rotation := pc.BlockTime(pc.CallAt(registration2, "setOrbsAddress", guardians[2], rotated))
	pc.AdjustTime(time.Minute)
	pc.CallAt(elections, "stakeChanged", guardians[0], ethtest.Stake(big.NewInt(10000)))
	staked := pc.BlockTime(pc.CallAt(committee2, "changeMember", guardians[3], ethtest.Stake(big.NewInt(1000)), true, true))
	pc.Mine(ethpos.DefaultConfirmations + 1)

	src := ethpos.NewEthSource(pc.Client, ethpos.EthConfig{ContractRegistry: registry})
	ctx := context.Background()
	at := func(t0 uint32) *committee.Committee {
		t.Helper()
		c, err := src.CommitteeAt(ctx, t0)
		if err != nil {
			t.Fatalf("committee at %d: %v", t0, err)
		}
		return c
	}
	weightOf := func(c *committee.Committee, node common.Address) int64 {
		t.Helper()
		m, ok := c.Lookup(node)
		if !ok {
			t.Fatalf("committee from %d has no member with node %s", c.RefTime, node.Hex())
		}
		return m.Weight.Int64()
	}
	c := at(full)
	if len(c.Members) != 4 || c.RefTime >= full {
		t.Fatalf("after the IP change: %d members from %d (the IP change at %d must make no entry)", len(c.Members), c.RefTime, full)
	}
	// 10,000 in all over 4 members: the floor is round(10000 / (2/3 * 4)) = 3750.
	if w := weightOf(c, nodes[0]); w != 4000 {
		t.Fatalf("weight of the heaviest: %d", w)
	}
	if w := weightOf(c, nodes[3]); w != 3750 {
		t.Fatalf("weight of the lightest: %d, want 3750", w)
	}
	if got := at(copied); got.RefTime != c.RefTime {
		t.Fatalf("the copies before the switch made an entry at %d", got.RefTime)
	}
	if got := at(ignored); got.RefTime != c.RefTime {
		t.Fatalf("the old versions' events after the switch made an entry at %d", got.RefTime)
	}
	r := at(rotation)
	if r.RefTime != rotation {
		t.Fatalf("the rotation on the new registration made no entry (committee from %d, rotation at %d)", r.RefTime, rotation)
	}
	if _, ok := r.Lookup(rotated); !ok {
		t.Fatal("the rotated node address is not a member")
	}
	if _, ok := r.Lookup(stale); ok {
		t.Fatal("a node address the old registration set after the switch is a member")
	}
	s := at(staked)
	// Stakes 10000 (from StakeChanged), 3000, 2000, 1000: total 16000, floor 6000.
	if w := weightOf(s, nodes[0]); w != 10000 {
		t.Fatalf("the Elections stake change did not weigh in: %d", w)
	}
	if w := weightOf(s, nodes[1]); w != 6000 {
		t.Fatalf("weight of member 2: %d, want 6000", w)
	}
	if s.RefTime != staked {
		t.Fatalf("committee from %d, want %d", s.RefTime, staked)
	}
}
