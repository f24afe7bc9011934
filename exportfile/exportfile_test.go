package exportfile_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/chain"
	"github.com/vcsync/vcsync/exportfile"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/wire"
)

// memSource is a store of n linked, unsigned blocks in memory.
type memSource struct{ raw [][]byte }

func newMemSource(t *testing.T, n int) *memSource {
	var prev common.Hash
	s := &memSource{}
	for h := 1; h <= n; h++ {
		b := &block.Block{Header: block.Header{ProtocolVersion: 2, VirtualChainID: 42, NetworkType: 2, Height: uint64(h), PrevHash: prev}, Body: []byte{byte(h)}}
		b.Seal()
		raw, err := b.Encode()
		if err != nil {
			t.Fatal(err)
		}
		prev, s.raw = b.Hash(), append(s.raw, raw)
	}
	return s
}

func (s *memSource) Identity() chain.Identity { return chain.Identity{ChainID: 42, NetworkType: 2} }
func (s *memSource) State() (chain.State, error) {
	n := uint64(len(s.raw))
	return chain.State{InOrder: n, LastSynced: n, Top: n}, nil
}
func (s *memSource) ReadRange(hi, lo uint64, fn func(uint64, []byte) error) error {
	for h := hi; h >= lo; h-- {
		if err := fn(h, s.raw[h-1]); err != nil {
			return err
		}
	}
	return nil
}

// What Create writes, a Peer reads back: the header's range, and every
// block of any batch asked of it, byte for byte, highest first.
func TestCreateThenReadBack(t *testing.T) {
	src := newMemSource(t, 250)
	path := filepath.Join(t.TempDir(), "chain.vcx")
	res, err := exportfile.Create(src, path, exportfile.Bounds{Lowest: 11, Highest: 240}, 17, false)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi == nil || fi.Size() != res.Bytes || len(res.SHA256) != 64 {
		t.Fatalf("result %+v for a file of %v", res, fi)
	}
	p := exportfile.NewPeer(path, peerclient.Options{})
	defer p.Close()
	a, err := p.Availability(context.Background())
	if err != nil || a.ServeFrom != 11 || a.ServeTo != 240 || a.ChainID != 42 {
		t.Fatalf("availability %+v: %v", a, err)
	}
	st, err := p.Blocks(context.Background(), wire.Request{From: 200, To: 11, Batch: 100, Chunk: 30})
	if err != nil {
		t.Fatal(err)
	}
	next := uint64(200)
	for {
		blocks, _, err := st.Next(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			raw, _ := b.Encode()
			if b.Height() != next || string(raw) != string(src.raw[next-1]) {
				t.Fatalf("block %d read back as height %d, or other bytes", next, b.Height())
			}
			next--
		}
	}
	if next != 100 { // a batch of 100: 200 down to 101
		t.Fatalf("the batch ended above %d", next+1)
	}
	// It never replaces a file without force, nor anything but a regular file.
	if _, err := exportfile.Create(src, path, exportfile.Bounds{Lowest: 1, Highest: 10}, 5, false); !errors.Is(err, exportfile.ErrExists) {
		t.Fatalf("over an existing file: %v", err)
	}
	if _, err := exportfile.Create(src, t.TempDir(), exportfile.Bounds{Lowest: 1, Highest: 10}, 5, true); !errors.Is(err, exportfile.ErrNotRegular) {
		t.Fatalf("over a directory, with force: %v", err)
	}
}
