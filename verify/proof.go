package verify

import (
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/committee"
)

// ErrInvalidBlock matches every *BlockError: the block, and so whoever sent
// it, is at fault (as opposed to a committee source that failed).
var ErrInvalidBlock = errors.New("invalid block")

// BlockError says which block failed verification and why.
type BlockError struct {
	Height uint64
	Signer common.Address // zero unless one signer is to blame
	Reason string
	// Unlinked says the block, authenticated from above, does not name the
	// known block below it (Segment.Below) as its parent: the chain it
	// belongs to and the known block disagree.
	Unlinked bool
	// UntrustedTip says the block is a tip past the honesty grace that
	// honest stake of the current committee did not sign: an old tip
	// (an export made long ago), which only a trusted checkpoint anchors.
	UntrustedTip bool
}

func (e *BlockError) Error() string {
	if e.Signer != (common.Address{}) {
		return fmt.Sprintf("block %d: signer %s: %s", e.Height, e.Signer.Hex(), e.Reason)
	}
	return fmt.Sprintf("block %d: %s", e.Height, e.Reason)
}

func (e *BlockError) Is(target error) bool { return target == ErrInvalidBlock }

func invalid(h uint64, format string, args ...any) *BlockError {
	return &BlockError{Height: h, Reason: fmt.Sprintf(format, args...)}
}

// proofRule is what a proof must show: signatures adding up to need, by
// the weight of the counted committee. Every signature in the proof is
// recovered and must be a distinct member of the counted committee, or of
// the extra committee (the stale-tip rule: the tip was signed by the
// committee its parent names, while only members still in the current
// committee count). So a stored proof holds nothing that was not checked.
type proofRule struct {
	counted *committee.Committee
	extra   *committee.Committee // may sign without counting; nil for quorum
	need    *big.Int
	what    string // "quorum" or "honest stake", for messages
}

func quorumRule(c *committee.Committee) proofRule {
	return proofRule{counted: c, need: c.QuorumWeight(), what: "quorum"}
}

func honestRule(current, signing *committee.Committee) proofRule {
	return proofRule{counted: current, extra: signing, need: current.HonestWeight(), what: "honest stake"}
}

// maxSigners is how many distinct signatures the rule can accept: the
// bound checked before any curve operation is spent on a proof.
func (r proofRule) maxSigners() int {
	n := len(r.counted.Members)
	if r.extra != nil {
		for _, m := range r.extra.Members {
			if _, ok := r.counted.Lookup(m.NodeAddress); !ok {
				n++
			}
		}
	}
	return n
}

func (r proofRule) member(signer common.Address) (weight *big.Int, ok bool) {
	if m, ok := r.counted.Lookup(signer); ok {
		return m.Weight, true
	}
	if r.extra != nil {
		if _, ok := r.extra.Lookup(signer); ok {
			return nil, true
		}
	}
	return nil, false
}

// checkProof checks every signature of b over digest and returns the
// signed weight. Every signature is recovered, so every byte of it (the
// recovery id V included) is proved: a check against a known key would
// ignore V and let a peer store a signature altered in that byte. Proofs
// that name their signers are refused before any curve operation when a
// name is a stranger or a repeat, and each recovery must give the name.
func checkProof(b *block.Block, digest common.Hash, r proofRule, recoveries *atomic.Uint64) (*big.Int, error) {
	h := b.Height()
	signed := new(big.Int)
	if limit := r.maxSigners(); len(b.Proof) > limit {
		return signed, invalid(h, "proof holds %d signatures; the committee at ref time %d can give at most %d",
			len(b.Proof), r.counted.RefTime, limit)
	}
	named := b.NamesSigners()
	seen := make(map[common.Address]bool, len(b.Proof))
	for i := range b.Proof {
		// Decode checked the form already; this costs 0.3% of a recovery and
		// keeps blocks built in memory to the same rule.
		if named && len(b.Proof[i]) != block.NamedEntryLength {
			return signed, invalid(h, "signature %d: %v: %d bytes, a named entry is %d", i, block.ErrBadSignatureForm, len(b.Proof[i]), block.NamedEntryLength)
		}
		signer, sig := b.Entry(i)
		if err := block.CheckSignatureForm(sig); err != nil {
			return signed, invalid(h, "signature %d: %v", i, err)
		}
		if named {
			if err := checkMember(h, signer, seen, r); err != nil {
				return signed, err
			}
		}
		pub, err := crypto.Ecrecover(digest[:], sig)
		recoveries.Add(1)
		if err != nil {
			return signed, invalid(h, "signature %d does not recover: %v", i, err)
		}
		recovered := common.BytesToAddress(crypto.Keccak256(pub[1:])[12:])
		if named {
			if recovered != signer {
				return signed, &BlockError{Height: h, Signer: signer, Reason: fmt.Sprintf("signature %d was made by %s, not by the signer it names", i, recovered.Hex())}
			}
		} else if err := checkMember(h, recovered, seen, r); err != nil {
			return signed, err
		}
		signed.Add(signed, weightOf(recovered, r))
	}
	if signed.Cmp(r.need) < 0 {
		return signed, invalid(h, "signed weight %s is %.1f%% of the committee at ref time %d (total %s); %s needs %s (%.1f%%)",
			signed, r.counted.Share(signed), r.counted.RefTime, r.counted.TotalWeight(), r.what, r.need, r.counted.Share(r.need))
	}
	return signed, nil
}

// checkMember refuses a signer that signed already or may not sign.
func checkMember(h uint64, signer common.Address, seen map[common.Address]bool, r proofRule) error {
	if seen[signer] {
		return &BlockError{Height: h, Signer: signer, Reason: "signed more than once"}
	}
	if _, ok := r.member(signer); !ok {
		return &BlockError{Height: h, Signer: signer, Reason: fmt.Sprintf("not a member of the committee at ref time %d", r.counted.RefTime)}
	}
	seen[signer] = true
	return nil
}

// weightOf is what signer's signature adds under rule r (nothing for a
// member of the extra committee only).
func weightOf(signer common.Address, r proofRule) *big.Int {
	if w, _ := r.member(signer); w != nil {
		return w
	}
	return new(big.Int)
}
