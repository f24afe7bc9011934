package commands

import (
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "sync an empty store from three loopback peers, one of them forging blocks",
		Description: "Generates a signed devnet chain, serves it from three peers on 127.0.0.1 (the third\n" +
			"replaces the proof of every 97th block with forged signatures), syncs an empty store\n" +
			"in a temporary directory, shows the forging peer being dropped, and inspects the result.",
		Flags: []cli.Flag{
			&cli.Uint64Flag{Name: "blocks", Value: 10000, Usage: "chain length"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed for the peer choice"},
			// Many small batches: the forger is chosen (and dropped) in all but
			// about (2/3)^40 of demo runs.
			&cli.Uint64Flag{Name: "batch", Value: 250, Usage: "blocks per batch"},
			&cli.StringFlag{Name: "dir", Usage: "keep the demo's files in `DIR` (default: a temporary directory, removed)"},
			jsonFlag,
		},
		Action: runDemo,
	}
}

// forgeEvery is the forging peer's interval: small enough that every batch
// it serves holds a forged block, so whenever it is chosen it is caught.
const forgeEvery = 97

func runDemo(c *cli.Context) error {
	dir := c.String("dir")
	if dir == "" {
		tmp, err := os.MkdirTemp("", "vcsync-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	out := c.App.ErrWriter
	say := func(format string, args ...any) {
		if !c.Bool(jsonFlag.Name) {
			fmt.Fprintf(c.App.Writer, format+"\n", args...)
		}
	}

	start := time.Now()
	net0, err := devnet.New(devnet.Config{Seed: "vcsync-demo", Blocks: c.Uint64("blocks")})
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
	ctx, stopPeers := context.WithCancel(c.Context)
	defer stopPeers()
	var peers []peerclient.Peer
	for i, s := range []peerserver.Source{src, src, devnet.Forger{Source: src, Net: net0, Every: forgeEvery}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		go peerserver.Serve(ctx, ln, peerserver.New(s, peerserver.Options{}).Handler())
		url := "http://" + ln.Addr().String()
		peers = append(peers, peerclient.NewHTTP(url, peerclient.Options{}))
		role := "honest"
		if i == 2 {
			role = fmt.Sprintf("forges the proof of every %dth block", forgeEvery)
		}
		say("peer %d  %s  %s", i+1, url, role)
	}

	docSrc, err := verify.NewDocSource(net0.ManagementDoc(), net0.ChainID)
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
	rep := newReporter(out)
	res, err := syncer.New(syncer.Config{
		Store: node, Verifier: &verify.Verifier{Source: docSrc, ChainID: net0.ChainID, NetworkType: net0.NetworkType},
		Peers: peers, Batch: c.Uint64("batch"), Rand: rand.New(rand.NewSource(c.Int64("seed"))), Observer: rep,
	}).Sync(c.Context)
	rep.finish()
	stopPeers()
	if err != nil {
		return syncFailure(err)
	}
	if c.Bool(jsonFlag.Name) {
		return printJSON(c.App.Writer, syncReport(res, nil))
	}
	printResult(c.App.Writer, res)
	r, err := stateReport(node)
	if err != nil {
		return err
	}
	say("\nvcsync inspect of the synced store:")
	return printState(c.App.Writer, r)
}
