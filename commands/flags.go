package commands

import (
	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/store"
)

// Flags shared by several commands, declared once.
var (
	storeFlag = &cli.StringFlag{
		Name: "store", Usage: "path of the bbolt block store", EnvVars: []string{"VCSYNC_STORE"},
		Required: true, Category: "Store",
	}
	lockTimeoutFlag = &cli.DurationFlag{
		Name: "lock-timeout", Value: store.DefaultLockTimeout, Category: "Store",
		Usage: "how long to wait for another process's lock on the store",
	}
	jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print one JSON object instead of text"}
)

func openStore(c *cli.Context, readOnly bool) (*store.Store, error) {
	return store.Open(c.String(storeFlag.Name), store.Options{ReadOnly: readOnly, LockTimeout: c.Duration(lockTimeoutFlag.Name)})
}
