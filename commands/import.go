package commands

import (
	"github.com/urfave/cli/v2"
)

func importCommand() *cli.Command {
	return onSyncCore(&cli.Command{
		Name:      "import",
		Usage:     "import an export file, verifying it like sync does",
		ArgsUsage: "FILE",
		Description: "Blocks already in the store are skipped. The file's highest block needs the tip rule\n" +
			"unless it links to blocks already stored. Flags go before FILE. FILE - reads stdin;\n" +
			"a pipe (stdin, a FIFO, <(...)) is read once, to its end. --sha256 checks the file:\n" +
			"a regular file before anything is imported, a pipe once read.\n" +
			"Example: vcsync import --store new.db --chain-id 42 --network-type 2 --committee-file management.json blocks.vcx",
	}, modeImport)
}
