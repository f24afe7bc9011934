package commands

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// Logs: one library (log/slog) for every long-running command, text or
// JSON, each line with an RFC 3339 timestamp and, in JSON, structured
// fields a log pipeline can index (peer, heights, kind).

// envLogFormat is --log-format's environment variable, which Main reads
// itself for the lines it writes before or after the command runs.
const envLogFormat = "VCSYNC_LOG_FORMAT"

// logOptions is how a command logs.
type logOptions struct {
	format, levelName string // as given
	json              bool
	level             slog.Level
}

// flags declares --log-format and --log-level.
func (o *logOptions) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{envLogFormat}, Category: "Logs", Destination: &o.format,
			Usage: "`FORMAT` of the log lines on stderr: text (key=value) or json (one object per line; no progress bar)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"VCSYNC_LOG_LEVEL"}, Category: "Logs", Destination: &o.levelName,
			Usage: "least `LEVEL` logged: debug, info, warn or error"},
	}
}

// check reads the format and level given.
func (o *logOptions) check() error {
	switch o.format {
	case "text":
	case "json":
		o.json = true
	default:
		return usageError(fmt.Errorf("--log-format %q: give text or json", o.format))
	}
	if err := o.level.UnmarshalText([]byte(o.levelName)); err != nil {
		return usageError(fmt.Errorf("--log-level %q: give debug, info, warn or error", o.levelName))
	}
	return nil
}

// logger writes to w in the chosen format.
func (o logOptions) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: o.level}
	if o.json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// lineLogger is an io.Writer whose every line becomes a log record: for
// the notes of code that writes prose to a writer (the committee source's
// warnings and retries).
type lineLogger struct {
	log   *slog.Logger
	level slog.Level
}

func (l lineLogger) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		if msg := strings.TrimPrefix(strings.TrimSpace(string(line)), "vcsync: "); msg != "" {
			l.log.Log(context.Background(), l.level, msg)
		}
	}
	return len(p), nil
}

// jsonLogsAsked says whether the command line or the environment asks for
// JSON logs, for the lines Main writes itself (the final error).
func jsonLogsAsked(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--log-format=json" || a == "-log-format=json":
			return true
		case (a == "--log-format" || a == "-log-format") && i+1 < len(args):
			return args[i+1] == "json"
		}
	}
	return os.Getenv(envLogFormat) == "json"
}
