package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/repair"
)

func repairCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "repair",
		Usage: "turn damage found by inspect --check into a gap sync refetches; dry run unless --yes",
		Description: "Deletes damaged entries and rewrites the indices so the damaged heights become the gap\n" +
			"(or a missing tip), in one transaction; close-gaps or sync then refetches and verifies them.\n" +
			"The index model allows one gap, so good blocks between two damaged heights are dropped\n" +
			"too (the report counts them). If the bbolt file itself is damaged, repair cannot write it\n" +
			"safely: --out NEW copies every readable block into a new store instead.\n" +
			"Examples:\n" +
			"  vcsync repair --store blocks.db            # show the plan\n" +
			"  vcsync repair --store blocks.db --yes\n" +
			"  vcsync repair --store blocks.db --out repaired.db\n" +
			"With --out, --chain-id and --network-type name the chain when the damaged file no longer\n" +
			"says (only its blocks are copied).",
	}, &repairOptions{})
}

func (o *repairOptions) action(c *cli.Context) error {
	var err error
	if o.identity, err = o.ids.identity(); err != nil {
		return err
	}
	if o.identity != nil && o.out == "" {
		return usageError(errors.New("repair: --chain-id and --network-type go with --out (a repair in place keeps the store's own); see vcsync repair --help"))
	}
	o.store.notices = c.App.ErrWriter
	return o.run(c.App.Writer)
}

// repairOptions is what `vcsync repair` was asked.
type repairOptions struct {
	store    storeOptions
	json     bool
	yes      bool
	out      string
	ids      identityOptions
	identity *store.Identity // --out: the chain, when the file no longer says
}

func (o *repairOptions) flags() []cli.Flag {
	flags := append(o.store.flags(), jsonFlag(&o.json), yesFlag(&o.yes),
		&cli.StringFlag{Name: "out", Destination: &o.out, Usage: "salvage readable blocks into a new store at `PATH` (the original is only read)"})
	return append(flags, o.ids.flags()...)
}

func (o repairOptions) run(w io.Writer) error {
	if out := o.out; out != "" {
		if os.Getenv("GOMEMLIMIT") == "" { // an operator's own limit wins
			debug.SetMemoryLimit(repair.SalvageMemoryLimit) // salvage streams in bounded batches
		}
		rep, err := repair.Salvage(o.store.path, out, o.identity, 0)
		if err != nil {
			return err
		}
		if o.json {
			return printJSON(w, struct {
				repair.SalvageReport
				Out   string     `json:"out"`
				State indexState `json:"state"`
			}{rep, out, indicesOf(rep.State)})
		}
		fmt.Fprintf(w, "salvaged %d of %d readable blocks into %s by %s (%d unusable): %s\n",
			rep.Copied, rep.Read, out, rep.Method, rep.Unusable, indicesOf(rep.State))
		fmt.Fprintf(w, "next: vcsync sync --store %s ... refetches what is missing; then vcsync verify all\n", out)
		return nil
	}
	s, err := o.store.open(!o.yes)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := repair.PlanRepair(s, nil)
	if err != nil {
		return err
	}
	dry := !o.yes
	if !dry && p.InPlace {
		if err := repair.Repair(s, p); err != nil {
			return err
		}
	}
	var notInPlace error
	if !p.InPlace {
		notInPlace = failed(fmt.Errorf("%w: the bbolt file itself is damaged; salvage it: vcsync repair --store %s --out NEW",
			store.ErrDamaged, o.store.path))
	}
	if o.json {
		if err := printOutcome(w, struct {
			repair.RepairPlan
			DryRun bool       `json:"dry_run"`
			Before indexState `json:"before"`
			After  indexState `json:"after"`
		}{p, dry, indicesOf(p.Before), indicesOf(p.After)}, notInPlace); err != nil {
			return err
		}
	} else {
		printRepair(w, p, dry)
	}
	return notInPlace
}

func printRepair(w io.Writer, p repair.RepairPlan, dry bool) {
	if p.Nothing {
		fmt.Fprintln(w, "nothing to repair: the check found no problem")
		return
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(w, "file problem: %s\n", pr)
	}
	if !p.InPlace {
		return
	}
	verb := "deleted"
	if dry {
		verb = "would delete"
	}
	fmt.Fprintf(w, "damaged heights: %s\n", heightList(p.Damaged))
	if len(p.Strays) > 0 {
		fmt.Fprintf(w, "stray entries outside the indices: %s\n", heightList(p.Strays))
	}
	fmt.Fprintf(w, "%s %d entries; indices %s -> %s\n", verb, p.Deleted, indicesOf(p.Before), indicesOf(p.After))
	if p.Dropped > 0 {
		fmt.Fprintf(w, "%d good blocks between damaged heights go too: the store keeps one gap, and sync refetches them\n", p.Dropped)
	}
	if dry {
		fmt.Fprintln(w, "run again with --yes to write it; then: vcsync close-gaps (or sync) to refetch")
	} else {
		fmt.Fprintln(w, "next: vcsync close-gaps (or sync) refetches and verifies what was removed")
	}
}

func heightList(hs []uint64) string {
	const most = 20
	s := ""
	for i, h := range hs {
		if i == most {
			return s + fmt.Sprintf(" and %d more", len(hs)-most)
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(h)
	}
	return s
}
