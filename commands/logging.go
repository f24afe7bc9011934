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
var (
	logFormatFlag = &cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"VCSYNC_LOG_FORMAT"}, Category: "Logs",
		Usage: "`FORMAT` of the log lines on stderr: text (key=value) or json (one object per line; no progress bar)"}
	logLevelFlag = &cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"VCSYNC_LOG_LEVEL"}, Category: "Logs",
		Usage: "least `LEVEL` logged: debug, info, warn or error"}
)

// logOptions is how a command logs.
type logOptions struct {
	json  bool
	level slog.Level
}

func logOptionsFrom(c *cli.Context) (logOptions, error) {
	var o logOptions
	switch f := c.String(logFormatFlag.Name); f {
	case "text":
	case "json":
		o.json = true
	default:
		return o, usageError(fmt.Errorf("--log-format %q: give text or json", f))
	}
	if err := o.level.UnmarshalText([]byte(c.String(logLevelFlag.Name))); err != nil {
		return o, usageError(fmt.Errorf("--log-level %q: give debug, info, warn or error", c.String(logLevelFlag.Name)))
	}
	return o, nil
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
	return os.Getenv(logFormatFlag.EnvVars[0]) == "json"
}
