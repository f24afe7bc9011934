package verify

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/vcsync/vcsync/verify/pos"
)

// The contracts' events, decoded by the bindings abigen generated from the
// ABI JSON in testdata/pos (the deployed contracts' exact signatures).
var (
	committeeABI, _    = pos.CommitteeMetaData.GetAbi()
	registrationABI, _ = pos.GuardiansRegistrationMetaData.GetAbi()
	committeeFilterer  = mustFilterer(pos.NewCommitteeFilterer(common.Address{}, nil))
	registryFilterer   = mustFilterer(pos.NewGuardiansRegistrationFilterer(common.Address{}, nil))

	topicCommitteeChange   = committeeABI.Events["CommitteeChange"].ID
	topicCommitteeSnapshot = committeeABI.Events["CommitteeSnapshot"].ID
	topicGuardianData      = registrationABI.Events["GuardianDataUpdated"].ID
	topicGuardianLeave     = registrationABI.Events["GuardianUnregistered"].ID
)

func mustFilterer[T any](f T, err error) T {
	if err != nil {
		panic(err) // the bindings' ABI is compiled in
	}
	return f
}

// Kinds of indexed event.
const (
	evSnapshot     = "snapshot"     // CommitteeSnapshot: the whole committee
	evChange       = "change"       // CommitteeChange: one member in or out
	evNodeAddress  = "node_address" // GuardianDataUpdated: a guardian's node address (a key rotation)
	evUnregistered = "unregistered" // GuardianUnregistered: the guardian has no node address
)

// posEvent is one committee or registry event, in chain order.
type posEvent struct {
	Block    uint64           `json:"block"`
	Kind     string           `json:"kind"`
	Addrs    []common.Address `json:"addrs,omitempty"`
	Weights  []*big.Int       `json:"weights,omitempty"`
	In       bool             `json:"in,omitempty"`
	Guardian common.Address   `json:"guardian,omitempty"`
	Node     common.Address   `json:"node,omitempty"`
}

// changePoint is an Ethereum block holding events, with its timestamp.
type changePoint struct {
	Block uint64 `json:"block"`
	Time  uint64 `json:"time"`
}

// ethIndex is the contracts' event history from their deployment to To.
// The committee at any reference time is a replay of it: no contract state
// is read, so the answer needs no archive node and never depends on what a
// node has pruned.
type ethIndex struct {
	From    uint64        `json:"from"` // the first block indexed (the deployment)
	To      uint64        `json:"to"`   // the last block indexed
	ToHash  common.Hash   `json:"to_hash"`
	ToTime  uint64        `json:"to_time"`
	Events  []posEvent    `json:"events"`
	Changes []changePoint `json:"changes"` // blocks with events, ascending
}

// decodeLog turns one of the contracts' logs into an event.
func decodeLog(l types.Log) (posEvent, error) {
	ev := posEvent{Block: l.BlockNumber}
	if len(l.Topics) == 0 {
		return ev, fmt.Errorf("log in block %d has no topic", l.BlockNumber)
	}
	var err error
	switch l.Topics[0] {
	case topicCommitteeSnapshot:
		var e *pos.CommitteeCommitteeSnapshot
		if e, err = committeeFilterer.ParseCommitteeSnapshot(l); err == nil {
			ev.Kind, ev.Addrs, ev.Weights = evSnapshot, e.Addrs, e.Weights
			if len(e.Addrs) != len(e.Weights) {
				err = fmt.Errorf("%d addresses and %d weights", len(e.Addrs), len(e.Weights))
			}
		}
	case topicCommitteeChange:
		var e *pos.CommitteeCommitteeChange
		if e, err = committeeFilterer.ParseCommitteeChange(l); err == nil {
			ev.Kind, ev.Addrs, ev.Weights, ev.In = evChange, []common.Address{e.Addr}, []*big.Int{e.Weight}, e.InCommittee
		}
	case topicGuardianData:
		var e *pos.GuardiansRegistrationGuardianDataUpdated
		if e, err = registryFilterer.ParseGuardianDataUpdated(l); err == nil {
			ev.Kind, ev.Guardian, ev.Node = evNodeAddress, e.Guardian, e.OrbsAddr
			if !e.IsRegistered {
				ev.Kind = evUnregistered
			}
		}
	case topicGuardianLeave:
		var e *pos.GuardiansRegistrationGuardianUnregistered
		if e, err = registryFilterer.ParseGuardianUnregistered(l); err == nil {
			ev.Kind, ev.Guardian = evUnregistered, e.Guardian
		}
	default:
		return ev, fmt.Errorf("unexpected log in block %d (topic %s)", l.BlockNumber, l.Topics[0].Hex())
	}
	if err != nil {
		return ev, fmt.Errorf("decode log in block %d: %w", l.BlockNumber, err)
	}
	return ev, nil
}

// committeeAt replays the index up to and including block upTo: the
// committee (guardian addresses and raw stakes) and every guardian's node
// address at that block.
func (ix *ethIndex) committeeAt(upTo uint64) ([]common.Address, []*big.Int, map[common.Address]common.Address, uint64) {
	var addrs []common.Address
	var weighedAt uint64 // the block of the last committee event: the service recomputed weights there
	weight := map[common.Address]*big.Int{}
	node := map[common.Address]common.Address{}
	for _, ev := range ix.Events {
		if ev.Block > upTo {
			break
		}
		switch ev.Kind {
		case evSnapshot:
			weighedAt = ev.Block
			addrs, weight = nil, map[common.Address]*big.Int{}
			for i, a := range ev.Addrs {
				addrs = append(addrs, a)
				weight[a] = ev.Weights[i]
			}
		case evChange:
			weighedAt = ev.Block
			a := ev.Addrs[0]
			_, present := weight[a]
			switch {
			case ev.In && !present:
				addrs = append(addrs, a)
				weight[a] = ev.Weights[0]
			case ev.In:
				weight[a] = ev.Weights[0]
			case present:
				delete(weight, a)
				for i, x := range addrs {
					if x == a {
						addrs = append(addrs[:i:i], addrs[i+1:]...)
						break
					}
				}
			}
		case evNodeAddress:
			node[ev.Guardian] = ev.Node
		case evUnregistered:
			delete(node, ev.Guardian)
		}
	}
	weights := make([]*big.Int, len(addrs))
	for i, a := range addrs {
		weights[i] = weight[a]
	}
	return addrs, weights, node, ix.timeOf(weighedAt)
}

// timeOf is the timestamp of block b, which holds indexed events.
func (ix *ethIndex) timeOf(b uint64) uint64 {
	i := sort.Search(len(ix.Changes), func(i int) bool { return ix.Changes[i].Block >= b })
	if i < len(ix.Changes) && ix.Changes[i].Block == b {
		return ix.Changes[i].Time
	}
	return 0
}

// isMember reports whether guardian is in the committee after every event
// indexed so far.
func (ix *ethIndex) isMember(guardian common.Address) bool {
	if guardian == (common.Address{}) {
		return false
	}
	addrs, _, _, _ := ix.committeeAt(^uint64(0))
	for _, a := range addrs {
		if a == guardian {
			return true
		}
	}
	return false
}

// changeAt is the last change point at or before time t.
func (ix *ethIndex) changeAt(t uint64) (changePoint, bool) {
	i := sort.Search(len(ix.Changes), func(i int) bool { return ix.Changes[i].Time > t })
	if i == 0 {
		return changePoint{}, false
	}
	return ix.Changes[i-1], true
}

// truncate drops everything after block b (to keep only what is final).
func (ix *ethIndex) truncate(b uint64, hash common.Hash, t uint64) *ethIndex {
	out := &ethIndex{From: ix.From, To: b, ToHash: hash, ToTime: t}
	for _, ev := range ix.Events {
		if ev.Block <= b {
			out.Events = append(out.Events, ev)
		}
	}
	for _, c := range ix.Changes {
		if c.Block <= b {
			out.Changes = append(out.Changes, c)
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
	client    EthReader
	addresses []common.Address
	page      uint64
	good      int
}

func (p *logPager) topics() [][]common.Hash {
	// GuardianRegistered is left out: the registry emits GuardianDataUpdated
	// with the node address on registration too.
	return [][]common.Hash{{topicCommitteeSnapshot, topicCommitteeChange, topicGuardianData, topicGuardianLeave}}
}

// logs returns every log in from..to, in chain order.
func (p *logPager) logs(ctx context.Context, from, to uint64) ([]types.Log, error) {
	if p.page == 0 {
		p.page = firstPageBlocks
	}
	var out []types.Log
	var firstErr error
	for from <= to {
		end := min(to, from+p.page-1)
		logs, err := p.client.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(end),
			Addresses: p.addresses, Topics: p.topics(),
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
