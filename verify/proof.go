package verify

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/block"
)

// ErrInvalidBlock matches every *BlockError: the block, and so whoever sent
// it, is at fault (as opposed to a committee source that failed).
var ErrInvalidBlock = errors.New("invalid block")

// BlockError says which block failed verification and why.
type BlockError struct {
	Height uint64
	Signer common.Address // zero unless one signer is to blame
	Reason string
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

// proofRule is what a proof must show: signatures from committee members
// adding up to need. Under a strict rule every signature counted must come
// from a distinct member; the honest-stake rule for a stale tip counts only
// signers still in the current committee and passes over the rest.
type proofRule struct {
	committee *Committee
	need      *big.Int
	strict    bool
	what      string // "quorum" or "honest stake", for messages
}

func quorumRule(c *Committee) proofRule {
	return proofRule{committee: c, need: c.QuorumWeight(), strict: true, what: "quorum"}
}

func honestRule(c *Committee) proofRule {
	return proofRule{committee: c, need: c.HonestWeight(), strict: false, what: "honest stake"}
}

// checkProof recovers b's signatures over digest until the signed weight
// reaches the rule's need, and returns the signed weight.
func checkProof(b *block.Block, digest common.Hash, r proofRule) (*big.Int, error) {
	h := b.Height()
	signed := new(big.Int)
	seen := make(map[common.Address]bool, len(b.Proof))
	for i, sig := range b.Proof {
		if signed.Cmp(r.need) >= 0 {
			break // quorum reached: the rest need not be recovered
		}
		if err := block.CheckSignatureForm(sig); err != nil {
			return signed, invalid(h, "signature %d: %v", i, err)
		}
		pub, err := crypto.Ecrecover(digest[:], sig)
		if err != nil {
			return signed, invalid(h, "signature %d does not recover: %v", i, err)
		}
		signer := common.BytesToAddress(crypto.Keccak256(pub[1:])[12:])
		m, member := r.committee.Lookup(signer)
		switch {
		case seen[signer] && r.strict:
			return signed, &BlockError{Height: h, Signer: signer, Reason: "signed more than once"}
		case !member && r.strict:
			return signed, &BlockError{Height: h, Signer: signer, Reason: fmt.Sprintf("not a member of the committee at ref time %d", r.committee.RefTime)}
		case seen[signer] || !member:
			continue
		}
		seen[signer] = true
		signed.Add(signed, m.Weight)
	}
	if signed.Cmp(r.need) < 0 {
		return signed, invalid(h, "signed weight %s is %.1f%% of the committee at ref time %d (total %s); %s needs %s (%.1f%%)",
			signed, r.committee.Share(signed), r.committee.RefTime, r.committee.total, r.what, r.need, r.committee.Share(r.need))
	}
	return signed, nil
}
