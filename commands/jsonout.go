package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

// Kinds of failure, the "kind" of every --json object that reports one
// (docs/JSON.md). A script branches on these, not on the error's words.
const (
	kindUsage        = "usage"        // the command line: fix it and run again (exit 2)
	kindLocked       = "locked"       // another process holds the store: try again later (exit 75)
	kindNotVcsync    = "not_vcsync"   // the file is a bbolt file of something else (exit 2)
	kindDamaged      = "damaged"      // the store's file is damaged (exit 1)
	kindInconsistent = "inconsistent" // the indices or blocks disagree (exit 1)
	kindVerification = "verification" // a block failed verification (exit 1)
	kindDiverged     = "diverged"     // the store holds a block where a peer proved the network holds another (exit 1)
	kindInterrupted  = "interrupted"  // SIGINT, SIGTERM or SIGHUP (exit 130, 143, 129)
	kindFailed       = "failed"       // a check failed or a sync could not finish (exit 1)
	kindIO           = "io"           // input files, the network or the disk (exit 2)
)

// errorKind names what kind of failure err is.
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, syncer.ErrInterrupted):
		return kindInterrupted
	case errors.Is(err, syncer.ErrDiverged):
		return kindDiverged
	case errors.Is(err, store.ErrLocked):
		return kindLocked
	case errors.As(err, new(usage)):
		return kindUsage
	case errors.Is(err, store.ErrNotVcsync):
		return kindNotVcsync
	case errors.Is(err, store.ErrDamaged):
		return kindDamaged
	case errors.Is(err, store.ErrInconsistent):
		return kindInconsistent
	case errors.Is(err, verify.ErrInvalidBlock):
		return kindVerification
	case ExitCode(err) == ExitFailed:
		return kindFailed
	}
	return kindIO
}

// failureReport is the object a --json command prints when it fails before
// it has anything of its own to say (a usage error, a locked store, a
// damaged file).
type failureReport struct {
	OK          bool   `json:"ok"`
	Error       string `json:"error"`
	Kind        string `json:"kind"`
	Interrupted bool   `json:"interrupted,omitempty"`
}

func newFailureReport(err error) failureReport {
	k := errorKind(err)
	return failureReport{Error: err.Error(), Kind: k, Interrupted: k == kindInterrupted}
}

// printJSON prints v, an object, indented. Every object says whether the
// command succeeded: one without "ok" of its own is a success report and
// gets "ok": true.
func printJSON(w io.Writer, v any) error { return printOutcome(w, v, nil) }

// printOutcome prints v as the outcome of a command that returns err:
// "ok", and when err is set "error", "kind" and "interrupted", are added
// unless v has them.
func printOutcome(w io.Writer, v any, err error) error {
	data, merr := outcome(v, err)
	if merr != nil {
		return merr
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, werr := w.Write(buf.Bytes())
	return werr
}

// writeJSONLine writes v as the outcome of err on one compact line
// (NDJSON), with the fields printOutcome adds.
func writeJSONLine(w io.Writer, v any, err error) error {
	data, merr := outcome(v, err)
	if merr != nil {
		return merr
	}
	_, werr := w.Write(append(data, '\n'))
	return werr
}

func outcome(v any, err error) ([]byte, error) {
	data, merr := json.Marshal(v)
	if merr != nil {
		return nil, merr
	}
	extra := []field{{"ok", strconv.FormatBool(err == nil)}}
	if err != nil {
		f := newFailureReport(err)
		msg, _ := json.Marshal(f.Error)
		extra = append(extra, field{"error", string(msg)}, field{"kind", strconv.Quote(f.Kind)})
		if f.Interrupted {
			extra = append(extra, field{"interrupted", "true"})
		}
	}
	return withFields(data, extra), nil
}

type field struct{ key, value string } // value is JSON

// withFields puts the fields obj lacks at its front. obj is a JSON object
// encoding/json made; anything else is returned as it is.
func withFields(obj []byte, fields []field) []byte {
	var have map[string]json.RawMessage
	if json.Unmarshal(obj, &have) != nil || len(obj) < 2 {
		return obj
	}
	var head bytes.Buffer
	head.WriteByte('{')
	for _, f := range fields {
		if _, ok := have[f.key]; ok {
			continue
		}
		head.WriteString(strconv.Quote(f.key) + ":" + f.value)
		head.WriteByte(',')
	}
	rest := obj[1:]
	if len(have) == 0 { // "{}": no comma after the last field
		head.Truncate(max(1, head.Len()-1))
	}
	return append(head.Bytes(), rest...)
}

// wantsJSON says whether args ask for --json (flags come before the first
// argument and never after "--").
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "-json", "--json=true", "-json=true", "--json=1", "-json=1":
			return true
		}
	}
	return false
}

// stdoutIsDataKey in App.Metadata says stdout carries data (export --out -),
// so reports go to stderr.
const stdoutIsDataKey = "vcsync.stdout-is-data"
