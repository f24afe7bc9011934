// Command vcsync inspects, repairs and synchronizes the block store of a
// proof-of-stake virtual chain node.
package main

import (
	"os"

	"github.com/vcsync/vcsync/commands"
)

func main() {
	os.Exit(commands.RunProcess(os.Args, os.Stdout, os.Stderr))
}
