package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store/repair"
)

func compactCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "compact",
		Usage: "write a compacted copy of the store, checked equal entry for entry",
		Description: "Copies the store with bbolt's compaction into --out, a new file with 64 KiB pages, and\n" +
			"checks the copy equal to the original in every bucket. With --replace the copy takes the\n" +
			"store's place (an atomic rename; the old file is kept as STORE.bak until the copy is\n" +
			"checked), unless it would take more disk than the store: then the store is kept.\n" +
			"Examples:\n" +
			"  vcsync compact --store blocks.db --out compact.db\n" +
			"  vcsync compact --store blocks.db --replace",
	}, &compactOptions{})
}

func (o *compactOptions) action(c *cli.Context) error {
	o.store.notices = c.App.ErrWriter
	return o.run(c.App.Writer)
}

// compactOptions is what `vcsync compact` was asked.
type compactOptions struct {
	store   storeOptions
	json    bool
	out     string
	replace bool
}

func (o *compactOptions) flags() []cli.Flag {
	return append(o.store.flags(), jsonFlag(&o.json),
		&cli.StringFlag{Name: "out", Destination: &o.out, Usage: "write the copy to `PATH` (must not exist)"},
		&cli.BoolFlag{Name: "replace", Destination: &o.replace, Usage: "swap the copy in for the store"},
	)
}

func (o compactOptions) run(stdout io.Writer) error {
	if (o.out == "") == !o.replace {
		return usageError(errors.New("give exactly one of --out PATH or --replace"))
	}
	// --replace holds the store's exclusive lock, so nothing writes meanwhile.
	s, err := o.store.open(!o.replace)
	if err != nil {
		return err
	}
	defer s.Close()
	var rep repair.CompactReport
	if o.replace {
		rep, err = repair.CompactInPlace(s)
	} else {
		rep, err = repair.CompactTo(s, o.out)
	}
	// A copy that would not be smaller is not swapped in: the store is
	// kept, and that is an answer, not a failure.
	kept := errors.Is(err, repair.ErrNotSmaller)
	if err != nil && !kept {
		return err
	}
	if o.json {
		return printJSON(stdout, struct {
			repair.CompactReport
			Smaller bool `json:"smaller"`
		}{rep, rep.Smaller()})
	}
	if kept {
		fmt.Fprintf(stdout, "kept the store as it was: a compacted copy of its %d blocks would take %s of disk, the store takes %s\n",
			rep.Blocks, humanBytes(rep.DiskAfter), humanBytes(rep.DiskBefore))
		return nil
	}
	fmt.Fprintf(stdout, "compacted %d blocks: %s -> %s of disk (%s), checked equal\n",
		rep.Blocks, humanBytes(rep.DiskBefore), humanBytes(rep.DiskAfter), rep.Out)
	if rep.DiskAfter > rep.DiskBefore {
		fmt.Fprintf(stdout, "the copy takes more disk than the store: keep the store\n")
	}
	return nil
}
