package commands

import (
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
	lockTimeoutFlag = &cli.DurationFlag{
		Name: "lock-timeout", Value: store.DefaultLockTimeout, Category: "Store", EnvVars: []string{"VCSYNC_LOCK_TIMEOUT"},
		Usage: "how long to wait for another process's lock on the store (0: do not wait)",
	}
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
	genesisRefTimeFlag    = &cli.Uint64Flag{Name: "genesis-ref-time", Category: "Committees", EnvVars: []string{"VCSYNC_GENESIS_REF_TIME"}, Usage: "genesis reference time (unix seconds) for the Ethereum source"}
	ethFromBlockFlag      = &cli.Uint64Flag{Name: "eth-from-block", Category: "Committees", Usage: "first Ethereum block to index, the contracts' deployment (0: found by binary search on eth_getCode)"}
	ethConfirmationsFlag  = &cli.Uint64Flag{Name: "eth-confirmations", Value: ethpos.DefaultConfirmations, Category: "Committees",
		Usage: "blocks behind the Ethereum head the index stays (3, about 36s: within the management service's 40s lag)"}
	ethRPSFlag     = &cli.Float64Flag{Name: "eth-rps", Value: ethpos.DefaultEthRPS, Category: "Committees", Usage: "most calls a second to the Ethereum endpoint (free tiers allow about 10)"}
	ethTimeoutFlag = &cli.DurationFlag{Name: "eth-timeout", Value: ethpos.DefaultEthTimeout, Category: "Committees", Usage: "how long one Ethereum call may keep retrying busy answers (429, 502-504, rate-limit errors)"}
	ethCacheFlag   = &cli.StringFlag{Name: "eth-cache", Category: "Committees", EnvVars: []string{"VCSYNC_ETH_CACHE"},
		DefaultText: "STORE.ethcache, beside the store", Usage: "bbolt `FILE` keeping the finalized Ethereum index between runs (none: off)"}
	graceFlag = &cli.DurationFlag{
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

// Flags of the commands that sync from peers.
var (
	peerFlag = &cli.StringSliceFlag{
		Name: "peer", Category: "Peers", EnvVars: []string{"VCSYNC_PEERS"},
		Usage: "peer `URL`, repeatable: http://host:port, or file:///path/blocks.db for another store",
	}
	peersFileFlag  = &cli.StringFlag{Name: "peers-file", Category: "Peers", Usage: "file with one peer URL per line (# comments)"}
	batchFlag      = &cli.Uint64Flag{Name: "batch", Value: syncer.DefaultBatch, Category: "Peers", Usage: "blocks to ask for per batch"}
	chunkFlag      = &cli.IntFlag{Name: "chunk", Value: syncer.DefaultChunk, Category: "Peers", Usage: "blocks per streamed chunk"}
	collectFlag    = &cli.DurationFlag{Name: "collect-timeout", Value: syncer.DefaultCollectTimeout, Category: "Peers", Usage: "how long to collect availability answers"}
	chunkTimeFlag  = &cli.DurationFlag{Name: "chunk-timeout", Value: peerclient.DefaultChunkTimeout, Category: "Peers", Usage: "a peer that delivers no chunk for this long is dropped"}
	busyTimeFlag   = &cli.DurationFlag{Name: "busy-timeout", Value: syncer.DefaultBusyTimeout, Category: "Peers", Usage: "how long to wait in a row while every useful peer answers busy (503) before giving up; a busy peer is never dropped"}
	seedFlag       = &cli.Int64Flag{Name: "seed", Category: "Peers", Usage: "seed for the random peer choice (0: random); makes a run reproducible"}
	maxBlockFlag   = &cli.IntFlag{Name: "max-block-bytes", Value: block.DefaultMaxSize, Category: "Peers", Usage: "largest block accepted from a peer"}
	parallelFlag   = &cli.IntFlag{Name: "parallel", Value: syncer.DefaultParallel, Category: "Peers", Usage: "batches fetched at once, from different peers (1: one at a time)"}
	staleAfterFlag = &cli.DurationFlag{Name: "stale-after", Value: syncer.DefaultStaleAfter, Usage: "with --follow: run again when no block was committed for this long"}
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

// flagCheck says what is wrong with a flag's value, or "".
type flagCheck func(c *cli.Context, name string) string

func intIn(lo, hi int64) flagCheck {
	return func(c *cli.Context, name string) string {
		var v int64
		switch g := c.Value(name).(type) {
		case int:
			v = int64(g)
		case int64:
			v = g
		case uint:
			v = int64(g)
		case uint64:
			if g > uint64(hi) {
				return fmt.Sprintf("--%s %d is out of range: give %d to %d", name, g, lo, hi)
			}
			v = int64(g)
		}
		if v < lo || v > hi {
			return fmt.Sprintf("--%s %d is out of range: give %d to %d", name, v, lo, hi)
		}
		return ""
	}
}

func durationIn(lo, hi time.Duration) flagCheck {
	return func(c *cli.Context, name string) string {
		if d := c.Duration(name); d < lo || d > hi {
			return fmt.Sprintf("--%s %s is out of range: give %s to %s", name, d, lo, hi)
		}
		return ""
	}
}

// flagChecks bound every numeric flag: a zero, negative or absurd value is
// refused with the allowed range instead of being replaced by a default.
var flagChecks = map[string]flagCheck{
	"batch":                  intIn(1, 1_000_000),
	"chunk":                  intIn(1, 10_000),
	"max-block-bytes":        intIn(1<<10, 1<<30),
	"lock-timeout":           durationIn(0, time.Hour),
	"collect-timeout":        durationIn(time.Millisecond, 10*time.Minute),
	"chunk-timeout":          durationIn(time.Millisecond, 10*time.Minute),
	"busy-timeout":           durationIn(time.Millisecond, 24*time.Hour),
	"stale-after":            durationIn(time.Second, 24*time.Hour),
	"honesty-grace":          durationIn(time.Minute, 30*24*time.Hour),
	"committee-size":         intIn(1, 1024),
	"blocks":                 intIn(1, 100_000_000),
	"rotate-every":           intIn(1, 1<<40),
	"body-bytes":             intIn(0, 16<<20),
	"max-batch":              intIn(1, 1_000_000),
	"max-chunk":              intIn(1, 10_000),
	"max-frame-bytes":        intIn(1<<10, 1<<30),
	"max-streams":            intIn(1, 4096),
	"max-streams-per-client": intIn(1, 4096),
	"max-errors":             intIn(1, 1_000_000),
	"chain-id":               intIn(0, 1<<32-1),
	"network-type":           intIn(0, 1<<32-1),
	"eth-confirmations":      intIn(1, 10_000),
	"eth-timeout":            durationIn(time.Second, time.Hour),
	"parallel":               intIn(1, 64),
	// Reference times are uint32 on the wire and in blocks: a larger value
	// must be refused, not cut to its low 32 bits.
	"at":               intIn(0, 1<<32-1),
	"genesis-ref-time": intIn(0, 1<<32-1),
	"tip-ref-time":     intIn(0, 1<<32-1),
}

// checkFlagValues runs the checks of the flags a command was given.
func checkFlagValues(c *cli.Context, cmd string) error {
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		check, ok := flagChecks[name]
		if !ok || !c.IsSet(name) {
			continue
		}
		if msg := check(c, name); msg != "" {
			return fmt.Errorf("%s; see %s --help", msg, cmd)
		}
	}
	return nil
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
