package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
)

func committeeCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "committee",
		Usage: "print the committee at a reference time, or the current one",
		Description: "Example: vcsync committee --at 1799999000 --chain-id 42 --management management.json\n" +
			"         vcsync committee --current --chain-id 42 --eth-rpc http://127.0.0.1:8545 \\\n" +
			"           --contract-registry 0x...",
	}, &committeeOptions{})
}

func (o *committeeOptions) action(c *cli.Context) error {
	if err := o.source.choose(c, ""); err != nil {
		return err
	}
	if !o.ids.chainIDGiven {
		return usageError(errors.New("vcsync committee needs --chain-id; see vcsync committee --help"))
	}
	return o.run(c.Context, c.App.Writer, c.App.ErrWriter)
}

// committeeOptions is what `vcsync committee` was asked.
type committeeOptions struct {
	source  verifierOptions
	ids     identityOptions // its chain id
	json    bool
	hasAt   bool
	at      uint64 // bounded to 32 bits
	current bool
}

func (o *committeeOptions) flags() []cli.Flag {
	at := boundedUint64(&cli.Uint64Flag{Name: "at", Destination: &o.at, Usage: "reference time `T` (unix seconds)"}, 0, 1<<32-1)
	at.Action = given(&o.hasAt, at.Action)
	return append([]cli.Flag{
		at,
		&cli.BoolFlag{Name: "current", Destination: &o.current, Usage: "the committee in effect now"},
		o.ids.chainIDFlag(),
		jsonFlag(&o.json),
	}, o.source.sourceFlags(false)...)
}

// CommitteeReport is `committee --json`.
type CommitteeReport struct {
	RefTime       uint32 `json:"ref_time"`
	EthereumBlock uint64 `json:"ethereum_block,omitempty"` // with --eth-rpc and --at
	TotalWeight   string `json:"total_weight"`
	// QuorumWeight is the weight a block's proof needs; HonestWeight, the
	// weight of the current committee that trusts a tip past the grace.
	QuorumWeight string            `json:"quorum_weight"`
	HonestWeight string            `json:"honest_weight"`
	EthRetries   int64             `json:"eth_retries,omitempty"` // busy answers retried, with --eth-rpc
	EthCache     string            `json:"eth_cache,omitempty"`   // what the index cache did, with --eth-rpc
	Members      []CommitteeMember `json:"members"`
}

// CommitteeMember is one row of CommitteeReport.
type CommitteeMember struct {
	NodeAddress string  `json:"node_address"`
	EthAddress  string  `json:"eth_address"`
	Weight      string  `json:"weight"`
	Share       float64 `json:"share_percent"`
}

func (o committeeOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.hasAt == o.current {
		return usageError(errors.New("give exactly one of --at T and --current"))
	}
	src, err := o.source.committeeSource(ctx, uint32(o.ids.chainID), stderr)
	if err != nil {
		return err
	}
	var cm *committee.Committee
	if o.current {
		cm, err = src.Current(ctx)
	} else {
		cm, err = src.CommitteeAt(ctx, uint32(o.at))
	}
	if err != nil {
		return err
	}
	r := CommitteeReport{RefTime: cm.RefTime, TotalWeight: cm.TotalWeight().String(),
		QuorumWeight: cm.QuorumWeight().String(), HonestWeight: cm.HonestWeight().String()}
	if eth, ok := src.(*ethpos.EthSource); ok && o.hasAt {
		if r.EthereumBlock, err = eth.BlockAt(ctx, uint32(o.at)); err != nil {
			return err
		}
	}
	for _, m := range cm.Members {
		r.Members = append(r.Members, CommitteeMember{
			NodeAddress: m.NodeAddress.Hex(), EthAddress: m.EthAddress.Hex(), Weight: m.Weight.String(), Share: cm.Share(m.Weight),
		})
	}
	r.EthRetries = ethRetries(src)
	if eth, ok := src.(*ethpos.EthSource); ok {
		_, r.EthCache = eth.Indexed()
		fmt.Fprintf(stderr, "ethereum index: cache %s\n", r.EthCache)
	}
	if o.json {
		return printJSON(stdout, r)
	}
	return printCommittee(stdout, r)
}

func printCommittee(w io.Writer, r CommitteeReport) error {
	fmt.Fprintf(w, "committee in effect from ref time %d, total weight %s\n", r.RefTime, r.TotalWeight)
	fmt.Fprintf(w, "quorum: weight %s signs a block; honest stake: weight %s of the current committee trusts a tip past the grace\n", r.QuorumWeight, r.HonestWeight)
	if r.EthereumBlock != 0 {
		fmt.Fprintf(w, "contract state at Ethereum block %d\n", r.EthereumBlock)
	}
	rows := [][2]string{{"NODE ADDRESS", "ETH ADDRESS\tWEIGHT\tSHARE"}}
	for _, m := range r.Members {
		rows = append(rows, [2]string{m.NodeAddress, fmt.Sprintf("%s\t%s\t%.1f%%", m.EthAddress, m.Weight, m.Share)})
	}
	return table(w, rows)
}
