package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/wire"
)

// Flags of the commands that sync from peers.
var (
	peerFlag = &cli.StringSliceFlag{
		Name: "peer", Category: "Peers", EnvVars: []string{"VCSYNC_PEERS"},
		Usage: "peer `URL`, repeatable: http://host:port, or file:///path/blocks.db for another store",
	}
	peersFileFlag  = &cli.StringFlag{Name: "peers-file", Category: "Peers", Usage: "file with one peer URL per line (# comments)"}
	batchFlag      = &cli.Uint64Flag{Name: "batch", Value: syncer.DefaultBatch, Category: "Peers", Usage: "blocks to ask for per batch"}
	chunkFlag      = &cli.IntFlag{Name: "chunk", Value: syncer.DefaultChunk, Category: "Peers", Usage: "blocks per streamed chunk"}
	collectFlag    = &cli.DurationFlag{Name: "collect-timeout", Value: syncer.DefaultCollectTimeout, Category: "Peers", Usage: "how long to collect availability answers"}
	chunkTimeFlag  = &cli.DurationFlag{Name: "chunk-timeout", Value: peerclient.DefaultChunkTimeout, Category: "Peers", Usage: "a peer that delivers no chunk for this long is dropped"}
	seedFlag       = &cli.Int64Flag{Name: "seed", Category: "Peers", Usage: "seed for the random peer choice (0: random); makes a run reproducible"}
	maxBlockFlag   = &cli.IntFlag{Name: "max-block-bytes", Value: block.DefaultMaxSize, Category: "Peers", Usage: "largest block accepted from a peer"}
	staleAfterFlag = &cli.DurationFlag{Name: "stale-after", Value: syncer.DefaultStaleAfter, Usage: "with --follow: run again when no block was committed for this long"}
)

func syncFlags() []cli.Flag {
	return append([]cli.Flag{storeFlag, lockTimeoutFlag, jsonFlag, chainIDFlag, networkTypeFlag,
		peerFlag, peersFileFlag, batchFlag, chunkFlag, collectFlag, chunkTimeFlag, seedFlag, maxBlockFlag}, verifierFlags()...)
}

func peerOptions(c *cli.Context) peerclient.Options {
	return peerclient.Options{MaxBlock: c.Int(maxBlockFlag.Name), ChunkTimeout: c.Duration(chunkTimeFlag.Name)}
}

// openPeers builds the peers named by --peer and --peers-file.
func openPeers(c *cli.Context) ([]peerclient.Peer, error) {
	addrs := append([]string(nil), c.StringSlice(peerFlag.Name)...)
	if path := c.String(peersFileFlag.Name); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--peers-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line != "" && !strings.HasPrefix(line, "#") {
				addrs = append(addrs, line)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--peers-file: %w", err)
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("no peers: give --peer URL (repeatable) or --peers-file")
	}
	var peers []peerclient.Peer
	for _, a := range addrs {
		p, err := peerclient.Open(a, peerOptions(c))
		if err != nil {
			return nil, usageError(err)
		}
		if sp, ok := p.(*peerclient.StorePeer); ok && sameFile(sp.Path(), c.String(storeFlag.Name)) {
			return nil, usageError(fmt.Errorf("peer %s is the store being synced: a store cannot be its own peer", a))
		}
		peers = append(peers, p)
	}
	return peers, nil
}

// sameFile reports whether two paths name one file (or, if it does not
// exist yet, the same absolute path).
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}

// openWritableStore opens the store to sync into, or, given --chain-id and
// --network-type, creates it (it appears once it holds a verified block).
func openWritableStore(c *cli.Context) (*store.Store, error) {
	opts := store.Options{Create: true, LockTimeout: lockTimeout(c), MaxBlock: c.Int(maxBlockFlag.Name)}
	chain, network := c.IsSet(chainIDFlag.Name), c.IsSet(networkTypeFlag.Name)
	if chain != network {
		return nil, usageError(errors.New("--chain-id and --network-type go together: give both (neither has a default)"))
	}
	if chain {
		opts.Identity = &store.Identity{ChainID: uint32(c.Uint(chainIDFlag.Name)), NetworkType: uint32(c.Uint(networkTypeFlag.Name))}
	}
	s, err := store.Open(c.String(storeFlag.Name), opts)
	if err != nil && !chain && !errors.Is(err, store.ErrDamaged) && !errors.Is(err, store.ErrLocked) {
		if _, statErr := os.Stat(c.String(storeFlag.Name)); errors.Is(statErr, os.ErrNotExist) {
			return nil, usageError(fmt.Errorf("store %s does not exist: creating one needs --chain-id and --network-type", c.String(storeFlag.Name)))
		}
	}
	return s, err
}

// newSyncer wires the sync core from the flags.
func newSyncer(c *cli.Context, s *store.Store, peers []peerclient.Peer, obs syncer.Observer) (syncer.Config, error) {
	v, err := newVerifier(c, s.Identity())
	if err != nil {
		return syncer.Config{}, err
	}
	seed := c.Int64(seedFlag.Name)
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	return syncer.Config{
		Store: s, Verifier: v, Peers: peers, Batch: c.Uint64(batchFlag.Name), Chunk: c.Int(chunkFlag.Name),
		CollectTimeout: c.Duration(collectFlag.Name), Rand: rand.New(rand.NewSource(seed)), Observer: obs,
	}, nil
}

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
}

// syncFailure maps sync errors: a run that could not finish exits 1.
func syncFailure(err error) error {
	if errors.Is(err, syncer.ErrNoPeer) || errors.Is(err, syncer.ErrIncomplete) || errors.Is(err, syncer.ErrInterrupted) || errors.Is(err, context.Canceled) {
		return failed(err)
	}
	return err
}
