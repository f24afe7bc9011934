package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vcsync/vcsync/store"
)

// A node whose upper run came from another fork: verify finds it, rollback
// removes it, sync from an honest peer restores the honest chain.
func TestRollbackRecoversAForgedFork(t *testing.T) {
	t.Parallel()
	honestDir := genStore(t, "500", "")
	honest := filepath.Join(honestDir, "blocks.db")
	mgmt := filepath.Join(honestDir, "management.json")
	forkDir := genStore(t, "500", "", "--seed", "another fork")
	db := filepath.Join(t.TempDir(), "node.db")
	s, err := store.Open(db, store.Options{Create: true, Identity: &store.Identity{ChainID: 42, NetworkType: 2}})
	if err != nil {
		t.Fatal(err)
	}
	low := readBlocks(t, honest, 100, 1)
	for i, j := 0, len(low)-1; i < j; i, j = i+1, j-1 {
		low[i], low[j] = low[j], low[i]
	}
	if _, err := s.AppendForward(low); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitDescending(readBlocks(t, filepath.Join(forkDir, "blocks.db"), 500, 301)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out, _, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--json")
	if code != ExitFailed || !strings.Contains(out, `"first_bad": 500`) {
		t.Fatalf("verify all on the fork: exit %d %s", code, out)
	}
	// A dry run changes nothing.
	before := fileSum(t, db)
	if out := mustRun(t, "rollback", "--store", db, "--to", "100"); !strings.Contains(out, "would remove 200 blocks (301-500)") {
		t.Fatalf("dry run: %s", out)
	}
	if fileSum(t, db) != before {
		t.Fatal("the dry run wrote the store")
	}
	mustRun(t, "rollback", "--store", db, "--to", "100", "--yes")
	mustRun(t, "sync", "--store", db, "--committee-file", mgmt, "--peer", "file://"+honest)
	mustEqualStores(t, honest, db)
}

func TestRollbackThenSyncRestoresTheTip(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "600", "")
	honest := filepath.Join(dir, "blocks.db")
	mgmt := filepath.Join(dir, "management.json")
	db := filepath.Join(t.TempDir(), "node.db")
	data, _ := os.ReadFile(honest)
	os.WriteFile(db, data, 0o644)
	// On a store without a gap every rollback goes below InOrder: the dry
	// run shows the plan, and says so, without asking for a flag.
	before := fileSum(t, db)
	if out := mustRun(t, "rollback", "--store", db, "--to", "550"); !strings.Contains(out, "would remove 50 blocks (551-600)") ||
		!strings.Contains(out, "50 of them are below InOrder 600") || !strings.Contains(out, "run again with --yes to write it") {
		t.Fatalf("dry run: %s", out)
	}
	// More than --max-remove needs --force, in the dry run's advice and
	// on the write, which changes nothing without it.
	if out := mustRun(t, "rollback", "--store", db, "--to", "550", "--max-remove", "10"); !strings.Contains(out, "--yes --force") {
		t.Fatalf("dry run past --max-remove: %s", out)
	}
	if _, errs, code := run(t, "rollback", "--store", db, "--to", "550", "--yes", "--max-remove", "10"); code != ExitUsage || !strings.Contains(errs, "add --force") {
		t.Fatalf("rollback past --max-remove: exit %d %s", code, errs)
	}
	if fileSum(t, db) != before {
		t.Fatal("a refused rollback wrote the store")
	}
	var r struct {
		Removed      uint64 `json:"removed"`
		BelowInOrder uint64 `json:"removed_below_in_order"`
		After        struct {
			Top uint64 `json:"top"`
		} `json:"after"`
	}
	json.Unmarshal([]byte(mustRun(t, "rollback", "--store", db, "--to", "550", "--yes", "--json")), &r)
	if r.Removed != 50 || r.BelowInOrder != 50 || r.After.Top != 550 {
		t.Fatalf("rollback: %+v", r)
	}
	// A rollback is a commit: inspect's last_commit moves.
	var ins struct {
		LastCommit time.Time `json:"last_commit"`
	}
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", db, "--json")), &ins)
	if time.Since(ins.LastCommit) > time.Minute {
		t.Fatalf("last_commit %v after the rollback", ins.LastCommit)
	}
	mustRun(t, "sync", "--store", db, "--committee-file", mgmt, "--peer", "file://"+honest)
	mustEqualStores(t, honest, db)
}
