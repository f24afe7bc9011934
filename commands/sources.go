package commands

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

// Committee-source and verification flags, shared by every verifying command.
var (
	managementFlag = &cli.StringFlag{
		Name: "management", Category: "Committees", EnvVars: []string{"VCSYNC_MANAGEMENT"},
		Usage: "management-service document: a file `PATH` or an http(s) URL",
	}
	committeeFileFlag = &cli.StringFlag{
		Name: "committee-file", Category: "Committees",
		Usage: "committee file `PATH` (management-document shape), never fetched over the network",
	}
	ethRPCFlag = &cli.StringFlag{
		Name: "eth-rpc", Category: "Committees", EnvVars: []string{"VCSYNC_ETH_RPC"},
		Usage: "Ethereum JSON-RPC `URL` to read the PoS contracts from",
	}
	committeeContractFlag = &cli.StringFlag{Name: "committee-contract", Category: "Committees", Usage: "Committee contract `ADDRESS`"}
	registryContractFlag  = &cli.StringFlag{Name: "registry-contract", Category: "Committees", Usage: "GuardiansRegistration contract `ADDRESS`"}
	genesisRefTimeFlag    = &cli.Uint64Flag{Name: "genesis-ref-time", Category: "Committees", Usage: "genesis reference time (unix seconds) for the Ethereum source"}
	graceFlag             = &cli.DurationFlag{
		Name: "honesty-grace", Value: verify.DefaultHonestyGrace, Category: "Verification",
		Usage: "how long a committee stays trusted after its reference time (tip rule)",
	}
	nowFlag = &cli.TimestampFlag{
		Name: "now", Layout: time.RFC3339, Category: "Verification",
		Usage: "fix the clock for the tip rule (RFC 3339), for scripted and test use",
	}
	chainIDFlag     = &cli.UintFlag{Name: "chain-id", Category: "Store", Usage: "virtual chain id (needed to create a store; checked against an existing one)"}
	networkTypeFlag = &cli.UintFlag{Name: "network-type", Category: "Store", Usage: "network type (with --chain-id)"}
)

func sourceFlags() []cli.Flag {
	return []cli.Flag{managementFlag, committeeFileFlag, ethRPCFlag, committeeContractFlag, registryContractFlag, genesisRefTimeFlag}
}

func verifierFlags() []cli.Flag { return append(sourceFlags(), graceFlag, nowFlag) }

// committeeSource builds the one committee source the flags name.
func committeeSource(c *cli.Context, chainID uint32) (verify.Source, error) {
	set := 0
	for _, f := range []string{managementFlag.Name, committeeFileFlag.Name, ethRPCFlag.Name} {
		if c.IsSet(f) {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("name exactly one committee source: --management, --committee-file or --eth-rpc")
	}
	switch {
	case c.IsSet(ethRPCFlag.Name):
		return ethSource(c)
	case c.IsSet(managementFlag.Name):
		doc, err := verify.ReadManagementDoc(c.Context, c.String(managementFlag.Name), true)
		if err != nil {
			return nil, err
		}
		return verify.NewDocSource(doc, chainID)
	default:
		doc, err := verify.ReadManagementDoc(c.Context, c.String(committeeFileFlag.Name), false)
		if err != nil {
			return nil, err
		}
		return verify.NewDocSource(doc, chainID)
	}
}

// newVerifier builds a verifier for the store's chain from the flags.
func newVerifier(c *cli.Context, id store.Identity) (*verify.Verifier, error) {
	src, err := committeeSource(c, id.ChainID)
	if err != nil {
		return nil, err
	}
	v := &verify.Verifier{Source: src, ChainID: id.ChainID, NetworkType: id.NetworkType, Grace: c.Duration(graceFlag.Name)}
	if t := c.Timestamp(nowFlag.Name); t != nil {
		fixed := *t
		v.Now = func() time.Time { return fixed }
	}
	return v, nil
}
