package peerclient_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/wire"
)

// fakeSource holds heights 101..200 and records what it was asked to read.
type fakeSource struct {
	read   []wire.Grant
	closed bool
}

func (f *fakeSource) Name() string { return "fake" }

func (f *fakeSource) Availability(context.Context) (wire.Availability, error) {
	return wire.Availability{InOrder: 200, LastSynced: 200, Top: 200, ServeFrom: 101, ServeTo: 200, MaxBatch: 50, MaxChunk: 10}, nil
}

func (f *fakeSource) Read(_ context.Context, g wire.Grant) (peerclient.Stream, error) {
	f.read = append(f.read, g)
	return nil, nil
}

func (f *fakeSource) Close() error { f.closed = true; return nil }

// A peer read in-process grants by the server's rules, whatever its source:
// the batch and chunk are clamped to what it serves, a range outside it is
// refused before anything is read.
func TestLocalGrantsLikeAServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		req  wire.Request
		want wire.Grant // zero: refused
	}{
		{wire.Request{}, wire.Grant{From: 200, To: 151, Chunk: 10}},
		{wire.Request{From: 180, Batch: 1000, Chunk: 500}, wire.Grant{From: 180, To: 131, Chunk: 10}},
		{wire.Request{From: 120, To: 1, Chunk: 4}, wire.Grant{From: 120, To: 101, Chunk: 4}},
		{wire.Request{From: 201}, wire.Grant{}},
		{wire.Request{From: 100}, wire.Grant{}},
		{wire.Request{From: 150, To: 160}, wire.Grant{}},
	} {
		src := &fakeSource{}
		_, err := (&peerclient.Local{Source: src}).Blocks(context.Background(), tc.req)
		if tc.want == (wire.Grant{}) {
			if err == nil || len(src.read) != 0 {
				t.Errorf("%+v: err %v, read %+v; want refused unread", tc.req, err, src.read)
			}
			continue
		}
		if err != nil || len(src.read) != 1 || src.read[0] != tc.want {
			t.Errorf("%+v: err %v, read %+v; want %+v", tc.req, err, src.read, tc.want)
		}
	}
	src := &fakeSource{}
	if err := (&peerclient.Local{Source: src}).Close(); err != nil || !src.closed {
		t.Fatal("Close did not release the source")
	}
}

// A file:// peer streams another store's blocks, highest first, chunk by
// chunk, exactly as stored; closing it releases the store's lock.
func TestStoreFilePeerStreamsTheStore(t *testing.T) {
	t.Parallel()
	net, err := devnet.New(devnet.Config{Seed: t.Name(), Blocks: 40, BodyBytes: 16})
	if err != nil {
		t.Fatal(err)
	}
	files, chain, err := net.Generate(filepath.Join(t.TempDir(), "net"), nil)
	if err != nil {
		t.Fatal(err)
	}
	peer := peerclient.NewStorePeer(files.Store, peerclient.Options{})
	stream, err := peer.Blocks(context.Background(), wire.Request{From: 35, To: 12, Chunk: 7})
	if err != nil {
		t.Fatal(err)
	}
	if g := stream.Grant(); g.From != 35 || g.To != 12 || g.Chunk != 7 {
		t.Fatalf("grant %+v", g)
	}
	want := uint64(35)
	for {
		blocks, _, err := stream.Next(nil)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || len(blocks) == 0 || len(blocks) > 7 {
			t.Fatalf("chunk of %d: %v", len(blocks), err)
		}
		for _, b := range blocks {
			if b.Height() != want || b.Hash() != chain[want-1].Hash() {
				t.Fatalf("got height %d hash %s, want %d", b.Height(), b.Hash(), want)
			}
			want--
		}
	}
	if want != 11 {
		t.Fatalf("stream ended above height 12, at %d", want+1)
	}
	if _, err := store.Open(files.Store, store.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("the peer's store opened for writing while the peer reads it: %v", err)
	}
	if err := peer.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(files.Store, store.Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	s.Close()
}
