package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
)

// Flags shared by several commands, declared once (geth's way) with their
// category, usage and environment variable; commands list the ones they take.
var (
	storeFlag = &cli.StringFlag{
		Name: "store", Usage: "path of the bbolt block store", EnvVars: []string{"VCSYNC_STORE"},
		Required: true, Category: "Store",
	}
	lockTimeoutFlag = &cli.DurationFlag{
		Name: "lock-timeout", Value: store.DefaultLockTimeout, Category: "Store", EnvVars: []string{"VCSYNC_LOCK_TIMEOUT"},
		Usage: "how long to wait for another process's lock on the store (0: do not wait)",
	}
	jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of text"}
)

// argsKey holds the raw command line in App.Metadata, to tell a flag given
// on the command line from one its environment variable set.
const argsKey = "vcsync.args"

// onCommandLine reports whether flag name was given on the command line
// (not only through its environment variable).
func onCommandLine(c *cli.Context, name string) bool {
	args, ok := c.App.Metadata[argsKey].([]string)
	if !ok {
		return c.IsSet(name) // a caller that did not record them: take IsSet
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// flagCheck says what is wrong with a flag's value, or "".
type flagCheck func(c *cli.Context, name string) string

func intIn(lo, hi int64) flagCheck {
	return func(c *cli.Context, name string) string {
		var v int64
		switch g := c.Value(name).(type) {
		case int:
			v = int64(g)
		case int64:
			v = g
		case uint:
			v = int64(g)
		case uint64:
			if g > uint64(hi) {
				return fmt.Sprintf("--%s %d is out of range: give %d to %d", name, g, lo, hi)
			}
			v = int64(g)
		}
		if v < lo || v > hi {
			return fmt.Sprintf("--%s %d is out of range: give %d to %d", name, v, lo, hi)
		}
		return ""
	}
}

func durationIn(lo, hi time.Duration) flagCheck {
	return func(c *cli.Context, name string) string {
		if d := c.Duration(name); d < lo || d > hi {
			return fmt.Sprintf("--%s %s is out of range: give %s to %s", name, d, lo, hi)
		}
		return ""
	}
}

// flagChecks bound every numeric flag: a zero, negative or absurd value is
// refused with the allowed range instead of being replaced by a default.
var flagChecks = map[string]flagCheck{
	"batch":           intIn(1, 1_000_000),
	"chunk":           intIn(1, 10_000),
	"max-block-bytes": intIn(1<<10, 1<<30),
	"lock-timeout":    durationIn(0, time.Hour),
	"collect-timeout": durationIn(time.Millisecond, 10*time.Minute),
	"chunk-timeout":   durationIn(time.Millisecond, 10*time.Minute),
	"stale-after":     durationIn(time.Second, 24*time.Hour),
	"honesty-grace":   durationIn(time.Minute, 30*24*time.Hour),
	"committee-size":  intIn(1, 1024),
	"blocks":          intIn(1, 100_000_000),
	"rotate-every":    intIn(1, 1<<40),
	"body-bytes":      intIn(0, 16<<20),
	"max-batch":       intIn(1, 1_000_000),
	"max-chunk":       intIn(1, 10_000),
	"max-frame-bytes": intIn(1<<10, 1<<30),
	"max-streams":     intIn(1, 4096),
	"max-errors":      intIn(1, 1_000_000),
	"chain-id":        intIn(0, 1<<32-1),
	"network-type":    intIn(0, 1<<32-1),
}

// checkFlagValues runs the checks of the flags a command was given.
func checkFlagValues(c *cli.Context, cmd string) error {
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		check, ok := flagChecks[name]
		if !ok || !c.IsSet(name) {
			continue
		}
		if msg := check(c, name); msg != "" {
			return fmt.Errorf("%s; see %s --help", msg, cmd)
		}
	}
	return nil
}

// lockTimeout is --lock-timeout for store.Open: 0 means "do not wait",
// which bbolt spells as the shortest timeout.
func lockTimeout(c *cli.Context) time.Duration {
	if d := c.Duration(lockTimeoutFlag.Name); d > 0 {
		return d
	}
	return time.Nanosecond
}

func openStore(c *cli.Context, readOnly bool) (*store.Store, error) {
	return store.Open(c.String(storeFlag.Name), store.Options{ReadOnly: readOnly, LockTimeout: lockTimeout(c)})
}
