package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/verify"
)

func committeeCommand() *cli.Command {
	return &cli.Command{
		Name:  "committee",
		Usage: "print the committee at a reference time, or the current one",
		Description: "Example: vcsync committee --at 1799999000 --chain-id 42 --management management.json\n" +
			"         vcsync committee --current --chain-id 42 --eth-rpc http://127.0.0.1:8545 \\\n" +
			"           --committee-contract 0x... --registry-contract 0x...",
		Flags: append([]cli.Flag{
			&cli.Uint64Flag{Name: "at", Usage: "reference time `T` (unix seconds)"},
			&cli.BoolFlag{Name: "current", Usage: "the committee in effect now"},
			&cli.UintFlag{Name: "chain-id", Usage: "virtual chain id", Required: true},
			jsonFlag,
		}, sourceFlags()...),
		Action: runCommittee,
	}
}

// CommitteeReport is `committee --json`.
type CommitteeReport struct {
	RefTime       uint32            `json:"ref_time"`
	EthereumBlock uint64            `json:"ethereum_block,omitempty"` // with --eth-rpc and --at
	TotalWeight   string            `json:"total_weight"`
	Members       []CommitteeMember `json:"members"`
}

// CommitteeMember is one row of CommitteeReport.
type CommitteeMember struct {
	NodeAddress string  `json:"node_address"`
	EthAddress  string  `json:"eth_address"`
	Weight      string  `json:"weight"`
	Share       float64 `json:"share_percent"`
}

func runCommittee(c *cli.Context) error {
	if c.IsSet("at") == c.Bool("current") {
		return errors.New("give exactly one of --at T and --current")
	}
	src, err := committeeSource(c, uint32(c.Uint("chain-id")))
	if err != nil {
		return err
	}
	var cm *verify.Committee
	if c.Bool("current") {
		cm, err = src.Current(c.Context)
	} else {
		cm, err = src.CommitteeAt(c.Context, uint32(c.Uint64("at")))
	}
	if err != nil {
		return err
	}
	r := CommitteeReport{RefTime: cm.RefTime, TotalWeight: cm.TotalWeight().String()}
	if eth, ok := src.(*verify.EthSource); ok && c.IsSet("at") {
		if r.EthereumBlock, err = eth.BlockAt(c.Context, uint32(c.Uint64("at"))); err != nil {
			return err
		}
	}
	for _, m := range cm.Members {
		r.Members = append(r.Members, CommitteeMember{
			NodeAddress: m.NodeAddress.Hex(), EthAddress: m.EthAddress.Hex(), Weight: m.Weight.String(), Share: cm.Share(m.Weight),
		})
	}
	if c.Bool(jsonFlag.Name) {
		return printJSON(c.App.Writer, r)
	}
	return printCommittee(c.App.Writer, r)
}

func printCommittee(w io.Writer, r CommitteeReport) error {
	fmt.Fprintf(w, "committee in effect from ref time %d, total weight %s\n", r.RefTime, r.TotalWeight)
	if r.EthereumBlock != 0 {
		fmt.Fprintf(w, "contract state at Ethereum block %d\n", r.EthereumBlock)
	}
	rows := [][2]string{{"NODE ADDRESS", "ETH ADDRESS\tWEIGHT\tSHARE"}}
	for _, m := range r.Members {
		rows = append(rows, [2]string{m.NodeAddress, fmt.Sprintf("%s\t%s\t%.1f%%", m.EthAddress, m.Weight, m.Share)})
	}
	return table(w, rows)
}
