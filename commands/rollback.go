package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
)

var yesFlag = &cli.BoolFlag{Name: "yes", Usage: "write the change (without it: a dry run that shows what would change)"}

func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:  "rollback",
		Usage: "remove the blocks above a height (a bad fork or a bad tip); dry run unless --yes",
		Description: "Removes blocks above --to and sets the indices so the store is consistent, in one\n" +
			"transaction. Refuses a height below InOrder (verified, gap-free history) unless\n" +
			"--force-below-in-order is given too. Then sync again to fetch the tip from peers.\n" +
			"Example: vcsync rollback --store blocks.db --to 1990 --yes --force-below-in-order",
		Flags: []cli.Flag{
			storeFlag, lockTimeoutFlag, jsonFlag, yesFlag,
			&cli.Uint64Flag{Name: "to", Required: true, Usage: "keep blocks up to `HEIGHT`"},
			&cli.BoolFlag{Name: "force-below-in-order", Usage: "allow --to below InOrder, discarding verified history"},
		},
		Action: func(c *cli.Context) error {
			o := rollbackOptions{store: storeOptionsFrom(c), json: c.Bool(jsonFlag.Name), yes: c.Bool(yesFlag.Name),
				to: c.Uint64("to"), force: c.Bool("force-below-in-order")}
			return o.run(c.App.Writer)
		},
	}
}

// rollbackOptions is what `vcsync rollback` was asked.
type rollbackOptions struct {
	store storeOptions
	json  bool
	yes   bool
	to    uint64
	force bool
}

func (o rollbackOptions) run(w io.Writer) error {
	s, err := o.store.open(!o.yes)
	if err != nil {
		return err
	}
	defer s.Close()
	var p store.RollbackPlan
	if o.yes {
		p, err = s.Rollback(o.to, o.force)
	} else {
		p, err = s.PlanRollback(o.to, o.force)
	}
	if errors.Is(err, store.ErrForceNeeded) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	r := struct {
		store.RollbackPlan
		DryRun bool       `json:"dry_run"`
		Before indexState `json:"before"`
		After  indexState `json:"after"`
	}{p, !o.yes, indicesOf(p.Before), indicesOf(p.After)}
	if o.json {
		return printJSON(w, r)
	}
	switch {
	case p.Removed == 0:
		fmt.Fprintf(w, "nothing to roll back: Top is %d, at or below %d\n", p.Before.Top, o.to)
	case r.DryRun:
		fmt.Fprintf(w, "would remove %d blocks (%d-%d): %s -> %s\nrun again with --yes to write it\n",
			p.Removed, p.From, p.Until, r.Before, r.After)
	default:
		fmt.Fprintf(w, "removed %d blocks (%d-%d): %s -> %s\n", p.Removed, p.From, p.Until, r.Before, r.After)
	}
	return nil
}

// indexState is a store's three indices, for reports.
type indexState struct {
	InOrder    uint64 `json:"in_order"`
	LastSynced uint64 `json:"last_synced"`
	Top        uint64 `json:"top"`
}

func indicesOf(st store.State) indexState { return indexState{st.InOrder, st.LastSynced, st.Top} }

func (i indexState) String() string {
	return fmt.Sprintf("InOrder %d, LastSynced %d, Top %d", i.InOrder, i.LastSynced, i.Top)
}
