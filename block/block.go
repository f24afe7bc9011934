// Package block defines the virtual chain block: its header, body and proof,
// their RLP encoding, the block hash and the digest that committee members sign.
// It knows nothing of stores, peers or committees.
package block

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// DefaultMaxSize is the largest encoded block accepted unless a caller says
// otherwise; it is the original node's limit (64 MiB).
const DefaultMaxSize = 64 << 20

// MaxProofSignatures bounds a proof before any signature is looked at. The
// PoS contracts cap a committee at 22 members; 1024 leaves room for any
// committee a chain could configure while keeping a junk proof cheap to refuse.
const MaxProofSignatures = 1024

// SignatureLength is the size of a recoverable secp256k1 signature [R || S || V].
const SignatureLength = crypto.SignatureLength

// The header's ProtocolVersion says how the proof is written.
const (
	// ProtocolBareSignatures: each proof entry is a 65-byte recoverable
	// signature; a verifier must recover every signer.
	ProtocolBareSignatures = 1
	// ProtocolNamedSignatures: each entry is the signer's 20-byte node
	// address followed by its 65-byte signature, as the original's
	// SenderSignature{MemberId, Signature}: a verifier refuses a stranger
	// or a repeat before any curve operation, and checks a member it has
	// seen before against its known public key instead of recovering it.
	ProtocolNamedSignatures = 2
)

// NamedEntryLength is the size of a named proof entry.
const NamedEntryLength = common.AddressLength + SignatureLength

// NamesSigners reports whether the block's proof names its signers.
func (b *Block) NamesSigners() bool { return b.Header.ProtocolVersion == ProtocolNamedSignatures }

// Entry splits proof entry i into the signer it names (zero when the
// proof does not name signers) and the signature.
func (b *Block) Entry(i int) (common.Address, []byte) {
	e := b.Proof[i]
	if b.NamesSigners() && len(e) == NamedEntryLength {
		return common.BytesToAddress(e[:common.AddressLength]), e[common.AddressLength:]
	}
	return common.Address{}, e
}

// Header is what the block hash commits to.
type Header struct {
	ProtocolVersion uint32
	VirtualChainID  uint32
	NetworkType     uint32
	Height          uint64
	PrevHash        common.Hash
	Timestamp       uint64 // nanoseconds since the unix epoch
	RefTime         uint32 // Ethereum reference time (unix seconds) naming the next block's committee
	Proposer        common.Address
	BodyRoot        common.Hash // keccak256 of Body
}

// Block is a header, an opaque body and the committee's proof: signatures
// over SigningDigest.
type Block struct {
	Header Header
	Body   []byte
	Proof  [][]byte

	// Set by DecodeOwned: the bytes the block was decoded from and its
	// hash, computed once. Such a block is never changed (nothing vcsync
	// receives is), so what is stored is exactly the bytes received.
	raw  []byte
	hash common.Hash
}

// Hash is keccak256 of the RLP-encoded header.
func (h *Header) Hash() common.Hash {
	enc, err := rlp.EncodeToBytes(h)
	if err != nil {
		// A Header has only fixed-size fields: encoding cannot fail.
		panic(fmt.Sprintf("block: encode header: %v", err))
	}
	return crypto.Keccak256Hash(enc)
}

// Hash is the hash of the block's header (computed once for a block from
// DecodeOwned).
func (b *Block) Hash() common.Hash {
	if b.raw != nil {
		return b.hash
	}
	return b.Header.Hash()
}

// Raw is the encoding the block was decoded from by DecodeOwned, or nil.
// The store writes it as is: the bytes received are the bytes stored.
func (b *Block) Raw() []byte { return b.raw }

// Height is a shorthand for b.Header.Height.
func (b *Block) Height() uint64 { return b.Header.Height }

// proofDomain separates vcsync block proofs from every other secp256k1
// signature a node key might make.
var proofDomain = []byte("vcsync/block-proof/v1")

// SigningDigest is the 32-byte message committee members sign for a block.
// Binding the network type, chain id and height next to the hash means a
// signature cannot be replayed on another chain, network or height.
func SigningDigest(networkType, chainID uint32, height uint64, hash common.Hash) common.Hash {
	var buf [4 + 4 + 8]byte
	binary.BigEndian.PutUint32(buf[0:], networkType)
	binary.BigEndian.PutUint32(buf[4:], chainID)
	binary.BigEndian.PutUint64(buf[8:], height)
	return crypto.Keccak256Hash(proofDomain, buf[:], hash[:])
}

// SigningDigest is the digest committee members sign for this block.
func (b *Block) SigningDigest() common.Hash {
	h := &b.Header
	return SigningDigest(h.NetworkType, h.VirtualChainID, h.Height, h.Hash())
}

// Seal sets the body root from the body. Call it after changing Body.
func (b *Block) Seal() { b.Header.BodyRoot = crypto.Keccak256Hash(b.Body) }

// Encode returns the canonical RLP encoding of the block.
func (b *Block) Encode() ([]byte, error) {
	enc, err := rlp.EncodeToBytes(b)
	if err != nil {
		return nil, fmt.Errorf("encode block %d: %w", b.Header.Height, err)
	}
	return enc, nil
}

// Errors returned by Decode; match with errors.Is.
var (
	ErrTooLarge         = errors.New("block too large")
	ErrMalformed        = errors.New("malformed block encoding")
	ErrBodyRoot         = errors.New("body does not match the header's body root")
	ErrBadSignatureForm = errors.New("malformed signature")
	ErrProofTooLarge    = errors.New("proof has too many signatures")
)

// Decode parses an encoded block and checks everything that can be checked
// without a committee: size, canonical RLP with no trailing bytes, body root
// and the form of every signature. maxSize <= 0 means DefaultMaxSize.
func Decode(data []byte, maxSize int) (*Block, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxSize)
	}
	var b Block
	// DecodeBytes refuses trailing bytes and non-canonical integers.
	if err := rlp.DecodeBytes(data, &b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := b.CheckForm(); err != nil {
		return nil, err
	}
	return &b, nil
}

// DecodeOwned is Decode for a buffer the caller gives up (it must not be
// changed or reused after): the block keeps it as its Raw encoding and
// computes its hash once, so neither is done again on the way to the store.
// The returned block must not be modified.
//
// The body and proof entries are slices of data, not copies, and the hash
// is taken over the header's bytes as received (the encoding is canonical,
// so they are the bytes Header.Hash would encode). It accepts exactly what
// Decode accepts; FuzzDecodeOwned holds the two to that.
func DecodeOwned(data []byte, maxSize int) (*Block, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxSize)
	}
	b, header, err := splitBlock(data)
	if errors.Is(err, ErrProofTooLarge) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := b.CheckForm(); err != nil {
		return nil, err
	}
	b.hash = crypto.Keccak256Hash(header)
	b.raw = data
	return b, nil
}

// HeaderOf reads only the header of an encoded block, and its hash (over
// the header's bytes as encoded): what the store needs to check hash links
// without decoding bodies and proofs. It checks the header, not the block:
// use Decode or DecodeOwned for bytes that are not already verified.
func HeaderOf(data []byte) (Header, common.Hash, error) {
	var h Header
	fields, _, err := rlp.SplitList(data)
	if err != nil {
		return h, common.Hash{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	kind, _, afterHeader, err := rlp.Split(fields)
	if err != nil || kind != rlp.List {
		return h, common.Hash{}, fmt.Errorf("%w: header is not a list (%v)", ErrMalformed, err)
	}
	header := fields[:len(fields)-len(afterHeader)]
	if err := rlp.DecodeBytes(header, &h); err != nil {
		return h, common.Hash{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	return h, crypto.Keccak256Hash(header), nil
}

// splitBlock reads [header, body, [proof...]] from data with rlp's
// splitting functions, keeping the body and proof entries as slices of
// data. The header's fixed-size fields go through rlp's decoder, which
// checks that its integers are canonical. It returns the header's encoding.
func splitBlock(data []byte) (*Block, []byte, error) {
	fields, rest, err := rlp.SplitList(data)
	if err != nil {
		return nil, nil, err
	}
	if len(rest) > 0 {
		return nil, nil, rlp.ErrMoreThanOneValue
	}
	kind, _, afterHeader, err := rlp.Split(fields)
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if kind != rlp.List {
		return nil, nil, fmt.Errorf("header: %w", rlp.ErrExpectedList)
	}
	header := fields[:len(fields)-len(afterHeader)]
	b := new(Block)
	if err := rlp.DecodeBytes(header, &b.Header); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	body, afterBody, err := rlp.SplitString(afterHeader)
	if err != nil {
		return nil, nil, fmt.Errorf("body: %w", err)
	}
	entries, afterProof, err := rlp.SplitList(afterBody)
	if err != nil {
		return nil, nil, fmt.Errorf("proof: %w", err)
	}
	if len(afterProof) > 0 {
		return nil, nil, errors.New("block has more than three fields")
	}
	n, err := rlp.CountValues(entries)
	if err != nil {
		return nil, nil, fmt.Errorf("proof: %w", err)
	}
	if n > MaxProofSignatures {
		return nil, nil, fmt.Errorf("block %d: %w: %d, limit %d", b.Header.Height, ErrProofTooLarge, n, MaxProofSignatures)
	}
	b.Body = body
	if n > 0 {
		b.Proof = make([][]byte, 0, n)
	}
	for len(entries) > 0 {
		var e []byte
		if e, entries, err = rlp.SplitString(entries); err != nil {
			return nil, nil, fmt.Errorf("proof entry %d: %w", len(b.Proof), err)
		}
		b.Proof = append(b.Proof, e)
	}
	return b, header, nil
}

// CheckForm checks the body root and the form of every proof signature.
func (b *Block) CheckForm() error {
	if root := crypto.Keccak256Hash(b.Body); root != b.Header.BodyRoot {
		return fmt.Errorf("block %d: %w (body hashes to %s, header says %s)",
			b.Header.Height, ErrBodyRoot, root.Hex(), b.Header.BodyRoot.Hex())
	}
	if len(b.Proof) > MaxProofSignatures {
		return fmt.Errorf("block %d: %w: %d, limit %d", b.Header.Height, ErrProofTooLarge, len(b.Proof), MaxProofSignatures)
	}
	for i, e := range b.Proof {
		if b.NamesSigners() && len(e) != NamedEntryLength {
			return fmt.Errorf("block %d: signature %d: %w: %d bytes, a named entry is %d", b.Header.Height, i, ErrBadSignatureForm, len(e), NamedEntryLength)
		}
		if _, sig := b.Entry(i); CheckSignatureForm(sig) != nil {
			return fmt.Errorf("block %d: signature %d: %w", b.Header.Height, i, CheckSignatureForm(sig))
		}
	}
	return nil
}

// sigValues reuses the two integers CheckSignatureForm reads R and S into:
// it runs for every signature received, and SetBytes reuses their words.
var sigValues = sync.Pool{New: func() any { return new([2]big.Int) }}

// CheckSignatureForm rejects signatures that cannot be recovered: wrong
// length, a recovery id other than 0 or 1, or R/S out of range (including
// high-S malleable forms).
func CheckSignatureForm(sig []byte) error {
	if len(sig) != SignatureLength {
		return fmt.Errorf("%w: %d bytes, want %d", ErrBadSignatureForm, len(sig), SignatureLength)
	}
	rs := sigValues.Get().(*[2]big.Int)
	defer sigValues.Put(rs)
	r, s := rs[0].SetBytes(sig[:32]), rs[1].SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(sig[64], r, s, true) {
		return fmt.Errorf("%w: R, S or V out of range", ErrBadSignatureForm)
	}
	return nil
}

// Sign appends the signature of key over the block's signing digest,
// named when the block's protocol names signers.
func (b *Block) Sign(key *ecdsa.PrivateKey) error {
	d := b.SigningDigest()
	sig, err := crypto.Sign(d[:], key)
	if err != nil {
		return fmt.Errorf("sign block %d: %w", b.Header.Height, err)
	}
	if b.NamesSigners() {
		sig = append(crypto.PubkeyToAddress(key.PublicKey).Bytes(), sig...)
	}
	b.Proof = append(b.Proof, sig)
	return nil
}
