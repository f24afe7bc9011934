package commands

import (
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
)

// flipRecoveryID rewrites block h of the store at db with the recovery id
// V of its first signature flipped: same name, same 64 bytes of (r, s), same
// block hash. Only a recovery of that very signature can tell.
func flipRecoveryID(t *testing.T, db string, h uint64) {
	t.Helper()
	updateBolt(t, db, func(tx *bolt.Tx) error {
		k := binary.BigEndian.AppendUint64(nil, h)
		b, err := block.Decode(tx.Bucket([]byte("blocks")).Get(k), 0)
		if err != nil {
			return err
		}
		entry := append([]byte(nil), b.Proof[0]...)
		entry[len(entry)-1] ^= 1
		b.Proof[0] = entry
		enc, err := b.Encode()
		if err != nil {
			return err
		}
		return tx.Bucket([]byte("blocks")).Put(k, enc)
	})
}

// A signature whose V was flipped, by a member whose earlier signatures
// were all checked, is found by every audit (the same answer every time)
// and refused by pull and import.
func TestFlippedRecoveryIDIsNeverAcceptedOrStored(t *testing.T) {
	t.Parallel()
	src := genStore(t, "400", "")
	db, mgmt := filepath.Join(src, "blocks.db"), filepath.Join(src, "management.json")
	file := filepath.Join(t.TempDir(), "chain.vcx")
	flipRecoveryID(t, db, 150) // below 250 blocks by the same members
	mustRun(t, "export", "--store", db, "--from", "1", "--to", "400", "--out", file)

	for i := 0; i < 20; i++ {
		out, _, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--json")
		var r struct {
			FirstBad uint64 `json:"first_bad"`
			Reason   string `json:"reason"`
		}
		json.Unmarshal([]byte(out), &r)
		if code != ExitFailed || r.FirstBad != 150 || !strings.Contains(r.Reason, "not by the signer it names") {
			t.Fatalf("audit %d: exit %d, %+v", i, code, r)
		}
	}

	node := filepath.Join(t.TempDir(), "node.db")
	_, errs, code := run(t, "pull", "--store", node, "--chain-id", "42", "--network-type", "2",
		"--committee-file", mgmt, "--peer", "file://"+db, "--batch", "300")
	if code != ExitFailed || !strings.Contains(errs, "not by the signer it names") {
		t.Fatalf("pull: exit %d: %s", code, errs)
	}
	_, errs, code = run(t, "import", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, file)
	if code != ExitFailed || !strings.Contains(errs, "not by the signer it names") {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
}
