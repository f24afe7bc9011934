package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/rlp"

	"github.com/vcsync/vcsync/block"
)

func testBlock(h uint64, body int) []byte {
	b := &block.Block{Header: block.Header{Height: h}, Body: make([]byte, body)}
	b.Seal()
	enc, _ := b.Encode()
	return enc
}

func TestGrantFor(t *testing.T) {
	a := Availability{ServeFrom: 1, ServeTo: 5000, MaxBatch: 1000, MaxChunk: 100, MaxFrameBytes: 1 << 20}
	cases := []struct {
		req            Request
		from, to       uint64
		chunk          int
		wantErrContain string
	}{
		{Request{}, 5000, 4001, 100, ""},
		{Request{To: 4500, Batch: 200, Chunk: 30}, 5000, 4801, 30, ""},
		{Request{From: 300, To: 1, Chunk: 500}, 300, 1, 100, ""},
		{Request{From: 6000}, 0, 0, 0, "outside what this peer serves (1-5000)"},
		{Request{To: 5001}, 0, 0, 0, "nothing at or above height 5001"},
		{Request{From: 10, To: 20}, 0, 0, 0, "not descending"},
	}
	for _, tc := range cases {
		g, err := GrantFor(a, tc.req)
		if tc.wantErrContain != "" {
			var re *RangeError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantErrContain) {
				t.Errorf("%+v: error %v, want %q", tc.req, err, tc.wantErrContain)
			}
			continue
		}
		if err != nil || g.From != tc.from || g.To != tc.to || g.Chunk != tc.chunk {
			t.Errorf("%+v: grant %+v %v, want %d-%d chunk %d", tc.req, g, err, tc.from, tc.to, tc.chunk)
		}
	}
}

func TestFramesRespectChunkAndByteLimits(t *testing.T) {
	var buf bytes.Buffer
	g := Grant{From: 10, To: 1, Chunk: 4, MaxFrameBytes: 3000}
	fw := NewFrameWriter(&buf, g)
	for h := uint64(10); h >= 1; h-- {
		size := 200
		if h == 5 {
			size = 5000 // larger than a frame: travels alone
		}
		if err := fw.Add(testBlock(h, size)); err != nil {
			t.Fatal(err)
		}
	}
	fw.Flush()
	var heights [][]uint64
	for {
		blocks, _, err := ReadFrame(&buf, FrameLimit(g, 0), g.Chunk, 0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var hs []uint64
		for _, b := range blocks {
			hs = append(hs, b.Height())
		}
		heights = append(heights, hs)
	}
	// Chunks of at most 4 blocks and 3000 bytes; block 5 is larger than a frame and goes alone.
	if got, want := fmt.Sprint(heights), "[[10 9 8 7] [6] [5] [4 3 2 1]]"; got != want {
		t.Fatalf("frames %s, want %s", got, want)
	}
}

// A frame is a length prefix and the RLP list of the blocks as rlp itself
// encodes it, for frames of one block or several, small or over 64 KiB, and
// the writer's reused buffer carries nothing from one frame to the next.
func TestFrameBytesAreTheRLPList(t *testing.T) {
	for _, sizes := range [][]int{{1}, {10, 10}, {30, 1}, {200, 300, 5000}, {70000}} {
		var buf bytes.Buffer
		fw := NewFrameWriter(&buf, Grant{Chunk: len(sizes), MaxFrameBytes: 1 << 20})
		var want []byte
		for round := 0; round < 2; round++ {
			var blocks []rlp.RawValue
			for i, size := range sizes {
				raw := testBlock(uint64(100*round+i+1), size)
				blocks = append(blocks, raw)
				if err := fw.Add(raw); err != nil {
					t.Fatal(err)
				}
			}
			payload, _ := rlp.EncodeToBytes(blocks)
			want = binary.BigEndian.AppendUint32(want, uint32(len(payload)))
			want = append(want, payload...)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("blocks of %v bytes: frames differ from the length-prefixed RLP lists", sizes)
		}
	}
}

// A frame's payload is exactly one list of blocks: bytes after it, an
// element that overruns it or is not a block are the sender's protocol
// fault, never a block.
func TestDecodeFrameRefusesAnythingButAListOfBlocks(t *testing.T) {
	good, _ := rlp.EncodeToBytes([]rlp.RawValue{testBlock(2, 10), testBlock(1, 10)})
	overrun := append([]byte(nil), good...)
	overrun[len(overrun)-len(testBlock(1, 10))] += 2 // the last block claims more bytes than the list holds
	for name, payload := range map[string][]byte{
		"trailing byte":   append(append([]byte(nil), good...), 0x80),
		"not a list":      {0x83, 1, 2, 3},
		"empty list":      {0xc0},
		"element overrun": overrun,
		"not a block":     {0xc2, 0x80, 0x80},
	} {
		if _, err := DecodeFrame(payload, 100, 0); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want a protocol error", name, err)
		}
	}
	blocks, err := DecodeFrame(good, 100, 0)
	if err != nil || len(blocks) != 2 || blocks[0].Height() != 2 || !bytes.Equal(blocks[1].Raw(), testBlock(1, 10)) {
		t.Fatalf("good frame: %v", err)
	}
}

func TestReadFrameRefusesBeforeAllocating(t *testing.T) {
	// A length prefix of 4 GiB with no payload: refused from the header alone.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 0xffffffff)
	_, _, err := ReadFrame(bytes.NewReader(hdr[:]), 1<<20, 100, 0)
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "over the 1048576-byte limit") {
		t.Fatalf("oversized frame: %v", err)
	}
	// More blocks than the granted chunk.
	payload, _ := rlp.EncodeToBytes([]rlp.RawValue{testBlock(3, 1), testBlock(2, 1), testBlock(1, 1)})
	var frame bytes.Buffer
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	frame.Write(hdr[:])
	frame.Write(payload)
	if _, _, err := ReadFrame(&frame, 1<<20, 2, 0); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "holds 3 blocks, chunk is 2") {
		t.Fatalf("overfull frame: %v", err)
	}
	// A block over the block limit inside a frame.
	payload, _ = rlp.EncodeToBytes([]rlp.RawValue{testBlock(1, 4000)})
	frame.Reset()
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	frame.Write(hdr[:])
	frame.Write(payload)
	if _, _, err := ReadFrame(&frame, 1<<20, 2, 1000); !errors.Is(err, block.ErrTooLarge) && !strings.Contains(err.Error(), "too large") {
		t.Fatalf("oversized block: %v", err)
	}
	// A truncated frame is an error, not a clean end.
	if _, _, err := ReadFrame(bytes.NewReader(append(hdr[:], 1, 2)), 1<<20, 2, 0); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("truncated frame: %v", err)
	}
}
