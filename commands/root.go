// Package commands is vcsync's command line: each file declares one command,
// parses its flags, calls into the packages that do the work and prints.
package commands

import (
	"errors"

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

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var f failure
	var coder cli.ExitCoder
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &f), errors.Is(err, store.ErrInconsistent), errors.Is(err, verify.ErrInvalidBlock):
		return ExitFailed
	case errors.As(err, &coder):
		return coder.ExitCode()
	default:
		return ExitUsage
	}
}
