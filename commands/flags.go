package commands

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

// Flags shared by several commands, declared once (geth's way) with their
// category, usage and environment variable; commands list the ones they take.
var (
	storeFlag = &cli.StringFlag{
		Name: "store", Usage: "path of the bbolt block store", EnvVars: []string{"VCSYNC_STORE"},
		Required: true, Category: "Store",
	}
	lockTimeoutFlag = boundedDuration(&cli.DurationFlag{
		Name: "lock-timeout", Value: store.DefaultLockTimeout, Category: "Store", EnvVars: []string{"VCSYNC_LOCK_TIMEOUT"},
		Usage: "how long to wait for another process's lock on the store (0: do not wait)",
	}, 0, time.Hour)
	jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of text"}
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
	contractRegistryFlag = &cli.StringFlag{Name: "contract-registry", Category: "Committees", EnvVars: []string{"VCSYNC_CONTRACT_REGISTRY"},
		Usage: "ContractRegistry `ADDRESS` (with --eth-rpc): followed to every Committee, GuardiansRegistration and Elections version, as the management service does"}
	committeeContractFlag = &cli.StringFlag{Name: "committee-contract", Category: "Committees", EnvVars: []string{"VCSYNC_COMMITTEE_CONTRACT"}, Usage: "Committee contract `ADDRESS`, one version for all time (with --registry-contract, instead of --contract-registry)"}
	registryContractFlag  = &cli.StringFlag{Name: "registry-contract", Category: "Committees", EnvVars: []string{"VCSYNC_REGISTRY_CONTRACT"}, Usage: "GuardiansRegistration contract `ADDRESS`, one version for all time (with --committee-contract)"}
	genesisRefTimeFlag    = boundedUint64(&cli.Uint64Flag{Name: "genesis-ref-time", Category: "Committees", EnvVars: []string{"VCSYNC_GENESIS_REF_TIME"}, Usage: "genesis reference time (unix seconds) for the Ethereum source"}, 0, 1<<32-1)
	ethFromBlockFlag      = &cli.Uint64Flag{Name: "eth-from-block", Category: "Committees", Usage: "first Ethereum block to index, the contracts' deployment (0: found by binary search on eth_getCode)"}
	ethConfirmationsFlag  = boundedUint64(&cli.Uint64Flag{Name: "eth-confirmations", Value: ethpos.DefaultConfirmations, Category: "Committees",
		Usage: "blocks behind the Ethereum head the index stays (3, about 36s: within the management service's 40s lag)"}, 1, 10_000)
	ethRPSFlag     = &cli.Float64Flag{Name: "eth-rps", Value: ethpos.DefaultEthRPS, Category: "Committees", Usage: "most calls a second to the Ethereum endpoint (free tiers allow about 10)"}
	ethTimeoutFlag = boundedDuration(&cli.DurationFlag{Name: "eth-timeout", Value: ethpos.DefaultEthTimeout, Category: "Committees", Usage: "how long one Ethereum call may keep retrying busy answers (429, 502-504, rate-limit errors)"}, time.Second, time.Hour)
	ethCacheFlag   = &cli.StringFlag{Name: "eth-cache", Category: "Committees", EnvVars: []string{"VCSYNC_ETH_CACHE"},
		DefaultText: "STORE.ethcache, beside the store", Usage: "bbolt `FILE` keeping the finalized Ethereum index between runs (none: off)"}
	graceFlag = boundedDuration(&cli.DurationFlag{
		Name: "honesty-grace", Value: verify.DefaultHonestyGrace, Category: "Verification",
		Usage: "how long a committee stays trusted after its reference time (tip rule)",
	}, time.Minute, 30*24*time.Hour)
	nowFlag = &cli.TimestampFlag{
		Name: "now", Layout: time.RFC3339, Category: "Verification",
		Usage: "fix the clock for the tip rule (RFC 3339), for scripted and test use",
	}
	chainIDFlag     = boundedUint(&cli.UintFlag{Name: "chain-id", Category: "Store", EnvVars: []string{"VCSYNC_CHAIN_ID"}, Usage: "virtual chain id (with --network-type, needed to create a store; checked against an existing one)"}, 0, 1<<32-1)
	networkTypeFlag = boundedUint(&cli.UintFlag{Name: "network-type", Category: "Store", EnvVars: []string{"VCSYNC_NETWORK_TYPE"}, Usage: "network type (with --chain-id)"}, 0, 1<<32-1)
)

// Flags of the commands that sync from peers.
var (
	peerFlag = &cli.StringSliceFlag{
		Name: "peer", Category: "Peers", EnvVars: []string{"VCSYNC_PEERS"},
		Usage: "peer `URL`, repeatable: http://host:port, or file:///path/blocks.db for another store",
	}
	peersFileFlag  = &cli.StringFlag{Name: "peers-file", Category: "Peers", Usage: "file with one peer URL per line (# comments)"}
	batchFlag      = boundedUint64(&cli.Uint64Flag{Name: "batch", Value: syncer.DefaultBatch, Category: "Peers", Usage: "blocks to ask for per batch"}, 1, 1_000_000)
	chunkFlag      = boundedInt(&cli.IntFlag{Name: "chunk", Value: syncer.DefaultChunk, Category: "Peers", Usage: "blocks per streamed chunk"}, 1, 10_000)
	collectFlag    = boundedDuration(&cli.DurationFlag{Name: "collect-timeout", Value: syncer.DefaultCollectTimeout, Category: "Peers", Usage: "how long to collect availability answers"}, time.Millisecond, 10*time.Minute)
	chunkTimeFlag  = boundedDuration(&cli.DurationFlag{Name: "chunk-timeout", Value: peerclient.DefaultChunkTimeout, Category: "Peers", Usage: "a peer that delivers no chunk for this long is dropped"}, time.Millisecond, 10*time.Minute)
	busyTimeFlag   = boundedDuration(&cli.DurationFlag{Name: "busy-timeout", Value: syncer.DefaultBusyTimeout, Category: "Peers", Usage: "how long to wait in a row while every useful peer answers busy (503) before giving up; a busy peer is never dropped"}, time.Millisecond, 24*time.Hour)
	seedFlag       = &cli.Int64Flag{Name: "seed", Category: "Peers", Usage: "seed for the random peer choice (0: random); makes a run reproducible"}
	maxBlockFlag   = boundedInt(&cli.IntFlag{Name: "max-block-bytes", Value: block.DefaultMaxSize, Category: "Peers", Usage: "largest block accepted from a peer"}, 1<<10, 1<<30)
	parallelFlag   = boundedInt(&cli.IntFlag{Name: "parallel", Value: syncer.DefaultParallel, Category: "Peers", Usage: "batches fetched at once, from different peers (1: one at a time)"}, 1, 64)
	staleAfterFlag = boundedDuration(&cli.DurationFlag{Name: "stale-after", Value: syncer.DefaultStaleAfter, Usage: "with --follow: run again when no block was committed for this long"}, time.Second, 24*time.Hour)
)

// The flag sets commands share.
func sourceFlags() []cli.Flag {
	return []cli.Flag{managementFlag, committeeFileFlag, ethRPCFlag, contractRegistryFlag, committeeContractFlag, registryContractFlag, genesisRefTimeFlag,
		ethFromBlockFlag, ethConfirmationsFlag, ethCacheFlag, ethRPSFlag, ethTimeoutFlag}
}

func verifierFlags() []cli.Flag { return append(sourceFlags(), graceFlag, nowFlag) }

func syncFlags() []cli.Flag {
	return append([]cli.Flag{storeFlag, lockTimeoutFlag, jsonFlag, chainIDFlag, networkTypeFlag,
		peerFlag, peersFileFlag, batchFlag, chunkFlag, collectFlag, chunkTimeFlag, busyTimeFlag, metricsAddrFlag, seedFlag, maxBlockFlag, parallelFlag, trustFlag, logFormatFlag, logLevelFlag}, verifierFlags()...)
}

// argsKey holds the raw command line in App.Metadata, to tell a flag given
// on the command line from one its environment variable set.
const argsKey = "vcsync.args"

// onCommandLine reports whether flag name was given on the command line
// (not only through its environment variable).
func onCommandLine(c *cli.Context, name string) bool {
	args, ok := c.App.Metadata[argsKey].([]string)
	if !ok {
		return c.IsSet(name) // a caller that did not record them: take IsSet
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// Every numeric flag is declared with its bounds (bounded*): a zero,
// negative or absurd value is refused with the allowed range instead of
// being replaced by a default, whether it came from the command line or the
// environment. Reference times are uint32 on the wire and in blocks: their
// flags take at most 2^32-1, never a larger value cut to its low 32 bits.

func boundedUint64(f *cli.Uint64Flag, lo, hi uint64) *cli.Uint64Flag {
	f.Action = within(f.Name, lo, hi)
	return f
}

func boundedUint(f *cli.UintFlag, lo, hi uint) *cli.UintFlag {
	f.Action = within(f.Name, lo, hi)
	return f
}

func boundedInt(f *cli.IntFlag, lo, hi int) *cli.IntFlag {
	f.Action = within(f.Name, lo, hi)
	return f
}

func boundedDuration(f *cli.DurationFlag, lo, hi time.Duration) *cli.DurationFlag {
	f.Action = within(f.Name, lo, hi)
	return f
}

// within is a flag's Action refusing a value outside lo..hi.
func within[T cmp.Ordered](name string, lo, hi T) func(*cli.Context, T) error {
	return func(c *cli.Context, v T) error {
		if v < lo || v > hi {
			return usageError(fmt.Errorf("--%s %v is out of range: give %v to %v; see %s --help", name, v, lo, hi, c.Command.HelpName))
		}
		return nil
	}
}

// lockTimeout is --lock-timeout for store.Open: 0 means "do not wait",
// which bbolt spells as the shortest timeout.
func lockTimeout(c *cli.Context) time.Duration {
	if d := c.Duration(lockTimeoutFlag.Name); d > 0 {
		return d
	}
	return time.Nanosecond
}

// storeOptions name the store a command works on and how to open it.
type storeOptions struct {
	path        string
	lockTimeout time.Duration
	stderr      io.Writer // where the store's own notices go (an interrupted command finished)
}

func storeOptionsFrom(c *cli.Context) storeOptions {
	return storeOptions{path: c.String(storeFlag.Name), lockTimeout: lockTimeout(c), stderr: c.App.ErrWriter}
}

func (o storeOptions) open(readOnly bool) (*store.Store, error) {
	return o.opened(store.Open(o.path, store.Options{ReadOnly: readOnly, LockTimeout: o.lockTimeout}))
}

// opened tells the user what opening the store did to finish an
// interrupted command, if anything.
func (o storeOptions) opened(s *store.Store, err error) (*store.Store, error) {
	if err == nil && s.Recovered != "" && o.stderr != nil {
		fmt.Fprintf(o.stderr, "vcsync: %s\n", s.Recovered)
	}
	return s, err
}
