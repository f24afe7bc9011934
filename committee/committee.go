// Package committee is the committee model every source and the verifier
// share: members and their weights, the quorum and honest-stake thresholds,
// the management service's weight rule, and the Source interface a
// committee source implements. It knows no source (Ethereum, documents) and
// no block or proof rule.
package committee

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Member is one committee member.
type Member struct {
	NodeAddress common.Address // the address its block signatures recover to
	EthAddress  common.Address // its guardian address on Ethereum
	Weight      *big.Int
}

// Committee is the set of members that signs blocks for a span of
// reference times, with each member's own weight.
type Committee struct {
	RefTime uint32 // the reference time the committee took effect
	Members []Member
	total   *big.Int
	index   map[common.Address]int
}

// NewCommittee validates members: at least one, every weight positive and
// no node or Ethereum address twice.
func NewCommittee(refTime uint32, members []Member) (*Committee, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("committee at ref time %d is empty", refTime)
	}
	c := &Committee{RefTime: refTime, Members: members, total: new(big.Int), index: make(map[common.Address]int, len(members))}
	eth := make(map[common.Address]bool, len(members))
	for i, m := range members {
		if m.Weight == nil || m.Weight.Sign() <= 0 {
			return nil, fmt.Errorf("committee at ref time %d: member %s has weight %v; weights must be positive", refTime, m.NodeAddress.Hex(), m.Weight)
		}
		if _, dup := c.index[m.NodeAddress]; dup {
			return nil, fmt.Errorf("committee at ref time %d: node address %s appears twice", refTime, m.NodeAddress.Hex())
		}
		if eth[m.EthAddress] && m.EthAddress != (common.Address{}) {
			return nil, fmt.Errorf("committee at ref time %d: Ethereum address %s appears twice", refTime, m.EthAddress.Hex())
		}
		c.index[m.NodeAddress] = i
		eth[m.EthAddress] = true
		c.total.Add(c.total, m.Weight)
	}
	return c, nil
}

// weightUnit is one whole ORBS in the contracts' units (10^-18).
var weightUnit = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

// WeightRuleChangeTime is when the management service changed its weight
// rule (its NEW_FIX_COMMITTEE_WEIGHTS_BREAKING_CHANGE_TIME, 2022-06-30T08:00Z).
const WeightRuleChangeTime = 1656576000

// AdjustWeights turns the PoS contracts' raw stakes (10^-18 ORBS units) of
// a committee into the consensus weights the network used, exactly as the
// management service computed them on a CommitteeChange applied at block
// time eventTime (orbs-network/management-service, src/model/state.ts):
// stake in whole ORBS by integer division, then
//
//	before WeightRuleChangeTime: max(stake, Math.round(total / n))
//	from it on:                  max(stake, Math.round(total / ((2/3) * n)))
//
// in float64 as JavaScript evaluates it, Math.round rounding halves up.
// Quorum is computed on these, so every committee source must agree on
// them (testdata/weights/golden.json holds the service's answers).
func AdjustWeights(raw []*big.Int, eventTime uint64) []*big.Int {
	stakes := make([]float64, len(raw))
	for i, w := range raw {
		stakes[i] = WholeOrbs(w)
	}
	out := make([]*big.Int, len(raw))
	for i, w := range ServiceWeights(stakes, eventTime) {
		out[i], _ = new(big.Float).SetFloat64(w).Int(nil)
	}
	return out
}

// jsRound is JavaScript's Math.round for the non-negative numbers weights
// are: the nearest integer, halves rounded up.
func jsRound(x float64) float64 {
	r := math.Floor(x)
	if x-r >= 0.5 {
		r++
	}
	return r
}

// TotalWeight is the sum of every member's weight.
func (c *Committee) TotalWeight() *big.Int { return new(big.Int).Set(c.total) }

// faulty is floor((total-1)/3), the most weight the rules let be dishonest.
func (c *Committee) faulty() *big.Int {
	f := new(big.Int).Sub(c.total, big.NewInt(1))
	return f.Div(f, big.NewInt(3))
}

// QuorumWeight is the least signed weight that is a quorum: total - floor((total-1)/3).
func (c *Committee) QuorumWeight() *big.Int { return new(big.Int).Sub(c.total, c.faulty()) }

// HonestWeight is the least signed weight that must include an honest
// member: floor((total-1)/3) + 1.
func (c *Committee) HonestWeight() *big.Int { return new(big.Int).Add(c.faulty(), big.NewInt(1)) }

// Lookup finds a member by node address.
func (c *Committee) Lookup(node common.Address) (Member, bool) {
	i, ok := c.index[node]
	if !ok {
		return Member{}, false
	}
	return c.Members[i], true
}

// Share is weight as a percentage of the committee's total.
func (c *Committee) Share(weight *big.Int) float64 {
	if c.total.Sign() == 0 {
		return 0
	}
	f, _ := new(big.Rat).SetFrac(new(big.Int).Mul(weight, big.NewInt(100)), c.total).Float64()
	return f
}

// ErrNoCommittee means a source has no committee for a reference time: before
// its first committee event or past what it knows. When the reference time
// came from an unverified block, the block (and its sender) is at fault.
var ErrNoCommittee = errors.New("no committee for this reference time")

// Source answers which committee was in charge at a reference time.
type Source interface {
	// CommitteeAt is the committee in effect at reference time t: the last
	// committee change at or before t.
	CommitteeAt(ctx context.Context, t uint32) (*Committee, error)
	// Current is the committee in effect now, as far as the source knows.
	Current(ctx context.Context) (*Committee, error)
	// GenesisRefTime names the committee that signs block 1.
	GenesisRefTime(ctx context.Context) (uint32, error)
}

// Refresher is a committee source whose knowledge grows with time: sync
// --follow refreshes it before each round, so a long-running follower sees
// new committees (a newer management document, new Ethereum events).
type Refresher interface {
	Refresh(ctx context.Context) error
}

// WholeOrbs is the management service's orbitonsToOrbs: Number(BigInt(raw) / 10^18).
func WholeOrbs(raw *big.Int) float64 {
	f, _ := new(big.Float).SetInt(new(big.Int).Quo(raw, weightUnit)).Float64()
	return f
}

// ServiceWeights is the management service's weight rule over members'
// stakes in whole ORBS at event time t (see AdjustWeights).
func ServiceWeights(stakes []float64, t uint64) []float64 {
	out := make([]float64, len(stakes))
	if len(stakes) == 0 {
		return out
	}
	total := 0.0
	for _, s := range stakes {
		total += s
	}
	n := float64(len(stakes))
	var least float64
	if t < WeightRuleChangeTime {
		least = jsRound(total / n)
	} else {
		twoThirds := 2.0 / 3.0 // a float64 variable, so (2/3)*n rounds as JavaScript's does
		least = jsRound(total / (twoThirds * n))
	}
	for i, s := range stakes {
		out[i] = math.Max(s, least)
	}
	return out
}
