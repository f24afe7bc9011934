package commands

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestInspectStoreWithGap(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "500", "1-120,301-500")
	db := filepath.Join(dir, "blocks.db")

	var r StateReport
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", "--store", db, "--json")), &r); err != nil {
		t.Fatal(err)
	}
	if r.InOrder != 120 || r.LastSynced != 301 || r.Top != 500 || r.Blocks != 320 || r.ChainID != 42 || r.NetworkType != 2 {
		t.Fatalf("report %+v", r)
	}
	if len(r.Gaps) != 1 || r.Gaps[0].From != 121 || r.Gaps[0].To != 300 || r.LastCommit == nil || r.FileBytes == 0 {
		t.Fatalf("report %+v", r)
	}
	human := mustRun(t, "inspect", "--store", db)
	for _, want := range []string{"in order     120", "last synced  301", "top          500", "121-300 (180 blocks)", "blocks       320"} {
		if !strings.Contains(human, want) {
			t.Errorf("human output lacks %q:\n%s", want, human)
		}
	}
}

func TestInspectStoreWithoutGapFromEnv(t *testing.T) {
	dir := genStore(t, "200", "")
	t.Setenv("VCSYNC_STORE", filepath.Join(dir, "blocks.db"))
	var r StateReport
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", "--json")), &r); err != nil {
		t.Fatal(err)
	}
	if r.InOrder != 200 || r.LastSynced != 200 || r.Top != 200 || len(r.Gaps) != 0 || r.Blocks != 200 {
		t.Fatalf("report %+v", r)
	}
	if !strings.Contains(mustRun(t, "inspect"), "gaps         none") {
		t.Fatal("human output should say there are no gaps")
	}
}

func TestInspectBlock(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "", "--committee-size", "5")
	db := filepath.Join(dir, "blocks.db")
	var b BlockReport
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", "--store", db, "--block", "260", "--json")), &b); err != nil {
		t.Fatal(err)
	}
	if b.Height != 260 || len(b.Signers) != 5 || !strings.HasPrefix(b.Hash, "0x") || b.BodyBytes == 0 {
		t.Fatalf("block report %+v", b)
	}
	// The parent of 261 is 260.
	var next BlockReport
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", db, "--block", "261", "--json")), &next)
	if next.PrevHash != b.Hash {
		t.Fatalf("block 261 prev hash %s, block 260 hash %s", next.PrevHash, b.Hash)
	}
	if _, errs, code := run(t, "inspect", "--store", db, "--block", "999"); code != ExitFailed || !strings.Contains(errs, "height 999: block not in store") {
		t.Fatalf("missing block: exit %d %q", code, errs)
	}
}

func TestInspectCheckExitCodes(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "100", "")
	db := filepath.Join(dir, "blocks.db")
	if out := mustRun(t, "inspect", "--store", db, "--check"); !strings.Contains(out, "ok: 100 blocks") {
		t.Fatalf("check output %q", out)
	}
	// Flip a byte inside block 37's body on disk.
	bdb, err := bolt.Open(db, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	bdb.Update(func(tx *bolt.Tx) error {
		k := []byte{0, 0, 0, 0, 0, 0, 0, 37}
		v := append([]byte(nil), tx.Bucket([]byte("blocks")).Get(k)...)
		v[len(v)-300] ^= 0xff
		return tx.Bucket([]byte("blocks")).Put(k, v)
	})
	bdb.Close()

	out, errs, code := run(t, "inspect", "--store", db, "--check", "--json")
	if code != ExitFailed {
		t.Fatalf("exit %d, want 1 (%s)", code, errs)
	}
	var r CheckReport
	json.Unmarshal([]byte(out), &r)
	if r.OK || len(r.Problems) != 1 || r.Problems[0].Height != 37 || r.Problems[0].Kind != "undecodable" || !strings.Contains(r.Problems[0].Detail, "body") {
		t.Fatalf("check report %+v", r)
	}
	if !strings.Contains(errs, "the first at height 37") {
		t.Fatalf("stderr %q should name height 37", errs)
	}
}

func TestPluralCountsOneAsOne(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0 problems", 1: "1 problem", 2: "2 problems"} {
		if got := plural(n, "problem"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}
