package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/wire"
)

// reporter shows sync progress: a bar when stderr is a terminal and the
// logs are text, log records otherwise (at most one progress record a
// second), with structured fields.
type reporter struct {
	mu       sync.Mutex
	w        io.Writer
	log      *slog.Logger
	bar      progress
	tty      bool
	done     uint64
	lastLine time.Time
}

func newReporter(w io.Writer, logs logOptions) *reporter {
	return &reporter{w: w, log: logs.logger(w), tty: !logs.json && stderrIsTerminal(w)}
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

// record logs one line, clearing the bar first so the two never mix.
func (r *reporter) record(level slog.Level, msg string, attrs ...any) {
	if r.bar.bar != nil {
		r.bar.bar.Clear()
	}
	r.log.Log(context.Background(), level, msg, attrs...)
}

func (r *reporter) Batch(peer string, g wire.Grant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.tty {
		r.record(slog.LevelInfo, "batch", "peer", peer, "from", g.From, "to", g.To, "blocks", g.Blocks(), "chunk", g.Chunk)
	}
}

func (r *reporter) Committed(st store.State, blocks, _ int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done += uint64(blocks)
	r.bar.Set(r.done)
	if !r.tty && time.Since(r.lastLine) >= time.Second {
		r.lastLine = time.Now()
		r.record(slog.LevelInfo, "committed", "blocks", r.done, "in_order", st.InOrder, "last_synced", st.LastSynced, "top", st.Top)
	}
}

// Note logs a record of the caller's, between progress updates.
func (r *reporter) Note(level slog.Level, msg string, attrs ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(level, msg, attrs...)
}

func (r *reporter) Dropped(peer, kind, reason string) {
	if a := dropAdvice(syncer.DropKind(kind)); a != "" {
		reason += "; " + a
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(slog.LevelWarn, "peer dropped", "peer", peer, "kind", kind, "reason", reason)
}

func (r *reporter) PeerTip(uint64)              {}
func (r *reporter) Timed(string, time.Duration) {}

// writer is where prose notes of other code go: one record per line.
func (r *reporter) writer(level slog.Level) io.Writer { return lineLogger{log: r.log, level: level} }

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
