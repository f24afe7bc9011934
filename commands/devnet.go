package commands

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/store"
)

func devnetCommand() *cli.Command {
	gen := bound(&cli.Command{
		Name:  "gen",
		Usage: "write a signed chain's store and its management document",
		Description: "Writes DIR/blocks.db and DIR/management.json. Keys come from --seed, so the\n" +
			"output is the same every time. The committee rotates every --rotate-every blocks.\n" +
			"Example: vcsync devnet gen --out testnet --blocks 1000 --ranges 1-300,701-1000",
	}, &devnetGenOptions{})
	return &cli.Command{Name: "devnet", Usage: "make signed test chains", Subcommands: []*cli.Command{gen}}
}

func (o *devnetGenOptions) action(c *cli.Context) error {
	var err error
	if o.ranges, err = parseRanges(o.rangesGiven); err != nil {
		return usageError(err)
	}
	// The three are bounded to 32 bits.
	o.cfg.ChainID, o.cfg.NetworkType, o.cfg.TipRefTime = uint32(o.chainID), uint32(o.networkType), uint32(o.tipRefTime)
	return o.run(c.App.Writer)
}

// devnetGenOptions is what `vcsync devnet gen` was asked.
type devnetGenOptions struct {
	out                  string
	rangesGiven          string
	ranges               []store.Range
	json                 bool
	cfg                  devnet.Config
	chainID, networkType uint
	tipRefTime           uint64
}

func (o *devnetGenOptions) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "out", Usage: "directory to write into", Required: true, Destination: &o.out},
		boundedUint64(&cli.Uint64Flag{Name: "blocks", Value: 1000, Destination: &o.cfg.Blocks, Usage: "chain length"}, 1, 100_000_000),
		boundedInt(&cli.IntFlag{Name: "committee-size", Value: devnet.DefaultCommitteeSize, Destination: &o.cfg.CommitteeSize,
			Usage: "committee members (each block is signed by members in order until quorum)"}, 1, 1024),
		&cli.StringFlag{Name: "seed", Value: "vcsync-devnet", Destination: &o.cfg.Seed, Usage: "key derivation seed"},
		boundedUint64(&cli.Uint64Flag{Name: "rotate-every", Value: devnet.DefaultRotateEvery, Destination: &o.cfg.RotateEvery, Usage: "blocks between committee changes"}, 1, 1<<40),
		boundedUint(&cli.UintFlag{Name: "chain-id", Value: devnet.DefaultChainID, Destination: &o.chainID, Usage: "virtual chain id of the devnet"}, 0, 1<<32-1),
		boundedUint(&cli.UintFlag{Name: "network-type", Value: devnet.DefaultNetworkType, Destination: &o.networkType, Usage: "network type of the devnet"}, 0, 1<<32-1),
		boundedUint64(&cli.Uint64Flag{Name: "tip-ref-time", DefaultText: "now", Destination: &o.tipRefTime, Usage: "reference time of the last block, unix seconds"}, 0, 1<<32-1),
		boundedInt(&cli.IntFlag{Name: "body-bytes", Value: devnet.DefaultBodyBytes, Destination: &o.cfg.BodyBytes, Usage: "size of each block body"}, 0, 16<<20),
		&cli.StringFlag{Name: "ranges", DefaultText: "all", Destination: &o.rangesGiven, Usage: "store only these heights, e.g. 1-300,701-1000"},
		&cli.BoolFlag{Name: "bare-signatures", Destination: &o.cfg.BareSignatures, Usage: "write protocol 1 blocks, whose proofs do not name their signers"},
		jsonFlag(&o.json),
	}
}

func (o devnetGenOptions) run(w io.Writer) error {
	net, err := devnet.New(o.cfg)
	if err != nil {
		return err
	}
	files, chain, err := net.Generate(o.out, o.ranges)
	if err != nil {
		return err
	}
	tip := chain[len(chain)-1]
	out := struct {
		devnet.Files
		ChainID     uint32 `json:"chain_id"`
		NetworkType uint32 `json:"network_type"`
		Blocks      uint64 `json:"blocks"`
		TipHash     string `json:"tip_hash"`
		TipRefTime  uint32 `json:"tip_ref_time"`
	}{files, net.ChainID, net.NetworkType, net.Blocks, tip.Hash().Hex(), tip.Header.RefTime}
	if o.json {
		return printJSON(w, out)
	}
	return table(w, [][2]string{
		{"store", files.Store}, {"management", files.Management},
		{"chain", fmt.Sprintf("%d (network type %d)", out.ChainID, out.NetworkType)},
		{"blocks", fmt.Sprint(out.Blocks)}, {"tip hash", out.TipHash}, {"tip ref time", fmt.Sprint(out.TipRefTime)},
	})
}

// parseRanges reads "1-300,701-1000" (a single height N is N-N).
func parseRanges(s string) ([]store.Range, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []store.Range
	for _, part := range strings.Split(s, ",") {
		lo, hi, found := strings.Cut(strings.TrimSpace(part), "-")
		if !found {
			hi = lo
		}
		from, err1 := strconv.ParseUint(lo, 10, 64)
		to, err2 := strconv.ParseUint(hi, 10, 64)
		if err1 != nil || err2 != nil || from == 0 || from > to {
			return nil, fmt.Errorf("--ranges: %q is not a range like 1-300", part)
		}
		out = append(out, store.Range{From: from, To: to})
	}
	return out, nil
}
