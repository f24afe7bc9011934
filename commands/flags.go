package commands

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
)

// Flags follow bbolt's AddFlags shape: each command's options struct
// declares its flags bound to its own fields (Destination), with their
// bounds, so cli fills the struct as it parses and nothing reads a flag
// back by name. Flags several commands share are declared once, below, by a
// function or method that binds them to the options receiving them. Every
// app builds its own flags, so nothing one run parsed (or its environment
// gave) outlives it.

// options is a command's options struct: it declares its flags bound to
// its own fields, and acts on what they say once cli has filled them.
type options interface {
	flags() []cli.Flag
	action(c *cli.Context) error
}

// bound gives cmd the flags and the action of o.
func bound(cmd *cli.Command, o options) *cli.Command {
	cmd.Flags, cmd.Action = o.flags(), o.action
	return cmd
}

// storeOptions name the store a command works on and how to open it.
type storeOptions struct {
	path        string
	lockTimeout time.Duration
	notices     io.Writer // where the store's own notices go (an interrupted command finished)
}

// flags declares --store and --lock-timeout.
func (o *storeOptions) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "store", Usage: "path of the bbolt block store", EnvVars: []string{"VCSYNC_STORE"},
			Required: true, Category: "Store", Destination: &o.path},
		boundedDuration(&cli.DurationFlag{Name: "lock-timeout", Value: store.DefaultLockTimeout, Category: "Store", EnvVars: []string{"VCSYNC_LOCK_TIMEOUT"},
			Usage: "how long to wait for another process's lock on the store (0: do not wait)", Destination: &o.lockTimeout}, 0, time.Hour),
	}
}

// options are the store.Options to open the store with: a
// --lock-timeout of 0 means "do not wait", which bbolt spells as the
// shortest timeout.
func (o storeOptions) options(readOnly bool) store.Options {
	wait := o.lockTimeout
	if wait <= 0 {
		wait = time.Nanosecond
	}
	return store.Options{ReadOnly: readOnly, LockTimeout: wait}
}

func (o storeOptions) open(readOnly bool) (*store.Store, error) {
	return o.opened(store.Open(o.path, o.options(readOnly)))
}

// opened tells the user what opening the store did to finish an
// interrupted command, if anything.
func (o storeOptions) opened(s *store.Store, err error) (*store.Store, error) {
	if err == nil && s.Recovered != "" && o.notices != nil {
		fmt.Fprintf(o.notices, "vcsync: %s\n", s.Recovered)
	}
	return s, err
}

func jsonFlag(dst *bool) cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of text", Destination: dst}
}

// identityOptions are --chain-id and --network-type, which go together.
type identityOptions struct {
	chainID, networkType           uint
	chainIDGiven, networkTypeGiven bool
}

func (o *identityOptions) flags() []cli.Flag {
	networkType := boundedUint(&cli.UintFlag{Name: "network-type", Category: "Store", EnvVars: []string{"VCSYNC_NETWORK_TYPE"},
		Usage: "network type (with --chain-id)", Destination: &o.networkType}, 0, 1<<32-1)
	networkType.Action = given(&o.networkTypeGiven, networkType.Action)
	return []cli.Flag{o.chainIDFlag(), networkType}
}

func (o *identityOptions) chainIDFlag() cli.Flag {
	f := boundedUint(&cli.UintFlag{Name: "chain-id", Category: "Store", EnvVars: []string{"VCSYNC_CHAIN_ID"},
		Usage: "virtual chain id (with --network-type, needed to create a store; checked against an existing one)", Destination: &o.chainID}, 0, 1<<32-1)
	f.Action = given(&o.chainIDGiven, f.Action)
	return f
}

// identity is the chain the flags name; nil when neither is given.
func (o identityOptions) identity() (*store.Identity, error) {
	if o.chainIDGiven != o.networkTypeGiven {
		return nil, usageError(errors.New("--chain-id and --network-type go together: give both (neither has a default)"))
	}
	if !o.chainIDGiven {
		return nil, nil
	}
	// Both flags are bounded to 32 bits.
	return &store.Identity{ChainID: uint32(o.chainID), NetworkType: uint32(o.networkType)}, nil
}

// The flags of the commands that sync from peers, each bound where its
// value goes.

func peerFlag(dst *cli.StringSlice) cli.Flag {
	return &cli.StringSliceFlag{Name: "peer", Category: "Peers", EnvVars: []string{"VCSYNC_PEERS"}, Destination: dst,
		Usage: "peer `URL`, repeatable: http://host:port, or file:///path/blocks.db for another store"}
}

func chunkFlag(dst *int) cli.Flag {
	return boundedInt(&cli.IntFlag{Name: "chunk", Value: syncer.DefaultChunk, Category: "Peers", Usage: "blocks per streamed chunk", Destination: dst}, 1, 10_000)
}

func maxBlockFlag(dst *int) cli.Flag {
	return boundedInt(&cli.IntFlag{Name: "max-block-bytes", Value: block.DefaultMaxSize, Category: "Peers", Usage: "largest block accepted from a peer", Destination: dst}, 1<<10, 1<<30)
}

func chunkTimeoutFlag(dst *time.Duration) cli.Flag {
	return boundedDuration(&cli.DurationFlag{Name: "chunk-timeout", Value: peerclient.DefaultChunkTimeout, Category: "Peers",
		Usage: "a peer that delivers no chunk for this long is dropped", Destination: dst}, time.Millisecond, 10*time.Minute)
}

// argsKey holds the raw command line in App.Metadata, to tell a flag given
// on the command line from one its environment variable set: cli knows
// whether a flag was set, not where from.
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

// given extends a flag's Action to record that the flag was given, on the
// command line or by its environment variable (cli runs a flag's Action
// only then): for the flags whose absence means something other than their
// zero value.
func given[T any](was *bool, next func(*cli.Context, T) error) func(*cli.Context, T) error {
	return func(c *cli.Context, v T) error {
		*was = true
		if next != nil {
			return next(c, v)
		}
		return nil
	}
}
