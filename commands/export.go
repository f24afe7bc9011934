package commands

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/exportfile"
)

func exportCommand() *cli.Command {
	return bound(&cli.Command{
		Name:  "export",
		Usage: "write stored blocks A..B to a file in the wire format",
		Description: "Example: vcsync export --store blocks.db --from 1 --to 1000 --out blocks-1-1000.vcx\n" +
			"The file is written beside its final name and renamed when complete; the summary gives\n" +
			"its SHA-256, which import --sha256 checks. --out - writes to stdout (the summary then\n" +
			"goes to stderr), to pipe it into an import, here or over ssh:\n" +
			"vcsync export --store blocks.db --out - | vcsync import --store copy.db --chain-id 42 --network-type 2 --committee-file management.json -",
	}, &exportOptions{})
}

func (o *exportOptions) action(c *cli.Context) error {
	if o.out == "-" {
		if isTerminal(c.App.Writer) {
			return usageError(errors.New("export --out -: stdout is a terminal; pipe it (| vcsync import -) or redirect it to a file"))
		}
		c.App.Metadata[stdoutIsDataKey] = true
	}
	o.store.notices = c.App.ErrWriter
	return o.run(c.App.Writer, c.App.ErrWriter)
}

// exportOptions is what `vcsync export` was asked.
type exportOptions struct {
	store    storeOptions
	json     bool
	from, to uint64
	out      string
	chunk    int
	force    bool
}

func (o *exportOptions) flags() []cli.Flag {
	return append(o.store.flags(), jsonFlag(&o.json),
		&cli.Uint64Flag{Name: "from", Value: 1, Destination: &o.from, Usage: "lowest height"},
		&cli.Uint64Flag{Name: "to", DefaultText: "InOrder", Destination: &o.to, Usage: "highest height"},
		&cli.StringFlag{Name: "out", Required: true, Destination: &o.out, Usage: "file to write (must not exist unless --force); - for stdout"},
		&cli.BoolFlag{Name: "force", Destination: &o.force, Usage: "replace an existing regular file at --out"},
		chunkFlag(&o.chunk),
	)
}

func (o exportOptions) run(stdout, stderr io.Writer) error {
	if o.to != 0 && o.from > o.to {
		return usageError(fmt.Errorf("export --from %d --to %d: the range is reversed: --from is the lowest height, --to the highest; see vcsync export --help", o.from, o.to))
	}
	s, err := o.store.open(true)
	if err != nil {
		return err
	}
	defer s.Close()
	to := o.to
	if to == 0 {
		st, err := s.State()
		if err != nil {
			return err
		}
		to = st.InOrder
	}
	var res exportfile.Result
	w := stdout
	if o.out == "-" {
		res, err = exportfile.Write(s, stdout, exportfile.Bounds{Lowest: o.from, Highest: to}, o.chunk)
		w = stderr // stdout holds the file
	} else {
		res, err = exportfile.Create(s, o.out, exportfile.Bounds{Lowest: o.from, Highest: to}, o.chunk, o.force)
	}
	if errors.Is(err, exportfile.ErrExists) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	r := struct {
		Out    string `json:"out"`
		From   uint64 `json:"from"`
		To     uint64 `json:"to"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	}{o.out, o.from, to, res.Bytes, res.SHA256}
	if o.json {
		return printJSON(w, r)
	}
	out := r.Out
	if out == "-" {
		out = "stdout"
	}
	_, err = fmt.Fprintf(w, "exported blocks %d-%d to %s (%s), sha256 %s\n", r.From, r.To, out, humanBytes(res.Bytes), res.SHA256)
	return err
}
