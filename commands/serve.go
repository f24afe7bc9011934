package commands

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/wire"
)

func serveCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "serve",
		Usage: "serve a store's blocks to peers over HTTP (read-only)",
		Description: "Serves only the heights the store holds with no gap (1..InOrder). Stops cleanly on\n" +
			"SIGINT/SIGTERM. Example: vcsync serve --store blocks.db --listen 127.0.0.1:7700\n" +
			"Try it: curl http://127.0.0.1:7700/v1/availability",
	}, &serveOptions{})
}

func (o *serveOptions) action(c *cli.Context) error {
	if err := o.logs.check(); err != nil {
		return err
	}
	o.store.notices = c.App.ErrWriter
	return o.run(c.Context, c.App.ErrWriter)
}

// serveOptions is what `vcsync serve` was asked.
type serveOptions struct {
	store       storeOptions
	listen      string
	metricsAddr string
	limits      peerserver.Options
	logs        logOptions
}

func (o *serveOptions) flags() []cli.Flag {
	flags := append(o.store.flags(),
		&cli.StringFlag{Name: "listen", Value: "127.0.0.1:7700", Destination: &o.listen, Usage: "`ADDR` to listen on"},
		boundedUint64(&cli.Uint64Flag{Name: "max-batch", Value: wire.DefaultMaxBatch, Destination: &o.limits.MaxBatch, Usage: "most blocks granted per request"}, 1, 1_000_000),
		boundedInt(&cli.IntFlag{Name: "max-chunk", Value: wire.DefaultMaxChunk, Destination: &o.limits.MaxChunk, Usage: "most blocks per streamed chunk"}, 1, 10_000),
		boundedInt(&cli.IntFlag{Name: "max-frame-bytes", Value: wire.DefaultMaxFrameBytes, Destination: &o.limits.MaxFrameBytes, Usage: "most bytes per chunk frame"}, 1<<10, 1<<30),
		boundedInt(&cli.IntFlag{Name: "max-streams", Value: peerserver.DefaultMaxStreams, Destination: &o.limits.MaxStreams,
			Usage: "concurrent block streams; more are answered 503 with Retry-After"}, 1, 4096),
		boundedInt(&cli.IntFlag{Name: "max-streams-per-client", Value: peerserver.DefaultMaxStreamsPerClient, Destination: &o.limits.MaxStreamsPerClient,
			Usage: "concurrent block streams of one client address (its live batch and one fetched ahead)"}, 1, 4096),
		metricsAddrFlag(&o.metricsAddr),
	)
	return append(flags, o.logs.flags()...)
}

func (o serveOptions) run(ctx context.Context, stderr io.Writer) error {
	s, err := o.store.open(true)
	if err != nil {
		return err
	}
	defer s.Close()
	logger := o.logs.logger(stderr)
	reg, stopMetrics, err := startMetrics(ctx, o.metricsAddr, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	limits := o.limits
	limits.Log, limits.Observer = logger, reg
	srv := peerserver.New(s, limits)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	st, err := s.State()
	if err != nil {
		return err
	}
	reg.Store(st)
	logger.Info("serving", "chain", s.Identity().ChainID, "network_type", s.Identity().NetworkType, "from", min(1, st.InOrder), "to", st.InOrder,
		"url", fmt.Sprintf("http://%s", ln.Addr()))
	stopNotify := notifySystemd(ctx, logger, fmt.Sprintf("serving heights 1-%d on http://%s", st.InOrder, ln.Addr()))
	err = peerserver.Serve(ctx, ln, srv.Handler())
	stopNotify()
	logger.Info("stopped")
	return err
}
