// Command vcsync inspects, repairs and synchronizes the block store of a
// proof-of-stake virtual chain node.
package main

import (
	"fmt"
	"os"

	"github.com/vcsync/vcsync/commands"
)

func main() {
	if err := commands.NewApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "vcsync:", err)
		os.Exit(commands.ExitCode(err))
	}
}
