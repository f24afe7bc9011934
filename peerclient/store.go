package peerclient

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/wire"
)

// StoreFile is another store read directly (file:// peers), for offline
// and air-gapped repair: the source of a Local peer. Its blocks are as
// untrusted as a network peer's.
type StoreFile struct {
	path string
	opts Options
	mu   sync.Mutex
	s    *store.Store
}

// NewStorePeer returns a peer reading the store at path (opened read-only
// on first use).
func NewStorePeer(path string, opts Options) *Local {
	return &Local{Source: &StoreFile{path: path, opts: opts}}
}

func (p *StoreFile) Name() string { return "file://" + p.path }

// Path is the store file the peer reads.
func (p *StoreFile) Path() string { return p.path }

func (p *StoreFile) open() (*store.Store, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.s == nil {
		s, err := store.Open(p.path, store.Options{ReadOnly: true, MaxBlock: p.opts.MaxBlock})
		if err != nil {
			return nil, err
		}
		p.s = s
	}
	return p.s, nil
}

// Close releases the store.
func (p *StoreFile) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.s == nil {
		return nil
	}
	err := p.s.Close()
	p.s = nil
	return err
}

func (p *StoreFile) Availability(context.Context) (wire.Availability, error) {
	s, err := p.open()
	if err != nil {
		return wire.Availability{}, err
	}
	st, err := s.State()
	if err != nil {
		return wire.Availability{}, err
	}
	return wire.StoreAvailability(s.Identity(), st).WithHashes(s.Hash), nil
}

// Read streams a grant from the store.
func (p *StoreFile) Read(_ context.Context, g wire.Grant) (Stream, error) {
	s, err := p.open()
	if err != nil {
		return nil, err
	}
	return &rangeStream{grant: g, next: g.From, read: func(hi, lo uint64, reserve Reserve) ([]*block.Block, int, error) {
		var out []*block.Block
		size := 0
		err := s.ReadRange(hi, lo, func(h uint64, raw []byte) error {
			if reserve != nil {
				if err := reserve(len(raw)); err != nil {
					return err
				}
			}
			b, err := block.DecodeOwned(append([]byte(nil), raw...), p.opts.MaxBlock) // raw is the store's mapped memory
			if err != nil {
				return fmt.Errorf("%s height %d: %w: %w", p.Name(), h, store.ErrUndecodable, err)
			}
			out, size = append(out, b), size+len(raw)
			return nil
		})
		return out, size, err
	}}, nil
}

// rangeStream hands out a grant chunk by chunk from a reader of height ranges.
type rangeStream struct {
	grant wire.Grant
	next  uint64 // next height to deliver; below grant.To when done
	read  func(hi, lo uint64, reserve Reserve) ([]*block.Block, int, error)
}

func (s *rangeStream) Grant() wire.Grant { return s.grant }

func (s *rangeStream) Next(reserve Reserve) ([]*block.Block, int, error) {
	if s.next < s.grant.To || s.next == 0 {
		return nil, 0, io.EOF
	}
	lo := max(s.grant.To, s.next-min(s.next, uint64(s.grant.Chunk))+1)
	blocks, n, err := s.read(s.next, lo, reserve)
	if err != nil {
		return nil, 0, err
	}
	s.next = lo - 1
	return blocks, n, nil
}

func (s *rangeStream) Close() error { return nil }
