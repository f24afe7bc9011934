package syncer

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"

	"github.com/vcsync/vcsync/peerclient"
)

// A busy peer is not a faulty one. A peer that answers a batch request
// with "later" (HTTP 503 or 429, or a refused connection) is set aside
// until its Retry-After, or an exponential backoff with jitter, has
// passed; the sync uses other peers meanwhile, and when every peer that
// serves what it needs is busy it waits for the first to come back, for
// at most BusyTimeout in a row. A busy peer is never dropped.

// DefaultBusyTimeout is how long a sync waits in a row when every peer
// that could help is busy: long enough for a fleet of clients to take
// turns on one server, short enough that a script learns of a peer that
// is never free.
const DefaultBusyTimeout = 2 * time.Minute

// Backoff for a busy peer that gave no Retry-After: 250 ms doubling up to
// 8 s, each with up to half of it again as jitter, so clients refused at
// the same moment do not come back at the same moment.
const (
	busyBackoffBase = 250 * time.Millisecond
	busyBackoffMax  = 8 * time.Second
)

// busyPeer is a peer set aside until until.
type busyPeer struct {
	until   time.Time
	refusal int // consecutive busy answers, for the backoff
	reason  string
}

// markBusy sets peer aside if err is its "later", and reports whether it was.
func (s *Syncer) markBusy(peer peerclient.Peer, err error) bool {
	var be *peerclient.BusyError
	if !errors.As(err, &be) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.busy[peer.Name()]
	if b == nil {
		b = &busyPeer{}
		s.busy[peer.Name()] = b
	}
	wait := be.RetryAfter
	if wait <= 0 {
		wait = backoff(b.refusal, s.cfg.Rand)
	}
	b.refusal++
	b.until, b.reason = time.Now().Add(wait), be.Reason
	s.res.BusyAnswers++
	return true
}

// backoff is the wait after the nth consecutive busy answer.
func backoff(n int, r *rand.Rand) time.Duration {
	d := busyBackoffBase << min(n, 5)
	d = min(d, busyBackoffMax)
	return d + time.Duration(r.Int63n(int64(d/2)+1))
}

// notBusy records that peer served: its backoff starts again from the base.
func (s *Syncer) notBusy(peer peerclient.Peer) {
	s.mu.Lock()
	delete(s.busy, peer.Name())
	s.busySince = time.Time{}
	s.mu.Unlock()
}

// busyUntil is when peer may be asked again (zero: now).
func (s *Syncer) busyUntil(peer peerclient.Peer) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.busy[peer.Name()]; b != nil {
		return b.until
	}
	return time.Time{}
}

// waitForBusy waits until the earliest of candidates may be asked again,
// and returns its index. It gives up with ErrNoPeer once the peers have
// been busy for BusyTimeout in a row.
func (s *Syncer) waitForBusy(ctx context.Context, candidates []answer) (int, error) {
	first := 0
	for i, c := range candidates {
		if s.busyUntil(c.peer).Before(s.busyUntil(candidates[first].peer)) {
			first = i
		}
	}
	now := time.Now()
	s.mu.Lock()
	if s.busySince.IsZero() {
		s.busySince = now
	}
	since := s.busySince
	s.mu.Unlock()
	until := s.busyUntil(candidates[first].peer)
	if until.Sub(since) > s.cfg.BusyTimeout {
		return 0, fmt.Errorf("%w: every peer that serves it has been busy for %s (%s)", ErrNoPeer,
			now.Sub(since).Round(time.Millisecond), s.busyReasons(candidates))
	}
	t := time.NewTimer(until.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	s.mu.Lock()
	s.res.BusyWaitSeconds += time.Since(now).Seconds()
	s.mu.Unlock()
	return first, nil
}

func (s *Syncer) busyReasons(candidates []answer) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var why []string
	for _, c := range candidates {
		if b := s.busy[c.peer.Name()]; b != nil {
			why = append(why, c.peer.Name()+": "+b.reason)
		}
	}
	sort.Strings(why)
	return strings.Join(why, "; ")
}
