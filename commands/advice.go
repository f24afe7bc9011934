package commands

import (
	"errors"
	"fmt"

	"github.com/vcsync/vcsync/exportfile"
	"github.com/vcsync/vcsync/store/repair"

	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/syncer"
)

// The packages below say what went wrong in their own words; which flag
// changes it is the command line's business, said here, in one place.

// flagAdvice is the advice for an error of a package, naming the flag that
// changes the outcome.
var flagAdvice = []struct {
	err    error
	advice string
}{
	{repair.ErrForceNeeded, "raise --max-remove, or add --force if that is meant"},
	{exportfile.ErrExists, "give --force to replace it"},
	{exportfile.ErrNothingWritten, "raise --chunk-timeout for a slower writer"},
	{ethpos.ErrNoGenesisRefTime, "give --genesis-ref-time"},
	{mgmt.ErrURLNotFile, "give a URL with --management"},
}

// withAdvice adds to err the advice naming the flag that changes it, if any.
func withAdvice(err error) error {
	if err == nil {
		return nil
	}
	var pr *syncer.PullRangeError
	if errors.As(err, &pr) && pr.Gap.GapOpen() {
		return fmt.Errorf("%w; give a --to of %d or below", err, pr.From)
	}
	for _, a := range flagAdvice {
		if errors.Is(err, a.err) {
			return fmt.Errorf("%w; %s", err, a.advice)
		}
	}
	return err
}

// dropAdvice is what the operator can do about a peer dropped for kind.
func dropAdvice(kind syncer.DropKind) string {
	if kind == syncer.DropUntrustedTip {
		return "anchor it with --trust HEIGHT:HASH (read the hash from a node you trust: vcsync inspect --block HEIGHT)"
	}
	return ""
}

// adviseDrops adds dropAdvice to the reasons a run's summary gives.
func adviseDrops(res *syncer.Result) {
	for i, d := range res.PeersDropped {
		if a := dropAdvice(d.Kind); a != "" {
			res.PeersDropped[i].Reason = d.Reason + "; " + a
		}
	}
}
