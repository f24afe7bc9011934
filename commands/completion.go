package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shell completion is urfave/cli's: a shell asks `vcsync ... --generate-bash-completion`
// for the words that may follow; these scripts are the shells' side of that
// exchange, as urfave/cli ships them (autocomplete/), named for vcsync.
const (
	bashCompletion = `# vcsync completion for bash: source <(vcsync completion bash)
_vcsync_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  words=("${COMP_WORDS[@]:0:$COMP_CWORD}")
  if [[ "$cur" == "-"* ]]; then
    opts=$("${words[@]}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${words[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -o nospace -F _vcsync_complete vcsync
`
	zshCompletion = `#compdef vcsync
# vcsync completion for zsh: vcsync completion zsh > "${fpath[1]}/_vcsync"
_vcsync() {
  local -a opts
  local cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _vcsync vcsync
`
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "SHELL",
		Description: "Example: vcsync completion bash\n" +
			"Save the script where the shell looks for completions: /etc/bash_completion.d/ (bash),\n" +
			"a directory of $fpath, in a file named _vcsync, for zsh; ~/.config/fish/completions/vcsync.fish for fish.",
		Action: func(c *cli.Context) error {
			switch shell := c.Args().First(); shell {
			case "bash":
				_, err := fmt.Fprint(c.App.Writer, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(c.App.Writer, zshCompletion)
				return err
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, script)
				return err
			default:
				return usageError(fmt.Errorf("vcsync completion: %q is not a shell vcsync completes: give bash, zsh or fish", shell))
			}
		},
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:        "man",
		Usage:       "print vcsync's manual page (roff), made from the same definitions as --help",
		Description: "Example: vcsync man\nSave it as /usr/local/share/man/man8/vcsync.8 for man(1).",
		Action: func(c *cli.Context) error {
			page, err := c.App.ToMan()
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, page)
			return err
		},
	}
}
