package commands

import (
	"strings"
	"testing"

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
// type range means something (a seed, a height, a block number, a rate).
func TestNumericFlagsAreBounded(t *testing.T) {
	t.Parallel()
	unbounded := map[string]bool{"seed": true, "from": true, "to": true, "block": true, "max-remove": true, "eth-from-block": true, "eth-rps": true}
	everyCommand(NewApp().Commands, "", func(name string, c *cli.Command) {
		for _, f := range c.Flags {
			bounded := true
			switch f := f.(type) {
			case *cli.Uint64Flag:
				bounded = f.Action != nil
			case *cli.UintFlag:
				bounded = f.Action != nil
			case *cli.IntFlag:
				bounded = f.Action != nil
			case *cli.Int64Flag:
				bounded = f.Action != nil
			case *cli.DurationFlag:
				bounded = f.Action != nil
			case *cli.Float64Flag:
				bounded = f.Action != nil
			}
			if flag := f.Names()[0]; !bounded && !unbounded[flag] {
				t.Errorf("%s --%s has no bounds", name, flag)
			}
		}
	})
}
