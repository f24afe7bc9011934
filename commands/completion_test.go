package commands

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// everyCommand walks the command tree: each command's full name and flags.
func everyCommand(cmds []*cli.Command, parent string, fn func(name string, c *cli.Command)) {
	for _, c := range cmds {
		name := strings.TrimSpace(parent + " " + c.Name)
		fn(name, c)
		everyCommand(c.Subcommands, name, fn)
	}
}

// The man page and the fish completion are made from the same definitions
// as --help: every command and every flag is in them; bash and zsh ask
// vcsync itself, which completes every command and a command's flags.
func TestCompletionAndManCoverEveryCommandAndFlag(t *testing.T) {
	t.Parallel()
	man := mustRun(t, "man")
	fish := mustRun(t, "completion", "fish")
	// urfave/cli reads the words to complete from os.Args: ask a child.
	commands, _, _ := runChild(t, "--generate-bash-completion")
	everyCommand(NewApp().Commands, "", func(name string, c *cli.Command) {
		last := name[strings.LastIndex(name, " ")+1:]
		if !strings.Contains(man, last) || !strings.Contains(fish, last) {
			t.Errorf("command %q missing from the man page or the fish completion", name)
		}
		if !strings.Contains(name, " ") && !strings.Contains(commands, last+"\n") {
			t.Errorf("command %q not completed", name)
		}
		for _, f := range c.Flags {
			flag := f.Names()[0]
			if !strings.Contains(man, "--"+flag) || !strings.Contains(fish, "-l "+flag) {
				t.Errorf("vcsync %s --%s missing from the man page or the fish completion", name, flag)
			}
		}
	})
	if flags, _, _ := runChild(t, "sync", "--st", "--generate-bash-completion"); !strings.Contains(flags, "--store\n") || !strings.Contains(flags, "--stale-after\n") {
		t.Errorf("sync --st completes to %q", flags)
	}
	for _, shell := range []string{"bash", "zsh"} {
		if script := mustRun(t, "completion", shell); !strings.Contains(script, "--generate-bash-completion") || !strings.Contains(script, "vcsync") {
			t.Errorf("%s script: %q", shell, script)
		}
	}
	if _, errs, code := run(t, "completion", "tcsh"); code != ExitUsage || !strings.Contains(errs, "give bash, zsh or fish") {
		t.Errorf("completion tcsh: exit %d %s", code, errs)
	}
}

// Every numeric flag is declared with its bounds, or is one whose whole
// type range means something (a seed, a height, a block number, a rate):
// its Action refuses the type's largest value.
func TestNumericFlagsAreBounded(t *testing.T) {
	t.Parallel()
	unbounded := map[string]bool{"seed": true, "from": true, "to": true, "block": true, "max-remove": true, "eth-from-block": true, "eth-rps": true}
	app := NewApp()
	everyCommand(app.Commands, "", func(name string, cmd *cli.Command) {
		c := cli.NewContext(app, nil, nil)
		c.Command = cmd
		for _, f := range cmd.Flags {
			var refused error
			numeric := true
			switch f := f.(type) {
			case *cli.Uint64Flag:
				refused = refusedBy(f.Action, c, math.MaxUint64)
			case *cli.UintFlag:
				refused = refusedBy(f.Action, c, math.MaxUint)
			case *cli.IntFlag:
				refused = refusedBy(f.Action, c, math.MaxInt)
			case *cli.Int64Flag:
				refused = refusedBy(f.Action, c, math.MaxInt64)
			case *cli.DurationFlag:
				refused = refusedBy(f.Action, c, time.Duration(math.MaxInt64))
			case *cli.Float64Flag:
				refused = refusedBy(f.Action, c, math.MaxFloat64)
			default:
				numeric = false
			}
			flag := f.Names()[0]
			if numeric && refused == nil && !unbounded[flag] {
				t.Errorf("%s --%s has no bounds: it takes the type's largest value", name, flag)
			}
			if refused != nil && !strings.Contains(refused.Error(), "--"+flag+" ") {
				t.Errorf("%s --%s: the refusal does not name the flag: %v", name, flag, refused)
			}
		}
	})
}

// refusedBy is what a flag's Action says of v (nil when it has none).
func refusedBy[T any](action func(*cli.Context, T) error, c *cli.Context, v T) error {
	if action == nil {
		return nil
	}
	return action(c, v)
}

// A flag whose absence means something counts as given when its
// environment variable gives it, and when it is given its zero value.
func TestFlagsGivenCountWhateverTheirValue(t *testing.T) {
	mgmt := filepath.Join(genStore(t, "10", ""), "management.json")
	if _, errs, code := run(t, "committee", "--at", "0", "--current", "--chain-id", "42", "--committee-file", mgmt); code != ExitUsage || !strings.Contains(errs, "give exactly one of --at T and --current") {
		t.Fatalf("committee --at 0 --current: exit %d %q", code, errs)
	}
	t.Setenv("VCSYNC_CHAIN_ID", "42")
	if out := mustRun(t, "committee", "--current", "--committee-file", mgmt); !strings.Contains(out, "total weight") {
		t.Fatalf("committee with VCSYNC_CHAIN_ID: %q", out)
	}
}
