package commands

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/exportfile"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
)

// syncOptions is what sync, pull, close-gaps and import were asked: they
// run the same core and differ only in how much of the flow they run.
type syncOptions struct {
	mode        syncMode
	store       storeOptions
	ids         identityOptions
	peerURLs    cli.StringSlice
	peersFile   string
	verifier    verifierOptions
	batch       uint64
	chunk       int
	collect     time.Duration
	chunkWait   time.Duration
	busyWait    time.Duration
	metricsAddr string
	maxBlock    int
	seed        int64
	json        bool
	follow      bool
	staleAfter  time.Duration
	from, to    uint64 // pull
	parallel    int
	trustGiven  string // --trust as given
	logs        logOptions

	// Made by check from what the flags gave.
	identity    *store.Identity // --chain-id and --network-type, both or neither
	peers       []string        // peer addresses, or the export file for import
	needGenesis bool            // the Ethereum source was named without --genesis-ref-time
	sha256      string          // import: the file's expected SHA-256, hex
	trust       *syncer.Checkpoint
}

// syncMode is which of the commands sharing the sync core is running,
// fixed when the command is built.
type syncMode int

const (
	modeSync      syncMode = iota // sync (and sync --follow)
	modePull                      // pull: one batch
	modeCloseGaps                 // close-gaps: the gap only
	modeImport                    // import: an export file as the one peer
)

// flags declares the flags of the command the mode names, bound to o.
func (o *syncOptions) flags() []cli.Flag {
	var flags []cli.Flag
	if o.mode == modeImport {
		flags = append(flags, &cli.StringFlag{Name: "sha256", Destination: &o.sha256,
			Usage: "refuse the file unless its SHA-256 is `HEX` (as export printed it)"})
	}
	flags = append(flags, o.store.flags()...)
	flags = append(flags, jsonFlag(&o.json))
	flags = append(flags, o.ids.flags()...)
	fromPeers := o.mode != modeImport // import's one peer is its file
	if fromPeers {
		flags = append(flags, peerFlag(&o.peerURLs),
			&cli.StringFlag{Name: "peers-file", Category: "Peers", Destination: &o.peersFile, Usage: "file with one peer URL per line (# comments)"})
	}
	flags = append(flags, boundedUint64(&cli.Uint64Flag{Name: "batch", Value: syncer.DefaultBatch, Category: "Peers", Destination: &o.batch,
		Usage: "blocks to ask for per batch"}, 1, 1_000_000), chunkFlag(&o.chunk))
	if fromPeers {
		flags = append(flags, boundedDuration(&cli.DurationFlag{Name: "collect-timeout", Value: syncer.DefaultCollectTimeout, Category: "Peers", Destination: &o.collect,
			Usage: "how long to collect availability answers"}, time.Millisecond, 10*time.Minute))
	}
	flags = append(flags, chunkTimeoutFlag(&o.chunkWait),
		boundedDuration(&cli.DurationFlag{Name: "busy-timeout", Value: syncer.DefaultBusyTimeout, Category: "Peers", Destination: &o.busyWait,
			Usage: "how long to wait in a row while every useful peer answers busy (503) before giving up; a busy peer is never dropped"}, time.Millisecond, 24*time.Hour),
		metricsAddrFlag(&o.metricsAddr))
	if fromPeers {
		flags = append(flags, &cli.Int64Flag{Name: "seed", Category: "Peers", Destination: &o.seed,
			Usage: "seed for the random peer choice (0: random); makes a run reproducible"})
	}
	flags = append(flags, maxBlockFlag(&o.maxBlock),
		boundedInt(&cli.IntFlag{Name: "parallel", Value: syncer.DefaultParallel, Category: "Peers", Destination: &o.parallel,
			Usage: "batches fetched at once, from different peers (1: one at a time)"}, 1, 64),
		&cli.StringFlag{Name: "trust", Category: "Verification", Destination: &o.trustGiven,
			Usage: "trusted checkpoint `HEIGHT:HASH`: the block at HEIGHT must have HASH (read it from a node you trust with inspect --block); it anchors the chain below it in place of the tip rule, for chains older than the honesty grace"})
	flags = append(flags, o.logs.flags()...)
	flags = append(flags, o.verifier.flags()...)
	switch o.mode {
	case modeSync:
		flags = append(flags, &cli.BoolFlag{Name: "follow", Destination: &o.follow, Usage: "keep syncing whenever the store goes stale"},
			boundedDuration(&cli.DurationFlag{Name: "stale-after", Value: syncer.DefaultStaleAfter, Destination: &o.staleAfter,
				Usage: "with --follow: run again when no block was committed for this long"}, time.Second, 24*time.Hour))
	case modePull:
		flags = append(flags, &cli.Uint64Flag{Name: "from", DefaultText: "as sync plans it", Destination: &o.from, Usage: "highest height to pull"},
			&cli.Uint64Flag{Name: "to", DefaultText: "as far as the batch goes", Destination: &o.to, Usage: "lowest height to pull"})
	}
	return flags
}

// check reads what the flags gave into what the run needs, refusing what
// does not go together before anything is opened.
func (o *syncOptions) check(c *cli.Context) error {
	o.store.notices = c.App.ErrWriter
	var err error
	if o.identity, err = o.ids.identity(); err != nil {
		return err
	}
	if o.trust, err = checkpointFrom(o.trustGiven); err != nil {
		return err
	}
	if err = o.logs.check(); err != nil {
		return err
	}
	if o.from != 0 && o.to > o.from {
		return usageError(fmt.Errorf("--to %d is above --from %d: a pull runs from a higher height down to a lower one", o.to, o.from))
	}
	if o.trust != nil && o.follow {
		return usageError(errors.New("--trust and --follow do not go together: a checkpoint anchors one run down from it; follow without it"))
	}
	if o.mode == modeImport {
		o.peers = c.Args().Slice()
		given := o.sha256
		if o.sha256 = strings.ToLower(strings.TrimPrefix(given, "0x")); o.sha256 != "" && !validSHA256(o.sha256) {
			return usageError(fmt.Errorf("--sha256 %q is not a SHA-256 (64 hex digits); see vcsync import --help", given))
		}
	} else if o.peers, err = o.peerAddresses(); err != nil {
		return err
	}
	if err = o.verifier.choose(c, o.store.path); err != nil {
		return err
	}
	o.needGenesis = o.verifier.source == sourceEthereum && !o.verifier.eth.genesisGiven
	return nil
}

// peerAddresses reads --peer and --peers-file.
func (o *syncOptions) peerAddresses() ([]string, error) {
	addrs := append([]string(nil), o.peerURLs.Value()...)
	if path := o.peersFile; path != "" {
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
		return nil, usageError(errors.New("no peers: give --peer URL (repeatable) or --peers-file"))
	}
	return addrs, nil
}

func (o syncOptions) peerOptions() peerclient.Options {
	return peerclient.Options{MaxBlock: o.maxBlock, ChunkTimeout: o.chunkWait}
}

// openPeers builds the peers, refusing the store itself as its own peer;
// for import, the one peer is the file, also returned.
func (o syncOptions) openPeers(ctx context.Context) ([]peerclient.Peer, *exportfile.File, error) {
	if o.mode == modeImport {
		file := exportfile.NewFile(o.peers[0], o.peerOptions())
		peers := []peerclient.Peer{&peerclient.Local{Source: file}}
		_, err := file.Availability(ctx)
		return peers, file, err
	}
	var peers []peerclient.Peer
	for _, a := range o.peers {
		p, err := peerclient.Open(a, o.peerOptions())
		if err != nil {
			return nil, nil, usageError(err)
		}
		if local, ok := p.(*peerclient.Local); ok {
			if sf, ok := local.Source.(*peerclient.StoreFile); ok && sameFile(sf.Path(), o.store.path) {
				return nil, nil, usageError(fmt.Errorf("peer %s is the store being synced: a store cannot be its own peer", a))
			}
		}
		peers = append(peers, p)
	}
	return peers, nil, nil
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

// openStore opens the store to sync into, or, given the identity, creates
// it (it appears once it holds a verified block).
func (o syncOptions) openStore() (*store.Store, error) {
	s, err := o.store.opened(store.Open(o.store.path, o.createOptions()))
	if err != nil && o.identity == nil && !errors.Is(err, store.ErrDamaged) && !errors.Is(err, store.ErrLocked) {
		if _, statErr := os.Stat(o.store.path); errors.Is(statErr, os.ErrNotExist) {
			return nil, usageError(fmt.Errorf("store %s does not exist: creating one needs --chain-id and --network-type", o.store.path))
		}
	}
	return s, err
}

// createOptions open the store to sync into, creating it with the identity
// given.
func (o syncOptions) createOptions() store.Options {
	opts := o.store.options(false)
	opts.Create, opts.Identity, opts.MaxBlock = true, o.identity, o.maxBlock
	return opts
}

// run validates everything it can before touching the store, then runs the
// core and prints the result.
func (o syncOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.needGenesis {
		// Found at block 1 otherwise, after the whole chain above it was synced.
		return usageError(errors.New("syncing with --eth-rpc needs --genesis-ref-time: block 1's committee is named by the chain's genesis reference time"))
	}
	peers, file, err := o.openPeers(ctx)
	defer func() {
		for _, p := range peers {
			if closer, ok := p.(io.Closer); ok {
				closer.Close() // file:// peers hold a read lock on another store
			}
		}
	}()
	if err != nil {
		return err
	}
	if o.mode == modeImport {
		if o, err = o.beforeImport(file); err != nil {
			return err
		}
	}
	s, err := o.openStore()
	if err != nil {
		return err
	}
	defer s.Close()
	rep := newReporter(stderr, o.logs)
	v, err := o.verifier.verifier(ctx, s.Identity(), rep.writer(slog.LevelWarn))
	if err != nil {
		return err
	}
	seed := o.seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	if os.Getenv("GOMEMLIMIT") == "" { // an operator's own limit wins
		// The downloads are bounded; the limit keeps garbage from doubling them.
		debug.SetMemoryLimit(syncer.SoftMemoryLimit(o.parallel))
	}
	reg, stopMetrics, err := startMetrics(ctx, o.metricsAddr, rep.log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if st, err := s.State(); err == nil {
		reg.Store(st)
	}
	reg.WatchSignatures(v.Recoveries)
	eth, _ := v.Source.(*ethpos.EthSource)
	if eth != nil {
		reg.WatchEthereum(eth)
	}
	cfg := syncer.Config{Store: s, Verifier: v, Peers: peers, Batch: o.batch, Chunk: o.chunk,
		CollectTimeout: o.collect, Rand: rand.New(rand.NewSource(seed)), Observer: observers{rep, reg}, Parallel: o.parallel,
		SlowAfter: 4 * o.chunkWait, BusyTimeout: o.busyWait, Trust: o.trust}
	var res syncer.Result
	var runErr error
	switch {
	case o.mode == modePull:
		res, runErr = syncer.New(cfg).Pull(ctx, o.from, o.to)
	case o.mode == modeCloseGaps:
		res, runErr = syncer.New(cfg).CloseGap(ctx)
	case o.follow:
		stopNotify := notifySystemd(ctx, rep.log, "following "+o.store.path)
		defer stopNotify()
		round := 0
		runErr = syncer.Follow(ctx, cfg, o.staleAfter, func(res syncer.Result, err error) {
			round++
			reg.Round(err)
			adviseDrops(&res)
			if err != nil {
				next := time.Duration(res.NextRoundSeconds * float64(time.Second)).Round(time.Second)
				rep.Note(slog.LevelWarn, "sync round failed", "round", round, "error", err.Error(), "next_round_in", next.String(),
					"next_round_at", time.Now().Add(next).Format(time.RFC3339))
			}
			o.printRound(stdout, round, res, err)
		})
		rep.finish()
		return syncFailure(runErr)
	default:
		res, runErr = syncer.New(cfg).Sync(ctx)
	}
	adviseDrops(&res)
	if t := o.trust; t != nil {
		if err := s.SetCheckpoint(t.Height, t.Hash); err == nil {
			rep.Note(slog.LevelInfo, "trusted checkpoint recorded in the store", "height", t.Height, "hash", t.Hash.Hex())
		} else if !errors.Is(err, store.ErrNotFound) && runErr == nil {
			runErr = err
		}
	}
	var fileSum string
	if o.mode == modeImport && runErr == nil {
		fileSum, runErr = o.afterImport(file)
	}
	if eth != nil {
		block, cache := eth.Indexed()
		rep.Note(slog.LevelInfo, "ethereum index", "cache", cache, "indexed_to_block", block, "rpc_calls", eth.Calls())
	}
	rep.finish()
	switch {
	case o.json:
		// Scripts get the summary either way, with the error in it.
		r := syncReport(res, runErr)
		r.EthRetries, r.SHA256 = ethRetries(v.Source), fileSum
		if eth != nil {
			_, r.EthCache = eth.Indexed()
		}
		if err := printOutcome(stdout, r, syncFailure(runErr)); err != nil {
			return err
		}
	case runErr == nil:
		printResult(stdout, res)
		if fileSum != "" {
			fmt.Fprintf(stdout, "file sha256 %s\n", fileSum)
		}
		if r, err := stateReport(s); err == nil {
			printState(stdout, r)
		}
	}
	return syncFailure(runErr)
}

// printRound prints one round of sync --follow: a compact JSON object per
// line with --json (NDJSON), a summary line otherwise.
func (o syncOptions) printRound(w io.Writer, round int, res syncer.Result, err error) {
	if o.json {
		r := syncReport(res, err)
		r.Round = round
		writeJSONLine(w, r, syncFailure(err))
		return
	}
	if err == nil {
		fmt.Fprintf(w, "round %d: ", round)
		printResult(w, res)
	}
}

func validSHA256(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) == 64
}

// beforeImport fits the run to the file: a pipe is read once, one batch at
// a time; a regular file with --sha256 is checked before anything of it
// is imported.
func (o syncOptions) beforeImport(p *exportfile.File) (syncOptions, error) {
	pipe, err := p.Sequential()
	if err != nil {
		return o, err
	}
	if pipe {
		o.parallel = 1
		return o, nil
	}
	if o.sha256 != "" {
		sum, err := p.Finish()
		if err != nil {
			return o, err
		}
		if sum != o.sha256 {
			return o, fmt.Errorf("%s: SHA-256 is %s, not %s (--sha256): it is not the file that was exported; nothing was imported", o.peers[0], sum, o.sha256)
		}
	}
	return o, nil
}

// afterImport reads a pipe to its end (the writer is not cut off) and
// checks its SHA-256; a pipe can only be checked once read, so the blocks
// imported from it before a mismatch stay: each was verified like any
// peer's. It returns the SHA-256 when it knows it.
func (o syncOptions) afterImport(p *exportfile.File) (string, error) {
	pipe, _ := p.Sequential()
	if !pipe {
		return o.sha256, nil // checked before the import
	}
	sum, err := p.Finish()
	if err != nil {
		return "", err
	}
	if o.sha256 != "" && sum != o.sha256 {
		return sum, failed(fmt.Errorf("%s: SHA-256 is %s, not %s (--sha256): the stream is not the file that was exported; "+
			"the blocks imported from it were each verified and stay", p.Name(), sum, o.sha256))
	}
	return sum, nil
}

// checkpointFrom parses --trust HEIGHT:HASH.
func checkpointFrom(v string) (*syncer.Checkpoint, error) {
	if v == "" {
		return nil, nil
	}
	hs, hash, ok := strings.Cut(v, ":")
	height, err := strconv.ParseUint(hs, 10, 64)
	if !ok || err != nil || height == 0 || !validSHA256(strings.TrimPrefix(strings.ToLower(hash), "0x")) {
		return nil, usageError(fmt.Errorf("--trust %q is not HEIGHT:HASH (a height of 1 or more and a block hash of 64 hex digits, as inspect --block prints them)", v))
	}
	return &syncer.Checkpoint{Height: height, Hash: common.HexToHash(hash)}, nil
}
