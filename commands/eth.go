package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
)

// ethOptions are the Ethereum source's flags: the PoS contracts'
// addresses, the genesis reference time, the index and the endpoint's pace.
type ethOptions struct {
	contractRegistry, committeeContract, registryContract string
	genesisRefTime                                        uint64
	genesisGiven                                          bool
	fromBlock, confirmations                              uint64
	cache                                                 string
	rps                                                   float64
	timeout                                               time.Duration
}

// flags declares them; besideStore says whether the index is cached beside
// the command's store by default.
func (o *ethOptions) flags(besideStore bool) []cli.Flag {
	cacheDefault := "STORE.ethcache, beside the store"
	if !besideStore {
		cacheDefault = "none: the index is rebuilt each run"
	}
	genesis := boundedUint64(&cli.Uint64Flag{Name: "genesis-ref-time", Category: "Committees", EnvVars: []string{"VCSYNC_GENESIS_REF_TIME"}, Destination: &o.genesisRefTime,
		Usage: "genesis reference time (unix seconds) for the Ethereum source"}, 0, 1<<32-1)
	genesis.Action = given(&o.genesisGiven, genesis.Action)
	return []cli.Flag{
		&cli.StringFlag{Name: "contract-registry", Category: "Committees", EnvVars: []string{"VCSYNC_CONTRACT_REGISTRY"}, Destination: &o.contractRegistry,
			Usage: "ContractRegistry `ADDRESS` (with --eth-rpc): followed to every Committee, GuardiansRegistration and Elections version, as the management service does"},
		&cli.StringFlag{Name: "committee-contract", Category: "Committees", EnvVars: []string{"VCSYNC_COMMITTEE_CONTRACT"}, Destination: &o.committeeContract,
			Usage: "Committee contract `ADDRESS`, one version for all time (with --registry-contract, instead of --contract-registry)"},
		&cli.StringFlag{Name: "registry-contract", Category: "Committees", EnvVars: []string{"VCSYNC_REGISTRY_CONTRACT"}, Destination: &o.registryContract,
			Usage: "GuardiansRegistration contract `ADDRESS`, one version for all time (with --committee-contract)"},
		genesis,
		&cli.Uint64Flag{Name: "eth-from-block", Category: "Committees", Destination: &o.fromBlock,
			Usage: "first Ethereum block to index, the contracts' deployment (0: found by binary search on eth_getCode)"},
		boundedUint64(&cli.Uint64Flag{Name: "eth-confirmations", Value: ethpos.DefaultConfirmations, Category: "Committees", Destination: &o.confirmations,
			Usage: "blocks behind the Ethereum head the index stays (3, about 36s: within the management service's 40s lag)"}, 1, 10_000),
		&cli.StringFlag{Name: "eth-cache", Category: "Committees", EnvVars: []string{"VCSYNC_ETH_CACHE"}, Destination: &o.cache,
			DefaultText: cacheDefault, Usage: "bbolt `FILE` keeping the finalized Ethereum index between runs (none: off)"},
		&cli.Float64Flag{Name: "eth-rps", Value: ethpos.DefaultEthRPS, Category: "Committees", Destination: &o.rps,
			Usage: "most calls a second to the Ethereum endpoint (free tiers allow about 10)"},
		boundedDuration(&cli.DurationFlag{Name: "eth-timeout", Value: ethpos.DefaultEthTimeout, Category: "Committees", Destination: &o.timeout,
			Usage: "how long one Ethereum call may keep retrying busy answers (429, 502-504, rate-limit errors)"}, time.Second, time.Hour),
	}
}

// config checks the contracts' addresses and builds the source's
// configuration; the index is cached beside storePath unless --eth-cache
// says otherwise.
func (o ethOptions) config(storePath string) (ethpos.EthConfig, error) {
	// --genesis-ref-time is bounded to 32 bits.
	cfg := ethpos.EthConfig{GenesisRefTime: uint32(o.genesisRefTime), FromBlock: o.fromBlock, Confirmations: o.confirmations}
	switch {
	case o.cache == "none":
	case o.cache != "":
		cfg.CachePath = o.cache
	case storePath != "":
		cfg.CachePath = storePath + ".ethcache"
	}
	address := func(flag, v string, dst *common.Address) error {
		if !common.IsHexAddress(v) {
			return usageError(fmt.Errorf("--%s %q is not an Ethereum address (0x and 40 hex digits)", flag, v))
		}
		*dst = common.HexToAddress(v)
		return nil
	}
	switch {
	case o.contractRegistry != "" && (o.committeeContract != "" || o.registryContract != ""):
		return cfg, usageError(errors.New("name either --contract-registry (followed to every contract version) or --committee-contract with --registry-contract (one version each), not both"))
	case o.contractRegistry != "":
		return cfg, address("contract-registry", o.contractRegistry, &cfg.ContractRegistry)
	case o.committeeContract == "" || o.registryContract == "":
		return cfg, usageError(errors.New("--eth-rpc needs --contract-registry (the ContractRegistry's address), or both --committee-contract and --registry-contract"))
	}
	if err := address("committee-contract", o.committeeContract, &cfg.Committee); err != nil {
		return cfg, err
	}
	return cfg, address("registry-contract", o.registryContract, &cfg.Registry)
}

func (o ethOptions) limits() ethpos.EthLimits {
	return ethpos.EthLimits{RPS: o.rps, Timeout: o.timeout}
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
