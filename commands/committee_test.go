package commands

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCommitteeCommand(t *testing.T) {
	t.Parallel()
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
	// Quorum and honest stake from the total, by the rule README states:
	// f = floor((total-1)/3), quorum total-f, honest f+1.
	w, _ := strconv.ParseInt(r.TotalWeight, 10, 64)
	f := (w - 1) / 3
	if r.QuorumWeight != strconv.FormatInt(w-f, 10) || r.HonestWeight != strconv.FormatInt(f+1, 10) {
		t.Fatalf("total %d: quorum %s, honest %s; want %d and %d", w, r.QuorumWeight, r.HonestWeight, w-f, f+1)
	}
	if out := mustRun(t, "committee", "--chain-id", "42", "--management", mgmt, "--current"); !strings.Contains(out, "total weight") {
		t.Fatalf("human output %q", out)
	}
}
