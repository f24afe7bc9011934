package verify

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// posABI is the read-only part of the Orbs v2 PoS contracts vcsync uses.
const posABI = `[
 {"type":"function","name":"getCommittee","stateMutability":"view","inputs":[],
  "outputs":[{"name":"addrs","type":"address[]"},{"name":"weights","type":"uint256[]"},{"name":"certification","type":"bool[]"}]},
 {"type":"function","name":"getGuardiansOrbsAddress","stateMutability":"view",
  "inputs":[{"name":"guardianAddrs","type":"address[]"}],"outputs":[{"name":"orbsAddrs","type":"address[]"}]},
 {"type":"event","name":"CommitteeChange","anonymous":false,"inputs":[
  {"name":"addr","type":"address","indexed":true},{"name":"weight","type":"uint256","indexed":false},
  {"name":"certification","type":"bool","indexed":false},{"name":"inCommittee","type":"bool","indexed":false}]},
 {"type":"event","name":"CommitteeSnapshot","anonymous":false,"inputs":[
  {"name":"addrs","type":"address[]","indexed":false},{"name":"weights","type":"uint256[]","indexed":false},
  {"name":"certification","type":"bool[]","indexed":false}]}
]`

var contracts = mustABI(posABI)

func mustABI(s string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return a
}

// EthReader is the part of ethclient.Client the Ethereum source uses; the
// simulated backend's client has it too.
type EthReader interface {
	CallContract(ctx context.Context, msg ethereum.CallMsg, blockNumber *big.Int) ([]byte, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// EthConfig names the contracts and the chain's genesis reference time.
type EthConfig struct {
	Committee      common.Address
	Registry       common.Address
	GenesisRefTime uint32
	FromBlock      uint64 // first Ethereum block to index committee events from
	// ReplayOnly skips reading contract state at old blocks and always
	// replays events, as on a node that cannot serve old state.
	ReplayOnly bool
}

// EthSource reads committees from the PoS contracts. It indexes every
// committee event once, so a committee is fetched once per change, not once
// per block: a chain of 100k blocks shares a handful of committees.
type EthSource struct {
	client EthReader
	cfg    EthConfig

	mu        sync.Mutex
	indexedTo uint64 // last Ethereum block whose events are indexed
	headTime  uint64 // its timestamp
	indexed   bool
	events    []committeeLog // every committee event, in chain order
	changes   []changePoint  // blocks with committee events, ascending
	cache     map[uint64]*Committee
}

type committeeLog struct {
	block    uint64
	snapshot bool
	addrs    []common.Address
	weights  []*big.Int
	in       bool // CommitteeChange: whether addr is in the committee after it
}

type changePoint struct{ block, time uint64 }

// NewEthSource returns a source reading the contracts through client.
func NewEthSource(client EthReader, cfg EthConfig) *EthSource {
	return &EthSource{client: client, cfg: cfg, cache: map[uint64]*Committee{}}
}

// GenesisRefTime is the configured genesis reference time.
func (s *EthSource) GenesisRefTime(context.Context) (uint32, error) {
	if s.cfg.GenesisRefTime == 0 {
		return 0, errors.New("the Ethereum source needs --genesis-ref-time to verify block 1")
	}
	return s.cfg.GenesisRefTime, nil
}

// CommitteeAt is the contract state at the last Ethereum block whose
// timestamp is <= t.
func (s *EthSource) CommitteeAt(ctx context.Context, t uint32) (*Committee, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.indexed || uint64(t) > s.headTime {
		if err := s.refresh(ctx); err != nil {
			return nil, err
		}
	}
	if uint64(t) > s.headTime {
		return nil, fmt.Errorf("%w: reference time %d is after the Ethereum head's time %d (block %d)", ErrNoCommittee, t, s.headTime, s.indexedTo)
	}
	i := sort.Search(len(s.changes), func(i int) bool { return s.changes[i].time > uint64(t) })
	if i == 0 {
		return nil, fmt.Errorf("%w: no committee event at or before reference time %d", ErrNoCommittee, t)
	}
	return s.committeeAt(ctx, s.changes[i-1])
}

// Current is the committee at the Ethereum head.
func (s *EthSource) Current(ctx context.Context) (*Committee, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	if len(s.changes) == 0 {
		return nil, errors.New("no committee event on the committee contract")
	}
	return s.committeeAt(ctx, s.changes[len(s.changes)-1])
}

// refresh indexes committee events up to the current head.
func (s *EthSource) refresh(ctx context.Context) error {
	head, err := s.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("ethereum head: %w", err)
	}
	from := s.cfg.FromBlock
	if s.indexed {
		from = s.indexedTo + 1
	}
	if s.indexed && from > head.Number.Uint64() {
		s.headTime = head.Time
		return nil
	}
	logs, err := s.client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: head.Number,
		Addresses: []common.Address{s.cfg.Committee},
		Topics:    [][]common.Hash{{contracts.Events["CommitteeChange"].ID, contracts.Events["CommitteeSnapshot"].ID}},
	})
	if err != nil {
		return fmt.Errorf("committee events %d-%d: %w", from, head.Number, err)
	}
	for _, l := range logs {
		ev, err := decodeCommitteeLog(l)
		if err != nil {
			return err
		}
		s.events = append(s.events, ev)
		if n := len(s.changes); n == 0 || s.changes[n-1].block != l.BlockNumber {
			h, err := s.client.HeaderByNumber(ctx, new(big.Int).SetUint64(l.BlockNumber))
			if err != nil {
				return fmt.Errorf("ethereum block %d: %w", l.BlockNumber, err)
			}
			s.changes = append(s.changes, changePoint{block: l.BlockNumber, time: h.Time})
		}
	}
	s.indexed, s.indexedTo, s.headTime = true, head.Number.Uint64(), head.Time
	return nil
}

func decodeCommitteeLog(l types.Log) (committeeLog, error) {
	ev := committeeLog{block: l.BlockNumber}
	switch {
	case len(l.Topics) == 2 && l.Topics[0] == contracts.Events["CommitteeChange"].ID:
		out, err := contracts.Unpack("CommitteeChange", l.Data)
		if err != nil || len(out) != 3 {
			return ev, fmt.Errorf("decode CommitteeChange in block %d: %v", l.BlockNumber, err)
		}
		ev.addrs = []common.Address{common.BytesToAddress(l.Topics[1].Bytes())}
		ev.weights = []*big.Int{out[0].(*big.Int)}
		ev.in = out[2].(bool)
	case len(l.Topics) == 1 && l.Topics[0] == contracts.Events["CommitteeSnapshot"].ID:
		out, err := contracts.Unpack("CommitteeSnapshot", l.Data)
		if err != nil || len(out) != 3 {
			return ev, fmt.Errorf("decode CommitteeSnapshot in block %d: %v", l.BlockNumber, err)
		}
		ev.snapshot, ev.addrs, ev.weights = true, out[0].([]common.Address), out[1].([]*big.Int)
	default:
		return ev, fmt.Errorf("unexpected log in block %d", l.BlockNumber)
	}
	return ev, nil
}

// committeeAt reads (once) the committee as of change point c.
func (s *EthSource) committeeAt(ctx context.Context, c changePoint) (*Committee, error) {
	if cm, ok := s.cache[c.block]; ok {
		return cm, nil
	}
	at := new(big.Int).SetUint64(c.block)
	var addrs []common.Address
	var weights []*big.Int
	err := errors.New("replay only")
	if !s.cfg.ReplayOnly {
		addrs, weights, err = s.readCommittee(ctx, at)
	}
	if err != nil {
		// Old state is gone on a non-archive node: rebuild from the events.
		addrs, weights = s.replay(c.block)
	}
	nodes, err := s.orbsAddresses(ctx, addrs, at)
	if err != nil {
		// The registry's mapping rarely changes: fall back to the latest one.
		if nodes, err = s.orbsAddresses(ctx, addrs, nil); err != nil {
			return nil, err
		}
	}
	weights = AdjustWeights(weights)
	members := make([]Member, len(addrs))
	for i := range addrs {
		members[i] = Member{NodeAddress: nodes[i], EthAddress: addrs[i], Weight: weights[i]}
	}
	cm, err := NewCommittee(uint32(c.time), members)
	if err != nil {
		return nil, fmt.Errorf("committee contract at block %d: %w", c.block, err)
	}
	s.cache[c.block] = cm
	return cm, nil
}

func (s *EthSource) readCommittee(ctx context.Context, at *big.Int) ([]common.Address, []*big.Int, error) {
	out, err := s.call(ctx, s.cfg.Committee, at, "getCommittee")
	if err != nil {
		return nil, nil, err
	}
	addrs, weights := out[0].([]common.Address), out[1].([]*big.Int)
	if len(addrs) != len(weights) {
		return nil, nil, fmt.Errorf("getCommittee returned %d addresses and %d weights", len(addrs), len(weights))
	}
	return addrs, weights, nil
}

func (s *EthSource) orbsAddresses(ctx context.Context, guardians []common.Address, at *big.Int) ([]common.Address, error) {
	out, err := s.call(ctx, s.cfg.Registry, at, "getGuardiansOrbsAddress", guardians)
	if err != nil {
		return nil, err
	}
	nodes := out[0].([]common.Address)
	if len(nodes) != len(guardians) {
		return nil, fmt.Errorf("getGuardiansOrbsAddress returned %d addresses for %d guardians", len(nodes), len(guardians))
	}
	return nodes, nil
}

func (s *EthSource) call(ctx context.Context, to common.Address, at *big.Int, method string, args ...any) ([]any, error) {
	data, err := contracts.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	res, err := s.client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, at)
	if err != nil {
		return nil, fmt.Errorf("%s at block %v: %w", method, at, err)
	}
	out, err := contracts.Unpack(method, res)
	if err != nil {
		return nil, fmt.Errorf("decode %s at block %v: %w", method, at, err)
	}
	return out, nil
}

// replay rebuilds the committee after every event up to and including block upTo.
func (s *EthSource) replay(upTo uint64) ([]common.Address, []*big.Int) {
	var addrs []common.Address
	weight := map[common.Address]*big.Int{}
	for _, ev := range s.events {
		if ev.block > upTo {
			break
		}
		if ev.snapshot {
			addrs, weight = nil, map[common.Address]*big.Int{}
			for i, a := range ev.addrs {
				addrs = append(addrs, a)
				weight[a] = ev.weights[i]
			}
			continue
		}
		a := ev.addrs[0]
		_, present := weight[a]
		switch {
		case ev.in && !present:
			addrs = append(addrs, a)
			weight[a] = ev.weights[0]
		case ev.in:
			weight[a] = ev.weights[0]
		case present:
			delete(weight, a)
			for i, x := range addrs {
				if x == a {
					addrs = append(addrs[:i], addrs[i+1:]...)
					break
				}
			}
		}
	}
	weights := make([]*big.Int, len(addrs))
	for i, a := range addrs {
		weights[i] = weight[a]
	}
	return addrs, weights
}

// BlockAtTime finds, by binary search over headers, the last Ethereum block
// whose timestamp is <= t.
func BlockAtTime(ctx context.Context, client EthReader, t uint64) (uint64, error) {
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("ethereum head: %w", err)
	}
	if head.Time <= t {
		return head.Number.Uint64(), nil
	}
	var searchErr error
	n := sort.Search(int(head.Number.Uint64())+1, func(i int) bool {
		if searchErr != nil {
			return true
		}
		h, err := client.HeaderByNumber(ctx, big.NewInt(int64(i)))
		if err != nil {
			searchErr = err
			return true
		}
		return h.Time > t
	})
	if searchErr != nil {
		return 0, fmt.Errorf("search ethereum headers: %w", searchErr)
	}
	if n == 0 {
		return 0, fmt.Errorf("time %d is before the Ethereum genesis block", t)
	}
	return uint64(n - 1), nil
}

// BlockAt is the last Ethereum block whose timestamp is <= t: the block
// whose contract state is the committee at reference time t.
func (s *EthSource) BlockAt(ctx context.Context, t uint32) (uint64, error) {
	return BlockAtTime(ctx, s.client, uint64(t))
}
