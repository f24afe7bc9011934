package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/repair"
)

func yesFlag(dst *bool) cli.Flag {
	return &cli.BoolFlag{Name: "yes", Destination: dst, Usage: "write the change (without it: a dry run that shows what would change)"}
}

// rollbackMaxRemoveDefault is how many blocks a rollback removes without
// --force: a forged top is a handful of blocks; thousands is more likely a
// mistyped height.
const rollbackMaxRemoveDefault = 1000

func rollbackCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "rollback",
		Usage: "remove the blocks above a height (a bad fork or a bad tip); dry run unless --yes",
		Description: "Removes blocks above --to and sets the indices so the store is consistent, in one\n" +
			"transaction. Without --yes it shows the plan and changes nothing. Writing a plan that\n" +
			"removes more than --max-remove blocks needs --force too. The audit (verify all) prints\n" +
			"the height to roll back to. Then sync again to fetch the tip from peers.\n" +
			"Example: vcsync rollback --store blocks.db --to 1990 --yes",
	}, &rollbackOptions{})
}

func (o *rollbackOptions) action(c *cli.Context) error {
	o.store.notices = c.App.ErrWriter
	return o.run(c.App.Writer)
}

// rollbackOptions is what `vcsync rollback` was asked.
type rollbackOptions struct {
	store     storeOptions
	json      bool
	yes       bool
	to        uint64
	maxRemove uint64
	force     bool
}

func (o *rollbackOptions) flags() []cli.Flag {
	return append(o.store.flags(), jsonFlag(&o.json), yesFlag(&o.yes),
		&cli.Uint64Flag{Name: "to", Required: true, Destination: &o.to, Usage: "keep blocks up to `HEIGHT`"},
		&cli.Uint64Flag{Name: "max-remove", Value: rollbackMaxRemoveDefault, Destination: &o.maxRemove, Usage: "remove at most `N` blocks without --force"},
		&cli.BoolFlag{Name: "force", Aliases: []string{"force-below-in-order"}, Destination: &o.force, Usage: "write a plan that removes more than --max-remove blocks"},
	)
}

func (o rollbackOptions) run(w io.Writer) error {
	s, err := o.store.open(!o.yes)
	if err != nil {
		return err
	}
	defer s.Close()
	var p repair.RollbackPlan
	if o.yes {
		p, err = repair.Rollback(s, o.to, o.maxRemove, o.force)
	} else {
		p, err = repair.PlanRollback(s, o.to)
	}
	if errors.Is(err, repair.ErrForceNeeded) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	r := struct {
		repair.RollbackPlan
		DryRun     bool       `json:"dry_run"`
		NeedsForce bool       `json:"needs_force"`
		Before     indexState `json:"before"`
		After      indexState `json:"after"`
	}{p, !o.yes, p.Removed > o.maxRemove, indicesOf(p.Before), indicesOf(p.After)}
	if o.json {
		return printJSON(w, r)
	}
	if p.Removed == 0 {
		fmt.Fprintf(w, "nothing to roll back: Top is %d, at or below %d\n", p.Before.Top, o.to)
		return nil
	}
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(w, "%s %d blocks (%d-%d): %s -> %s\n", verb, p.Removed, p.From, p.Until, r.Before, r.After)
	if p.BelowInOrder > 0 {
		fmt.Fprintf(w, "%d of them are below InOrder %d (the gap-free run from block 1); verify all says which blocks verify\n", p.BelowInOrder, p.Before.InOrder)
	}
	if r.DryRun {
		force := ""
		if r.NeedsForce {
			force = fmt.Sprintf(" --force (it removes more than --max-remove %d blocks)", o.maxRemove)
		}
		fmt.Fprintf(w, "run again with --yes%s to write it\n", force)
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
