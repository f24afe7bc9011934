package commands

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
)

func TestVerifyAllFindsForgedProof(t *testing.T) {
	dir := genStore(t, "400", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")

	var r struct {
		Verified uint64 `json:"verified"`
		FirstBad uint64 `json:"first_bad"`
		Reason   string `json:"reason"`
	}
	json.Unmarshal([]byte(mustRun(t, "verify", "all", "--store", db, "--management", mgmt, "--json")), &r)
	if r.Verified != 400 || r.FirstBad != 0 {
		t.Fatalf("clean store: %+v", r)
	}
	if out := mustRun(t, "verify", "tip", "--store", db, "--committee-file", mgmt); !strings.Contains(out, "tip 400") {
		t.Fatalf("verify tip: %q", out)
	}

	// Replace block 150's proof with signatures of non-members. The header
	// hash does not cover the proof, so only verification can notice.
	bdb, _ := bolt.Open(db, 0o644, nil)
	bdb.Update(func(tx *bolt.Tx) error {
		k := []byte{0, 0, 0, 0, 0, 0, 0, 150}
		b, err := block.Decode(tx.Bucket([]byte("blocks")).Get(k), 0)
		if err != nil {
			return err
		}
		b.Proof = nil
		for i := 0; i < 4; i++ {
			key, _ := crypto.ToECDSA(crypto.Keccak256([]byte{byte(i), 'x'}))
			b.Sign(key)
		}
		enc, _ := b.Encode()
		return tx.Bucket([]byte("blocks")).Put(k, enc)
	})
	bdb.Close()

	mustRun(t, "inspect", "--store", db, "--check") // structurally the store is still fine
	out, errs, code := run(t, "verify", "all", "--store", db, "--management", mgmt, "--json")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1: %s", code, errs)
	}
	json.Unmarshal([]byte(out), &r)
	if r.FirstBad != 150 || !strings.Contains(r.Reason, "not a member of the committee") {
		t.Fatalf("report %+v", r)
	}
	if _, _, code := run(t, "verify", "range", "--store", db, "--management", mgmt, "151", "400"); code != 0 {
		t.Fatal("blocks above the forged one should verify")
	}
}

func TestVerifyNeedsOneSource(t *testing.T) {
	dir := genStore(t, "10", "")
	db := filepath.Join(dir, "blocks.db")
	mgmt := filepath.Join(dir, "management.json")
	if _, errs, code := run(t, "verify", "tip", "--store", db); code != ExitUsage || !strings.Contains(errs, "name a committee source") {
		t.Fatalf("none: exit %d %q", code, errs)
	}
	if _, errs, code := run(t, "verify", "tip", "--store", db, "--management", mgmt, "--committee-file", mgmt); code != ExitUsage || !strings.Contains(errs, "not --management and --committee-file") {
		t.Fatalf("two: exit %d %q", code, errs)
	}
	// A source on the command line overrides one from the environment.
	t.Setenv("VCSYNC_ETH_RPC", "http://127.0.0.1:1")
	mustRun(t, "verify", "tip", "--store", db, "--committee-file", mgmt)
	t.Setenv("VCSYNC_MANAGEMENT", mgmt)
	if _, errs, code := run(t, "verify", "tip", "--store", db); code != ExitUsage || !strings.Contains(errs, "the environment names more than one") {
		t.Fatalf("two from the environment: exit %d %q", code, errs)
	}
	if _, errs, code := run(t, "verify", "tip", "--store", db, "--eth-rpc", "http://127.0.0.1:1"); code != ExitUsage || !strings.Contains(errs, "--eth-rpc needs --committee-contract") {
		t.Fatalf("eth-rpc alone: exit %d %q", code, errs)
	}
}

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
