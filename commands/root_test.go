package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcsync/vcsync/store"
)

func TestUsageErrorsAreOneLineOnStderr(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "20", "")
	db := filepath.Join(dir, "blocks.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"inspect", "--bogus"}, "see vcsync inspect --help"},
		{[]string{"inspect"}, "needs --store"},
		{[]string{"inspect", "--store", db, "oops", "--json"}, `"--json" comes after an argument`},
		{[]string{"inspect", "--store", db, "oops"}, "takes no arguments"},
		{[]string{"inspect", "--store", db, "--block", "5", "--check"}, "do not go together"},
		{[]string{"sync", "--store", db, "--batch", "0"}, "--batch 0 is out of range: give 1 to 1000000; see vcsync sync --help"},
		{[]string{"verify", "all", "--store", db, "--committee-file", "x", "--max-errors", "0"}, "--max-errors 0 is out of range: give 1 to 1000000; see vcsync verify all --help"},
		{[]string{"export", "--store", db, "--from", "1500", "--to", "1000", "--out", db + ".vcx"}, "the range is reversed"},
		// uint32 reference times: 2^32+1000 must not be read as 1000.
		{[]string{"committee", "--committee-file", "x.json", "--at", "4294968296"}, "--at 4294968296 is out of range: give 0 to 4294967295"},
		{[]string{"devnet", "gen", "--out", db + ".d", "--tip-ref-time", "4294968296"}, "--tip-ref-time 4294968296 is out of range"},
		{[]string{"sync", "--store", db, "--genesis-ref-time", "4294968296"}, "--genesis-ref-time 4294968296 is out of range"},
		{[]string{"sync", "--store", db, "--chunk", "-3"}, "--chunk -3 is out of range"},
		{[]string{"sync", "--store", db, "--max-block-bytes", "-1"}, "--max-block-bytes -1 is out of range"},
		{[]string{"inspect", "--store", db, "--lock-timeout", "-1s"}, "--lock-timeout -1s is out of range"},
		{[]string{"devnet", "gen", "--out", t.TempDir(), "--committee-size", "0"}, "--committee-size 0 is out of range"},
		{[]string{"devnet", "gen", "--out", t.TempDir(), "--chain-id", "4294967338"}, "--chain-id 4294967338 is out of range: give 0 to 4294967295"},
		{[]string{"verify", "range", "--store", db, "--committee-file", "x", "1", "5", "--json"}, "put flags first"},
		{[]string{"sync", "--store", db, "--committee-file", "x", "--peer", "127.0.0.1:7700"}, `has no scheme: use http://127.0.0.1:7700`},
		{[]string{"sync", "--store", db, "--committee-file", "x", "--peer", "file://pf/self.db"}, "file:// needs an absolute path, file:///pf/self.db"},
		{[]string{"sync", "--store", db, "--committee-file", "x", "--peer", "file://" + db}, "a store cannot be its own peer"},
		// Every usage error says where to look, once.
		{[]string{"committee", "--chain-id", "42", "--committee-file", "x"}, "give exactly one of --at T and --current; see vcsync committee --help"},
		{[]string{"compact", "--store", db}, "give exactly one of --out PATH or --replace; see vcsync compact --help"},
		{[]string{"sync", "--store", db, "--committee-file", "x"}, "--peers-file; see vcsync sync --help"},
	}
	for _, tc := range cases {
		out, errs, code := run(t, tc.args...)
		if wantsJSON(tc.args) { // even a misplaced --json gets its one object
			var r failureReport
			if err := json.Unmarshal([]byte(out), &r); err != nil || r.OK || r.Kind != kindUsage || !strings.Contains(r.Error, tc.want) {
				t.Errorf("%v: stdout %q: want a usage failure object", tc.args, out)
			}
			out = ""
		}
		if code != ExitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 ||
			strings.Count(errs, "--help") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestMissingHeightExits1Everywhere(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "50", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	if _, _, code := run(t, "inspect", "--store", db, "--block", "99"); code != ExitFailed {
		t.Errorf("inspect --block 99: exit %d", code)
	}
	out, _, code := run(t, "verify", "range", "--store", db, "--committee-file", mgmt, "--json", "40", "60")
	if code != ExitFailed || !strings.Contains(out, `"first_bad": 60`) {
		t.Errorf("verify range past Top: exit %d %s", code, out)
	}
}

func TestLockTimeoutZeroDoesNotWait(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "20", "")
	db := filepath.Join(dir, "blocks.db")
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// In process, so the clock runs from the command's start and not from a
	// child's start-up, which a loaded machine can stretch past any bound.
	// flock conflicts between two opens in one process as between two.
	inProcess.Lock()
	defer inProcess.Unlock()
	var errb bytes.Buffer
	start := time.Now()
	code := Main(context.Background(), []string{"vcsync", "inspect", "--store", db, "--lock-timeout", "0"}, io.Discard, &errb)
	if elapsed := time.Since(start); code != ExitTempFail || !strings.Contains(errb.String(), "locked by another process") || elapsed >= store.DefaultLockTimeout/2 {
		t.Fatalf("exit %d after %v (the default wait is %v): %s", code, elapsed, store.DefaultLockTimeout, errb.String())
	}
}

func TestUsageAndIOErrorsExit2(t *testing.T) {
	t.Parallel()
	if _, _, code := run(t, "inspect"); code != ExitUsage {
		t.Fatalf("missing --store: exit %d", code)
	}
	if _, errs, code := run(t, "inspect", "--store", filepath.Join(t.TempDir(), "none.db")); code != ExitUsage || !strings.Contains(errs, "does not exist") {
		t.Fatalf("missing file: exit %d %q", code, errs)
	}
	if _, errs, code := run(t, "devnet", "gen", "--out", t.TempDir(), "--ranges", "9-3"); code != ExitUsage || !strings.Contains(errs, "--ranges") {
		t.Fatalf("bad ranges: exit %d %q", code, errs)
	}
}

// The progress bar draws nothing at zero, so its first frame never reads
// "0 blocks/hr".
func TestProgressStartsWithARate(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	bar := newBar(&buf, 1000, "verifying")
	bar.Set(0)
	time.Sleep(150 * time.Millisecond) // past the bar's 100 ms throttle
	bar.Set(500)
	if out := buf.String(); strings.Contains(out, "/hr") || !strings.Contains(out, "500/1000") {
		t.Fatalf("bar: %q", out)
	}
}

// A locked store names its holder when it is a vcsync (from /proc/locks
// and the holder's command line) and where to ask it.
func TestLockedStoreNamesTheVcsyncHoldingIt(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/locks"); err != nil {
		t.Skip("no /proc/locks:", err)
	}
	dir := genStore(t, "20", "")
	db := filepath.Join(dir, "blocks.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	_, serve := serveProcess(t, db, "--metrics-addr", metricsAddr)
	_, errs, code := run(t, "rollback", "--store", db, "--to", "10", "--yes", "--lock-timeout", "0")
	want := fmt.Sprintf("held by vcsync, pid %d: vcsync serve --store %s", serve.Process.Pid, db)
	if code != ExitTempFail || !strings.Contains(errs, want) || !strings.Contains(errs, "ask it at http://"+metricsAddr+"/metrics") {
		t.Fatalf("exit %d: %s\nwant %q", code, errs, want)
	}
}

// Each run has its own flags: the value one run's environment gave is not
// the next run's default (urfave/cli writes it into the flag it parses).
func TestEnvironmentDoesNotOutliveARun(t *testing.T) {
	dir := genStore(t, "10", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	t.Setenv("VCSYNC_MANAGEMENT", mgmt)
	mustRun(t, "verify", "tip", "--store", db)
	os.Unsetenv("VCSYNC_MANAGEMENT") // t.Setenv puts the original back at the end
	if _, errs, code := run(t, "verify", "tip", "--store", db); code != ExitUsage || !strings.Contains(errs, "name a committee source") {
		t.Fatalf("verify tip with VCSYNC_MANAGEMENT unset after a run that had it: exit %d %q", code, errs)
	}
}

// A package's error says what went wrong; the command line adds the flag
// that changes it (advice.go), in text and in JSON.
func TestLibraryErrorsGetTheirFlagAdvice(t *testing.T) {
	t.Parallel()
	db := filepath.Join(genStore(t, "20", ""), "blocks.db")
	existing := filepath.Join(t.TempDir(), "out.vcx")
	os.WriteFile(existing, []byte("an operator's file"), 0o644)
	for _, tc := range []struct {
		args   []string
		says   string
		advice string
	}{
		{[]string{"export", "--store", db, "--out", existing}, "the target exists", "give --force to replace it"},
		{[]string{"verify", "tip", "--store", db, "--committee-file", "http://127.0.0.1:1/management"}, "a URL is not a file", "give a URL with --management"},
		{[]string{"rollback", "--store", db, "--to", "5", "--max-remove", "10", "--yes"}, "more than the 10 allowed", "raise --max-remove, or add --force"},
	} {
		for _, asJSON := range []bool{false, true} {
			args := tc.args
			if asJSON {
				args = append(args[:len(args):len(args)], "--json")
			}
			out, errs, code := run(t, args...)
			if code != ExitUsage || !strings.Contains(errs, tc.says) || !strings.Contains(errs, tc.advice) {
				t.Fatalf("vcsync %s: exit %d %q; want exit 2 with %q and %q", strings.Join(args, " "), code, errs, tc.says, tc.advice)
			}
			if help := strings.Index(errs, "; see vcsync"); help >= 0 && help < strings.Index(errs, tc.advice) {
				t.Fatalf("vcsync %s: the advice comes after the pointer to the help: %q", strings.Join(args, " "), errs)
			}
			if asJSON && !strings.Contains(out, tc.advice) {
				t.Fatalf("vcsync %s: the JSON lacks the advice: %s", strings.Join(args, " "), out)
			}
		}
	}
	if data, _ := os.ReadFile(existing); string(data) != "an operator's file" {
		t.Fatal("the refused export changed the file")
	}
}

// A bound holds for a value from the environment as for one on the command
// line: VCSYNC_CHAIN_ID of 2^32+42 is refused, never read as chain 42.
func TestEnvironmentValuesAreBounded(t *testing.T) {
	db := filepath.Join(genStore(t, "10", ""), "blocks.db")
	t.Setenv("VCSYNC_CHAIN_ID", "4294967338")
	_, errs, code := run(t, "sync", "--store", db, "--committee-file", "x", "--peer", "http://127.0.0.1:1")
	if code != ExitUsage || !strings.Contains(errs, "--chain-id 4294967338 is out of range: give 0 to 4294967295") {
		t.Fatalf("an out-of-range VCSYNC_CHAIN_ID: exit %d %q", code, errs)
	}
}
