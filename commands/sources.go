package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

// sourceKind is the committee source a command was given.
type sourceKind int

const (
	sourceManagement    sourceKind = iota // --management: a document, file or URL
	sourceCommitteeFile                   // --committee-file: a file, never fetched
	sourceEthereum                        // --eth-rpc: the PoS contracts
)

// verifierOptions are the committee source and the tip rule's settings.
type verifierOptions struct {
	// Bound to the flags.
	locations [3]string // by sourceKind: the path or URL each source flag gave
	eth       ethOptions
	grace     time.Duration
	now       cli.Timestamp
	named     [3]*cli.StringFlag // the source flags, by sourceKind, to choose among

	// Chosen by choose.
	source   sourceKind
	location string // its path or URL
	ethCfg   ethpos.EthConfig
	fixedNow *time.Time
}

// sourceFlags declares the committee-source flags; besideStore says whether
// the command has a store, beside which the Ethereum index is cached.
func (o *verifierOptions) sourceFlags(besideStore bool) []cli.Flag {
	o.named = [3]*cli.StringFlag{
		sourceManagement: {Name: "management", Category: "Committees", EnvVars: []string{"VCSYNC_MANAGEMENT"}, Destination: &o.locations[sourceManagement],
			Usage: "management-service document: a file `PATH` or an http(s) URL"},
		sourceCommitteeFile: {Name: "committee-file", Category: "Committees", EnvVars: []string{"VCSYNC_COMMITTEE_FILE"}, Destination: &o.locations[sourceCommitteeFile],
			Usage: "committee file `PATH` (management-document shape), never fetched over the network"},
		sourceEthereum: {Name: "eth-rpc", Category: "Committees", EnvVars: []string{"VCSYNC_ETH_RPC"}, Destination: &o.locations[sourceEthereum],
			Usage: "Ethereum JSON-RPC `URL` to read the PoS contracts from"},
	}
	return append([]cli.Flag{o.named[0], o.named[1], o.named[2]}, o.eth.flags(besideStore)...)
}

// flags declares the source flags and the tip rule's.
func (o *verifierOptions) flags() []cli.Flag {
	return append(o.sourceFlags(true),
		boundedDuration(&cli.DurationFlag{Name: "honesty-grace", Value: verify.DefaultHonestyGrace, Category: "Verification", Destination: &o.grace,
			Usage: "how long a committee stays trusted after its reference time (tip rule)"}, time.Minute, 30*24*time.Hour),
		&cli.TimestampFlag{Name: "now", Layout: time.RFC3339, Category: "Verification", Destination: &o.now,
			Usage: "fix the clock for the tip rule (RFC 3339), for scripted and test use"},
	)
}

// choose picks the one committee source: a source named on the command line
// wins over one an environment variable names; two on the command line (or
// two from the environment, with none on it) conflict. storePath is where
// the Ethereum index is cached by default ("" for none).
func (o *verifierOptions) choose(c *cli.Context, storePath string) error {
	var onLine, fromEnv []sourceKind
	for kind, f := range o.named {
		switch {
		case onCommandLine(c, f.Name):
			onLine = append(onLine, sourceKind(kind))
		case c.IsSet(f.Name):
			fromEnv = append(fromEnv, sourceKind(kind))
		}
	}
	switch {
	case len(onLine) > 1:
		return usageError(fmt.Errorf("name one committee source, not %s", o.flagNames(onLine, " and ")))
	case len(onLine) == 0 && len(fromEnv) > 1:
		return usageError(fmt.Errorf("the environment names more than one committee source (%s): unset one, or name one on the command line", o.flagNames(fromEnv, ", ")))
	case len(onLine) == 1:
		o.source = onLine[0]
	case len(fromEnv) == 1:
		o.source = fromEnv[0]
	default:
		return usageError(errors.New("name a committee source: --management PATH|URL, --committee-file PATH, or --eth-rpc URL with --contract-registry ADDRESS"))
	}
	o.location = o.locations[o.source]
	if t := o.now.Value(); t != nil {
		fixed := *t
		o.fixedNow = &fixed
	}
	if o.source == sourceEthereum {
		var err error
		o.ethCfg, err = o.eth.config(storePath)
		return err
	}
	return nil
}

func (o *verifierOptions) flagNames(kinds []sourceKind, sep string) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = "--" + o.named[k].Name
	}
	return strings.Join(names, sep)
}

// committeeSource opens the source the options name.
func (o verifierOptions) committeeSource(ctx context.Context, chainID uint32, stderr io.Writer) (committee.Source, error) {
	if o.source == sourceEthereum {
		return ethSource(ctx, o.location, o.ethCfg, o.eth.limits(), stderr)
	}
	// Re-read when a lookup passes the document's end, and before each
	// follow round.
	return mgmt.LoadDoc(ctx, o.location, o.source == sourceManagement, chainID, func(w string) {
		fmt.Fprintf(stderr, "vcsync: warning: %s\n", w)
	})
}

// verifier builds a verifier for a chain.
func (o verifierOptions) verifier(ctx context.Context, id store.Identity, stderr io.Writer) (*verify.Verifier, error) {
	src, err := o.committeeSource(ctx, id.ChainID, stderr)
	if err != nil {
		return nil, err
	}
	v := &verify.Verifier{Source: src, ChainID: id.ChainID, NetworkType: id.NetworkType, Grace: o.grace}
	if o.fixedNow != nil {
		fixed := *o.fixedNow
		v.Now = func() time.Time { return fixed }
	}
	return v, nil
}
