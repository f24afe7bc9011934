package syncer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/wire"
)

type answer struct {
	peer  peerclient.Peer
	avail wire.Availability
	err   error
}

// availDropKind classifies a failed availability question.
func availDropKind(err error) DropKind {
	if k := streamDropKind(err); k == DropProtocol || k == DropDamaged {
		return k
	}
	return DropUnreachable
}

// choose asks every live peer for its availability at once, collects the
// answers for up to CollectTimeout, keeps those of our chain that can serve
// the request, and picks one at random. A nil peer with a nil error means
// every answering peer is at or below our Top: the store is synced.
func (s *Syncer) choose(ctx context.Context, st store.State, req request) (peerclient.Peer, wire.Availability, error) {
	var live []peerclient.Peer
	for _, p := range s.cfg.Peers {
		if !s.isDropped(p) {
			live = append(live, p)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CollectTimeout)
	// The askers are owned here: a late one is cancelled and waited for,
	// its answer (buffered) dropped.
	var askers sync.WaitGroup
	defer askers.Wait()
	defer cancel()
	s.mu.Lock()
	s.asked = true
	s.mu.Unlock()
	answers := make(chan answer, len(live))
	for _, p := range live {
		askers.Go(func() {
			a, err := p.Availability(cctx)
			answers <- answer{p, a, err}
		})
	}
	var (
		candidates []answer
		why        []string
		answered   int
		valid      []answer
	)
	id := s.cfg.Store.Identity()
collect:
	for range live {
		select {
		case a := <-answers:
			s.noteAnswer(a.peer)
			switch {
			case a.err != nil:
				s.drop(a.peer, availDropKind(a.err), "%v", a.err) // the kind says "unreachable"; the reason says why
			case a.avail.Identity() != id:
				s.drop(a.peer, DropWrongChain, "serves %s, the store holds %s", a.avail.Identity(), id)
			case a.avail.ServeFrom > a.avail.ServeTo || (a.avail.ServeTo > 0 && a.avail.ServeFrom == 0):
				s.drop(a.peer, DropLied, "advertised an impossible range %d-%d", a.avail.ServeFrom, a.avail.ServeTo)
			default:
				answered++
				valid = append(valid, a)
				if serves(a.avail, st, req) {
					candidates = append(candidates, a)
				} else {
					why = append(why, fmt.Sprintf("%s serves %d-%d", a.peer.Name(), a.avail.ServeFrom, a.avail.ServeTo))
				}
			}
		case <-cctx.Done():
			break collect
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, wire.Availability{}, err
	}
	var best uint64
	for _, a := range valid {
		best = max(best, a.avail.Top)
	}
	if best > 0 {
		s.cfg.Observer.PeerTip(best)
	}
	if err := s.checkDivergence(ctx, st, valid); err != nil {
		return nil, wire.Availability{}, err
	}
	valid, candidates = s.notDropped(valid), s.notDropped(candidates)
	s.known = valid
	if len(candidates) == 0 {
		if req.from == 0 && len(s.carry) == 0 && answered > 0 && req.to <= st.Top+1 {
			return nil, wire.Availability{}, nil // nobody is ahead of us
		}
		return nil, wire.Availability{}, s.noPeer(st, req, why)
	}
	// Sort before the random pick so that --seed reproduces the choice
	// whatever order the answers arrived in.
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].peer.Name() < candidates[j].peer.Name() })
	// A busy peer waits its turn; when all are busy, the first back is used.
	free := candidates[:0:0]
	for _, c := range candidates {
		if !s.busyUntil(c.peer).After(time.Now()) {
			free = append(free, c)
		}
	}
	if len(free) == 0 {
		i, err := s.waitForBusy(ctx, candidates)
		if err != nil {
			return nil, wire.Availability{}, err
		}
		return candidates[i].peer, candidates[i].avail, nil
	}
	c := s.pick(free)
	return c.peer, c.avail, nil
}

// pick is the one random choice among peers (sorted by name, so that
// --seed reproduces it whatever order their answers arrived in); a Choose
// that answers out of range picks the first.
func (s *Syncer) pick(pool []answer) answer {
	sort.Slice(pool, func(i, j int) bool { return pool[i].peer.Name() < pool[j].peer.Name() })
	names := make([]string, len(pool))
	for i, a := range pool {
		names[i] = a.peer.Name()
	}
	i := s.cfg.Choose(names)
	if i < 0 || i >= len(pool) {
		i = 0
	}
	return pool[i]
}

// serves reports whether a peer can give the first block a request needs.
func serves(a wire.Availability, st store.State, req request) bool {
	if req.from == 0 {
		// A tip batch asked down to req.to (a pull's --to may lie above
		// Top + 1) needs a peer that has that height.
		return a.ServeTo > st.Top && a.ServeTo >= req.to
	}
	return a.ServeFrom <= req.from && req.from <= a.ServeTo
}

func (s *Syncer) noPeer(st store.State, req request, why []string) error {
	want := "a height above Top " + fmt.Sprint(st.Top)
	switch {
	case req.from != 0:
		want = fmt.Sprintf("height %d", req.from)
	case req.to > st.Top+1:
		want = fmt.Sprintf("height %d (the pull's lowest)", req.to)
	}
	s.mu.Lock()
	for name, reason := range s.dropped {
		why = append(why, fmt.Sprintf("%s dropped: %s", name, reason))
	}
	s.mu.Unlock()
	sort.Strings(why)
	if len(why) == 0 {
		why = []string{"no peer answered within the collect timeout"}
	}
	return fmt.Errorf("%w: none serves %s (%s)", ErrNoPeer, want, strings.Join(why, "; "))
}

// noteAnswer records that p answered an availability question in time.
func (s *Syncer) noteAnswer(p peerclient.Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.answered == nil {
		s.answered = map[string]bool{}
	}
	s.answered[p.Name()] = true
}

// notDropped filters out the answers of peers dropped since they answered.
func (s *Syncer) notDropped(answers []answer) []answer {
	out := answers[:0:0]
	for _, a := range answers {
		if !s.isDropped(a.peer) {
			out = append(out, a)
		}
	}
	return out
}
