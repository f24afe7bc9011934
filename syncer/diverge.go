package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

// ErrDiverged means the store holds a block where the network, as a peer
// proved it, holds another: a forged or stale fork that sync must not
// build on. `verify all` finds the bad blocks and prints the rollback.
var ErrDiverged = errors.New("the store diverged from the network")

// checkDivergence compares the block hashes a peer's availability answer
// names (its InOrder and Top, version 2) with the store's blocks at the
// same heights. A difference is not taken on the peer's word: the peer's
// block and its parent are fetched and the block's proof checked (a quorum
// of the committee its parent names). If it holds, the store diverged
// (ErrDiverged, and the run ends); if not, the peer lied and is dropped.
// Each peer is checked once per run.
func (s *Syncer) checkDivergence(ctx context.Context, st store.State, answers []answer) error {
	for _, a := range answers {
		if s.hashChecked[a.peer.Name()] || s.isDropped(a.peer) {
			continue
		}
		if s.hashChecked == nil {
			s.hashChecked = map[string]bool{}
		}
		s.hashChecked[a.peer.Name()] = true
		for _, claim := range []struct {
			height uint64
			hash   *common.Hash
		}{{a.avail.InOrder, a.avail.InOrderHash}, {a.avail.Top, a.avail.TopHash}} {
			if claim.hash == nil || !holds(st, claim.height) || claim.height < a.avail.ServeFrom || claim.height > a.avail.ServeTo {
				continue // not named, not ours to compare, or not served to confirm
			}
			ours, err := s.cfg.Store.Hash(claim.height)
			if err != nil {
				return fmt.Errorf("hash of stored block %d: %w", claim.height, err)
			}
			if ours == *claim.hash {
				continue
			}
			err = s.confirmDivergence(ctx, a.peer, claim.height, *claim.hash, ours)
			if errors.Is(err, ErrDiverged) || ctx.Err() != nil {
				return err
			}
			if err != nil {
				var be *verify.BlockError
				if !errors.As(err, &be) && !errors.Is(err, wire.ErrProtocol) && !errors.Is(err, io.EOF) {
					return err // the committee source failed, not the peer
				}
				s.drop(a.peer, DropLied, "named block %d %s, which it does not back with a verified block: %v", claim.height, claim.hash.Hex(), err)
				break
			}
		}
	}
	return nil
}

// holds says whether the store holds height h.
func holds(st store.State, h uint64) bool {
	return h > 0 && (h <= st.InOrder || (h >= st.LastSynced && h <= st.Top))
}

// confirmDivergence fetches the peer's block h (and its parent) and checks
// that it is the block the peer named and that its committee signed it.
func (s *Syncer) confirmDivergence(ctx context.Context, p peerclient.Peer, h uint64, theirs, ours common.Hash) error {
	lo := max(h-1, 1)
	st, err := p.Blocks(ctx, wire.Request{From: h, To: lo, Batch: h - lo + 1, Chunk: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	var got []*block.Block
	for uint64(len(got)) < h-lo+1 {
		blocks, _, err := st.Next(nil)
		if err != nil {
			return fmt.Errorf("fetching blocks %d-%d: %w", h, lo, err)
		}
		got = append(got, blocks...)
	}
	if len(got) != int(h-lo+1) || got[0].Height() != h || got[0].Hash() != theirs {
		return fmt.Errorf("%w: asked for block %d %s, got another", wire.ErrProtocol, h, theirs.Hex())
	}
	seg := verify.Segment{Blocks: got[:1]}
	if h > 1 {
		seg.Below = &got[1].Header
	}
	if _, err := s.cfg.Verifier.VerifyDescending(ctx, seg); err != nil {
		return err
	}
	return fmt.Errorf("%w: diverged from peer %s at or below height %d: its block %d (%s) is signed by its committee and the store holds another (%s); "+
		"find the bad blocks with vcsync verify all, which prints the rollback", ErrDiverged, p.Name(), h, h, theirs.Hex(), ours.Hex())
}

// unlinkedFromFloor says a verification failed only because the lowest
// block, authenticated from above, names another parent than the stored
// block below it: the store is what differs, not the peer.
func unlinkedFromFloor(be *verify.BlockError, floor *block.Header) bool {
	return be.Unlinked && floor != nil && be.Height == floor.Height+1
}

func divergedBelow(p peerclient.Peer, floor *block.Header, lowest *block.Block) error {
	return fmt.Errorf("%w: diverged from peer %s at or below height %d: its chain, verified down to block %d, names %s as block %d and the store holds %s; "+
		"find the bad blocks with vcsync verify all, which prints the rollback", ErrDiverged, p.Name(), floor.Height, lowest.Height(),
		lowest.Header.PrevHash.Hex(), floor.Height, floor.Hash().Hex())
}
