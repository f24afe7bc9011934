package commands

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestDevnetGen(t *testing.T) {
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
