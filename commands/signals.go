package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes past the three every command uses.
const (
	// ExitTempFail is "temporarily unavailable, try again later" (sysexits'
	// EX_TEMPFAIL): the store is locked by another process.
	ExitTempFail = 75
)

// RunProcess is vcsync as a process: SIGINT, SIGTERM and SIGHUP cancel the
// command (a sync stops after its current chunk, serve shuts down), and a
// command stopped by a signal exits as the shell reports one, 128 plus the
// signal's number (130 for SIGINT, 143 for SIGTERM), whatever it returned.
func RunProcess(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	got := make(chan syscall.Signal, 1)
	done := make(chan struct{})
	watcher := make(chan struct{})
	go func() { // owned: RunProcess waits for it below
		defer close(watcher)
		select {
		case s := <-signals:
			got <- s.(syscall.Signal)
			cancel()
		case <-done:
		}
	}()
	code := Main(ctx, args, stdout, stderr)
	close(done)
	<-watcher
	select {
	case s := <-got:
		msg := fmt.Sprintf("interrupted by %s (what was verified is committed; the next run resumes)", signalName(s))
		if jsonLogsAsked(args[1:]) {
			logOptions{json: true}.logger(stderr).Warn(msg, "kind", kindInterrupted)
		} else {
			fmt.Fprintln(stderr, "vcsync: "+msg)
		}
		return 128 + int(s)
	default:
		return code
	}
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}
