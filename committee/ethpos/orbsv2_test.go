package ethpos_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/internal/ethtest"
)

// orbsChain is a simulated Ethereum with the real Orbs PoS V2 contracts
// (testdata/orbs-v2: compiled from orbs-network/orbs-ethereum-contracts-v2
// by its build.sh), deployed and wired as that repository's test driver
// (test/driver.ts) does.
type orbsChain struct {
	t       *testing.T
	backend *simulated.Backend
	client  simulated.Client
	abis    map[string]abi.ABI
	keys    map[common.Address]*ecdsa.PrivateKey
	// The driver's roles.
	initManager, registryAdmin, migrationManager, functionalManager, certificationManager common.Address
	addr                                                                                  map[string]common.Address // by the registry's name
	erc20, staking                                                                        common.Address
	model                                                                                 *serviceModel // records each block when set
}

var zeroAddr common.Address

func (oc *orbsChain) artifact(name string) (abi.ABI, []byte) {
	oc.t.Helper()
	if a, ok := oc.abis[name]; ok {
		code, _ := os.ReadFile("../../testdata/orbs-v2/" + name + ".bin")
		bin, _ := hex.DecodeString(strings.TrimSpace(string(code)))
		return a, bin
	}
	data, err := os.ReadFile("../../testdata/orbs-v2/" + name + ".abi")
	if err != nil {
		oc.t.Fatal(err)
	}
	a, err := abi.JSON(strings.NewReader(string(data)))
	if err != nil {
		oc.t.Fatal(err)
	}
	oc.abis[name] = a
	return oc.artifact(name)
}

func (oc *orbsChain) account() common.Address {
	key, _ := crypto.GenerateKey()
	a := crypto.PubkeyToAddress(key.PublicKey)
	oc.keys[a] = key
	return a
}

// send mines one transaction from `from` and fails the test if it reverts.
func (oc *orbsChain) send(from common.Address, to *common.Address, data []byte) *types.Receipt {
	oc.t.Helper()
	return oc.transact(from, to, data, nil)
}

func (oc *orbsChain) transact(from common.Address, to *common.Address, data []byte, value *big.Int) *types.Receipt {
	oc.t.Helper()
	rcpt := ethtest.MineTx(oc.t, oc.backend, oc.keys[from], to, data, value)
	if oc.model != nil {
		oc.record(oc.model, rcpt.BlockNumber.Uint64(), rcpt.Logs)
	}
	return rcpt
}

func (oc *orbsChain) deploy(name string, args ...any) common.Address {
	oc.t.Helper()
	a, bin := oc.artifact(name)
	packed, err := a.Pack("", args...)
	if err != nil {
		oc.t.Fatalf("%s constructor: %v", name, err)
	}
	return oc.send(oc.initManager, nil, append(bin, packed...)).ContractAddress
}

// call mines one call of a contract's method (contract by artifact name
// and address) and returns its block.
func (oc *orbsChain) call(from common.Address, artifact string, to common.Address, method string, args ...any) uint64 {
	oc.t.Helper()
	a, _ := oc.artifact(artifact)
	data, err := a.Pack(method, args...)
	if err != nil {
		oc.t.Fatalf("%s.%s: %v", artifact, method, err)
	}
	return oc.send(from, &to, data).BlockNumber.Uint64()
}

// view reads a view function at the head.
func (oc *orbsChain) view(artifact string, to common.Address, method string, args ...any) []any {
	oc.t.Helper()
	a, _ := oc.artifact(artifact)
	data, err := a.Pack(method, args...)
	if err != nil {
		oc.t.Fatal(err)
	}
	out, err := oc.client.CallContract(context.Background(), ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		oc.t.Fatalf("%s.%s: %v", artifact, method, err)
	}
	vals, err := a.Unpack(method, out)
	if err != nil {
		oc.t.Fatal(err)
	}
	return vals
}

// newOrbsChain deploys the contracts as test/driver.ts does, with the
// first GuardiansRegistration version (mainnet's, ab81214^) as the
// registration and a 22-member committee.
func newOrbsChain(t *testing.T) *orbsChain {
	oc := &orbsChain{t: t, abis: map[string]abi.ABI{}, keys: map[common.Address]*ecdsa.PrivateKey{}, addr: map[string]common.Address{}}
	alloc := types.GenesisAlloc{}
	for i := 0; i < 5+40; i++ {
		alloc[oc.account()] = types.Account{Balance: new(big.Int).Lsh(big.NewInt(1), 100)}
	}
	funded := make([]common.Address, 0, len(alloc))
	for a := range alloc {
		funded = append(funded, a)
	}
	slices.SortFunc(funded, func(a, b common.Address) int { return a.Cmp(b) })
	oc.initManager, oc.registryAdmin, oc.migrationManager, oc.functionalManager, oc.certificationManager = funded[0], funded[1], funded[2], funded[3], funded[4]
	oc.backend = simulated.NewBackend(alloc, simulated.WithBlockGasLimit(60_000_000))
	t.Cleanup(func() { oc.backend.Close() })
	oc.client = oc.backend.Client()

	registry := oc.deploy("ContractRegistry", zeroAddr, oc.registryAdmin)
	oc.addr["contractRegistry"] = registry
	delegations := oc.deploy("Delegations", registry, oc.registryAdmin)
	externalToken := oc.deploy("TestingERC20")
	oc.erc20 = oc.deploy("TestingERC20")
	handler := oc.deploy("StakingContractHandler", registry, oc.registryAdmin)
	oc.staking = oc.deploy("StakingContract", big.NewInt(1), oc.migrationManager, common.Address{19: 1}, oc.erc20)
	oc.call(oc.migrationManager, "StakingContract", oc.staking, "setStakeChangeNotifier", handler)
	stakingRewards := oc.deploy("StakingRewards", registry, oc.registryAdmin, oc.erc20, uint32(0), big.NewInt(0),
		uint32(100000), uint32(100000), zeroAddr, []common.Address{})
	fees := oc.deploy("FeesAndBootstrapRewards", registry, oc.registryAdmin, oc.erc20, externalToken, big.NewInt(0), big.NewInt(0))
	// minSelfStakePercentMille 8000 (as the driver's beta options): delegations are capped at 12.5x self-stake.
	elections := oc.deploy("Elections", registry, oc.registryAdmin, uint32(8000), uint32(80_000), uint32(80_000))
	subscriptions := oc.deploy("Subscriptions", registry, oc.registryAdmin, oc.erc20, big.NewInt(3*60*60), big.NewInt(0), []*big.Int{},
		big.NewInt(1000000), zeroAddr)
	protocol := oc.deploy("Protocol", registry, oc.registryAdmin)
	certification := oc.deploy("Certification", registry, oc.registryAdmin)
	committee := oc.deploy("Committee", registry, oc.registryAdmin, uint8(22))
	rate := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 94), big.NewInt(1))
	stakingWallet := oc.deploy("ProtocolWallet", oc.erc20, stakingRewards, rate)
	bootstrapWallet := oc.deploy("ProtocolWallet", externalToken, fees, rate)
	registration := oc.deploy("GuardiansRegistrationV1", registry, oc.registryAdmin)
	generalFees := oc.deploy("FeesWallet", registry, oc.registryAdmin, oc.erc20)
	certifiedFees := oc.deploy("FeesWallet", registry, oc.registryAdmin, oc.erc20)
	for _, c := range []struct {
		name    string
		addr    common.Address
		managed bool
	}{{"staking", oc.staking, false}, {"stakingRewards", stakingRewards, true}, {"feesAndBootstrapRewards", fees, true},
		{"delegations", delegations, true}, {"elections", elections, true}, {"subscriptions", subscriptions, true},
		{"protocol", protocol, true}, {"certification", certification, true}, {"guardiansRegistration", registration, true},
		{"committee", committee, true}, {"stakingRewardsWallet", stakingWallet, false}, {"bootstrapRewardsWallet", bootstrapWallet, false},
		{"generalFeesWallet", generalFees, true}, {"certifiedFeesWallet", certifiedFees, true}, {"stakingContractHandler", handler, true},
		{"_bootstrapToken", externalToken, false}, {"_erc20", oc.erc20, false}} {
		oc.call(oc.registryAdmin, "ContractRegistry", registry, "setContract", c.name, c.addr, c.managed)
		oc.addr[c.name] = c.addr
	}
	for role, a := range map[string]common.Address{"migrationManager": oc.migrationManager, "functionalManager": oc.functionalManager,
		"certificationManager": oc.certificationManager} {
		oc.call(oc.registryAdmin, "ContractRegistry", registry, "setManager", role, a)
	}
	head, _ := oc.client.HeaderByNumber(context.Background(), nil)
	oc.call(oc.initManager, "StakingRewards", stakingRewards, "activateRewardDistribution", new(big.Int).SetUint64(head.Time))
	oc.call(oc.initManager, "FeesAndBootstrapRewards", fees, "activateRewardDistribution", new(big.Int).SetUint64(head.Time))
	for _, c := range []struct{ artifact, name string }{{"ContractRegistry", "contractRegistry"}, {"StakingRewards", "stakingRewards"},
		{"FeesAndBootstrapRewards", "feesAndBootstrapRewards"}, {"Delegations", "delegations"}, {"Elections", "elections"},
		{"Subscriptions", "subscriptions"}, {"Protocol", "protocol"}, {"Certification", "certification"},
		{"GuardiansRegistrationV1", "guardiansRegistration"}, {"Committee", "committee"}, {"FeesWallet", "generalFeesWallet"},
		{"FeesWallet", "certifiedFeesWallet"}, {"StakingContractHandler", "stakingContractHandler"}} {
		oc.call(oc.initManager, c.artifact, oc.addr[c.name], "initializationComplete")
	}
	return oc
}

// stakeOf gives a guardian (or delegator) ORBS and stakes them.
func (oc *orbsChain) stake(who common.Address, whole int64) {
	oc.t.Helper()
	amount := ethtest.Stake(big.NewInt(whole))
	oc.call(oc.initManager, "TestingERC20", oc.erc20, "assign", who, amount)
	oc.call(who, "TestingERC20", oc.erc20, "approve", oc.staking, amount)
	oc.call(who, "StakingContract", oc.staking, "stake", amount)
}

// guardian is one test guardian: its Ethereum account and node key.
type guardian struct {
	eth, node common.Address
	ip        [4]byte
}

func (oc *orbsChain) newGuardian(i int) guardian {
	_, node := ethtest.NewKey(oc.t)
	return guardian{eth: oc.account(), node: node, ip: [4]byte{10, 0, byte(i >> 8), byte(i)}}
}

func (oc *orbsChain) fund(a common.Address) {
	oc.t.Helper()
	oc.transact(oc.initManager, &a, nil, new(big.Int).Lsh(big.NewInt(1), 80))
}

// serviceModel is this test's own account of what the management service
// published (src/model/state.ts, by its behaviour): after each Ethereum
// block, the committee the contract in force holds, each member's node
// address from the registration in force; weights recomputed (by the rule
// of the block's time) only in a block with a CommitteeChange from the
// Committee in force, and kept otherwise; an entry only when something
// differs from the last (members, node addresses, weights, certification,
// stakes).
type serviceModel struct {
	blocks  []modelBlock
	weights map[common.Address]*big.Int
	entries []modelEntry
}

type modelBlock struct {
	number  uint64
	changed bool // a CommitteeChange from the Committee in force
	// The contracts' state after the block: the committee in force and
	// its members' node addresses in the registration in force.
	addrs, nodes []common.Address
	raw          []*big.Int
	certs        []bool
}

type modelEntry struct {
	time    uint32
	members []modelMember
}

type modelMember struct {
	eth, node common.Address
	weight    *big.Int
	certified bool
	stake     *big.Int
}

func sameMembers(a, b []modelMember) bool {
	return slices.EqualFunc(a, b, func(x, y modelMember) bool {
		return x.eth == y.eth && x.node == y.node && x.weight.Cmp(y.weight) == 0 && x.certified == y.certified && x.stake.Cmp(y.stake) == 0
	})
}

// record notes whether a block changed the committee, and the contracts'
// state after it (read at the head: the simulated chain keeps no history).
func (oc *orbsChain) record(m *serviceModel, number uint64, logs []*types.Log) {
	changeID := oc.abis["Committee"].Events["CommitteeChange"].ID
	b := modelBlock{number: number}
	for _, l := range logs {
		if l.Address == oc.addr["committee"] && l.Topics[0] == changeID {
			b.changed = true
		}
	}
	out := oc.view("Committee", oc.addr["committee"], "getCommittee")
	b.addrs, b.raw, b.certs = out[0].([]common.Address), out[1].([]*big.Int), out[2].([]bool)
	b.nodes = oc.view("GuardiansRegistration", oc.addr["guardiansRegistration"], "getGuardiansOrbsAddress", b.addrs)[0].([]common.Address)
	m.blocks = append(m.blocks, b)
}

// build makes the entries from the recorded blocks, with block times as
// the source sees them (timeOf).
func (oc *orbsChain) build(m *serviceModel, timeOf func(uint64) uint32) {
	m.weights = map[common.Address]*big.Int{}
	for _, b := range m.blocks {
		addrs, raw, certs, nodes := b.addrs, b.raw, b.certs, b.nodes
		if b.changed {
			for i, w := range modelWeights(raw, timeOf(b.number)) {
				m.weights[addrs[i]] = w
			}
		}
		var members []modelMember
		for i, a := range addrs {
			members = append(members, modelMember{eth: a, node: nodes[i], weight: m.weights[a], certified: certs[i],
				stake: new(big.Int).Quo(raw[i], ethtest.Orbs)})
		}
		slices.SortFunc(members, func(x, y modelMember) int {
			if c := y.weight.Cmp(x.weight); c != 0 {
				return c
			}
			return x.eth.Cmp(y.eth)
		})
		if n := len(m.entries); (n == 0 && len(members) == 0) || (n > 0 && sameMembers(m.entries[n-1].members, members)) {
			continue
		}
		m.entries = append(m.entries, modelEntry{time: timeOf(b.number), members: members})
	}
}

// modelWeights is the service's fixCommitteeWeights (before the change
// time) and fixCommitteeWeightsNew (from it), written here from its
// JavaScript: Number(BigInt(stake) / BigInt(1e18)), then
// Math.max(stake, Math.round(total / n)) or
// Math.max(stake, Math.round(total / ((2 / 3) * n))), in float64.
func modelWeights(raw []*big.Int, t uint32) []*big.Int {
	stakes := make([]float64, len(raw))
	total := 0.0
	for i, r := range raw {
		stakes[i], _ = new(big.Float).SetInt(new(big.Int).Quo(r, ethtest.Orbs)).Float64()
		total += stakes[i]
	}
	n := float64(len(raw))
	var least float64
	if t < 1656576000 { // NEW_FIX_COMMITTEE_WEIGHTS_BREAKING_CHANGE_TIME
		least = math.Floor(total/n + 0.5)
	} else {
		twoThirds := 2.0 / 3.0
		least = math.Floor(total/(twoThirds*n) + 0.5)
	}
	out := make([]*big.Int, len(raw))
	for i, s := range stakes {
		out[i] = big.NewInt(int64(math.Max(s, least)))
	}
	return out
}

// document is the management document the service would publish for the
// model's entries (members with no node address are published without one).
func (m *serviceModel) document(chainID uint32, end uint32) *mgmt.ManagementDoc {
	vc := &mgmt.VirtualChain{VirtualChainId: chainID, GenesisRefTime: m.entries[0].time}
	for _, e := range m.entries {
		ev := mgmt.CommitteeEvent{RefTime: e.time}
		for _, mm := range e.members {
			identity := 0
			if mm.certified {
				identity = 1
			}
			ev.Committee = append(ev.Committee, mgmt.CommitteeMember{EthAddress: mgmt.Address(mm.eth), OrbsAddress: mgmt.Address(mm.node),
				Weight: mm.weight, IdentityType: identity})
		}
		vc.CommitteeEvents = append(vc.CommitteeEvents, ev)
	}
	return &mgmt.ManagementDoc{CurrentRefTime: end, PageEndRefTime: end,
		VirtualChains: map[string]*mgmt.VirtualChain{strconv.Itoa(int(chainID)): vc}}
}

// TestRealContractsHistory drives the real Orbs PoS V2 contracts through
// a history like mainnet's and checks, at every block that changed
// anything, that the Ethereum source (following the ContractRegistry)
// gives the committee the contracts held, with the service's weights, and
// that a management document the service would have published from the
// same history gives the same members, weights and quorum at every
// reference time. The chain is served 15 hours short of the weight rule's
// change time at the start, so the history crosses it (issue #16).
func TestRealContractsHistory(t *testing.T) {
	oc := newOrbsChain(t)
	m := &serviceModel{}
	oc.model = m
	step := func() { ethtest.AdjustTime(t, oc.backend, time.Hour) }
	v1 := oc.addr["guardiansRegistration"]
	register := func(artifact string, registration common.Address, g guardian) {
		oc.call(g.eth, artifact, registration, "registerGuardian", g.ip, g.node, "guardian", "https://example.org")
	}
	var gs []guardian
	for i := 0; i < 25; i++ {
		g := oc.newGuardian(i)
		oc.fund(g.eth)
		gs = append(gs, g)
	}
	// 25 guardians register (the first registration's event signature),
	// stake and ask to join: the committee fills to 22, and the three
	// heaviest latecomers replace the lightest members.
	for i, g := range gs {
		register("GuardiansRegistrationV1", v1, g)
		oc.stake(g.eth, 100_000+int64(i)*37_003+int64(i%3))
		oc.call(g.eth, "Elections", oc.addr["elections"], "readyForCommittee")
		if i%5 == 4 {
			step()
		}
	}
	// A delegator's stake, capped at 12.5x the guardian's self-stake.
	step()
	delegator := oc.account()
	oc.fund(delegator)
	oc.stake(delegator, 5_000_000)
	oc.call(delegator, "Delegations", oc.addr["delegations"], "delegate", gs[3].eth)
	// A key rotation (no committee event) and an IP-only change (no entry).
	step()
	_, rotated := ethtest.NewKey(t)
	oc.call(gs[10].eth, "GuardiansRegistrationV1", v1, "updateGuardian", gs[10].ip, rotated, "guardian", "https://example.org")
	gs[10].node = rotated
	step()
	oc.call(gs[11].eth, "GuardiansRegistrationV1", v1, "updateGuardian", [4]byte{10, 9, 9, 9}, gs[11].node, "guardian", "https://example.org")
	// Certification, a member unstaking to weight 0, an unregistration.
	step()
	oc.call(oc.certificationManager, "Certification", oc.addr["certification"], "setGuardianCertification", gs[12].eth, true)
	step()
	oc.call(gs[13].eth, "StakingContract", oc.staking, "unstake", ethtest.Stake(big.NewInt(100_000+13*37_003+1)))
	step()
	oc.call(gs[14].eth, "GuardiansRegistrationV1", v1, "unregisterGuardian")
	// The committee shrinks to 20; a snapshot re-emits every member.
	step()
	oc.call(oc.functionalManager, "Committee", oc.addr["committee"], "setMaxCommitteeSize", uint8(20))
	step()
	oc.call(gs[0].eth, "Committee", oc.addr["committee"], "emitCommitteeSnapshot")
	// Here the chain crosses the weight rule's change time.
	step()
	crossing := oc.blockTimeRaw(oc.call(gs[0].eth, "Committee", oc.addr["committee"], "emitCommitteeSnapshot"))
	step()
	oc.stake(gs[15].eth, 250_000)
	// The Committee contract is redeployed through the registry: the new
	// one imports the members (events the service never reads), then the
	// registry switches to it.
	step()
	committee2 := oc.deploy("Committee", oc.addr["contractRegistry"], oc.registryAdmin, uint8(22))
	oc.call(oc.initManager, "Committee", committee2, "importMembers", oc.addr["committee"])
	oc.call(oc.registryAdmin, "ContractRegistry", oc.addr["contractRegistry"], "setContract", "committee", committee2, true)
	oc.addr["committee"] = committee2
	oc.call(oc.initManager, "Committee", committee2, "initializationComplete")
	step()
	oc.stake(gs[16].eth, 300_000)
	// GuardiansRegistration migrates to the current version.
	step()
	v2 := oc.deploy("GuardiansRegistration", oc.addr["contractRegistry"], oc.registryAdmin)
	var registered []common.Address
	for i, g := range gs {
		if i != 14 {
			registered = append(registered, g.eth)
		}
	}
	oc.call(oc.initManager, "GuardiansRegistration", v2, "migrateGuardians", registered, v1)
	oc.call(oc.registryAdmin, "ContractRegistry", oc.addr["contractRegistry"], "setContract", "guardiansRegistration", v2, true)
	oc.addr["guardiansRegistration"] = v2
	oc.call(oc.initManager, "GuardiansRegistration", v2, "initializationComplete")
	step()
	_, rotated2 := ethtest.NewKey(t)
	oc.call(gs[17].eth, "GuardiansRegistration", v2, "updateGuardian", gs[17].ip, rotated2, "guardian", "https://example.org")
	// A newcomer registers with the new version and joins.
	step()
	newcomer := oc.newGuardian(99)
	oc.fund(newcomer.eth)
	register("GuardiansRegistration", v2, newcomer)
	oc.stake(newcomer.eth, 2_000_000)
	oc.call(newcomer.eth, "Elections", oc.addr["elections"], "readyForCommittee")
	step()
	oc.model = nil
	checkHistory(t, m, gs, newcomer)
	for i := 0; i < 70; i++ { // past the confirmations and the finality depth
		oc.backend.Commit()
	}

	// Serve the chain as if it crossed the change time at `crossing`.
	proxy := ethtest.ServeSimulated(t, oc.client)
	proxy.TimeShift = uint64(crossing) - committee.WeightRuleChangeTime
	timeOf := func(b uint64) uint32 { return oc.blockTimeRaw(b) - uint32(proxy.TimeShift) }
	oc.build(m, timeOf)
	if n := len(m.entries); n < 30 {
		t.Fatalf("the history made only %d committee entries", n)
	}
	src := ethpos.NewEthSource(proxy.Dial(t), ethpos.EthConfig{ContractRegistry: oc.addr["contractRegistry"]})
	ctx := context.Background()
	head, err := src.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := m.entries[len(m.entries)-1]
	doc, err := mgmt.NewDocSource(m.document(42, head.RefTime+3600), 42)
	if err != nil {
		t.Fatal(err)
	}
	before, after := 0, 0
	for i, e := range m.entries {
		want := e.committee(t)
		end := last.time + 600
		if i+1 < len(m.entries) {
			end = m.entries[i+1].time - 1
		}
		for _, at := range []uint32{e.time, (e.time + end) / 2, end} {
			got, err := src.CommitteeAt(ctx, at)
			if err != nil {
				t.Fatalf("entry %d, at %d: %v", i, at, err)
			}
			sameCommittee(t, fmt.Sprintf("entry %d at %d", i, at), got, want)
			fromDoc, err := doc.CommitteeAt(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			sameCommittee(t, fmt.Sprintf("document, entry %d at %d", i, at), got, fromDoc)
			if got.QuorumWeight().Cmp(fromDoc.QuorumWeight()) != 0 || got.HonestWeight().Cmp(fromDoc.HonestWeight()) != 0 {
				t.Fatalf("entry %d at %d: quorum %s/%s from Ethereum, %s/%s from the document", i, at,
					got.QuorumWeight(), got.HonestWeight(), fromDoc.QuorumWeight(), fromDoc.HonestWeight())
			}
		}
		if e.time < committee.WeightRuleChangeTime {
			before++
		} else {
			after++
		}
	}
	if before < 10 || after < 5 {
		t.Fatalf("%d entries before the change time and %d after: the history must cross it", before, after)
	}
	t.Logf("%d committee entries (%d before the change time, %d after), %d RPCs", len(m.entries), before, after, proxy.Count(""))

}

// checkHistory checks the history did what it says, on the contracts'
// own state: so a contract that refused a step cannot leave the test
// comparing less than it claims.
func checkHistory(t *testing.T, m *serviceModel, gs []guardian, newcomer guardian) {
	t.Helper()
	largest := 0
	weightAfter := func(b modelBlock, g common.Address) *big.Int {
		for i, a := range b.addrs {
			if a == g {
				return new(big.Int).Quo(b.raw[i], ethtest.Orbs)
			}
		}
		return nil
	}
	founderIn, replaced := false, false
	for _, b := range m.blocks {
		largest = max(largest, len(b.addrs))
		founderIn = founderIn || weightAfter(b, gs[0].eth) != nil
		replaced = replaced || (founderIn && len(b.addrs) == 22 && weightAfter(b, gs[0].eth) == nil && weightAfter(b, gs[24].eth) != nil)
	}
	last := m.blocks[len(m.blocks)-1]
	self := int64(100_000 + 3*37_003)
	capped := big.NewInt(self * 125 / 10)
	facts := map[string]bool{
		"the committee filled to 22":                         largest == 22,
		"a heavier latecomer replaced the lightest founder":  replaced,
		"the delegation is capped at 12.5x self-stake":       weightAfter(last, gs[3].eth) != nil && weightAfter(last, gs[3].eth).Cmp(capped) == 0,
		"the member who unstaked everything left":            weightAfter(last, gs[13].eth) == nil,
		"the unregistered guardian left":                     weightAfter(last, gs[14].eth) == nil,
		"the newcomer joined the redeployed committee":       weightAfter(last, newcomer.eth) != nil,
		"the committee of 20 grew by one after the redeploy": len(last.addrs) == 21,
	}
	for fact, ok := range facts {
		if !ok {
			t.Errorf("history: not so that %s", fact)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// committee is the Committee an entry names (members with a node address).
func (e modelEntry) committee(t *testing.T) *committee.Committee {
	t.Helper()
	var members []committee.Member
	for _, m := range e.members {
		if m.node != (common.Address{}) {
			members = append(members, committee.Member{NodeAddress: m.node, EthAddress: m.eth, Weight: m.weight})
		}
	}
	c, err := committee.NewCommittee(e.time, members)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (oc *orbsChain) blockTimeRaw(n uint64) uint32 {
	h, err := oc.client.HeaderByNumber(context.Background(), new(big.Int).SetUint64(n))
	if err != nil {
		oc.t.Fatal(err)
	}
	return uint32(h.Time)
}
