// Package commands is vcsync's command line: each file declares one command,
// parses its flags, calls into the packages that do the work and prints.
// It is the only package that names flags; it holds no protocol or store
// rule of its own.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/internal/countio"
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
	app := &cli.App{
		Name:    "vcsync",
		Usage:   "inspect, repair and synchronize a virtual chain node's block store",
		Version: buildVersion().Version,
		Description: "Exit codes: 0 ok; 1 the store is inconsistent, a check or verification failed,\n" +
			"the store diverged, or sync could not finish; 2 usage, input or I/O errors; 75 the store\n" +
			"is locked (try again later); 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP.\n" +
			"With --json every outcome is one JSON object on stdout, with ok, and error and kind\n" +
			"when it failed.",
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
			versionCommand(),
			completionCommand(),
			manCommand(),
		},
		EnableBashCompletion: true,
		// An unknown command is a usage error, not a help topic (exit 3).
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageError(fmt.Errorf("unknown command %q; see vcsync --help", c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: onUsageError,
		// main prints the error and picks the exit code; cli must not exit itself.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	for _, cmd := range app.Commands {
		scriptsFirst(cmd, "vcsync")
	}
	return app
}

// scriptsFirst makes a command fail the way scripts want: a usage error
// is one line on stderr naming where to look, never the help on stdout;
// required flags are checked by vcsync (urfave/cli prints the whole help
// to stdout when one is missing).
func scriptsFirst(cmd *cli.Command, parent string) {
	name := parent + " " + cmd.Name
	cmd.OnUsageError = onUsageError
	// Required flags are checked below, after the flags are read: cli's
	// own check prints the whole help to stdout.
	required := checkedByVcsync(cmd.Flags)
	before := cmd.Before
	wantArgs := len(strings.Fields(cmd.ArgsUsage))
	leaf := len(cmd.Subcommands) == 0 // cli adds a help subcommand to every command when it runs
	cmd.Before = func(c *cli.Context) error {
		if leaf {
			if err := checkArgs(c, name, wantArgs); err != nil {
				return err
			}
		}
		for _, r := range required {
			if !c.IsSet(r) {
				return usageError(fmt.Errorf("%s needs --%s; see %s --help", name, r, name))
			}
		}
		if before != nil {
			return before(c)
		}
		return nil
	}
	if action := cmd.Action; action != nil {
		cmd.Action = func(c *cli.Context) error { return withHelpPointer(withAdvice(action(c)), name) }
	}
	for _, sub := range cmd.Subcommands {
		scriptsFirst(sub, name)
	}
}

// withHelpPointer ends a usage error with where to look, once.
func withHelpPointer(err error, name string) error {
	if err == nil || !errors.As(err, new(usage)) || strings.Contains(err.Error(), "--help") {
		return err
	}
	return usageError(fmt.Errorf("%w; see %s --help", err, name))
}

// checkedByVcsync takes the Required mark off the flags that carry it and
// returns their names, for vcsync to check. The flags are the app's own
// (each NewApp builds its commands' flags), so the change is too.
func checkedByVcsync(flags []cli.Flag) []string {
	var required []string
	for _, f := range flags {
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		if req := v.Elem().FieldByName("Required"); req.IsValid() && req.Kind() == reflect.Bool && req.Bool() {
			req.SetBool(false)
			required = append(required, f.Names()[0])
		}
	}
	return required
}

// cli prints the version line through a package variable: set it once, not
// per app.
func init() { cli.VersionPrinter = printVersionLine }

func onUsageError(c *cli.Context, err error, _ bool) error {
	name := "vcsync"
	if c.Command != nil && c.Command.Name != "" {
		name = "vcsync " + c.Command.FullName()
	}
	return usageError(fmt.Errorf("%v; see %s --help", err, name))
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

// checkArgs refuses positional arguments a command does not take: urfave/cli
// stops reading flags at the first one, so a flag after it would be
// silently ignored.
func checkArgs(c *cli.Context, name string, want int) error {
	args := c.Args().Slice()
	for _, a := range args {
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			return usageError(fmt.Errorf("%s: %q comes after an argument, so it was not read as a flag: put flags first; see %s --help", name, a, name))
		}
	}
	if len(args) != want {
		what := "no arguments"
		if want > 0 {
			what = fmt.Sprintf("%d argument(s): %s", want, c.Command.ArgsUsage)
		}
		return usageError(fmt.Errorf("%s takes %s, got %q; see %s --help", name, what, args, name))
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
	case errors.Is(err, store.ErrLocked):
		return ExitTempFail
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
	out := &countio.Writer{W: stdout}
	app.Writer, app.ErrWriter = out, stderr
	app.Metadata = map[string]any{argsKey: args}
	err := app.RunContext(ctx, args)
	if err != nil {
		if jsonLogsAsked(args[1:]) { // every stderr line a JSON record
			logOptions{json: true}.logger(stderr).Error(err.Error(), "kind", errorKind(err))
		} else {
			fmt.Fprintln(stderr, "vcsync:", err)
		}
		// With --json a script reads one object on stdout whatever happened.
		if out.N == 0 && wantsJSON(args[1:]) {
			rep := newFailureReport(err)
			if ctx.Err() != nil { // stopped by a signal, whatever it ended on
				rep.Kind, rep.Interrupted = kindInterrupted, true
			}
			w := stdout
			if app.Metadata[stdoutIsDataKey] == true { // export --out -: stdout is the file
				w = stderr
			}
			printJSON(w, rep)
		}
	}
	return ExitCode(err)
}
