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
	return "", usageError(errors.New("name a committee source: --management PATH|URL, --committee-file PATH, or --eth-rpc URL with --contract-registry ADDRESS"))
}

// verifierOptions are the committee source and the tip rule's settings,
// read once from the flags.
type verifierOptions struct {
	source   string // the flag naming it: management, committee-file or eth-rpc
	location string // its path or URL
	eth      ethpos.EthConfig
	ethPace  ethpos.EthLimits
	grace    time.Duration
	now      *time.Time
}

func verifierOptionsFrom(c *cli.Context) (verifierOptions, error) {
	which, err := committeeSourceFlag(c)
	if err != nil {
		return verifierOptions{}, err
	}
	o := verifierOptions{source: which, location: c.String(which), grace: c.Duration(graceFlag.Name)}
	if t := c.Timestamp(nowFlag.Name); t != nil {
		fixed := *t
		o.now = &fixed
	}
	if which == ethRPCFlag.Name {
		if o.eth, err = ethConfigFrom(c); err != nil {
			return o, err
		}
		o.ethPace = ethpos.EthLimits{RPS: c.Float64(ethRPSFlag.Name), Timeout: c.Duration(ethTimeoutFlag.Name)}
	}
	return o, nil
}

// committeeSource opens the source the options name.
func (o verifierOptions) committeeSource(ctx context.Context, chainID uint32, stderr io.Writer) (committee.Source, error) {
	switch o.source {
	case ethRPCFlag.Name:
		return ethSource(ctx, o.location, o.eth, o.ethPace, stderr)
	default:
		// Re-read when a lookup passes the document's end, and before each
		// follow round.
		return mgmt.LoadDoc(ctx, o.location, o.source == managementFlag.Name, chainID, func(w string) {
			fmt.Fprintf(stderr, "vcsync: warning: %s\n", w)
		})
	}
}

// verifier builds a verifier for a chain.
func (o verifierOptions) verifier(ctx context.Context, id store.Identity, stderr io.Writer) (*verify.Verifier, error) {
	src, err := o.committeeSource(ctx, id.ChainID, stderr)
	if err != nil {
		return nil, err
	}
	v := &verify.Verifier{Source: src, ChainID: id.ChainID, NetworkType: id.NetworkType, Grace: o.grace}
	if o.now != nil {
		fixed := *o.now
		v.Now = func() time.Time { return fixed }
	}
	return v, nil
}
