package commands

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/syncer"
)

func syncCommand() *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "sync the store from peers until it holds 1..tip with no gap",
		Description: "Closes the gap first, then syncs from the network tip down, verifying every block.\n" +
			"Example: vcsync sync --store blocks.db --chain-id 42 --network-type 2 \\\n" +
			"           --management management.json --peer http://10.0.0.5:7700 --peer file:///mnt/old/blocks.db\n" +
			"With --follow it keeps going: when no block was committed for --stale-after, it syncs again.",
		Flags:  append(syncFlags(), &cli.BoolFlag{Name: "follow", Usage: "keep syncing whenever the store goes stale"}, staleAfterFlag),
		Action: runSync,
	}
}

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:  "pull",
		Usage: "pull one batch from a peer (the gap first, unless --from says where)",
		Description: "Example: vcsync pull --store blocks.db --management management.json --peer http://10.0.0.5:7700 --batch 500\n" +
			"--from must be LastSynced-1 while a gap is open, or above Top.",
		Flags: append(syncFlags(),
			&cli.Uint64Flag{Name: "from", Usage: "highest height to pull (0: plan like sync)"},
			&cli.Uint64Flag{Name: "to", Usage: "lowest height to pull (0: as far as the batch goes)"}),
		Action: runSync,
	}
}

func closeGapsCommand() *cli.Command {
	return &cli.Command{
		Name:        "close-gaps",
		Usage:       "only close the gap between InOrder and LastSynced",
		Description: "Example: vcsync close-gaps --store blocks.db --committee-file management.json --peer file:///mnt/backup/blocks.db",
		Flags:       syncFlags(),
		Action:      runSync,
	}
}

// runSync serves sync, pull and close-gaps: they differ only in how much of
// the flow they run.
func runSync(c *cli.Context) error {
	peers, err := openPeers(c)
	if err != nil {
		return err
	}
	return withSyncer(c, peers, func(cfg syncer.Config, rep *reporter) (syncer.Result, error) {
		switch c.Command.Name {
		case "pull":
			return syncer.New(cfg).Pull(c.Context, c.Uint64("from"), c.Uint64("to"))
		case "close-gaps":
			return syncer.New(cfg).CloseGap(c.Context)
		}
		if c.Bool("follow") {
			round := 0
			err := syncer.Follow(c.Context, cfg, c.Duration(staleAfterFlag.Name), func(res syncer.Result, err error) {
				round++
				if err != nil {
					rep.Note("sync round %d: %v", round, err)
				}
				printRound(c, round, res, err)
			})
			return syncer.Result{PeersUsed: []string{}, PeersDropped: []syncer.Dropped{}}, err
		}
		return syncer.New(cfg).Sync(c.Context)
	})
}

// withSyncer opens the store, wires the core and prints the run's result.
func withSyncer(c *cli.Context, peers []peerclient.Peer, run func(syncer.Config, *reporter) (syncer.Result, error)) error {
	defer func() {
		for _, p := range peers {
			if closer, ok := p.(io.Closer); ok {
				closer.Close() // file:// peers hold a read lock on another store
			}
		}
	}()
	s, err := openWritableStore(c)
	if err != nil {
		return err
	}
	defer s.Close()
	rep := newReporter(c.App.ErrWriter)
	cfg, err := newSyncer(c, s, peers, rep)
	if err != nil {
		return err
	}
	res, runErr := run(cfg, rep)
	rep.finish()
	if c.Bool("follow") {
		return syncFailure(runErr)
	}
	switch {
	case c.Bool(jsonFlag.Name):
		// Scripts get the summary either way, with the error in it.
		if err := printJSON(c.App.Writer, syncReport(res, runErr)); err != nil {
			return err
		}
	case runErr == nil:
		printResult(c.App.Writer, res)
		if r, err := stateReport(s); err == nil {
			printState(c.App.Writer, r)
		}
	}
	return syncFailure(runErr)
}

// SyncReport is the --json summary of sync, pull, close-gaps and import,
// and one line of sync --follow --json.
type SyncReport struct {
	Round int  `json:"round,omitempty"`
	OK    bool `json:"ok"`
	syncer.Result
	Error string `json:"error,omitempty"`
}

func syncReport(res syncer.Result, err error) SyncReport {
	r := SyncReport{OK: err == nil, Result: res}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// printRound prints one round of sync --follow: a compact JSON object per
// line with --json (NDJSON), a summary line otherwise.
func printRound(c *cli.Context, round int, res syncer.Result, err error) {
	if c.Bool(jsonFlag.Name) {
		r := syncReport(res, err)
		r.Round = round
		json.NewEncoder(c.App.Writer).Encode(r)
		return
	}
	if err == nil {
		fmt.Fprintf(c.App.Writer, "round %d: ", round)
		printResult(c.App.Writer, res)
	}
}
