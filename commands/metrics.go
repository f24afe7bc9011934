package commands

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/internal/metrics"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/wire"
)

func metricsAddrFlag(dst *string) cli.Flag {
	return &cli.StringFlag{Name: "metrics-addr", EnvVars: []string{"VCSYNC_METRICS_ADDR"}, Destination: dst,
		Usage: "serve Prometheus metrics on http://`HOST:PORT`/metrics while the command runs (off when empty)"}
}

// startMetrics serves a new registry on addr, if one is given, until the
// returned stop is called (stop waits for the server to end). It logs
// where, so port 0 works.
func startMetrics(ctx context.Context, addr string, log *slog.Logger) (*metrics.Registry, func(), error) {
	reg := metrics.New(buildVersion().Version)
	if addr == "" {
		return reg, func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	log.Info("metrics", "url", fmt.Sprintf("http://%s/metrics", ln.Addr()))
	ctx, cancel := context.WithCancel(ctx)
	var server sync.WaitGroup
	server.Go(func() {
		if err := reg.Serve(ctx, ln); err != nil {
			log.Error("metrics server stopped", "error", err.Error())
		}
	})
	return reg, func() { cancel(); server.Wait() }, nil
}

// observers hands every sync event to each observer.
type observers []syncer.Observer

func (o observers) Target(blocks uint64) {
	for _, x := range o {
		x.Target(blocks)
	}
}

func (o observers) Batch(peer string, g wire.Grant) {
	for _, x := range o {
		x.Batch(peer, g)
	}
}

func (o observers) Committed(st store.State, blocks, bytes int) {
	for _, x := range o {
		x.Committed(st, blocks, bytes)
	}
}

func (o observers) Dropped(peer, kind, reason string) {
	for _, x := range o {
		x.Dropped(peer, kind, reason)
	}
}

func (o observers) PeerTip(height uint64) {
	for _, x := range o {
		x.PeerTip(height)
	}
}

func (o observers) Timed(what string, d time.Duration) {
	for _, x := range o {
		x.Timed(what, d)
	}
}
