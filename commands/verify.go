package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

func verifyCommand() *cli.Command {
	flags := append([]cli.Flag{storeFlag, lockTimeoutFlag, jsonFlag}, verifierFlags()...)
	return &cli.Command{
		Name:  "verify",
		Usage: "verify stored blocks against their committees (offline audit)",
		Subcommands: []*cli.Command{
			{
				Name: "tip", Usage: "verify the store's Top by the tip rule",
				Description: "Within the honesty grace of its parent's reference time the tip needs a quorum of\n" +
					"that committee; past it, honest stake (> 1/3) of the current committee.\n" +
					"Example: vcsync verify tip --store blocks.db --management management.json",
				Flags: flags, Action: verifyAction,
			},
			{
				Name: "range", Usage: "verify hash links and proofs of stored blocks A..B", ArgsUsage: "A B",
				Description: "Flags go before A B. Example: vcsync verify range --store blocks.db --committee-file management.json 1 500",
				Flags:       flags, Action: verifyAction,
			},
			{
				Name: "all", Usage: "verify hash links and proofs of every stored block",
				Flags: flags, Action: verifyAction,
			},
		},
	}
}

func verifyAction(c *cli.Context) error {
	v, err := verifierOptionsFrom(c)
	if err != nil {
		return err
	}
	o := verifyOptions{store: storeOptionsFrom(c), verifier: v, json: c.Bool(jsonFlag.Name), what: c.Command.Name, args: c.Args().Slice()}
	return o.run(c.Context, c.App.Writer, c.App.ErrWriter)
}

// verifyOptions is what `vcsync verify tip|range|all` was asked.
type verifyOptions struct {
	store    storeOptions
	verifier verifierOptions
	json     bool
	what     string   // tip, range or all
	args     []string // A B for range
}

func (o verifyOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	s, err := o.store.open(true)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := o.verifier.verifier(ctx, s.Identity(), stderr)
	if err != nil {
		return err
	}
	if o.what == "tip" {
		return o.verifyTip(ctx, stdout, s, v)
	}
	return o.verifyRange(ctx, stdout, stderr, s, v)
}

func (o verifyOptions) verifyTip(ctx context.Context, w io.Writer, s *store.Store, v *verify.Verifier) error {
	st, err := s.State()
	if err != nil {
		return err
	}
	if st.Top == 0 {
		return failed(errors.New("the store is empty: there is no tip"))
	}
	tip, err := s.Get(st.Top)
	if err != nil {
		return err
	}
	var parent *block.Header // unknown when Top starts a run of its own
	if st.Top > 1 {
		if p, err := s.Get(st.Top - 1); err == nil {
			parent = &p.Header
		}
	}
	tipErr := v.VerifyTip(ctx, tip, parent)
	r := struct {
		Height uint64 `json:"height"`
		Hash   string `json:"hash"`
		OK     bool   `json:"ok"`
		Reason string `json:"reason,omitempty"`
	}{Height: st.Top, Hash: tip.Hash().Hex(), OK: tipErr == nil}
	if tipErr != nil && !errors.Is(tipErr, verify.ErrInvalidBlock) {
		return tipErr
	}
	if tipErr != nil {
		r.Reason = tipErr.Error()
	}
	if o.json {
		if err := printJSON(w, r); err != nil {
			return err
		}
	} else if tipErr == nil {
		fmt.Fprintf(w, "tip %d %s is trusted\n", r.Height, r.Hash)
	}
	return failed(tipErr)
}

func (o verifyOptions) verifyRange(ctx context.Context, w, stderr io.Writer, s *store.Store, v *verify.Verifier) error {
	st, err := s.State()
	if err != nil {
		return err
	}
	type span struct{ from, to uint64 }
	var spans []span
	if o.what == "range" {
		a, errA := strconv.ParseUint(o.args[0], 10, 64)
		b, errB := strconv.ParseUint(o.args[1], 10, 64)
		if errA != nil || errB != nil || a == 0 || a > b {
			return usageError(fmt.Errorf("verify range: %q %q are not heights 1 <= A <= B; see vcsync verify range --help", o.args[0], o.args[1]))
		}
		spans = []span{{a, b}}
	} else {
		if st.GapOpen() {
			spans = append(spans, span{st.LastSynced, st.Top})
		}
		if st.InOrder > 0 {
			spans = append(spans, span{1, st.InOrder})
		}
	}
	total := uint64(0)
	for _, sp := range spans {
		total += sp.to - sp.from + 1
	}
	bar := newProgress(stderr, total, "verifying")
	var sum verify.AuditReport
	var auditErr error
	for _, sp := range spans {
		base := sum.Verified
		r, err := v.Audit(ctx, s, sp.from, sp.to, func(n uint64) { bar.Set(base + n) })
		sum.Verified += r.Verified
		sum.Unverifiable += r.Unverifiable
		sum.Seconds += r.Seconds
		if err != nil {
			sum.FirstBad, sum.Reason, auditErr = r.FirstBad, r.Reason, err
			break
		}
	}
	bar.Done()
	if sum.Seconds > 0 {
		sum.BlocksPerSecond = float64(sum.Verified) / sum.Seconds
	}
	if auditErr != nil && !errors.Is(auditErr, verify.ErrInvalidBlock) {
		return auditErr
	}
	if o.json {
		if err := printJSON(w, sum); err != nil {
			return err
		}
	} else if auditErr == nil {
		fmt.Fprintf(w, "ok: %d blocks verified (%.0f blocks/s)", sum.Verified, sum.BlocksPerSecond)
		if sum.Unverifiable > 0 {
			fmt.Fprintf(w, "; %d lowest block(s) of a run wait for their parent", sum.Unverifiable)
		}
		fmt.Fprintln(w)
	}
	return failed(auditErr)
}
