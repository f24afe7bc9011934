package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/syncer"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write stored blocks A..B to a file in the wire format",
		Description: "Example: vcsync export --store blocks.db --from 1 --to 1000 --out blocks-1-1000.vcx\n" +
			"The file is written beside its final name and renamed when complete.",
		Flags: []cli.Flag{
			storeFlag, lockTimeoutFlag, jsonFlag,
			&cli.Uint64Flag{Name: "from", Value: 1, Usage: "lowest height"},
			&cli.Uint64Flag{Name: "to", Usage: "highest height (default InOrder)"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "file to write (must not exist unless --force)"},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing regular file at --out"},
			chunkFlag,
		},
		Action: runExport,
	}
}

func runExport(c *cli.Context) error {
	s, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer s.Close()
	to := c.Uint64("to")
	if to == 0 {
		st, err := s.State()
		if err != nil {
			return err
		}
		to = st.InOrder
	}
	size, err := peerserver.Export(s, c.String("out"), c.Uint64("from"), to, c.Int(chunkFlag.Name), c.Bool("force"))
	if err != nil {
		return err
	}
	r := struct {
		Out   string `json:"out"`
		From  uint64 `json:"from"`
		To    uint64 `json:"to"`
		Bytes int64  `json:"bytes"`
	}{c.String("out"), c.Uint64("from"), to, size}
	if c.Bool(jsonFlag.Name) {
		return printJSON(c.App.Writer, r)
	}
	_, err = fmt.Fprintf(c.App.Writer, "exported blocks %d-%d to %s (%s)\n", r.From, r.To, r.Out, humanBytes(size))
	return err
}

func importCommand() *cli.Command {
	flags := []cli.Flag{}
	for _, f := range syncFlags() {
		if f != peerFlag && f != peersFileFlag && f != seedFlag && f != collectFlag {
			flags = append(flags, f)
		}
	}
	return &cli.Command{
		Name:      "import",
		Usage:     "import an export file, verifying it like sync does",
		ArgsUsage: "FILE",
		Description: "Blocks already in the store are skipped. The file's highest block needs the tip rule\n" +
			"unless it links to blocks already stored. Flags go before FILE.\n" +
			"Example: vcsync import --store new.db --chain-id 42 --network-type 2 --committee-file management.json blocks.vcx",
		Flags:  flags,
		Action: runImport,
	}
}

func runImport(c *cli.Context) error {
	peer := peerclient.NewExportPeer(c.Args().First(), peerOptions(c))
	if _, err := peer.Availability(c.Context); err != nil {
		return err
	}
	return withSyncer(c, []peerclient.Peer{peer}, func(cfg syncer.Config, _ *reporter) (syncer.Result, error) {
		return syncer.New(cfg).Sync(c.Context)
	})
}
