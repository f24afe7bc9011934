package syncer

import (
	"context"
	"fmt"
	"math/rand"
	"time"
)

// DefaultStaleAfter is how long without a committed block means the node
// is out of sync: the original's no-commit interval, kept above the
// consensus round timeout (14s) so a slow round is not mistaken for it.
const DefaultStaleAfter = 19 * time.Second

// Follow runs the whole flow, then again whenever no block was committed
// for staleAfter, until ctx ends. Each round is a fresh run: peers dropped
// in one round are tried again in the next. onRound hears every round.
// It returns the error of the last round that ran to its end (nil if that
// round succeeded), so a follower whose rounds fail exits as failing.
func Follow(ctx context.Context, cfg Config, staleAfter time.Duration, onRound func(Result, error)) error {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	var last error
	fails := 0 // failed rounds in a row
	wait := staleAfter
	// round reports a round's end with when the next one starts: after
	// staleAfter, or after a backoff that doubles with each failed round in
	// a row (with jitter, at most maxFollowBackoff), so a follower whose
	// peers are down does not hammer them.
	round := func(res Result, err error) {
		last = err
		if err == nil {
			fails, wait = 0, staleAfter
		} else {
			fails++
			wait = followBackoff(staleAfter, fails, cfg.Rand)
		}
		res.NextRoundSeconds = wait.Seconds()
		onRound(res, err)
	}
	failed := func(err error) { round(Result{PeersUsed: []string{}, PeersDropped: []Dropped{}}, err) }
	for n := 0; ; n++ {
		if n > 0 {
			// Between rounds the store was released (below), so an
			// operator's inspect, verify or export could open it.
			if !sleep(ctx, wait) {
				return last
			}
			if err := acquire(cfg.Store); err != nil {
				failed(err) // locked by a reader for longer than the lock timeout: next round
				continue
			}
			// What the committee source knows grows with time: a newer
			// management document, new Ethereum events.
			if r, ok := cfg.Verifier.(refresher); ok {
				if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
					failed(fmt.Errorf("refresh the committee source: %w", err))
					if err := release(cfg.Store); err != nil {
						return fmt.Errorf("release the store between rounds: %w", err)
					}
					continue
				}
			}
		}
		res, err := New(cfg).Sync(ctx)
		if ctx.Err() != nil {
			if res.Blocks > 0 {
				onRound(res, nil) // what the interrupted round committed
			}
			return last
		}
		round(res, err)
		// Only vcsync writes the store (a node is not run beside it on
		// one store), so it is next stale staleAfter after this round.
		if err := release(cfg.Store); err != nil {
			return fmt.Errorf("release the store between rounds: %w", err)
		}
	}
}

// releasable is a store Follow lets go of between rounds (store.Store is
// one), so an operator's inspect, verify or export can open it meanwhile.
type releasable interface {
	Release() error
	Acquire() error
}

func release(s Store) error {
	if r, ok := s.(releasable); ok {
		return r.Release()
	}
	return nil
}

func acquire(s Store) error {
	if r, ok := s.(releasable); ok {
		return r.Acquire()
	}
	return nil
}

// refresher is a verifier whose committee source learns with time
// (verify.Verifier is one).
type refresher interface {
	Refresh(ctx context.Context) error
}

// maxFollowBackoff caps the wait after failed rounds: a follower notices a
// peer that came back within five minutes.
const maxFollowBackoff = 5 * time.Minute

// followBackoff is the wait after the nth failed round in a row: staleAfter
// doubled n-1 times, at most maxFollowBackoff (or staleAfter if that is
// longer), plus up to half again at random.
func followBackoff(staleAfter time.Duration, n int, r *rand.Rand) time.Duration {
	d := min(staleAfter<<min(n-1, 10), max(maxFollowBackoff, staleAfter))
	if r == nil {
		return d
	}
	return d + time.Duration(r.Int63n(int64(d/2)+1))
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
