// Command vcsync inspects, repairs and synchronizes the block store of a
// proof-of-stake virtual chain node.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vcsync/vcsync/commands"
)

func main() {
	// SIGINT/SIGTERM cancel the context: sync stops after the current
	// chunk and serve shuts down gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Main(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
