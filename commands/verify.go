package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "verify stored blocks against their committees (offline audit)",
		Subcommands: []*cli.Command{
			onVerify(&cli.Command{
				Name: "tip", Usage: "verify the store's Top by the tip rule",
				Description: "Within the honesty grace of its parent's reference time the tip needs a quorum of\n" +
					"that committee; past it, honest stake (> 1/3) of the current committee.\n" +
					"Example: vcsync verify tip --store blocks.db --management management.json",
			}, verifyTip),
			onVerify(&cli.Command{
				Name: "range", Usage: "verify hash links and proofs of stored blocks A..B", ArgsUsage: "A B",
				Description: "Flags go before A B. Example: vcsync verify range --store blocks.db --committee-file management.json 1 500",
			}, verifyRange),
			onVerify(&cli.Command{
				Name: "all", Usage: "audit the store: every block 1..Top present, hash-linked and signed by its committee",
				Description: "Exits 0 only if the store holds 1..Top with no gap and every block verified; it lists\n" +
					"the heights it could not cover. --allow-gaps asks only that every stored block verify\n" +
					"(a run's lowest block, whose parent is missing, is listed as waiting for it).\n" +
					"A bad block does not stop the audit: it lists every bad height (up to --max-errors)\n" +
					"and the rollback that keeps only verified blocks.\n" +
					"Example: vcsync verify all --store blocks.db --committee-file management.json",
			}, verifyAll),
		},
	}
}

// verifyScope is which of verify's subcommands runs, fixed when it is built.
type verifyScope int

const (
	verifyTip   verifyScope = iota // the store's Top, by the tip rule
	verifyRange                    // stored blocks A..B
	verifyAll                      // the whole store, 1..Top
)

// onVerify gives a verify subcommand its options, flags and action.
func onVerify(cmd *cli.Command, what verifyScope) *cli.Command {
	return bound(cmd, &verifyOptions{what: what})
}

func (o *verifyOptions) action(c *cli.Context) error {
	o.store.notices = c.App.ErrWriter
	if err := o.verifier.choose(c, o.store.path); err != nil {
		return err
	}
	o.args = c.Args().Slice()
	return o.run(c.Context, c.App.Writer, c.App.ErrWriter)
}

// verifyOptions is what `vcsync verify tip|range|all` was asked.
type verifyOptions struct {
	store     storeOptions
	verifier  verifierOptions
	json      bool
	what      verifyScope
	args      []string // A B for range
	allowGaps bool     // all: stored blocks verified is enough
	maxErrors int      // range, all: bad blocks after which the audit stops
}

func (o *verifyOptions) flags() []cli.Flag {
	flags := append(o.store.flags(), jsonFlag(&o.json))
	flags = append(flags, o.verifier.flags()...)
	if o.what == verifyAll {
		flags = append(flags, &cli.BoolFlag{Name: "allow-gaps", Destination: &o.allowGaps,
			Usage: "succeed when every stored block verifies, even if heights are missing"})
	}
	if o.what != verifyTip {
		flags = append(flags, boundedInt(&cli.IntFlag{Name: "max-errors", Value: 100, Destination: &o.maxErrors,
			Usage: "stop the audit after `N` bad blocks (at least 1)"}, 1, 1_000_000))
	}
	return flags
}

// auditResult is verify range|all's answer: what was verified, and for
// all, what the store lacks.
type auditResult struct {
	OK bool `json:"ok"`
	verify.AuditReport
	Top     uint64        `json:"top"`
	Covered []store.Range `json:"covered"`
	// Gaps are heights in 1..Top the store does not hold; Waiting are the
	// stored blocks whose parent is among them, so their proofs could not
	// be checked.
	Gaps    []store.Range `json:"gaps"`
	Waiting []uint64      `json:"waiting_for_parent"`
	// RollbackTo is the highest height at and below which every stored
	// block verified, when bad blocks were found and the audit covered
	// everything below them; RollbackCommand keeps exactly those blocks.
	RollbackTo      *uint64 `json:"rollback_to,omitempty"`
	RollbackCommand string  `json:"rollback_command,omitempty"`
	EthCache        string  `json:"eth_cache,omitempty"` // with --eth-rpc: what the index cache did
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
	defer func() { // what the Ethereum index's cache did, once it has been read
		if cache := ethCacheOf(v.Source); cache != "" {
			fmt.Fprintf(stderr, "ethereum index: cache %s\n", cache)
		}
	}()
	if o.what == verifyTip {
		return o.verifyTip(ctx, stdout, s, v)
	}
	return o.verifyRange(ctx, stdout, stderr, s, v)
}

// ethCacheOf says what the Ethereum source's index cache did ("" for the
// other sources).
func ethCacheOf(src committee.Source) string {
	if eth, ok := src.(*ethpos.EthSource); ok {
		_, cache := eth.Indexed()
		return cache
	}
	return ""
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
		Height   uint64 `json:"height"`
		Hash     string `json:"hash"`
		OK       bool   `json:"ok"`
		Reason   string `json:"reason,omitempty"`
		EthCache string `json:"eth_cache,omitempty"`
	}{Height: st.Top, Hash: tip.Hash().Hex(), OK: tipErr == nil, EthCache: ethCacheOf(v.Source)}
	if tipErr != nil && !errors.Is(tipErr, verify.ErrInvalidBlock) {
		return tipErr
	}
	if tipErr != nil {
		r.Reason = tipErr.Error()
	}
	if o.json {
		if err := printOutcome(w, r, failed(tipErr)); err != nil {
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
	res := auditResult{Top: st.Top, Covered: []store.Range{}, Gaps: []store.Range{}, Waiting: []uint64{}}
	if o.what == verifyRange {
		a, errA := strconv.ParseUint(o.args[0], 10, 64)
		b, errB := strconv.ParseUint(o.args[1], 10, 64)
		if errA != nil || errB != nil || a == 0 || a > b {
			return usageError(fmt.Errorf("verify range: %q %q are not heights 1 <= A <= B; see vcsync verify range --help", o.args[0], o.args[1]))
		}
		spans = []span{{a, b}}
	} else {
		if st.GapOpen() {
			spans = append(spans, span{st.LastSynced, st.Top})
			res.Gaps = append(res.Gaps, store.Range{From: st.InOrder + 1, To: st.LastSynced - 1})
			res.Waiting = append(res.Waiting, st.LastSynced)
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
	sum.Bad = []verify.Finding{}
	var auditErr error
	for _, sp := range spans {
		base := sum.Verified
		r, err := v.Audit(ctx, s, verify.AuditRequest{From: sp.from, To: sp.to, MaxErrors: o.maxErrors - len(sum.Bad),
			Progress: func(n uint64) { bar.Set(base + n) }})
		res.Covered = append(res.Covered, store.Range{From: r.StoppedAt, To: sp.to})
		if r.StoppedAt == 0 {
			res.Covered[len(res.Covered)-1].From = sp.from
		}
		sum.Verified += r.Verified
		sum.Unverifiable += r.Unverifiable
		sum.Seconds += r.Seconds
		sum.Bad = append(sum.Bad, r.Bad...)
		if auditErr == nil && err != nil {
			sum.FirstBad, sum.Reason, auditErr = r.FirstBad, r.Reason, err
		}
		if err != nil && !errors.Is(err, verify.ErrInvalidBlock) {
			break
		}
		if r.StoppedAt != 0 {
			sum.StoppedAt = r.StoppedAt
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
	res.AuditReport = sum
	res.EthCache = ethCacheOf(v.Source)
	if len(spans) > 0 { // an empty store has nothing to roll back
		o.planRollback(&res, spans[len(spans)-1].from)
	}
	incomplete := len(res.Gaps) > 0 && !o.allowGaps
	res.OK = auditErr == nil && !incomplete
	var verdict error
	switch {
	case auditErr != nil:
		verdict = failed(fmt.Errorf("%s; %w", badCount(len(sum.Bad)), auditErr))
	case incomplete:
		verdict = failed(fmt.Errorf("the store lacks %d of blocks 1-%d: run close-gaps (or give --allow-gaps to audit only what is stored)", missing(res.Gaps), st.Top))
	}
	if o.json {
		if err := printOutcome(w, res, verdict); err != nil {
			return err
		}
	} else {
		o.printAudit(w, res, incomplete)
	}
	return verdict
}

// planRollback fills in the rollback that keeps only verified blocks: it
// is known when the audit reached the lowest height checked (bottom) with
// no block below the lowest bad one left unchecked.
func (o verifyOptions) planRollback(res *auditResult, bottom uint64) {
	if len(res.Bad) == 0 || res.StoppedAt != 0 || bottom != 1 {
		return
	}
	to := res.Bad[len(res.Bad)-1].Height - 1
	res.RollbackTo = &to
	res.RollbackCommand = fmt.Sprintf("vcsync rollback --store %s --to %d --yes", shellQuote(o.store.path), to)
	if res.Top-to > rollbackMaxRemoveDefault {
		res.RollbackCommand += " --force"
	}
}

func (o verifyOptions) printAudit(w io.Writer, res auditResult, incomplete bool) {
	verdict := "ok"
	switch {
	case len(res.Bad) > 0:
		verdict = "FAILED"
	case incomplete:
		verdict = "INCOMPLETE"
	}
	fmt.Fprintf(w, "%s: %d blocks verified (%.0f blocks/s)", verdict, res.Verified, res.BlocksPerSecond)
	if len(res.Bad) > 0 {
		fmt.Fprintf(w, ", %s", badCount(len(res.Bad)))
	}
	for _, g := range res.Gaps {
		fmt.Fprintf(w, "; missing %d-%d (%d blocks)", g.From, g.To, g.To-g.From+1)
	}
	for _, h := range res.Waiting {
		fmt.Fprintf(w, "; block %d waits for its parent", h)
	}
	fmt.Fprintln(w)
	for _, f := range res.Bad {
		fmt.Fprintf(w, "  bad %s\n", f.Reason)
	}
	if res.StoppedAt != 0 {
		fmt.Fprintf(w, "stopped after %d bad blocks at height %d: the blocks below it were not checked (raise --max-errors)\n", len(res.Bad), res.StoppedAt)
	}
	if res.RollbackTo != nil {
		fmt.Fprintf(w, "every block at and below %d verified; to keep only those:\n  %s\n", *res.RollbackTo, res.RollbackCommand)
	}
}

func badCount(n int) string {
	if n == 1 {
		return "1 bad block"
	}
	return fmt.Sprintf("%d bad blocks", n)
}

func missing(gaps []store.Range) uint64 {
	var n uint64
	for _, g := range gaps {
		n += g.To - g.From + 1
	}
	return n
}
