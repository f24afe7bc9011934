package block

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

var update = flag.Bool("update", false, "rewrite testdata/block_golden.json")

const goldenPath = "../testdata/block_golden.json"

type golden struct {
	Hex    string `json:"hex"`
	Hash   string `json:"hash"`
	Digest string `json:"signing_digest"`
	Signer string `json:"signer"`
}

// fixedBlock is the block the golden vector pins. Change nothing here
// unless the format changes on purpose (then bump ProtocolVersion).
func fixedBlock(t testing.TB) (*Block, common.Address) {
	return fixedBlockVersion(t, ProtocolBareSignatures)
}

func fixedBlockVersion(t testing.TB, version uint32) (*Block, common.Address) {
	t.Helper()
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	if err != nil {
		t.Fatal(err)
	}
	b := &Block{
		Header: Header{
			ProtocolVersion: version,
			VirtualChainID:  42,
			NetworkType:     2,
			Height:          1000,
			PrevHash:        common.HexToHash("0x0102030405060708091011121314151617181920212223242526272829303132"),
			Timestamp:       1_700_000_000_123_456_789,
			RefTime:         1_700_000_000,
			Proposer:        common.HexToAddress("0x00000000000000000000000000000000000000aa"),
		},
		Body: []byte("golden body"),
	}
	b.Seal()
	if err := b.Sign(key); err != nil {
		t.Fatal(err)
	}
	return b, crypto.PubkeyToAddress(key.PublicKey)
}

// TestGoldenVector pins both proof versions: version 1's bare signatures
// (block_golden.json) and version 2's named ones (block_golden_v2.json).
func TestGoldenVector(t *testing.T) {
	checkGolden(t, ProtocolBareSignatures, goldenPath)
	checkGolden(t, ProtocolNamedSignatures, "../testdata/block_golden_v2.json")
}

func checkGolden(t *testing.T, version uint32, goldenPath string) {
	b, signer := fixedBlockVersion(t, version)
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got := golden{
		Hex:    hex.EncodeToString(enc),
		Hash:   b.Hash().Hex(),
		Digest: b.SigningDigest().Hex(),
		Signer: signer.Hex(),
	}
	if *update {
		data, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(goldenPath, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("read golden vector (run go test ./block -update to create it): %v", err)
	}
	var want golden
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("block format changed:\n got %+v\nwant %+v", got, want)
	}
	// The golden bytes decode back to the same block and hash.
	raw, _ := hex.DecodeString(want.Hex)
	dec, err := Decode(raw, 0)
	if err != nil {
		t.Fatalf("decode golden: %v", err)
	}
	if dec.Hash().Hex() != want.Hash {
		t.Fatalf("decoded hash %s, want %s", dec.Hash().Hex(), want.Hash)
	}
	named, sig := dec.Entry(0)
	pub, err := crypto.SigToPub(dec.SigningDigest().Bytes(), sig)
	if err != nil || crypto.PubkeyToAddress(*pub).Hex() != want.Signer {
		t.Fatalf("golden signature does not recover to %s: %v", want.Signer, err)
	}
	if dec.NamesSigners() != (version == ProtocolNamedSignatures) || (dec.NamesSigners() && named.Hex() != want.Signer) {
		t.Fatalf("version %d: names %s", version, named.Hex())
	}
}

func TestDigestBindsChainNetworkAndHeight(t *testing.T) {
	h := common.HexToHash("0x01")
	base := SigningDigest(1, 2, 3, h)
	for name, d := range map[string]common.Hash{
		"network": SigningDigest(9, 2, 3, h),
		"chain":   SigningDigest(1, 9, 3, h),
		"height":  SigningDigest(1, 2, 9, h),
		"hash":    SigningDigest(1, 2, 3, common.HexToHash("0x02")),
	} {
		if d == base {
			t.Errorf("digest ignores the %s", name)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := fixedBlock(t)
	enc, _ := good.Encode()

	mutate := func(f func(b *Block)) []byte {
		b, _ := fixedBlock(t)
		f(b)
		out, err := rlp.EncodeToBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name    string
		data    []byte
		max     int
		wantErr error
	}{
		{"trailing bytes", append(append([]byte{}, enc...), 0x00), 0, ErrMalformed},
		{"truncated", enc[:len(enc)-3], 0, ErrMalformed},
		{"oversize", enc, len(enc) - 1, ErrTooLarge},
		{"body not matching root", mutate(func(b *Block) { b.Body = []byte("tampered") }), 0, ErrBodyRoot},
		{"short signature", mutate(func(b *Block) { b.Proof[0] = b.Proof[0][:64] }), 0, ErrBadSignatureForm},
		{"bad recovery id", mutate(func(b *Block) { b.Proof[0][64] = 27 }), 0, ErrBadSignatureForm},
		{"zero R", mutate(func(b *Block) { copy(b.Proof[0][:32], make([]byte, 32)) }), 0, ErrBadSignatureForm},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.data, tc.max)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode error = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, err := Decode(enc, len(enc)); err != nil {
		t.Fatalf("a block exactly at the limit must decode: %v", err)
	}
}

func TestRoundTripKeepsEveryField(t *testing.T) {
	b, _ := fixedBlock(t)
	b.Proof = append(b.Proof, bytes.Repeat([]byte{1}, 64))
	b.Proof[1] = append(b.Proof[1], 0)
	enc, _ := b.Encode()
	dec, err := Decode(enc, 0)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := dec.Encode()
	if !bytes.Equal(enc, again) || dec.Header != b.Header || len(dec.Proof) != 2 {
		t.Fatal("round trip changed the block")
	}
}

// HeaderOf reads what the store keeps no index of any more: the header and
// its hash, from the stored bytes alone; damage is an error, never a panic.
func TestHeaderOf(t *testing.T) {
	b, _ := fixedBlock(t)
	enc, _ := b.Encode()
	h, hash, err := HeaderOf(enc)
	if err != nil || h != b.Header || hash != b.Hash() {
		t.Fatalf("HeaderOf: %+v %s %v", h, hash, err)
	}
	for name, data := range map[string][]byte{"empty": nil, "not a list": {0x80}, "header cut": enc[:12], "header not a list": {0xc1, 0x80}} {
		if _, _, err := HeaderOf(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzDecode: whatever the bytes, Decode returns a block or an error, never
// panics, and a block it returns re-encodes to the same bytes.
func FuzzDecode(f *testing.F) {
	b, _ := fixedBlock(f)
	enc, _ := b.Encode()
	f.Add(enc)
	f.Add(enc[:len(enc)/2])
	f.Add([]byte{0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		blk, err := Decode(data, 1<<16)
		if err != nil {
			return
		}
		again, err := blk.Encode()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("decoded block re-encodes differently")
		}
	})
}

// DecodeOwned splits the bytes it is given where Decode copies them through
// rlp's decoder: the two must accept exactly the same inputs and read the
// same block, and the hash taken over the header as received must be the
// hash of the header decoded.
func FuzzDecodeOwned(f *testing.F) {
	b, _ := fixedBlock(f)
	enc, _ := b.Encode()
	f.Add(enc)
	f.Add(enc[:len(enc)/2])
	f.Add(append(append([]byte(nil), enc...), 0x80))
	f.Add([]byte{0xc0})
	f.Add([]byte{0xc3, 0xc0, 0x80, 0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := Decode(data, 1<<16)
		got, gerr := DecodeOwned(bytes.Clone(data), 1<<16)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("Decode says %v, DecodeOwned says %v", werr, gerr)
		}
		if werr != nil {
			for _, kind := range []error{ErrTooLarge, ErrMalformed, ErrBodyRoot, ErrBadSignatureForm, ErrProofTooLarge} {
				if errors.Is(werr, kind) != errors.Is(gerr, kind) {
					t.Fatalf("Decode says %v, DecodeOwned says %v", werr, gerr)
				}
			}
			return
		}
		if got.Header != want.Header || !bytes.Equal(got.Body, want.Body) || len(got.Proof) != len(want.Proof) {
			t.Fatalf("DecodeOwned read another block")
		}
		for i := range got.Proof {
			if !bytes.Equal(got.Proof[i], want.Proof[i]) {
				t.Fatalf("proof entry %d differs", i)
			}
		}
		if h, hash, err := HeaderOf(data); err != nil || h != want.Header || hash != want.Header.Hash() {
			t.Fatalf("HeaderOf of a valid block: %+v %s %v", h, hash, err)
		}
		if got.Hash() != want.Header.Hash() || !bytes.Equal(got.Raw(), data) {
			t.Fatalf("hash or raw bytes differ")
		}
	})
}
