package verify_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/verify"
)

var ctx = context.Background()

func newNet(t *testing.T, cfg devnet.Config) (*devnet.Network, []*block.Block, *verify.Verifier) {
	t.Helper()
	n, err := devnet.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := n.Chain()
	if err != nil {
		t.Fatal(err)
	}
	src, err := mgmt.NewDocSource(n.ManagementDoc(), n.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	return n, chain, &verify.Verifier{Source: src, ChainID: n.ChainID, NetworkType: n.NetworkType}
}

// descending returns chain[hi..lo], highest first.
func descending(chain []*block.Block, hi, lo uint64) []*block.Block {
	var out []*block.Block
	for h := hi; h >= lo; h-- {
		out = append(out, chain[h-1])
	}
	return out
}

func mustInvalid(t *testing.T, err error, height uint64, text string) {
	t.Helper()
	var be *verify.BlockError
	if !errors.As(err, &be) || !errors.Is(err, verify.ErrInvalidBlock) {
		t.Fatalf("error %v, want a block error", err)
	}
	if be.Height != height || !strings.Contains(err.Error(), text) {
		t.Fatalf("error %q, want height %d and %q", err, height, text)
	}
}

func TestGoodChainVerifiesAcrossRotations(t *testing.T) {
	_, chain, v := newNet(t, devnet.Config{Seed: "good", Blocks: 800, RotateEvery: 100})
	n, err := v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: descending(chain, 800, 1)})
	if err != nil || n != 800 {
		t.Fatalf("verified %d of 800: %v", n, err)
	}
}

func TestLowestBlockWaitsForItsParent(t *testing.T) {
	_, chain, v := newNet(t, devnet.Config{Seed: "hold", Blocks: 300})
	seg := verify.Segment{Tip: true, Blocks: descending(chain, 300, 201)}
	n, err := v.VerifyDescending(ctx, seg)
	if err != nil || n != 99 {
		t.Fatalf("verified %d, want 99 (block 201 waits for 200): %v", n, err)
	}
	// Next chunk: the held block first, trusted header above it.
	seg = verify.Segment{Above: &chain[201].Header, Blocks: descending(chain, 201, 150), Below: &chain[148].Header}
	if n, err := v.VerifyDescending(ctx, seg); err != nil || n != 52 {
		t.Fatalf("verified %d, want 52 with Below known: %v", n, err)
	}
}

// A segment whose lowest block names another parent than the known block
// below is verified down to the block above it: the lowest block's
// committee is named by a parent it does not have, so it is never counted.
func TestLowestBlockThatDoesNotLinkToBelowIsNotVerified(t *testing.T) {
	_, chain, v := newNet(t, devnet.Config{Seed: "hold", Blocks: 300})
	_, fork, _ := newNet(t, devnet.Config{Seed: "hold", Blocks: 300, TipRefTime: 1_700_000_000})
	seg := verify.Segment{Tip: true, Blocks: descending(chain, 300, 201), Below: &fork[199].Header}
	n, err := v.VerifyDescending(ctx, seg)
	mustInvalid(t, err, 201, "does not link to the known block 200")
	var be *verify.BlockError
	if errors.As(err, &be); !be.Unlinked || n != 99 {
		t.Fatalf("verified %d, want 99 above block 201 (unlinked %v)", n, be.Unlinked)
	}
}

func TestTipWithoutParentIsNeverTrusted(t *testing.T) {
	_, chain, v := newNet(t, devnet.Config{Seed: "orphan", Blocks: 50})
	n, err := v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: descending(chain, 50, 50)})
	if err != nil || n != 0 {
		t.Fatalf("a lone tip verified %d: %v", n, err)
	}
	mustInvalid(t, v.VerifyTip(ctx, chain[49], nil), 50, "parent header is unknown")
	if err := v.VerifyTip(ctx, chain[49], &chain[48].Header); err != nil {
		t.Fatalf("tip with its parent: %v", err)
	}
	// A "parent" that is not the tip's parent does not count.
	mustInvalid(t, v.VerifyTip(ctx, chain[49], &chain[47].Header), 50, "does not link")
}

func resign(b *block.Block, keys ...*ecdsa.PrivateKey) {
	b.Proof = nil
	for _, k := range keys {
		b.Sign(k)
	}
}

func TestProofRules(t *testing.T) {
	net, chain, v := newNet(t, devnet.Config{Seed: "rules", Blocks: 600, RotateEvery: 250})
	check := func(mutate func(b *block.Block)) error {
		b := *chain[299]
		b.Proof = append([][]byte(nil), b.Proof...)
		mutate(&b)
		_, err := v.VerifyDescending(ctx, verify.Segment{Above: &chain[300].Header, Blocks: []*block.Block{&b}, Below: &chain[298].Header})
		return err
	}
	keys := net.SignerKeys(300)

	t.Run("forged signature", func(t *testing.T) {
		err := check(func(b *block.Block) { b.Proof[0] = chain[300].Proof[0] }) // a real member's signature, over another block
		mustInvalid(t, err, 300, "signature 0")
	})
	t.Run("outsider", func(t *testing.T) {
		err := check(func(b *block.Block) { resign(b, net.OutsiderKey(), keys[0], keys[1], keys[2]) })
		mustInvalid(t, err, 300, crypto.PubkeyToAddress(net.OutsiderKey().PublicKey).Hex())
	})
	t.Run("duplicate signer", func(t *testing.T) {
		err := check(func(b *block.Block) { resign(b, keys[0], keys[0], keys[1], keys[2]) })
		mustInvalid(t, err, 300, "signed more than once")
	})
	t.Run("malformed signature", func(t *testing.T) {
		err := check(func(b *block.Block) { b.Proof[0] = b.Proof[0][:10] })
		mustInvalid(t, err, 300, "malformed signature")
	})
	t.Run("previous committee after rotation", func(t *testing.T) {
		// Block 251 is the first signed by epoch 1's committee; epoch 0's first key has left it.
		b := *chain[250]
		resign(&b, net.SignerKeys(250)...)
		_, err := v.VerifyDescending(ctx, verify.Segment{Above: &chain[251].Header, Blocks: []*block.Block{&b}, Below: &chain[249].Header})
		mustInvalid(t, err, 251, "not a member of the committee")
	})
	t.Run("broken hash link", func(t *testing.T) {
		b := *chain[299]
		b.Body = []byte("rewritten history")
		b.Seal()
		net.Sign(&b)
		_, err := v.VerifyDescending(ctx, verify.Segment{Above: &chain[300].Header, Blocks: []*block.Block{&b}})
		mustInvalid(t, err, 300, "does not link to block 301")
	})
	t.Run("wrong chain id", func(t *testing.T) {
		other := &verify.Verifier{Source: v.Source, ChainID: 7, NetworkType: v.NetworkType}
		_, err := other.VerifyDescending(ctx, verify.Segment{Above: &chain[300].Header, Blocks: descending(chain, 300, 299)})
		mustInvalid(t, err, 300, "verifying chain 7")
	})
	t.Run("blocks above a bad one are kept", func(t *testing.T) {
		blocks := descending(chain, 310, 290)
		bad := *blocks[5] // height 305
		bad.Proof = [][]byte{bad.Proof[0]}
		blocks[5] = &bad
		n, err := v.VerifyDescending(ctx, verify.Segment{Above: &chain[310].Header, Blocks: blocks})
		if n != 5 {
			t.Fatalf("verified %d before the bad block, want 5", n)
		}
		mustInvalid(t, err, 305, "quorum needs")
	})
}

// fixedSource is one committee for every reference time.
type fixedSource struct{ at, current *committee.Committee }

func (s fixedSource) CommitteeAt(context.Context, uint32) (*committee.Committee, error) {
	return s.at, nil
}
func (s fixedSource) Current(context.Context) (*committee.Committee, error) { return s.current, nil }
func (s fixedSource) GenesisRefTime(context.Context) (uint32, error)        { return 1, nil }

func weightedKeys(t *testing.T, weights ...int64) ([]*ecdsa.PrivateKey, *committee.Committee) {
	var keys []*ecdsa.PrivateKey
	var members []committee.Member
	for i, w := range weights {
		k, _ := crypto.ToECDSA(crypto.Keccak256([]byte{byte(i), 'w'}))
		keys = append(keys, k)
		members = append(members, committee.Member{NodeAddress: crypto.PubkeyToAddress(k.PublicKey), Weight: big.NewInt(w)})
	}
	c, err := committee.NewCommittee(1, members)
	if err != nil {
		t.Fatal(err)
	}
	return keys, c
}

func TestWeightedQuorumBoundary(t *testing.T) {
	// total 100: quorum is 100 - floor(99/3) = 67.
	keys, c := weightedKeys(t, 27, 33, 40)
	if c.QuorumWeight().Int64() != 67 || c.HonestWeight().Int64() != 34 {
		t.Fatalf("quorum %v honest %v", c.QuorumWeight(), c.HonestWeight())
	}
	v := &verify.Verifier{Source: fixedSource{at: c, current: c}, ChainID: 1, NetworkType: 1}
	mk := func(signers ...*ecdsa.PrivateKey) *block.Block {
		b := &block.Block{Header: block.Header{VirtualChainID: 1, NetworkType: 1, Height: 1}}
		b.Seal()
		resign(b, signers...)
		return b
	}
	if n, err := v.VerifyDescending(ctx, verify.Segment{Blocks: []*block.Block{mk(keys[0], keys[2])}}); err != nil || n != 1 {
		t.Fatalf("weight exactly at quorum (67) rejected: %v", err)
	}
	_, err := v.VerifyDescending(ctx, verify.Segment{Blocks: []*block.Block{mk(keys[0], keys[1])}})
	mustInvalid(t, err, 1, "signed weight 60")
	// 66 of 100 is one short.
	keys, c = weightedKeys(t, 26, 34, 40)
	v.Source = fixedSource{at: c, current: c}
	_, err = v.VerifyDescending(ctx, verify.Segment{Blocks: []*block.Block{mk(keys[0], keys[2])}})
	mustInvalid(t, err, 1, "signed weight 66 is 66.0% of the committee")
}

func TestStaleTip(t *testing.T) {
	stale := uint32(time.Now().Add(-13 * time.Hour).Unix())
	net, chain, v := newNet(t, devnet.Config{Seed: "stale", Blocks: 100, TipRefTime: stale})
	seg := verify.Segment{Tip: true, Blocks: descending(chain, 100, 99)}

	// The document's current committee is the one that signed the tip: honest stake is there.
	if n, err := v.VerifyDescending(ctx, seg); err != nil || n != 1 {
		t.Fatalf("stale tip with honest current stake: %d %v", n, err)
	}
	// A current committee none of whose members signed.
	_, cur := weightedKeys(t, 10, 10, 10)
	v.Source = fixedSource{at: net.Committee(100), current: cur}
	_, err := v.VerifyDescending(ctx, seg)
	mustInvalid(t, err, 100, "past the 12h0m0s honesty grace")
	mustInvalid(t, err, 100, "signed weight 0 is 0.0% of the committee")
	mustInvalid(t, err, 100, "honest stake needs 10 (33.3%)")

	// Every signature of a stale tip is checked: one that belongs to neither
	// the current committee nor the tip's own is refused, and a proof longer
	// than both committees together is refused before any recovery.
	v.Source = fixedSource{at: net.Committee(100), current: net.Committee(100)}
	tip := *chain[99]
	tip.Proof = append([][]byte(nil), tip.Proof...)
	tip.Sign(net.OutsiderKey())
	_, err = v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: []*block.Block{&tip, chain[98]}})
	mustInvalid(t, err, 100, "not a member")
	tip.Proof = nil
	for i := 0; i < 9; i++ {
		tip.Proof = append(tip.Proof, chain[99].Proof[0])
	}
	_, err = v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: []*block.Block{&tip, chain[98]}})
	mustInvalid(t, err, 100, "can give at most 4")

	// With a fixed clock 13h back the same tip is within the grace again.
	v.Now = func() time.Time { return time.Unix(int64(stale), 0) }
	if _, err := v.VerifyDescending(ctx, seg); err != nil {
		t.Fatalf("tip within grace by --now: %v", err)
	}
}

// A proof that names its signers is refused before any curve operation
// when it names a stranger or a member twice; every other signature is
// recovered (never checked against a remembered key, which ignores V).
func TestNamedSignersCostNoCurveWorkWhenRefused(t *testing.T) {
	net, chain, v := newNet(t, devnet.Config{Seed: "named", Blocks: 40})
	seg := func(b *block.Block) verify.Segment {
		return verify.Segment{Above: &chain[20].Header, Blocks: []*block.Block{b}, Below: &chain[18].Header}
	}
	stranger := *chain[19]
	_, sig := stranger.Entry(0)
	stranger.Proof = [][]byte{append(crypto.PubkeyToAddress(net.OutsiderKey().PublicKey).Bytes(), sig...)}
	before := v.Recoveries()
	_, err := v.VerifyDescending(ctx, seg(&stranger))
	mustInvalid(t, err, 20, "not a member")
	twice := *chain[19]
	twice.Proof = [][]byte{chain[19].Proof[0], chain[19].Proof[0]}
	_, err = v.VerifyDescending(ctx, seg(&twice))
	mustInvalid(t, err, 20, "signed more than once")
	if v.Recoveries() != before+1 { // the first entry of the repeat was checked; nothing else
		t.Fatalf("%d curve operations for two refused proofs", v.Recoveries()-before)
	}
	// Verifying the chain recovers every signature of every block.
	var sigs uint64
	for _, b := range chain {
		sigs += uint64(len(b.Proof))
	}
	before = v.Recoveries()
	if n, err := v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: descending(chain, 40, 1)}); err != nil || n != 40 {
		t.Fatalf("verified %d: %v", n, err)
	}
	if rec := v.Recoveries() - before; rec != sigs {
		t.Fatalf("%d recoveries for 40 blocks holding %d signatures", rec, sigs)
	}
}

// A member's signature whose recovery id V was flipped (name and the other
// 64 bytes kept) is refused, however many of the member's signatures were
// checked before it: every byte of a stored signature is proved.
func TestFlippedRecoveryIDIsRefusedAfterTheKeyIsKnown(t *testing.T) {
	_, chain, v := newNet(t, devnet.Config{Seed: "flip", Blocks: 40})
	if n, err := v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: descending(chain, 40, 21)}); err != nil || n != 19 { // the lowest waits for its parent
		t.Fatalf("verified %d: %v", n, err)
	}
	flipped := *chain[19]
	flipped.Proof = append([][]byte(nil), chain[19].Proof...)
	entry := append([]byte(nil), flipped.Proof[0]...)
	entry[len(entry)-1] ^= 1 // V is the last byte of a named entry
	flipped.Proof[0] = entry
	_, err := v.VerifyDescending(ctx, verify.Segment{Above: &chain[20].Header, Blocks: []*block.Block{&flipped}, Below: &chain[18].Header})
	mustInvalid(t, err, 20, "not by the signer it names")
}

// Blocks whose proofs do not name their signers (protocol version 1, as
// stores written before version 2 hold them) still verify.
func TestBareSignatureChainsStillVerify(t *testing.T) {
	_, chain, v := newNet(t, devnet.Config{Seed: "bare", Blocks: 300, BareSignatures: true})
	if chain[0].NamesSigners() {
		t.Fatal("a bare-signature devnet named its signers")
	}
	if n, err := v.VerifyDescending(ctx, verify.Segment{Tip: true, Blocks: descending(chain, 300, 1)}); err != nil || n != 300 {
		t.Fatalf("verified %d of 300: %v", n, err)
	}
}
