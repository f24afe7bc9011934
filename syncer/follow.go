package syncer

import (
	"context"
	"fmt"
	"time"

	"github.com/vcsync/vcsync/verify"
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
	failed := func(err error) {
		last = err
		onRound(Result{PeersUsed: []string{}, PeersDropped: []Dropped{}}, err)
	}
	for round := 0; ; round++ {
		if round > 0 {
			// Between rounds the store was released (below), so an
			// operator's inspect, verify or export could open it.
			if !sleep(ctx, staleAfter) {
				return last
			}
			if err := cfg.Store.Acquire(); err != nil {
				failed(err) // locked by a reader for longer than the lock timeout: next round
				continue
			}
			// What the committee source knows grows with time: a newer
			// management document, new Ethereum events.
			if r, ok := cfg.Verifier.Source.(verify.Refresher); ok {
				if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
					failed(fmt.Errorf("refresh the committee source: %w", err))
					if err := cfg.Store.Release(); err != nil {
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
		last = err
		onRound(res, err)
		// Only vcsync writes the store (a node is not run beside it on
		// one store), so it is next stale staleAfter after this round.
		if err := cfg.Store.Release(); err != nil {
			return fmt.Errorf("release the store between rounds: %w", err)
		}
	}
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
