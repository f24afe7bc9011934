// Package commands is vcsync's command line: each file declares one command,
// parses its flags, calls into the packages that do the work and prints.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

// Exit codes, the same for every command.
const (
	ExitOK     = 0
	ExitFailed = 1 // the store is inconsistent, a check or verification failed, or sync could not finish
	ExitUsage  = 2 // bad usage, bad input files, I/O errors
)

// NewApp assembles the commands.
func NewApp() *cli.App {
	return &cli.App{
		Name:  "vcsync",
		Usage: "inspect, repair and synchronize a virtual chain node's block store",
		Description: "Exit codes: 0 ok; 1 the store is inconsistent, a check or verification failed,\n" +
			"or sync could not finish; 2 usage, input or I/O errors.",
		Commands: []*cli.Command{
			inspectCommand(),
			devnetCommand(),
			verifyCommand(),
			committeeCommand(),
			syncCommand(),
			pullCommand(),
			closeGapsCommand(),
			serveCommand(),
			exportCommand(),
			importCommand(),
			demoCommand(),
			rollbackCommand(),
			repairCommand(),
			compactCommand(),
		},
		// main prints the error and picks the exit code; cli must not exit itself.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// failure marks an error as "the check failed" (exit 1) rather than a usage
// or I/O problem (exit 2).
type failure struct{ err error }

func (f failure) Error() string { return f.err.Error() }
func (f failure) Unwrap() error { return f.err }

func failed(err error) error {
	if err == nil {
		return nil
	}
	return failure{err}
}

// usage marks an error as the operator's to fix in the command line (exit 2).
type usage struct{ err error }

func (u usage) Error() string { return u.err.Error() }
func (u usage) Unwrap() error { return u.err }

func usageError(err error) error { return usage{err} }

// noArgs refuses positional arguments a command does not take: urfave/cli
// stops reading flags at the first one, so anything after it would be
// silently ignored.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageError(fmt.Errorf("%s takes no arguments, got %q (flags after it were not read)", c.Command.FullName(), c.Args().Slice()))
	}
	return nil
}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var f failure
	var coder cli.ExitCoder
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, new(usage)):
		return ExitUsage
	case errors.As(err, &f), errors.Is(err, store.ErrInconsistent), errors.Is(err, store.ErrDamaged), errors.Is(err, verify.ErrInvalidBlock):
		return ExitFailed
	case errors.As(err, &coder):
		return coder.ExitCode()
	default:
		return ExitUsage
	}
}

// Main runs vcsync with args (args[0] is the program name), prints a
// failing command's error on stderr and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := NewApp()
	app.Writer, app.ErrWriter = stdout, stderr
	err := app.RunContext(ctx, args)
	if err != nil {
		fmt.Fprintln(stderr, "vcsync:", err)
	}
	return ExitCode(err)
}
