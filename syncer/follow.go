package syncer

import (
	"context"
	"time"
)

// DefaultStaleAfter is how long without a committed block means the node
// is out of sync: the original's no-commit interval, kept above the
// consensus round timeout (14s) so a slow round is not mistaken for it.
const DefaultStaleAfter = 19 * time.Second

// Follow runs the whole flow, then again whenever no block was committed
// for staleAfter, until ctx ends. Each round is a fresh run: peers dropped
// in one round are tried again in the next. onRound hears every round.
func Follow(ctx context.Context, cfg Config, staleAfter time.Duration, onRound func(Result, error)) error {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	for {
		res, err := New(cfg).Sync(ctx)
		if ctx.Err() != nil {
			onRound(res, nil)
			return nil
		}
		onRound(res, err)
		// vcsync holds the store's lock, so every commit is its own: the
		// store is next stale staleAfter after this round.
		wait := staleAfter
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}
