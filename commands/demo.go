package commands

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

func demoCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "demo",
		Usage: "sync an empty store from three loopback peers, one of them forging blocks",
		Description: "Generates a signed devnet chain, serves it from three peers on 127.0.0.1 (the third\n" +
			"replaces the proof of every 97th block with forged signatures), syncs an empty store\n" +
			"in a temporary directory, shows the forging peer being dropped, and inspects the result.",
	}, &demoOptions{})
}

func (o *demoOptions) action(c *cli.Context) error {
	return o.run(c.Context, c.App.Writer, c.App.ErrWriter)
}

// demoOptions is what `vcsync demo` was asked.
type demoOptions struct {
	blocks, batch uint64
	seed          int64
	dir           string
	json          bool
}

func (o *demoOptions) flags() []cli.Flag {
	return []cli.Flag{
		boundedUint64(&cli.Uint64Flag{Name: "blocks", Value: 10000, Destination: &o.blocks, Usage: "chain length"}, 1, 100_000_000),
		&cli.Int64Flag{Name: "seed", Value: 1, Destination: &o.seed, Usage: "seed for the peer choice"},
		// Many small batches: the forger is chosen (and dropped) in all but
		// about (2/3)^40 of demo runs.
		boundedUint64(&cli.Uint64Flag{Name: "batch", Value: 250, Destination: &o.batch, Usage: "blocks per batch"}, 1, 1_000_000),
		&cli.StringFlag{Name: "dir", DefaultText: "a temporary directory, removed", Destination: &o.dir, Usage: "keep the demo's files in `DIR`"},
		jsonFlag(&o.json),
	}
}

// forgeEvery is the forging peer's interval: small enough that every batch
// it serves holds a forged block, so whenever it is chosen it is caught.
const forgeEvery = 97

func (o demoOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	dir := o.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "vcsync-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	out := stderr
	say := func(format string, args ...any) {
		if !o.json {
			fmt.Fprintf(stdout, format+"\n", args...)
		}
	}

	start := time.Now()
	net0, err := devnet.New(devnet.Config{Seed: "vcsync-demo", Blocks: o.blocks})
	if err != nil {
		return err
	}
	files, _, err := net0.Generate(filepath.Join(dir, "network"), nil)
	if err != nil {
		return err
	}
	say("generated a signed chain of %d blocks (chain %d, committee of %d rotating every %d blocks) in %.1fs",
		net0.Blocks, net0.ChainID, net0.CommitteeSize, net0.RotateEvery, time.Since(start).Seconds())

	src, err := store.Open(files.Store, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer src.Close()
	// The peers' servers are owned here: stopPeers ends them and waits.
	peerCtx, cancelPeers := context.WithCancel(ctx)
	var servers sync.WaitGroup
	stopPeers := func() { cancelPeers(); servers.Wait() }
	defer stopPeers()
	var peers []peerclient.Peer
	for i, s := range []peerserver.Source{src, src, devnet.Forger{Source: src, Net: net0, Every: forgeEvery}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		handler := peerserver.New(s, peerserver.Options{}).Handler()
		servers.Go(func() { peerserver.Serve(peerCtx, ln, handler) })
		url := "http://" + ln.Addr().String()
		peers = append(peers, peerclient.NewHTTP(url, peerclient.Options{}))
		role := "honest"
		if i == 2 {
			role = fmt.Sprintf("forges the proof of every %dth block", forgeEvery)
		}
		say("peer %d  %s  %s", i+1, url, role)
	}

	docSrc, err := mgmt.NewDocSource(net0.ManagementDoc(), net0.ChainID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "node"), 0o755); err != nil {
		return err
	}
	node, err := store.Open(filepath.Join(dir, "node", "blocks.db"), store.Options{Create: true,
		Identity: &store.Identity{ChainID: net0.ChainID, NetworkType: net0.NetworkType}})
	if err != nil {
		return err
	}
	defer node.Close()
	say("syncing an empty store from the three peers, tip to genesis, verifying every block...")
	rep := newReporter(out, logOptions{})
	res, err := syncer.New(syncer.Config{
		Store: node, Verifier: &verify.Verifier{Source: docSrc, ChainID: net0.ChainID, NetworkType: net0.NetworkType},
		Peers: peers, Batch: o.batch, Rand: rand.New(rand.NewSource(o.seed)), Observer: rep,
	}).Sync(ctx)
	rep.finish()
	stopPeers()
	if err != nil {
		return syncFailure(err)
	}
	if o.json {
		return printJSON(stdout, syncReport(res, nil))
	}
	printResult(stdout, res)
	r, err := stateReport(node)
	if err != nil {
		return err
	}
	say("\nvcsync inspect of the synced store:")
	return printState(stdout, r)
}
