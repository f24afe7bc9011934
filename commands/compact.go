package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
)

func compactCommand() *cli.Command {
	return &cli.Command{
		Name:  "compact",
		Usage: "write a compacted copy of the store, checked equal entry for entry",
		Description: "Copies the store with bbolt's compaction into --out, a new file, and checks the copy\n" +
			"equal to the original in every bucket. With --replace the copy takes the store's place\n" +
			"(an atomic rename; the old file is kept as STORE.bak until the copy is checked).\n" +
			"Examples:\n" +
			"  vcsync compact --store blocks.db --out compact.db\n" +
			"  vcsync compact --store blocks.db --replace",
		Flags: []cli.Flag{
			storeFlag, lockTimeoutFlag, jsonFlag,
			&cli.StringFlag{Name: "out", Usage: "write the copy to `PATH` (must not exist)"},
			&cli.BoolFlag{Name: "replace", Usage: "swap the copy in for the store"},
		},
		Action: runCompact,
	}
}

func runCompact(c *cli.Context) error {
	out, replace := c.String("out"), c.Bool("replace")
	if (out == "") == !replace {
		return usageError(errors.New("give exactly one of --out PATH or --replace"))
	}
	// --replace holds the store's exclusive lock, so nothing writes meanwhile.
	s, err := openStore(c, !replace)
	if err != nil {
		return err
	}
	defer s.Close()
	var rep store.CompactReport
	if replace {
		rep, err = s.CompactInPlace()
	} else {
		rep, err = s.CompactTo(out)
	}
	if err != nil {
		return err
	}
	if c.Bool(jsonFlag.Name) {
		return printJSON(c.App.Writer, rep)
	}
	fmt.Fprintf(c.App.Writer, "compacted %d blocks: %s -> %s (%s), checked equal\n",
		rep.Blocks, humanBytes(rep.BytesBefore), humanBytes(rep.BytesAfter), rep.Out)
	return nil
}
