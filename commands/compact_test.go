package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompactCommand(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "1-100,201-300")
	db := filepath.Join(dir, "blocks.db")
	out := filepath.Join(t.TempDir(), "compact.db")
	var r struct {
		Blocks   uint64 `json:"blocks"`
		Replaced bool   `json:"replaced"`
	}
	json.Unmarshal([]byte(mustRun(t, "compact", "--store", db, "--out", out, "--json")), &r)
	if r.Blocks != 200 || r.Replaced {
		t.Fatalf("compact --out: %+v", r)
	}
	mustEqualStores(t, db, out)
	for _, args := range [][]string{{"compact", "--store", db}, {"compact", "--store", db, "--out", out, "--replace"}} {
		if _, errs, code := run(t, args...); code != ExitUsage || !strings.Contains(errs, "exactly one of --out PATH or --replace") {
			t.Fatalf("%v: exit %d %s", args, code, errs)
		}
	}
	if _, errs, code := run(t, "compact", "--store", db, "--out", out); code != ExitUsage || !strings.Contains(errs, "exists") {
		t.Fatalf("compact over an existing file: exit %d %s", code, errs)
	}
	before, _ := os.ReadFile(db)
	mustRun(t, "compact", "--store", db, "--replace")
	mustEqualStores(t, out, db)
	if _, err := os.Stat(db + ".bak"); !os.IsNotExist(err) {
		t.Fatalf("the backup outlived a checked copy: %v", err)
	}
	if after, _ := os.ReadFile(db); len(after) > len(before) {
		t.Fatalf("compacted store grew from %d to %d bytes", len(before), len(after))
	}
}
