// Package ethpos reads committees from the Orbs PoS contracts on Ethereum
// as the management service did: it follows the ContractRegistry to each
// contract version, indexes their events (paged, cached, behind a
// rate-limited client), and replays them into the service's committee
// entries and weights. It knows nothing of blocks, stores or peers.
package ethpos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/vcsync/vcsync/committee"
)

// EthReader is the part of ethclient.Client the Ethereum source uses; the
// simulated backend's client has it too. A provider must serve eth_chainId,
// eth_getLogs, eth_getBlockByNumber and eth_getCode; no archive is needed.
type EthReader interface {
	ChainID(ctx context.Context) (*big.Int, error)
	CodeAt(ctx context.Context, contract common.Address, blockNumber *big.Int) ([]byte, error)
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

const (
	// DefaultConfirmations is how far behind the Ethereum head the index
	// stays: 3 blocks (about 36 s), within the management service's own
	// 40 s finality lag, so every reference time a node could have put in
	// a block is indexed, while a one- or two-block reorg at the head is
	// never seen.
	DefaultConfirmations = 3
	// finalityDepth is how far behind the head a block is final on PoS
	// Ethereum (two epochs of 32 slots): only such blocks go to the cache,
	// so a cached index is never undone by a reorg (and if it is, the
	// block hash check on load finds out and the index is rebuilt).
	finalityDepth = 64
)

// minRefresh bounds how often lookups past what a source knows re-index or
// re-read it: blocks from peers naming future reference times cannot turn
// into a stream of RPCs or fetches.
const minRefresh = 2 * time.Second

// EthConfig names the contracts and the chain's genesis reference time.
// Either ContractRegistry is set, and the source follows it to the
// Committee, GuardiansRegistration and Elections contracts in force at each
// block, as the management service did; or Committee and Registry (the
// GuardiansRegistration) name one version of each, read for all time.
type EthConfig struct {
	ContractRegistry common.Address
	Committee        common.Address
	Registry         common.Address
	GenesisRefTime   uint32
	// FromBlock is the first Ethereum block to index (the contracts'
	// deployment); 0: found by binary search on eth_getCode.
	FromBlock uint64
	// Confirmations: 0 means DefaultConfirmations.
	Confirmations uint64
	// CachePath is a bbolt file keeping the finalized index between runs
	// ("" for none).
	CachePath string
}

// EthSource reads committees from the PoS contracts' event history
// (CommitteeChange, StakeChanged, GuardianDataUpdated of either version and
// the registry's ContractAddressUpdated), indexed once (paged, from the
// deployment, a few blocks behind the head) and replayed into the
// committee entries the management service would have published. A
// committee is built once per entry, not per block.
type EthSource struct {
	client EthReader
	cfg    EthConfig
	pager  logPager

	mu          sync.Mutex
	ix          *ethIndex        // nil until the first refresh
	entries     []committeeEntry // the replay of ix
	final       *ethIndex        // the last finalized snapshot (what the cache holds)
	cacheKey    string
	lastRefresh time.Time
	committees  map[uint64]*committee.Committee // by entry block
	// CacheStatus says what the cache did on the first refresh: "off",
	// "miss", "hit", "rebuilt: ..." or "unusable: ...".
	CacheStatus string
}

// NewEthSource returns a source reading the contracts through client.
func NewEthSource(client EthReader, cfg EthConfig) *EthSource {
	if cfg.Confirmations == 0 {
		cfg.Confirmations = DefaultConfirmations
	}
	return &EthSource{client: client, cfg: cfg, pager: logPager{client: client},
		committees: map[uint64]*committee.Committee{}, CacheStatus: "off"}
}

// ErrNoGenesisRefTime means block 1 was to be verified and the source was
// given no genesis reference time: the contracts do not record it.
var ErrNoGenesisRefTime = errors.New("the Ethereum source needs the genesis reference time to verify block 1")

// GenesisRefTime is the configured genesis reference time.
func (s *EthSource) GenesisRefTime(context.Context) (uint32, error) {
	if s.cfg.GenesisRefTime == 0 {
		return 0, ErrNoGenesisRefTime
	}
	return s.cfg.GenesisRefTime, nil
}

// CommitteeAt is the committee as of the last Ethereum block whose
// timestamp is <= t, members' node addresses as the registry had them then.
func (s *EthSource) CommitteeAt(ctx context.Context, t uint32) (*committee.Committee, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ix == nil || (uint64(t) > s.ix.ToTime && time.Since(s.lastRefresh) >= minRefresh) {
		if err := s.refresh(ctx); err != nil {
			return nil, err
		}
	}
	if uint64(t) > s.ix.ToTime {
		return nil, fmt.Errorf("%w: reference time %d is after the indexed Ethereum time %d (block %d, %d blocks behind the head)",
			committee.ErrNoCommittee, t, s.ix.ToTime, s.ix.To, s.cfg.Confirmations)
	}
	i, _ := slices.BinarySearchFunc(s.entries, uint64(t)+1, func(e committeeEntry, t uint64) int { return cmp.Compare(e.Time, t) })
	if i == 0 {
		return nil, fmt.Errorf("%w: no committee event at or before reference time %d", committee.ErrNoCommittee, t)
	}
	return s.committee(s.entries[i-1])
}

// Current is the committee at the indexed head.
func (s *EthSource) Current(ctx context.Context) (*committee.Committee, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ix == nil || time.Since(s.lastRefresh) >= minRefresh {
		if err := s.refresh(ctx); err != nil {
			return nil, err
		}
	}
	if len(s.entries) == 0 {
		return nil, fmt.Errorf("%w: no committee event in %s", committee.ErrNoCommittee, s.describeContracts())
	}
	return s.committee(s.entries[len(s.entries)-1])
}

// describeContracts names what the source reads, for messages.
func (s *EthSource) describeContracts() string {
	if s.following() {
		return "the contracts the ContractRegistry " + s.cfg.ContractRegistry.Hex() + " named"
	}
	return "the committee contract " + s.cfg.Committee.Hex()
}

func (s *EthSource) following() bool { return s.cfg.ContractRegistry != (common.Address{}) }

// Refresh extends the index to the new head (sync --follow calls it
// before each round).
func (s *EthSource) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh(ctx)
}

// committee builds (once) the committee an entry names.
func (s *EthSource) committee(e committeeEntry) (*committee.Committee, error) {
	if c, ok := s.committees[e.Block]; ok {
		return c, nil
	}
	c, err := e.committee()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", committee.ErrNoCommittee, err)
	}
	s.committees[e.Block] = c
	return c, nil
}

func (s *EthSource) header(ctx context.Context, n uint64) (*types.Header, error) {
	h, err := s.client.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		return nil, fmt.Errorf("ethereum block %d: %w", n, err)
	}
	return h, nil
}

// refresh indexes the contracts' events up to Confirmations behind the head.
func (s *EthSource) refresh(ctx context.Context) error {
	head, err := s.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return fmt.Errorf("ethereum head (latest block): %w", err)
	}
	s.lastRefresh = time.Now()
	if s.ix == nil {
		if err := s.start(ctx, head.Number.Uint64()); err != nil {
			return err
		}
	} else if s.ix.ToHash != (common.Hash{}) {
		// The blocks indexed must still be the chain's: a reorg deeper
		// than the confirmations goes back to the last final snapshot.
		h, err := s.header(ctx, s.ix.To)
		if err != nil {
			return err
		}
		if h.Hash() != s.ix.ToHash {
			s.committees = map[uint64]*committee.Committee{}
			if err := s.use(s.final); err != nil {
				return err
			}
			s.CacheStatus = "rebuilt: " + errReorg.Error()
		}
	}
	target := uint64(0)
	if n := head.Number.Uint64(); n > s.cfg.Confirmations {
		target = n - s.cfg.Confirmations
	}
	next := s.ix.From
	if s.ix.ToHash != (common.Hash{}) {
		next = s.ix.To + 1
	}
	if target < next {
		return nil
	}
	events, err := s.fetch(ctx, next, target)
	if err != nil {
		return err
	}
	ix := *s.ix
	ix.Events = append(slices.Clip(s.ix.Events), events...)
	ix.Times = maps.Clone(s.ix.Times)
	if ix.Times == nil {
		ix.Times = map[uint64]uint64{}
	}
	th, err := s.header(ctx, target)
	if err != nil {
		return err
	}
	ix.To, ix.ToHash, ix.ToTime = target, th.Hash(), th.Time
	// The replay says which timestamps it needs (blocks with a
	// CommitteeChange, blocks that make an entry); each pass can only
	// name blocks the last one could not judge, so a few passes settle.
	var entries []committeeEntry
	for pass := 0; ; pass++ {
		var missing []uint64
		entries, missing = replayIndex(&ix, s.cfg)
		if len(missing) == 0 {
			break
		}
		if pass == maxReplayPasses {
			return fmt.Errorf("replay PoS contract events: timestamps still missing after %d passes", pass)
		}
		for _, b := range missing {
			h, err := s.header(ctx, b)
			if err != nil {
				return err
			}
			ix.Times[b] = h.Time
		}
	}
	s.ix, s.entries = &ix, entries // the last pass's replay: nothing was missing
	return s.keepFinal(ctx, head.Number.Uint64())
}

// maxReplayPasses bounds the replays that fetch missing timestamps: the
// first finds every CommitteeChange block, the second the entries those
// decide, a third confirms.
const maxReplayPasses = 4

// use makes ix the index, with its replay; every timestamp it needs must
// be in it (a cached index that lacks one is damaged).
func (s *EthSource) use(ix *ethIndex) error {
	entries, missing := replayIndex(ix, s.cfg)
	if len(missing) > 0 {
		return fmt.Errorf("replay PoS contract events: no timestamp for Ethereum block %d", missing[0])
	}
	s.ix, s.entries = ix, entries
	return nil
}

// fetch reads the events of from..to. Following the registry, its
// ContractAddressUpdated events come first, so the second query can name
// every address it has named (the replay keeps each event only from the
// address in force at its block).
func (s *EthSource) fetch(ctx context.Context, from, to uint64) ([]posEvent, error) {
	var events []posEvent
	addrs := []common.Address{s.cfg.Committee, s.cfg.Registry}
	topics := []common.Hash{eventCommitteeChange.ID, eventGuardianData.ID, eventGuardianDataV1.ID}
	if s.following() {
		logs, err := s.pager.logs(ctx, []common.Address{s.cfg.ContractRegistry}, []common.Hash{eventAddressUpdated.ID}, from, to)
		if err != nil {
			return nil, fmt.Errorf("index ContractRegistry events %d-%d: %w", from, to, err)
		}
		if events, err = decodeLogs(logs); err != nil {
			return nil, err
		}
		named := &ethIndex{Events: append(slices.Clip(s.ix.Events), events...)}
		addrs, topics = named.namedAddresses(), append(topics, eventStakeChanged.ID)
	}
	if len(addrs) > 0 {
		logs, err := s.pager.logs(ctx, addrs, topics, from, to)
		if err != nil {
			return nil, fmt.Errorf("index PoS contract events %d-%d: %w", from, to, err)
		}
		more, err := decodeLogs(logs)
		if err != nil {
			return nil, err
		}
		events = append(events, more...)
	}
	slices.SortStableFunc(events, func(a, b posEvent) int {
		return cmp.Or(cmp.Compare(a.Block, b.Block), cmp.Compare(a.Index, b.Index))
	})
	return events, nil
}

// decodeLogs decodes logs, leaving out those a reorg removed.
func decodeLogs(logs []types.Log) ([]posEvent, error) {
	var out []posEvent
	for _, l := range logs {
		if l.Removed {
			continue
		}
		ev, err := decodeLog(l)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// start loads the cached index (checking its last block is still the
// chain's) or begins one at the contracts' deployment.
func (s *EthSource) start(ctx context.Context, head uint64) error {
	if s.cfg.CachePath != "" {
		id, err := s.client.ChainID(ctx)
		if err != nil {
			return fmt.Errorf("ethereum chain id: %w", err)
		}
		// v2: the index of the service's events (an older layout is never read).
		s.cacheKey = fmt.Sprintf("v2/chain-%s/committee-%s/registry-%s", id, s.cfg.Committee.Hex(), s.cfg.Registry.Hex())
		if s.following() {
			s.cacheKey = fmt.Sprintf("v2/chain-%s/contract-registry-%s", id, s.cfg.ContractRegistry.Hex())
		}
		cached, err := loadEthIndex(s.cfg.CachePath, s.cacheKey)
		switch {
		case err != nil:
			s.CacheStatus = "unusable: " + err.Error()
		case cached == nil:
			s.CacheStatus = "miss"
		default:
			h, err := s.header(ctx, cached.To)
			if err != nil {
				return err
			}
			switch err := s.use(cached); {
			case h.Hash() != cached.ToHash:
				s.CacheStatus = fmt.Sprintf("rebuilt: block %d is no longer %s (%v)", cached.To, cached.ToHash.Hex(), errReorg)
			case err != nil:
				s.CacheStatus = "unusable: " + err.Error()
			default:
				s.final, s.CacheStatus = cached, "hit"
				return nil
			}
		}
	}
	from := s.cfg.FromBlock
	if from == 0 {
		// The earliest of the contracts' deployments: a Committee contract
		// deployed after the registry (a redeploy) must not hide the
		// registrations made before it.
		switch {
		case s.following():
			from = deploymentBlock(ctx, s.client, s.cfg.ContractRegistry, head)
		default:
			from = deploymentBlock(ctx, s.client, s.cfg.Committee, head)
			if s.cfg.Registry != s.cfg.Committee {
				from = min(from, deploymentBlock(ctx, s.client, s.cfg.Registry, head))
			}
		}
	}
	s.ix, s.entries = &ethIndex{From: from, Times: map[uint64]uint64{}}, nil
	s.final = s.ix
	return nil
}

// keepFinal snapshots what is final (finalityDepth behind the head) and
// writes it to the cache when it moved.
func (s *EthSource) keepFinal(ctx context.Context, head uint64) error {
	if head < finalityDepth || head-finalityDepth < s.ix.From {
		return nil
	}
	f := min(head-finalityDepth, s.ix.To)
	if s.final != nil && s.final.ToHash != (common.Hash{}) && f <= s.final.To {
		return nil
	}
	h, err := s.header(ctx, f)
	if err != nil {
		return err
	}
	s.final = s.ix.truncate(f, h.Hash(), h.Time)
	if s.cfg.CachePath == "" {
		return nil
	}
	if err := saveEthIndex(s.cfg.CachePath, s.cacheKey, s.final); err != nil {
		s.CacheStatus = "unusable: " + err.Error()
	}
	return nil
}

// BlockAtTime finds, by binary search over headers, the last Ethereum block
// whose timestamp is <= t.
func BlockAtTime(ctx context.Context, client EthReader, t uint64) (uint64, error) {
	head, err := client.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("ethereum head (latest block): %w", err)
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

// Calls is how many JSON-RPC calls went to the endpoint, by method, when
// the client counts them (a client from DialEthereum does).
func (s *EthSource) Calls() map[string]int64 {
	if c, ok := s.client.(interface{ Calls() map[string]int64 }); ok {
		return c.Calls()
	}
	return nil
}

// Indexed is the last Ethereum block the index holds (0 before the first
// refresh) and what the cache did (CacheStatus).
func (s *EthSource) Indexed() (block uint64, cache string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ix != nil {
		block = s.ix.To
	}
	return block, s.CacheStatus
}

// Retries is how many busy answers of the endpoint were retried, when the
// client counts them (a client from DialEthereum does).
func (s *EthSource) Retries() int64 {
	if c, ok := s.client.(interface{ Retries() int64 }); ok {
		return c.Retries()
	}
	return 0
}
