package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDevnetGen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var r struct {
		ChainID uint32 `json:"chain_id"`
		Blocks  uint64 `json:"blocks"`
	}
	json.Unmarshal([]byte(mustRun(t, "devnet", "gen", "--out", dir, "--blocks", "120", "--ranges", "1-30,91-120",
		"--chain-id", "7", "--network-type", "3", "--json")), &r)
	if r.ChainID != 7 || r.Blocks != 120 {
		t.Fatalf("devnet gen: %+v", r)
	}
	var st StateReport
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", filepath.Join(dir, "blocks.db"), "--json")), &st)
	if st.ChainID != 7 || st.NetworkType != 3 || st.InOrder != 30 || st.LastSynced != 91 || st.Top != 120 {
		t.Fatalf("generated store %+v", st)
	}
	for _, bad := range []string{"9-3", "1-10,5-20", "0-5"} {
		if _, errs, code := run(t, "devnet", "gen", "--out", t.TempDir(), "--blocks", "50", "--ranges", bad); code != ExitUsage || !strings.Contains(errs, "range") {
			t.Fatalf("--ranges %s: exit %d %s", bad, code, errs)
		}
	}
}

// A devnet gen that fails leaves the disk as it found it: no directory it
// made, no document it wrote, and a document that was there untouched.
func TestFailedDevnetGenLeavesTheDiskAsFound(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	out := filepath.Join(parent, "net")
	_, errs, code := run(t, "devnet", "gen", "--out", out, "--blocks", "100", "--ranges", "50-200")
	if code == ExitOK || !strings.Contains(errs, "50-200") {
		t.Fatalf("a range past the chain: exit %d: %s", code, errs)
	}
	if got := dirEntries(t, parent); len(got) != 0 {
		t.Fatalf("the failed run left %v", got)
	}

	existing := t.TempDir()
	doc := filepath.Join(existing, "management.json")
	if err := os.WriteFile(doc, []byte("operator's own"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, code := run(t, "devnet", "gen", "--out", existing, "--blocks", "100", "--ranges", "50-200"); code == ExitOK {
		t.Fatal("a range past the chain was accepted")
	}
	if data, _ := os.ReadFile(doc); string(data) != "operator's own" {
		t.Fatalf("the failed run changed the directory's document: %q", data)
	}
	if got := dirEntries(t, existing); !slices.Equal(got, []string{"management.json"}) {
		t.Fatalf("the failed run left %v", got)
	}
}
