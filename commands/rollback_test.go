package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcsync/vcsync/store"
)

// A node whose upper run came from another fork: verify finds it, rollback
// removes it, sync from an honest peer restores the honest chain.
func TestRollbackRecoversAForgedFork(t *testing.T) {
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
	dir := genStore(t, "600", "")
	honest := filepath.Join(dir, "blocks.db")
	mgmt := filepath.Join(dir, "management.json")
	db := filepath.Join(t.TempDir(), "node.db")
	data, _ := os.ReadFile(honest)
	os.WriteFile(db, data, 0o644)
	// Below InOrder needs the second flag, and changes nothing without it.
	if _, errs, code := run(t, "rollback", "--store", db, "--to", "550", "--yes"); code != ExitUsage || !strings.Contains(errs, "--force-below-in-order") {
		t.Fatalf("rollback below InOrder: exit %d %s", code, errs)
	}
	var r struct {
		Removed uint64 `json:"removed"`
		After   struct {
			Top uint64 `json:"top"`
		} `json:"after"`
	}
	json.Unmarshal([]byte(mustRun(t, "rollback", "--store", db, "--to", "550", "--yes", "--force-below-in-order", "--json")), &r)
	if r.Removed != 50 || r.After.Top != 550 {
		t.Fatalf("rollback: %+v", r)
	}
	mustRun(t, "sync", "--store", db, "--committee-file", mgmt, "--peer", "file://"+honest)
	mustEqualStores(t, honest, db)
}
