package commands

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
)

func inspectCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "inspect",
		Usage: "show a store's sync state, one block, or check its consistency",
		Description: "Opens the store read-only. Examples:\n" +
			"  vcsync inspect --store blocks.db\n" +
			"  vcsync inspect --store blocks.db --block 1200 --json\n" +
			"  vcsync inspect --store blocks.db --check",
	}, &inspectOptions{})
}

func (o *inspectOptions) action(c *cli.Context) error {
	o.store.notices = c.App.ErrWriter
	return o.run(c.App.Writer, c.App.ErrWriter)
}

// inspectOptions is what `vcsync inspect` was asked.
type inspectOptions struct {
	store     storeOptions
	json      bool
	showBlock bool
	block     uint64
	check     bool
	maxErrors int
}

func (o *inspectOptions) flags() []cli.Flag {
	block := &cli.Uint64Flag{Name: "block", Destination: &o.block, Usage: "show block `N`: header, hash, body size and proof signers"}
	block.Action = given(&o.showBlock, block.Action)
	return append(o.store.flags(), jsonFlag(&o.json), block,
		&cli.BoolFlag{Name: "check", Destination: &o.check,
			Usage: "check the bbolt file and walk every block: decoding, hash links, indices; exit 1 listing every problem"},
		boundedInt(&cli.IntFlag{Name: "max-errors", Value: 100, Destination: &o.maxErrors, Usage: "with --check: stop after `N` problems"}, 1, 1_000_000),
	)
}

func (o inspectOptions) run(stdout, stderr io.Writer) error {
	if o.showBlock && o.check {
		return usageError(errors.New("--block and --check do not go together: run one, then the other"))
	}
	s, err := o.store.open(true)
	if err != nil {
		return err
	}
	defer s.Close()
	switch {
	case o.showBlock:
		return o.inspectBlock(stdout, s)
	case o.check:
		return o.inspectCheck(stdout, stderr, s)
	default:
		return o.inspectState(stdout, s)
	}
}

// StateReport is `inspect --json`.
type StateReport struct {
	Path        string        `json:"path"`
	ChainID     uint32        `json:"chain_id"`
	NetworkType uint32        `json:"network_type"`
	InOrder     uint64        `json:"in_order"`
	LastSynced  uint64        `json:"last_synced"`
	Top         uint64        `json:"top"`
	Gaps        []store.Range `json:"gaps"`
	Blocks      uint64        `json:"blocks"`
	FileBytes   int64         `json:"file_bytes"`
	DiskBytes   int64         `json:"disk_bytes"` // allocated: the file is sparse past what bbolt wrote
	Format      uint64        `json:"format"`     // on-disk layout version (1: compact rewrites it as the current one, smaller)
	LastCommit  *time.Time    `json:"last_commit"`
	// Checkpoint is the block an operator anchored the store on with
	// --trust, if any: the blocks below it rest on that hash.
	Checkpoint *store.TrustedCheckpoint `json:"trusted_checkpoint,omitempty"`
}

func stateReport(s *store.Store) (StateReport, error) {
	st, err := s.State()
	if err != nil {
		return StateReport{}, err
	}
	size, err := s.FileBytes()
	if err != nil {
		return StateReport{}, err
	}
	r := StateReport{
		Path: s.Path(), ChainID: s.Identity().ChainID, NetworkType: s.Identity().NetworkType,
		InOrder: st.InOrder, LastSynced: st.LastSynced, Top: st.Top, Gaps: st.Gaps(), Blocks: st.Blocks(), FileBytes: size,
		DiskBytes: s.DiskBytes(), Format: s.Format(),
	}
	if !st.LastCommit.IsZero() {
		t := st.LastCommit.UTC()
		r.LastCommit = &t
	}
	if r.Checkpoint, err = s.Checkpoint(); err != nil {
		return StateReport{}, err
	}
	return r, nil
}

func (o inspectOptions) inspectState(w io.Writer, s *store.Store) error {
	r, err := stateReport(s)
	if err != nil {
		return err
	}
	if o.json {
		return printJSON(w, r)
	}
	return printState(w, r)
}

// formatNote names the layout version, and what to do about an old one.
func formatNote(v uint64) string {
	if v < store.FormatVersion {
		return fmt.Sprintf("%d (kept readable by older releases; vcsync compact rewrites it as format %d, without its hash index)", v, store.FormatVersion)
	}
	return fmt.Sprint(v)
}

func printState(w io.Writer, r StateReport) error {
	gaps := "none"
	if len(r.Gaps) > 0 {
		gaps = ""
		for i, g := range r.Gaps {
			if i > 0 {
				gaps += ", "
			}
			gaps += fmt.Sprintf("%d-%d (%d blocks)", g.From, g.To, g.To-g.From+1)
		}
	}
	last := "never"
	if r.LastCommit != nil {
		last = fmt.Sprintf("%s (%s ago)", r.LastCommit.Format(time.RFC3339), time.Since(*r.LastCommit).Round(time.Second))
	}
	rows := [][2]string{
		{"store", fmt.Sprintf("%s (%s file, %s on disk)", r.Path, humanBytes(r.FileBytes), humanBytes(r.DiskBytes))},
		{"format", formatNote(r.Format)},
		{"chain", fmt.Sprintf("%d (network type %d)", r.ChainID, r.NetworkType)},
		{"in order", fmt.Sprint(r.InOrder)},
		{"last synced", fmt.Sprint(r.LastSynced)},
		{"top", fmt.Sprint(r.Top)},
		{"gaps", gaps},
		{"blocks", fmt.Sprint(r.Blocks)},
		{"last commit", last},
	}
	if c := r.Checkpoint; c != nil {
		rows = append(rows, [2]string{"checkpoint", fmt.Sprintf("block %d %s, trusted by the operator (--trust) on %s", c.Height, c.Hash, c.At.Format(time.RFC3339))})
	}
	return table(w, rows)
}

// BlockReport is `inspect --block N --json`.
type BlockReport struct {
	Height          uint64   `json:"height"`
	Hash            string   `json:"hash"`
	PrevHash        string   `json:"prev_hash"`
	ProtocolVersion uint32   `json:"protocol_version"`
	ChainID         uint32   `json:"chain_id"`
	NetworkType     uint32   `json:"network_type"`
	Timestamp       string   `json:"timestamp"`
	RefTime         uint32   `json:"ref_time"`
	Proposer        string   `json:"proposer"`
	BodyRoot        string   `json:"body_root"`
	BodyBytes       int      `json:"body_bytes"`
	Signers         []string `json:"signers"`
}

func blockReport(b *block.Block) BlockReport {
	h := b.Header
	r := BlockReport{
		Height: h.Height, Hash: b.Hash().Hex(), PrevHash: h.PrevHash.Hex(), ProtocolVersion: h.ProtocolVersion,
		ChainID: h.VirtualChainID, NetworkType: h.NetworkType,
		Timestamp: time.Unix(0, int64(h.Timestamp)).UTC().Format(time.RFC3339Nano),
		RefTime:   h.RefTime, Proposer: h.Proposer.Hex(), BodyRoot: h.BodyRoot.Hex(), BodyBytes: len(b.Body),
		Signers: []string{},
	}
	digest := b.SigningDigest()
	for i := range b.Proof {
		named, sig := b.Entry(i)
		pub, err := crypto.SigToPub(digest[:], sig)
		switch {
		case err != nil:
			r.Signers = append(r.Signers, "unrecoverable: "+err.Error())
		case b.NamesSigners() && crypto.PubkeyToAddress(*pub) != named:
			r.Signers = append(r.Signers, fmt.Sprintf("%s (named, but signed by %s)", named.Hex(), crypto.PubkeyToAddress(*pub).Hex()))
		default:
			r.Signers = append(r.Signers, crypto.PubkeyToAddress(*pub).Hex())
		}
	}
	return r
}

func (o inspectOptions) inspectBlock(w io.Writer, s *store.Store) error {
	b, err := s.Get(o.block)
	if err != nil {
		return failed(err)
	}
	r := blockReport(b)
	if o.json {
		return printJSON(w, r)
	}
	rows := [][2]string{
		{"height", fmt.Sprint(r.Height)}, {"hash", r.Hash}, {"prev hash", r.PrevHash},
		{"chain", fmt.Sprintf("%d (network type %d)", r.ChainID, r.NetworkType)},
		{"protocol version", fmt.Sprint(r.ProtocolVersion)}, {"timestamp", r.Timestamp},
		{"ref time", fmt.Sprintf("%d (%s)", r.RefTime, time.Unix(int64(r.RefTime), 0).UTC().Format(time.RFC3339))},
		{"proposer", r.Proposer}, {"body root", r.BodyRoot}, {"body", humanBytes(int64(r.BodyBytes))},
		{"signatures", fmt.Sprint(len(r.Signers))},
	}
	for i, sgn := range r.Signers {
		rows = append(rows, [2]string{fmt.Sprintf("  signer %d", i+1), sgn})
	}
	return table(w, rows)
}

// CheckReport is `inspect --check --json`.
type CheckReport struct {
	OK bool `json:"ok"`
	fsck.CheckReport
}

func (o inspectOptions) inspectCheck(w, stderr io.Writer, s *store.Store) error {
	st, err := s.State()
	if err != nil {
		return err
	}
	bar := newProgress(stderr, st.Blocks(), "checking")
	r, err := fsck.CheckAll(s, o.maxErrors, func(n uint64) {
		if n%1024 == 0 {
			bar.Set(n)
		}
	})
	bar.Done()
	if err != nil {
		return err
	}
	var checkErr error
	if !r.OK() {
		first := r.Problems[0]
		checkErr = failed(fmt.Errorf("%w: %s; the first at height %d: %s: %s", store.ErrInconsistent, plural(len(r.Problems), "problem"), first.Height, first.Kind, first.Detail))
	}
	if o.json {
		if err := printOutcome(w, CheckReport{OK: r.OK(), CheckReport: r}, checkErr); err != nil {
			return err
		}
	} else if r.OK() {
		fmt.Fprintf(w, "ok: %d blocks, indices, hash links and bbolt pages consistent\n", r.Blocks)
	} else {
		for _, p := range r.Problems {
			where := "store"
			if p.Height != 0 {
				where = fmt.Sprintf("block %d", p.Height)
			}
			fmt.Fprintf(w, "%s: %s: %s\n", where, p.Kind, p.Detail)
		}
		more := ""
		if r.Truncated {
			more = " (stopped at --max-errors; there are more)"
		}
		fmt.Fprintf(w, "%s in %d blocks read%s; see vcsync repair --help\n", plural(len(r.Problems), "problem"), r.Blocks, more)
	}
	return checkErr
}

// plural is "1 problem", "2 problems".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
