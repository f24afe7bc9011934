package commands

import (
	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee"

	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/syncer"
)

func syncCommand() *cli.Command {
	return onSyncCore(&cli.Command{
		Name:  "sync",
		Usage: "sync the store from peers until it holds 1..tip with no gap",
		Description: "Closes the gap first, then syncs from the network tip down, verifying every block.\n" +
			"Example: vcsync sync --store blocks.db --chain-id 42 --network-type 2 \\\n" +
			"           --management management.json --peer http://10.0.0.5:7700 --peer file:///mnt/old/blocks.db\n" +
			"With --follow it keeps going: when no block was committed for --stale-after, it syncs again.",
	}, modeSync)
}

func pullCommand() *cli.Command {
	return onSyncCore(&cli.Command{
		Name:  "pull",
		Usage: "pull one batch from a peer: down from the gap's top while a gap is open, else from the tip or --from",
		Description: "Example: vcsync pull --store blocks.db --management management.json --peer http://10.0.0.5:7700 --batch 500\n" +
			"While a gap is open the pull starts at LastSynced-1 (--from may only name that height);\n" +
			"without one, at the peer's tip or at --from, which must be above Top. --to is the lowest\n" +
			"height, at or below where the pull starts. A peer may grant fewer blocks than --batch\n" +
			"(its own limit): the summary says so.",
	}, modePull)
}

func closeGapsCommand() *cli.Command {
	return onSyncCore(&cli.Command{
		Name:        "close-gaps",
		Usage:       "only close the gap between InOrder and LastSynced",
		Description: "Example: vcsync close-gaps --store blocks.db --committee-file management.json --peer file:///mnt/backup/blocks.db",
	}, modeCloseGaps)
}

// onSyncCore gives sync, pull, close-gaps and import their options, flags
// and action: one core, its mode fixed when the command is built.
func onSyncCore(cmd *cli.Command, mode syncMode) *cli.Command {
	return bound(cmd, &syncOptions{mode: mode})
}

func (o *syncOptions) action(c *cli.Context) error {
	if err := o.check(c); err != nil {
		return err
	}
	return o.run(c.Context, c.App.Writer, c.App.ErrWriter)
}

// SyncReport is the --json summary of sync, pull, close-gaps and import,
// and one line of sync --follow --json.
type SyncReport struct {
	Round int  `json:"round,omitempty"`
	OK    bool `json:"ok"`
	syncer.Result
	// EthRetries counts the Ethereum endpoint's busy answers retried
	// (with --eth-rpc).
	EthRetries int64  `json:"eth_retries,omitempty"`
	SHA256     string `json:"sha256,omitempty"` // import: the file's, when read whole or checked
	// EthCache says what the Ethereum index's cache did (--eth-rpc): off,
	// miss, hit, "rebuilt: why" or "unusable: why".
	EthCache string `json:"eth_cache,omitempty"`
	Error    string `json:"error,omitempty"`
}

// ethRetries is what a committee source retried, if it is the Ethereum one.
func ethRetries(src committee.Source) int64 {
	if e, ok := src.(*ethpos.EthSource); ok {
		return e.Retries()
	}
	return 0
}

func syncReport(res syncer.Result, err error) SyncReport {
	r := SyncReport{OK: err == nil, Result: res}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}
