package commands

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vcsync/vcsync/internal/sdnotify"
)

// notifySystemd tells systemd (Type=notify, NOTIFY_SOCKET set) that a
// long-running command is ready and, while it runs, alive: WATCHDOG=1 at
// half the unit's WatchdogSec. The returned stop says STOPPING=1 and waits
// for the watchdog's goroutine. Without systemd it does nothing.
func notifySystemd(ctx context.Context, log *slog.Logger, status string) (stop func()) {
	if sent, err := sdnotify.Notify("READY=1\nSTATUS=" + status); err != nil {
		log.Warn("systemd notification failed", "error", err.Error())
		return func() {}
	} else if !sent {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var watchdog sync.WaitGroup
	if every := sdnotify.WatchdogInterval(); every > 0 {
		watchdog.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					sdnotify.Notify("WATCHDOG=1")
				}
			}
		})
	}
	return func() {
		cancel()
		watchdog.Wait()
		sdnotify.Notify("STOPPING=1")
	}
}
