package commands

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// VersionInfo is `vcsync version --json`: what was built, from the build
// information the Go toolchain records in the binary.
type VersionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	GoVersion  string `json:"go_version"`
	Bbolt      string `json:"bbolt"`
	GoEthereum string `json:"go_ethereum"`
}

func buildVersion() VersionInfo {
	v := VersionInfo{Version: "(devel)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case "go.etcd.io/bbolt":
			v.Bbolt = d.Version
		case "github.com/ethereum/go-ethereum":
			v.GoEthereum = d.Version
		}
	}
	return v
}

func (v VersionInfo) String() string {
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	} else if v.Modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("vcsync %s\ncommit      %s\ngo          %s\nbbolt       %s\ngo-ethereum %s",
		v.Version, commit, v.GoVersion, v.Bbolt, v.GoEthereum)
}

func printVersionLine(c *cli.Context) { fmt.Fprintln(c.App.Writer, buildVersion()) }

func versionCommand() *cli.Command {
	var asJSON bool
	return &cli.Command{
		Name:        "version",
		Usage:       "print the version, commit, Go version and the versions of bbolt and go-ethereum",
		Description: "Example: vcsync version --json",
		Flags:       []cli.Flag{jsonFlag(&asJSON)},
		Action: func(c *cli.Context) error {
			v := buildVersion()
			if asJSON {
				return printJSON(c.App.Writer, v)
			}
			fmt.Fprintln(c.App.Writer, v)
			return nil
		},
	}
}
