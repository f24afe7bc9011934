// Package devnet makes signed test chains: deterministic keys from a seed, a
// committee that rotates members and weights, blocks signed by the committee
// their parent's reference time names, and the matching management document.
// Tests, benchmarks and `vcsync demo` stand on it.
package devnet

import (
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"math/big"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/mgmt"
)

// Defaults for Config's zero values.
const (
	DefaultChainID       = 42
	DefaultNetworkType   = 2
	DefaultCommitteeSize = 4
	// DefaultRotateEvery keeps several rotations inside a few thousand
	// blocks, so lookups by the parent's reference time are exercised.
	DefaultRotateEvery = 250
	DefaultBodyBytes   = 512
)

// Config describes a devnet chain.
type Config struct {
	Seed          string
	Blocks        uint64
	ChainID       uint32
	NetworkType   uint32
	CommitteeSize int
	RotateEvery   uint64
	BodyBytes     int
	// TipRefTime is the reference time of the last block (unix seconds);
	// 0 means now. Each earlier block is one second older.
	TipRefTime uint32
	// BareSignatures makes blocks of protocol version 1, whose proofs do
	// not name their signers (stores written before version 2 hold them).
	BareSignatures bool
}

func (c *Config) fill() {
	if c.ChainID == 0 {
		c.ChainID = DefaultChainID
	}
	if c.NetworkType == 0 {
		c.NetworkType = DefaultNetworkType
	}
	if c.CommitteeSize <= 0 {
		c.CommitteeSize = DefaultCommitteeSize
	}
	if c.RotateEvery == 0 {
		c.RotateEvery = DefaultRotateEvery
	}
	if c.BodyBytes <= 0 {
		c.BodyBytes = DefaultBodyBytes
	}
	if c.TipRefTime == 0 {
		c.TipRefTime = uint32(time.Now().Unix())
	}
}

// Network is a devnet: its keys and committee schedule.
type Network struct {
	Config
	keys []*ecdsa.PrivateKey // a pool twice the committee size; committees slide over it
	eth  []common.Address    // each key's guardian address on Ethereum
}

// New derives the network's keys from the seed.
func New(cfg Config) (*Network, error) {
	cfg.fill()
	if cfg.Blocks == 0 {
		return nil, fmt.Errorf("devnet: at least one block is needed")
	}
	if uint64(cfg.TipRefTime) <= cfg.Blocks {
		return nil, fmt.Errorf("devnet: tip reference time %d is too early for %d blocks", cfg.TipRefTime, cfg.Blocks)
	}
	n := &Network{Config: cfg}
	for i := 0; i < 2*cfg.CommitteeSize; i++ {
		key, err := crypto.ToECDSA(crypto.Keccak256([]byte("vcsync-devnet-node"), []byte(cfg.Seed), []byte(strconv.Itoa(i))))
		if err != nil {
			return nil, fmt.Errorf("devnet: derive key %d: %w", i, err)
		}
		n.keys = append(n.keys, key)
		n.eth = append(n.eth, common.BytesToAddress(crypto.Keccak256([]byte("vcsync-devnet-guardian"), []byte(cfg.Seed), []byte(strconv.Itoa(i)))))
	}
	return n, nil
}

// RefTime is block h's reference time; RefTime(0) is the genesis reference time.
func (n *Network) RefTime(h uint64) uint32 { return n.TipRefTime - uint32(n.Blocks-h) }

// epoch is the committee epoch in effect at reference time t.
func (n *Network) epoch(t uint32) uint64 {
	if t < n.RefTime(0) {
		return 0
	}
	return uint64(t-n.RefTime(0)) / n.RotateEvery
}

// epochStart is the reference time epoch e took effect.
func (n *Network) epochStart(e uint64) uint32 { return n.RefTime(e * n.RotateEvery) }

// epochMembers returns pool indices and weights of epoch e's committee: the
// window slides one key per epoch and weights are redrawn every epoch.
func (n *Network) epochMembers(e uint64) (idx []int, weights []*big.Int) {
	pool := len(n.keys)
	for j := 0; j < n.CommitteeSize; j++ {
		i := int((e + uint64(j)) % uint64(pool))
		var buf [16]byte
		binary.BigEndian.PutUint64(buf[:], e)
		binary.BigEndian.PutUint64(buf[8:], uint64(i))
		r := crypto.Keccak256([]byte(n.Seed), buf[:])
		idx = append(idx, i)
		weights = append(weights, big.NewInt(int64(100+binary.BigEndian.Uint16(r)%900)))
	}
	return idx, weights
}

// Committee is the committee signing block h.
func (n *Network) Committee(h uint64) *committee.Committee {
	e := n.epoch(n.RefTime(h - 1))
	c, err := committee.NewCommittee(n.epochStart(e), n.members(e))
	if err != nil {
		panic(err) // devnet committees are valid by construction
	}
	return c
}

func (n *Network) members(e uint64) []committee.Member {
	idx, weights := n.epochMembers(e)
	out := make([]committee.Member, len(idx))
	for j, i := range idx {
		out[j] = committee.Member{NodeAddress: crypto.PubkeyToAddress(n.keys[i].PublicKey), EthAddress: n.eth[i], Weight: weights[j]}
	}
	return out
}

// SignerKeys returns the keys of block h's committee, in member order.
func (n *Network) SignerKeys(h uint64) []*ecdsa.PrivateKey {
	idx, _ := n.epochMembers(n.epoch(n.RefTime(h - 1)))
	out := make([]*ecdsa.PrivateKey, len(idx))
	for j, i := range idx {
		out[j] = n.keys[i]
	}
	return out
}

// OutsiderKey is a well-formed key that is never a committee member.
func (n *Network) OutsiderKey() *ecdsa.PrivateKey {
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("vcsync-devnet-outsider"), []byte(n.Seed)))
	return key
}

func (n *Network) protocolVersion() uint32 {
	if n.BareSignatures {
		return block.ProtocolBareSignatures
	}
	return block.ProtocolNamedSignatures
}

// Header builds block h's header on top of parent hash prev.
func (n *Network) Header(h uint64, prev common.Hash) block.Header {
	idx, _ := n.epochMembers(n.epoch(n.RefTime(h - 1)))
	return block.Header{
		ProtocolVersion: n.protocolVersion(),
		VirtualChainID:  n.ChainID,
		NetworkType:     n.NetworkType,
		Height:          h,
		PrevHash:        prev,
		Timestamp:       uint64(n.RefTime(h)) * uint64(time.Second),
		RefTime:         n.RefTime(h),
		Proposer:        crypto.PubkeyToAddress(n.keys[idx[int(h)%len(idx)]].PublicKey),
	}
}

func (n *Network) body(h uint64) []byte {
	body := make([]byte, n.BodyBytes)
	copy(body, fmt.Sprintf("devnet chain %d block %d", n.ChainID, h))
	return body
}

// Chain builds and signs blocks 1..Blocks (index i holds height i+1). Every
// committee member signs. Signing runs on every core.
func (n *Network) Chain() ([]*block.Block, error) {
	blocks := make([]*block.Block, n.Blocks)
	var prev common.Hash
	for h := uint64(1); h <= n.Blocks; h++ {
		b := &block.Block{Header: n.Header(h, prev), Body: n.body(h)}
		b.Seal()
		blocks[h-1] = b
		prev = b.Hash()
	}
	if err := parallel(len(blocks), func(i int) error { return n.Sign(blocks[i]) }); err != nil {
		return nil, err
	}
	return blocks, nil
}

// Sign replaces b's proof with signatures of its committee's members, in
// member order until their weight reaches quorum: a leader aggregates the
// first quorum of commits it receives, so a real proof carries about that.
func (n *Network) Sign(b *block.Block) error {
	b.Proof = nil
	c := n.Committee(b.Height())
	need, signed := c.QuorumWeight(), new(big.Int)
	for j, key := range n.SignerKeys(b.Height()) {
		if signed.Cmp(need) >= 0 {
			break
		}
		if err := b.Sign(key); err != nil {
			return err
		}
		signed.Add(signed, c.Members[j].Weight)
	}
	return nil
}

// ManagementDoc is the management-service document for this chain: one
// committee event per epoch up to the tip, and the current committee.
func (n *Network) ManagementDoc() *mgmt.ManagementDoc {
	vc := &mgmt.VirtualChain{VirtualChainId: n.ChainID, GenesisRefTime: n.RefTime(0)}
	last := n.epoch(n.RefTime(n.Blocks))
	for e := uint64(0); e <= last; e++ {
		ev := mgmt.CommitteeEvent{RefTime: n.epochStart(e)}
		for _, m := range n.members(e) {
			ev.Committee = append(ev.Committee, mgmt.CommitteeMember{
				EthAddress: mgmt.Address(m.EthAddress), OrbsAddress: mgmt.Address(m.NodeAddress),
				Weight: m.Weight, IdentityType: 0,
			})
		}
		vc.CommitteeEvents = append(vc.CommitteeEvents, ev)
	}
	for i, key := range n.keys {
		vc.CurrentTopology = append(vc.CurrentTopology, mgmt.TopologyNode{
			EthAddress: mgmt.Address(n.eth[i]), OrbsAddress: mgmt.Address(crypto.PubkeyToAddress(key.PublicKey)),
			Ip: "127.0.0.1", Port: 0,
		})
	}
	end := n.RefTime(n.Blocks)
	if now := uint32(time.Now().Unix()); now > end {
		end = now
	}
	return &mgmt.ManagementDoc{
		CurrentRefTime: end, PageStartRefTime: n.RefTime(0), PageEndRefTime: end,
		VirtualChains: map[string]*mgmt.VirtualChain{strconv.FormatUint(uint64(n.ChainID), 10): vc},
	}
}

// parallel runs f(0..n-1) on every core and returns the first error.
func parallel(n int, f func(i int) error) error {
	workers := runtime.GOMAXPROCS(0)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}
