package commands

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/vcsync/vcsync/internal/countio"
)

// table prints aligned "key  value" rows.
func table(w io.Writer, rows [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

// stderrIsTerminal decides between a progress bar and plain log lines.
func stderrIsTerminal(w io.Writer) bool { return isTerminal(w) }

// isTerminal says whether w is a terminal (through Main's counting writer).
func isTerminal(w io.Writer) bool {
	if c, ok := w.(*countio.Writer); ok {
		w = c.W
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is a progress bar when stderr is a terminal and nothing otherwise.
type progress struct{ bar *progressbar.ProgressBar }

// Set moves the bar to n. Nothing is drawn before the first block: the
// bar's rate at zero would read "0 blocks/hr".
func (p progress) Set(n uint64) {
	if p.bar != nil && n > 0 {
		p.bar.Set64(int64(n))
	}
}

func (p progress) Done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

func newProgress(w io.Writer, total uint64, what string) progress {
	if !stderrIsTerminal(w) {
		return progress{}
	}
	return newBar(w, total, what)
}

func newBar(w io.Writer, total uint64, what string) progress {
	return progress{bar: progressbar.NewOptions64(int64(total),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("blocks"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// shellQuote quotes s for a POSIX shell when it holds anything but the
// characters paths are usually made of, so a printed command can be pasted.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
