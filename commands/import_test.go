package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportRefusesAForeignFileAndLeavesNoStore(t *testing.T) {
	dir := genStore(t, "50", "")
	mgmt := filepath.Join(dir, "management.json")
	out := t.TempDir()
	junk := filepath.Join(out, "junk.vcx")
	os.WriteFile(junk, []byte("not an export"), 0o644)
	node := filepath.Join(out, "node.db")
	if _, errs, code := run(t, "import", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, junk); code != ExitUsage || !strings.Contains(errs, "not a vcsync export file") {
		t.Fatalf("import of a foreign file: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "import", "--store", node, "--committee-file", mgmt); code != ExitUsage || !strings.Contains(errs, "takes 1 argument") {
		t.Fatalf("import without a file: exit %d %s", code, errs)
	}
	if left := dirEntries(t, out); len(left) != 1 {
		t.Fatalf("failed imports left %v", left)
	}
	// An export of the chain imports into a new store.
	vcx := filepath.Join(out, "blocks.vcx")
	mustRun(t, "export", "--store", filepath.Join(dir, "blocks.db"), "--out", vcx)
	mustRun(t, "import", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, vcx)
	mustEqualStores(t, filepath.Join(dir, "blocks.db"), node)
}
