package commands

import (
	"errors"
	"fmt"
	"strings"
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
		Name: "committee-file", Category: "Committees", EnvVars: []string{"VCSYNC_COMMITTEE_FILE"},
		Usage: "committee file `PATH` (management-document shape), never fetched over the network",
	}
	ethRPCFlag = &cli.StringFlag{
		Name: "eth-rpc", Category: "Committees", EnvVars: []string{"VCSYNC_ETH_RPC"},
		Usage: "Ethereum JSON-RPC `URL` to read the PoS contracts from",
	}
	committeeContractFlag = &cli.StringFlag{Name: "committee-contract", Category: "Committees", EnvVars: []string{"VCSYNC_COMMITTEE_CONTRACT"}, Usage: "Committee contract `ADDRESS` (with --eth-rpc)"}
	registryContractFlag  = &cli.StringFlag{Name: "registry-contract", Category: "Committees", EnvVars: []string{"VCSYNC_REGISTRY_CONTRACT"}, Usage: "GuardiansRegistration contract `ADDRESS` (with --eth-rpc)"}
	genesisRefTimeFlag    = &cli.Uint64Flag{Name: "genesis-ref-time", Category: "Committees", Usage: "genesis reference time (unix seconds) for the Ethereum source"}
	graceFlag             = &cli.DurationFlag{
		Name: "honesty-grace", Value: verify.DefaultHonestyGrace, Category: "Verification",
		Usage: "how long a committee stays trusted after its reference time (tip rule)",
	}
	nowFlag = &cli.TimestampFlag{
		Name: "now", Layout: time.RFC3339, Category: "Verification",
		Usage: "fix the clock for the tip rule (RFC 3339), for scripted and test use",
	}
	chainIDFlag     = &cli.UintFlag{Name: "chain-id", Category: "Store", EnvVars: []string{"VCSYNC_CHAIN_ID"}, Usage: "virtual chain id (with --network-type, needed to create a store; checked against an existing one)"}
	networkTypeFlag = &cli.UintFlag{Name: "network-type", Category: "Store", EnvVars: []string{"VCSYNC_NETWORK_TYPE"}, Usage: "network type (with --chain-id)"}
)

func sourceFlags() []cli.Flag {
	return []cli.Flag{managementFlag, committeeFileFlag, ethRPCFlag, committeeContractFlag, registryContractFlag, genesisRefTimeFlag}
}

func verifierFlags() []cli.Flag { return append(sourceFlags(), graceFlag, nowFlag) }

// committeeSourceFlag picks the one committee source: a source named on the
// command line wins over one an environment variable names; two on the
// command line (or two from the environment, with none on it) conflict.
func committeeSourceFlag(c *cli.Context) (string, error) {
	names := []string{managementFlag.Name, committeeFileFlag.Name, ethRPCFlag.Name}
	var onLine, fromEnv []string
	for _, n := range names {
		switch {
		case onCommandLine(c, n):
			onLine = append(onLine, "--"+n)
		case c.IsSet(n):
			fromEnv = append(fromEnv, "--"+n)
		}
	}
	switch {
	case len(onLine) == 1:
		return strings.TrimPrefix(onLine[0], "--"), nil
	case len(onLine) > 1:
		return "", usageError(fmt.Errorf("name one committee source, not %s", strings.Join(onLine, " and ")))
	case len(fromEnv) == 1:
		return strings.TrimPrefix(fromEnv[0], "--"), nil
	case len(fromEnv) > 1:
		return "", usageError(fmt.Errorf("the environment names more than one committee source (%s): unset one, or name one on the command line", strings.Join(fromEnv, ", ")))
	}
	return "", usageError(errors.New("name a committee source: --management PATH|URL, --committee-file PATH, or --eth-rpc URL with --committee-contract and --registry-contract"))
}

// committeeSource builds the one committee source the flags name.
func committeeSource(c *cli.Context, chainID uint32) (verify.Source, error) {
	which, err := committeeSourceFlag(c)
	if err != nil {
		return nil, err
	}
	switch which {
	case ethRPCFlag.Name:
		return ethSource(c)
	case managementFlag.Name:
		return docSource(c, c.String(managementFlag.Name), true, chainID)
	default:
		return docSource(c, c.String(committeeFileFlag.Name), false, chainID)
	}
}

// docSource reads a management document or committee file and says on
// stderr what the service's rules made it pass over.
func docSource(c *cli.Context, location string, allowURL bool, chainID uint32) (verify.Source, error) {
	doc, err := verify.ReadManagementDoc(c.Context, location, allowURL)
	if err != nil {
		return nil, err
	}
	src, err := verify.NewDocSource(doc, chainID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	for _, w := range src.Warnings {
		fmt.Fprintf(c.App.ErrWriter, "vcsync: warning: %s: %s\n", location, w)
	}
	return src, nil
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
