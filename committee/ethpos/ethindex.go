package ethpos

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/vcsync/vcsync/committee/ethpos/pos"
)

// The contracts' events, each decoded with the ABI of the contract version
// that emits it (committee/ethpos/pos: the real contracts' compiler output).
var (
	eventCommitteeChange = pos.Events["Committee"].Events["CommitteeChange"]
	eventStakeChanged    = pos.Events["Elections"].Events["StakeChanged"]
	eventGuardianData    = pos.Events["GuardiansRegistration"].Events["GuardianDataUpdated"]
	eventGuardianDataV1  = pos.Events["GuardiansRegistrationV1"].Events["GuardianDataUpdated"]
	eventAddressUpdated  = pos.Events["ContractRegistry"].Events["ContractAddressUpdated"]
)

// Kinds of indexed event.
const (
	evChange       = "committee_change" // CommitteeChange: a member's weight, certification, in or out
	evStake        = "stake_changed"    // Elections' StakeChanged: a guardian's effective stake
	evGuardianData = "guardian_data"    // GuardianDataUpdated (either version): node address, or unregistered
	evAddress      = "contract_address" // ContractRegistry's ContractAddressUpdated
)

// posEvent is one contract event the committee depends on, in chain order.
type posEvent struct {
	Block    uint64         `json:"block"`
	Index    uint           `json:"index"`   // log index in the block
	Emitter  common.Address `json:"emitter"` // the contract that emitted it
	Kind     string         `json:"kind"`
	Guardian common.Address `json:"guardian,omitempty"`
	Weight   *big.Int       `json:"weight,omitempty"` // CommitteeChange's weight, StakeChanged's effective stake
	// CommitteeChange
	Certified bool `json:"certified,omitempty"`
	In        bool `json:"in,omitempty"`
	// GuardianDataUpdated
	Registered bool           `json:"registered,omitempty"`
	Node       common.Address `json:"node,omitempty"`
	// ContractAddressUpdated
	Name     string         `json:"name,omitempty"`
	Contract common.Address `json:"contract,omitempty"`
}

// ethIndex is the contracts' event history from their deployment to To.
// The committee at any reference time is a replay of it (replayIndex): no
// contract state is read, so the answer needs no archive node and never
// depends on what a node has pruned.
type ethIndex struct {
	From   uint64      `json:"from"` // the first block indexed (the deployment)
	To     uint64      `json:"to"`   // the last block indexed
	ToHash common.Hash `json:"to_hash"`
	ToTime uint64      `json:"to_time"`
	Events []posEvent  `json:"events"`
	// Times holds the timestamp of every block with a committee or
	// registration event: the weight rule and the entries' ref times.
	Times map[uint64]uint64 `json:"times"`
}

// decodeLog turns one of the contracts' logs into an event.
func decodeLog(l types.Log) (posEvent, error) {
	ev := posEvent{Block: l.BlockNumber, Index: l.Index, Emitter: l.Address}
	if len(l.Topics) == 0 {
		return ev, fmt.Errorf("log in block %d has no topic", l.BlockNumber)
	}
	fields := map[string]any{}
	var err error
	switch l.Topics[0] {
	case eventCommitteeChange.ID:
		if err = unpackLog(eventCommitteeChange, l, fields); err == nil {
			ev.Kind, ev.Guardian, ev.Weight = evChange, fields["addr"].(common.Address), fields["weight"].(*big.Int)
			ev.Certified, ev.In = fields["certification"].(bool), fields["inCommittee"].(bool)
		}
	case eventStakeChanged.ID:
		if err = unpackLog(eventStakeChanged, l, fields); err == nil {
			ev.Kind, ev.Guardian, ev.Weight = evStake, fields["addr"].(common.Address), fields["effectiveStake"].(*big.Int)
		}
	case eventGuardianData.ID, eventGuardianDataV1.ID:
		event := eventGuardianData
		if l.Topics[0] == eventGuardianDataV1.ID {
			event = eventGuardianDataV1
		}
		if err = unpackLog(event, l, fields); err == nil {
			ev.Kind, ev.Guardian = evGuardianData, fields["guardian"].(common.Address)
			ev.Registered, ev.Node = fields["isRegistered"].(bool), fields["orbsAddr"].(common.Address)
		}
	case eventAddressUpdated.ID:
		if err = unpackLog(eventAddressUpdated, l, fields); err == nil {
			ev.Kind, ev.Name, ev.Contract = evAddress, fields["contractName"].(string), fields["addr"].(common.Address)
			if len(ev.Name) > maxContractName {
				err = fmt.Errorf("contract name of %d bytes", len(ev.Name))
			}
		}
	default:
		return ev, fmt.Errorf("unexpected log in block %d (topic %s)", l.BlockNumber, l.Topics[0].Hex())
	}
	if err != nil {
		return ev, fmt.Errorf("decode log in block %d: %w", l.BlockNumber, err)
	}
	return ev, nil
}

// maxContractName bounds a registry name kept in the index (the real ones
// are under 30 bytes).
const maxContractName = 64

// unpackLog decodes a log's indexed topics and data into fields by name.
func unpackLog(event abi.Event, l types.Log, fields map[string]any) error {
	var indexed abi.Arguments
	for _, in := range event.Inputs {
		if in.Indexed {
			indexed = append(indexed, in)
		}
	}
	if len(l.Topics) != 1+len(indexed) {
		return fmt.Errorf("%s has %d topics, want %d", event.Name, len(l.Topics), 1+len(indexed))
	}
	if err := abi.ParseTopicsIntoMap(fields, indexed, l.Topics[1:]); err != nil {
		return fmt.Errorf("%s topics: %w", event.Name, err)
	}
	if err := event.Inputs.UnpackIntoMap(fields, l.Data); err != nil {
		return fmt.Errorf("%s data: %w", event.Name, err)
	}
	return nil
}

// truncate drops everything after block b (to keep only what is final).
func (ix *ethIndex) truncate(b uint64, hash common.Hash, t uint64) *ethIndex {
	out := &ethIndex{From: ix.From, To: b, ToHash: hash, ToTime: t, Times: map[uint64]uint64{}}
	for _, ev := range ix.Events {
		if ev.Block <= b {
			out.Events = append(out.Events, ev)
		}
	}
	for blk, t := range ix.Times {
		if blk <= b {
			out.Times[blk] = t
		}
	}
	return out
}

// namedAddresses is every address the registry has named, in the index,
// for the contracts whose events count.
func (ix *ethIndex) namedAddresses() []common.Address {
	var out []common.Address
	for _, ev := range ix.Events {
		if ev.Kind != evAddress {
			continue
		}
		switch ev.Name {
		case contractCommittee, contractRegistration, contractElections:
			if !slices.Contains(out, ev.Contract) {
				out = append(out, ev.Contract)
			}
		}
	}
	return out
}

// Paging of eth_getLogs: hosted providers cap the block range and the
// number of results per call, with limits and messages of their own, so a
// failed page is halved and retried, and pages grow again after successes.
const (
	firstPageBlocks = 10_000  // what most providers accept
	maxPageBlocks   = 500_000 // a quiet contract's history in few calls
	growAfter       = 4       // successes before a page doubles
)

// logPager fetches the contracts' logs over a block range in adaptive pages.
type logPager struct {
	client EthReader
	page   uint64
	good   int
}

// logs returns every log of addresses with one of topics in from..to, in
// chain order.
func (p *logPager) logs(ctx context.Context, addresses []common.Address, topics []common.Hash, from, to uint64) ([]types.Log, error) {
	if p.page == 0 {
		p.page = firstPageBlocks
	}
	var out []types.Log
	var firstErr error
	for from <= to {
		end := min(to, from+p.page-1)
		logs, err := p.client.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(end),
			Addresses: addresses, Topics: [][]common.Hash{topics},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if firstErr == nil {
				firstErr = err
			}
			if p.page == 1 {
				return nil, fmt.Errorf("eth_getLogs for block %d failed even alone (first failure, for %d-%d: %v): %w", from, from, end, firstErr, err)
			}
			// Halve what was asked, which may be less than the page (the
			// end of the range): halving the page alone could ask the same
			// refused range again.
			p.page, p.good = max(1, (end-from+1)/2), 0
			continue
		}
		out = append(out, logs...)
		from = end + 1
		if p.good++; p.good >= growAfter && p.page < maxPageBlocks {
			p.page, p.good = min(maxPageBlocks, p.page*2), 0
		}
	}
	return out, nil
}

// deploymentBlock finds the first block where the contract has code, by
// binary search over eth_getCode: log2(head) calls, once (the cache keeps
// it). A node that cannot serve old state answers with errors; the search
// then starts from block 0, which paging handles.
func deploymentBlock(ctx context.Context, client EthReader, contract common.Address, head uint64) uint64 {
	hasCode := func(b uint64) (bool, error) {
		code, err := client.CodeAt(ctx, contract, new(big.Int).SetUint64(b))
		return len(code) > 0, err
	}
	if ok, err := hasCode(head); err != nil || !ok {
		return 0
	}
	lo, hi := uint64(0), head // code at hi; find the first such block
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := hasCode(mid)
		if err != nil {
			return 0
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// errReorg means the chain no longer holds a block the index was built on.
var errReorg = errors.New("ethereum reorganised below the indexed block")
