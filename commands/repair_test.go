package commands

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
)

// Repair commands refuse a store another process holds, with the lock message.
func TestRepairCommandsRefuseALockedStore(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "100", "")
	db := filepath.Join(dir, "blocks.db")
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, args := range [][]string{
		{"rollback", "--store", db, "--to", "50", "--yes", "--force"},
		{"repair", "--store", db, "--yes"},
		{"compact", "--store", db, "--replace"},
		{"compact", "--store", db, "--out", filepath.Join(t.TempDir(), "c.db")},
	} {
		_, errs, code := runChild(t, append(args, "--lock-timeout", "200ms")...)
		if code != ExitTempFail || !strings.Contains(errs, "locked by another process") {
			t.Fatalf("%v on a locked store: exit %d %s", args, code, errs)
		}
	}
}

// kill -9 at any moment of a rollback or a compact --replace leaves the
// store as it was before or as it is after, never in between.
func TestRepairsSurviveKill(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "3000", "")
	honest := filepath.Join(dir, "blocks.db")
	for i, delay := range []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		for _, args := range [][]string{
			{"rollback", "--to", "1000", "--yes", "--force"},
			{"compact", "--replace"},
		} {
			db := filepath.Join(t.TempDir(), "node.db")
			data, _ := os.ReadFile(honest)
			os.WriteFile(db, data, 0o644)
			cmd := exec.Command(os.Args[0], append(args, "--store", db)...)
			cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			s, err := store.Open(db, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatalf("run %d %v: after kill: %v", i, args, err)
			}
			st, _ := s.State()
			cerr := fsck.Check(s, nil)
			s.Close()
			if cerr != nil || (st.Top != 3000 && st.Top != 1000) {
				t.Fatalf("run %d %v: after kill at %v: state %+v, check %v", i, args, delay, st, cerr)
			}
		}
	}
}

// repair --out takes the chain's identity for a file that no longer says
// it (the message of salvage asks for it), and uses it: blocks of another
// chain are not copied. Without --out the flags are refused.
func TestRepairOutTakesTheChainIdentity(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "100", "")
	db := filepath.Join(dir, "blocks.db")
	out := filepath.Join(t.TempDir(), "salvaged.db")
	mustRun(t, "repair", "--store", db, "--out", out, "--chain-id", "42", "--network-type", "2")
	mustEqualStores(t, out, db)
	_, errs, code := run(t, "repair", "--store", db, "--out", filepath.Join(t.TempDir(), "other.db"), "--chain-id", "43", "--network-type", "2")
	if code != ExitFailed || !strings.Contains(errs, "no readable block of chain 43") {
		t.Fatalf("salvage for another chain: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "repair", "--store", db, "--chain-id", "42", "--network-type", "2"); code != ExitUsage || !strings.Contains(errs, "go with --out") {
		t.Fatalf("identity without --out: exit %d %s", code, errs)
	}
}
