package ethpos

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/committee"
)

// The contract names the ContractRegistry gives the contracts whose events
// make committees (the management service's ContractRegistryKey values).
const (
	contractCommittee    = "committee"
	contractRegistration = "guardiansRegistration"
	contractElections    = "elections"
)

// contractOf is the registry name of the contract an event kind must come
// from: an event from any other address is not read, as the service reads
// each event only from the address the registry names for it.
var contractOf = map[string]string{
	evChange:       contractCommittee,
	evStake:        contractElections,
	evGuardianData: contractRegistration,
}

// serviceMember is one member of a committee entry as the management
// service writes it (CommitteeEvents[].Committee[]): weights and stakes in
// whole ORBS as the float64 numbers JavaScript holds.
type serviceMember struct {
	Eth       common.Address
	Node      common.Address // zero when the guardian has no registered node address
	Weight    float64
	Certified bool    // IdentityType 1
	Stake     float64 // EffectiveStake: the member's weight in its last CommitteeChange
}

// committeeEntry is one entry of the service's committee history: the
// committee after the events of Ethereum block Block, at its timestamp.
type committeeEntry struct {
	Block, Time uint64
	Members     []serviceMember
}

// serviceReplay applies the contracts' events as the management service
// did (orbs-network/management-service, src/model/state.ts and
// src/ethereum/block-sync.ts; docs/COMMITTEES.md has the rules): block by
// block, each block's events in log order, each event only from the
// address the registry named for its contract before that block, and a
// new entry only when the committee differs from the last entry.
type serviceReplay struct {
	following bool                      // addresses come from the registry's ContractAddressUpdated
	registry  common.Address            // the ContractRegistry, when following
	addrs     map[string]common.Address // in effect for the block being applied
	pending   map[string]common.Address // named during this block: in effect from the next

	committee []serviceMember                   // the service's CurrentCommittee
	stake     map[common.Address]float64        // CurrentEffectiveStake
	node      map[common.Address]common.Address // CurrentOrbsAddress
	entries   []committeeEntry

	times   map[uint64]uint64
	missing []uint64 // blocks whose timestamp was needed and not in times
}

// replayIndex turns an index's events into the service's committee
// entries. Timestamps are needed only for blocks with a CommitteeChange
// (the weight rule) and blocks that make an entry; missing lists those
// absent from ix.Times, and the entries are right only when it is empty.
func replayIndex(ix *ethIndex, cfg EthConfig) (entries []committeeEntry, missing []uint64) {
	r := &serviceReplay{addrs: map[string]common.Address{}, pending: map[string]common.Address{},
		stake: map[common.Address]float64{}, node: map[common.Address]common.Address{}, times: ix.Times}
	if cfg.ContractRegistry != (common.Address{}) {
		r.following, r.registry = true, cfg.ContractRegistry
	} else {
		r.addrs[contractCommittee], r.addrs[contractRegistration] = cfg.Committee, cfg.Registry
	}
	for i := 0; i < len(ix.Events); {
		b := ix.Events[i].Block
		j := i
		for j < len(ix.Events) && ix.Events[j].Block == b {
			j++
		}
		r.applyBlock(b, ix.Events[i:j])
		i = j
	}
	return r.entries, r.missing
}

// timeOf is block b's timestamp, noting it missing when it is not known.
func (r *serviceReplay) timeOf(b uint64) uint64 {
	t, ok := r.times[b]
	if !ok && !slices.Contains(r.missing, b) {
		r.missing = append(r.missing, b)
	}
	return t
}

// applyBlock applies one block's events (in log order) and appends the
// entry the block makes, if it differs from the last.
func (r *serviceReplay) applyBlock(b uint64, events []posEvent) {
	for name, a := range r.pending {
		r.addrs[name] = a
	}
	clear(r.pending)
	applied := false
	for _, ev := range events {
		if !r.reads(ev) {
			continue
		}
		applied = true
		switch ev.Kind {
		case evAddress:
			r.pending[ev.Name] = ev.Contract
		case evStake:
			r.stake[ev.Guardian] = committee.WholeOrbs(ev.Weight)
		case evGuardianData:
			if ev.Registered {
				r.node[ev.Guardian] = ev.Node
			} else {
				delete(r.node, ev.Guardian)
			}
		case evChange:
			r.committeeChange(ev, r.timeOf(b))
		}
	}
	if !applied {
		return
	}
	entry := committeeEntry{Block: b, Members: make([]serviceMember, len(r.committee))}
	for i, m := range r.committee {
		m.Node = r.node[m.Eth]
		entry.Members[i] = m
	}
	if n := len(r.entries); n > 0 && slices.Equal(r.entries[n-1].Members, entry.Members) {
		return
	}
	if n := len(r.entries); n == 0 && len(entry.Members) == 0 {
		return // the service's first entry is the first non-empty committee
	}
	entry.Time = r.timeOf(b)
	r.entries = append(r.entries, entry)
}

// reads says whether the service reads ev: the registry's own events when
// following it, and each other event only from its contract's address.
func (r *serviceReplay) reads(ev posEvent) bool {
	if ev.Kind == evAddress {
		return r.following && ev.Emitter == r.registry
	}
	a, ok := r.addrs[contractOf[ev.Kind]]
	return ok && a == ev.Emitter
}

// committeeChange applies a CommitteeChange at block time t: the member's
// stake, its place in or out of the committee, and every member's weight
// by the rule in force at t.
func (r *serviceReplay) committeeChange(ev posEvent, t uint64) {
	stake := committee.WholeOrbs(ev.Weight)
	r.stake[ev.Guardian] = stake
	r.committee = slices.DeleteFunc(r.committee, func(m serviceMember) bool { return m.Eth == ev.Guardian })
	if ev.In {
		r.committee = append(r.committee, serviceMember{Eth: ev.Guardian, Certified: ev.Certified, Stake: stake})
	}
	stakes := make([]float64, len(r.committee))
	for i, m := range r.committee {
		stakes[i] = r.stake[m.Eth]
	}
	for i, w := range committee.ServiceWeights(stakes, t) {
		r.committee[i].Weight = w
	}
	// Heaviest first, ties by address (the service sorts by address, then
	// stably by weight descending).
	slices.SortFunc(r.committee, func(a, b serviceMember) int {
		if a.Weight != b.Weight {
			if a.Weight > b.Weight {
				return -1
			}
			return 1
		}
		return a.Eth.Cmp(b.Eth)
	})
}

// committee is the Committee an entry names: members with a node address,
// each with its own weight. A member with none cannot sign and is left
// out, as DocSource leaves out a document's member with no OrbsAddress.
func (e committeeEntry) committee() (*committee.Committee, error) {
	members := make([]committee.Member, 0, len(e.Members))
	for _, m := range e.Members {
		if m.Node == (common.Address{}) {
			continue
		}
		w, _ := new(big.Float).SetFloat64(m.Weight).Int(nil)
		members = append(members, committee.Member{NodeAddress: m.Node, EthAddress: m.Eth, Weight: w})
	}
	c, err := committee.NewCommittee(uint32(e.Time), members)
	if err != nil {
		return nil, fmt.Errorf("committee after Ethereum block %d: %w", e.Block, err)
	}
	return c, nil
}
