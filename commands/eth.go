package commands

import (
	"context"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/common"
	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
)

// ethConfigFrom reads the PoS contracts' addresses and the genesis reference time.
func ethConfigFrom(c *cli.Context) (ethpos.EthConfig, error) {
	cfg := ethpos.EthConfig{GenesisRefTime: uint32(c.Uint64(genesisRefTimeFlag.Name)),
		FromBlock: c.Uint64(ethFromBlockFlag.Name), Confirmations: c.Uint64(ethConfirmationsFlag.Name)}
	switch cache := c.String(ethCacheFlag.Name); {
	case cache == "none":
	case cache != "":
		cfg.CachePath = cache
	case c.String(storeFlag.Name) != "":
		cfg.CachePath = c.String(storeFlag.Name) + ".ethcache"
	}
	address := func(f *cli.StringFlag, dst *common.Address) error {
		v := c.String(f.Name)
		if !common.IsHexAddress(v) {
			return usageError(fmt.Errorf("--%s %q is not an Ethereum address (0x and 40 hex digits)", f.Name, v))
		}
		*dst = common.HexToAddress(v)
		return nil
	}
	registry, committee, registration := c.String(contractRegistryFlag.Name), c.String(committeeContractFlag.Name), c.String(registryContractFlag.Name)
	switch {
	case registry != "" && (committee != "" || registration != ""):
		return cfg, usageError(fmt.Errorf("name either --contract-registry (followed to every contract version) or --committee-contract with --registry-contract (one version each), not both"))
	case registry != "":
		return cfg, address(contractRegistryFlag, &cfg.ContractRegistry)
	case committee == "" || registration == "":
		return cfg, usageError(fmt.Errorf("--eth-rpc needs --contract-registry (the ContractRegistry's address), or both --committee-contract and --registry-contract"))
	}
	if err := address(committeeContractFlag, &cfg.Committee); err != nil {
		return cfg, err
	}
	if err := address(registryContractFlag, &cfg.Registry); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func ethSource(ctx context.Context, url string, cfg ethpos.EthConfig, limits ethpos.EthLimits, stderr io.Writer) (committee.Source, error) {
	limits.OnRetry = func(n int64, why string) {
		fmt.Fprintf(stderr, "ethereum endpoint busy (%s): retrying (%d so far)\n", why, n)
	}
	client, err := ethpos.DialEthereum(ctx, url, limits)
	if err != nil {
		return nil, fmt.Errorf("--eth-rpc: %w", err)
	}
	return ethpos.NewEthSource(client, cfg), nil
}
