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
	for round := 0; ; round++ {
		if round > 0 {
			// What the committee source knows grows with time: a newer
			// management document, new Ethereum events.
			if r, ok := cfg.Verifier.Source.(verify.Refresher); ok {
				if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
					last = fmt.Errorf("refresh the committee source: %w", err)
					onRound(Result{PeersUsed: []string{}, PeersDropped: []Dropped{}}, last)
					if !sleep(ctx, staleAfter) {
						return last
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
		// vcsync holds the store's lock, so every commit is its own: the
		// store is next stale staleAfter after this round.
		if !sleep(ctx, staleAfter) {
			return last
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
