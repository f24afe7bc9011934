package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/wire"
)

// reporter shows sync progress: a bar when stderr is a terminal, plain log
// lines (at most one progress line a second) otherwise.
type reporter struct {
	mu       sync.Mutex
	w        io.Writer
	bar      progress
	tty      bool
	done     uint64
	lastLine time.Time
}

func newReporter(w io.Writer) *reporter {
	return &reporter{w: w, tty: stderrIsTerminal(w)}
}

func (r *reporter) Target(blocks uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tty && r.bar.bar == nil {
		r.bar = newProgress(r.w, r.done+blocks, "syncing")
		r.bar.Set(r.done)
	} else if r.bar.bar != nil {
		r.bar.bar.ChangeMax64(int64(r.done + blocks))
	}
}

func (r *reporter) logf(format string, args ...any) {
	if r.bar.bar != nil {
		r.bar.bar.Clear()
	}
	fmt.Fprintf(r.w, format+"\n", args...)
}

func (r *reporter) Batch(peer string, g wire.Grant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.tty {
		r.logf("batch %d-%d (%d blocks, chunks of %d) from %s", g.From, g.To, g.Blocks(), g.Chunk, peer)
	}
}

func (r *reporter) Committed(st store.State, blocks, _ int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += uint64(blocks)
	r.bar.Set(r.done)
	if !r.tty && time.Since(r.lastLine) >= time.Second {
		r.lastLine = time.Now()
		r.logf("committed %d blocks; InOrder %d, LastSynced %d, Top %d", r.done, st.InOrder, st.LastSynced, st.Top)
	}
}

// Note logs a line of the caller's, between progress updates.
func (r *reporter) Note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logf(format, args...)
}

func (r *reporter) Dropped(peer, kind, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logf("dropped peer %s (%s): %s", peer, kind, reason)
}

func (r *reporter) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bar.Done()
}

// printResult prints a successful run's summary.
func printResult(w io.Writer, res syncer.Result) {
	rate := 0.0
	if res.Seconds > 0 {
		rate = float64(res.Blocks) / res.Seconds
	}
	if res.Blocks == 0 {
		fmt.Fprintf(w, "nothing to sync: the store already holds what the peers have (%.1fs)\n", res.Seconds)
	} else {
		fmt.Fprintf(w, "synced %d blocks (%d-%d), %s in %.1fs: %.0f blocks/s\n",
			res.Blocks, res.SyncedFrom, res.SyncedTo, humanBytes(int64(res.Bytes)), res.Seconds, rate)
	}
	if len(res.PeersUsed) > 0 {
		fmt.Fprintf(w, "peers used: %s\n", strings.Join(res.PeersUsed, ", "))
	}
	for _, d := range res.PeersDropped {
		fmt.Fprintf(w, "peer dropped: %s (%s): %s\n", d.Peer, d.Kind, d.Reason)
	}
	if res.BusyAnswers > 0 {
		fmt.Fprintf(w, "peers busy: %d answers to come back later, %.1fs waited with every useful peer busy\n", res.BusyAnswers, res.BusyWaitSeconds)
	}
	if r := res.Reduced; r != nil {
		fmt.Fprintf(w, "the batch was reduced: %s granted %d of the %d blocks asked (its own batch limit); pull again for the rest\n", r.Peer, r.Granted, r.Asked)
	}
}

// syncFailure maps sync errors: a run that could not finish exits 1.
func syncFailure(err error) error {
	if errors.Is(err, syncer.ErrNoPeer) || errors.Is(err, syncer.ErrIncomplete) || errors.Is(err, syncer.ErrInterrupted) || errors.Is(err, context.Canceled) ||
		errors.Is(err, syncer.ErrDiverged) {
		return failed(err)
	}
	return err
}
