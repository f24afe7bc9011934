package commands

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommitteeCommand(t *testing.T) {
	dir := genStore(t, "600", "", "--tip-ref-time", "1800000000", "--rotate-every", "250")
	mgmt := filepath.Join(dir, "management.json")
	var r CommitteeReport
	// Block 300's parent (299) has ref time 1800000000-301: epoch 1 began at block 250's ref time.
	json.Unmarshal([]byte(mustRun(t, "committee", "--chain-id", "42", "--management", mgmt, "--at", "1799999699", "--json")), &r)
	if r.RefTime != 1800000000-350 || len(r.Members) != 4 {
		t.Fatalf("committee report %+v", r)
	}
	total := 0.0
	for _, m := range r.Members {
		total += m.Share
	}
	if total < 99.9 || total > 100.1 {
		t.Fatalf("shares add to %.2f", total)
	}
	if out := mustRun(t, "committee", "--chain-id", "42", "--management", mgmt, "--current"); !strings.Contains(out, "total weight") {
		t.Fatalf("human output %q", out)
	}
}
