package syncer

import (
	"errors"
	"fmt"

	"github.com/vcsync/vcsync/exportfile"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
	"github.com/vcsync/vcsync/wire"
)

// DropKind says why a peer was dropped, for summaries, scripts and tests.
type DropKind string

// Why peers are dropped. Each is the peer's fault; none stops the run.
const (
	DropBadBlock     DropKind = "bad_block"     // a block failed verification
	DropUntrustedTip DropKind = "untrusted_tip" // its tip is past the honesty grace and not signed by honest stake of the current committee
	DropLied         DropKind = "lied"          // its availability or grant does not match what it does or was asked
	DropStalled      DropKind = "stalled"       // nothing arrived within the chunk timeout
	DropSlow         DropKind = "slow"          // less than a chunk per chunk timeout
	DropDisconnected DropKind = "disconnected"  // the connection failed mid-batch
	DropProtocol     DropKind = "protocol"      // broke the wire rules: frames, heights, redirects
	DropUnreachable  DropKind = "unreachable"   // did not answer the availability question
	DropWrongChain   DropKind = "wrong_chain"   // serves another chain
	DropDamaged      DropKind = "damaged"       // a file:// peer whose store file is damaged, or a truncated export file
)

// Dropped is a peer dropped during the run and why.
type Dropped struct {
	Peer   string   `json:"peer"`
	Kind   DropKind `json:"kind"`
	Reason string   `json:"reason"`
}

// streamDropKind classifies an error a peer's stream returned.
func streamDropKind(err error) DropKind {
	switch {
	case errors.Is(err, peerclient.ErrStalled):
		return DropStalled
	case errors.Is(err, peerclient.ErrSlow):
		return DropSlow
	case errors.Is(err, wire.ErrProtocol), errors.Is(err, peerclient.ErrRedirect):
		return DropProtocol
	case errors.Is(err, verify.ErrInvalidBlock):
		return DropBadBlock
	case errors.Is(err, store.ErrDamaged), errors.Is(err, store.ErrUndecodable), errors.Is(err, exportfile.ErrTruncated):
		return DropDamaged
	default:
		return DropDisconnected
	}
}

// dropRefused drops a peer whose request for a batch it advertised
// failed: a refusal, or a range it will not serve, is a lie; anything
// else is classified as any stream error.
func (s *Syncer) dropRefused(p peerclient.Peer, err error) {
	kind := streamDropKind(err)
	var re *wire.RangeError
	if errors.Is(err, peerclient.ErrRefused) || errors.As(err, &re) {
		kind = DropLied // it advertised the range, then would not serve it
	}
	s.drop(p, kind, "refused the batch it advertised: %v", err)
}

// drop removes a peer for the rest of the run. Whatever it sent that is
// not verified yet (the carried block) goes with it.
func (s *Syncer) drop(p peerclient.Peer, kind DropKind, format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	s.mu.Lock()
	if _, done := s.dropped[p.Name()]; done {
		s.mu.Unlock()
		return
	}
	s.dropped[p.Name()] = reason
	s.res.PeersDropped = append(s.res.PeersDropped, Dropped{Peer: p.Name(), Kind: kind, Reason: reason})
	s.mu.Unlock()
	if s.carryFrom == p {
		s.carry, s.carryFrom = nil, nil
	}
	s.cfg.Observer.Dropped(p.Name(), string(kind), reason)
}

func (s *Syncer) isDropped(p peerclient.Peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.dropped[p.Name()]
	return ok
}
