package commands

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcsync/vcsync/store"
)

// A command stopped by a signal exits as the shell reports one: 130 for
// SIGINT, 143 for SIGTERM, 129 for SIGHUP (handled like SIGTERM), even a
// sync --follow whose rounds succeeded, and says it was stopped.
func TestSignalsGiveTheShellsExitCodes(t *testing.T) {
	t.Parallel()
	src := genStore(t, "100", "")
	db, mgmt := filepath.Join(src, "blocks.db"), filepath.Join(src, "management.json")
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			node := filepath.Join(t.TempDir(), "node.db")
			c := startChild(t, "", "", "sync", "--follow", "--stale-after", "1h", "--store", node, "--chain-id", "42",
				"--network-type", "2", "--committee-file", mgmt, "--peer", "file://"+db)
			waitForTop(t, node, 100, c)
			c.cmd.Process.Signal(tc.sig)
			code, errs := c.wait()
			if code != tc.want {
				t.Fatalf("stopped by %s: exit %d, want %d: %s", tc.sig, code, tc.want, errs)
			}
			if !strings.Contains(errs, "interrupted") && !strings.Contains(errs, "stopped") {
				t.Fatalf("stopped by %s without saying so: %s", tc.sig, errs)
			}
		})
	}
}

// waitForTop waits until the store at path holds Top h (its first round
// committed), or fails if the child ended first.
func waitForTop(t *testing.T, path string, h uint64, c *child) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c.exited() {
			code, errs := c.wait()
			t.Fatalf("the child ended (exit %d) before Top %d: %s", code, h, errs)
		}
		if s, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: 10 * time.Millisecond}); err == nil {
			st, _ := s.State()
			s.Close()
			if st.Top == h {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("Top %d never reached", h)
}
