package commands

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/verify"
)

func TestVerifyAllFindsForgedProof(t *testing.T) {
	t.Parallel()
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
	if _, errs, code := run(t, "verify", "tip", "--store", db, "--eth-rpc", "http://127.0.0.1:1"); code != ExitUsage || !strings.Contains(errs, "--eth-rpc needs --contract-registry") {
		t.Fatalf("eth-rpc alone: exit %d %q", code, errs)
	}
	a, b := "0x"+strings.Repeat("1", 40), "0x"+strings.Repeat("2", 40)
	if _, errs, code := run(t, "verify", "tip", "--store", db, "--eth-rpc", "http://127.0.0.1:1", "--contract-registry", a,
		"--committee-contract", b); code != ExitUsage || !strings.Contains(errs, "not both") {
		t.Fatalf("registry and a contract: exit %d %q", code, errs)
	}
	if _, errs, code := run(t, "verify", "tip", "--store", db, "--eth-rpc", "http://127.0.0.1:1", "--contract-registry", "0x12"); code != ExitUsage ||
		!strings.Contains(errs, `--contract-registry "0x12" is not an Ethereum address`) {
		t.Fatalf("short registry address: exit %d %q", code, errs)
	}
}

// An audit of a store that lacks blocks fails, in text and JSON, naming
// the heights it could not cover; --allow-gaps asks only that what is
// stored verify.
func TestVerifyAllFailsOnAStoreWithAGap(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "2000", "1-300,701-2000")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	out, errs, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt)
	if code != ExitFailed || !strings.Contains(out, "INCOMPLETE") || !strings.Contains(out, "missing 301-700 (400 blocks)") ||
		!strings.Contains(errs, "lacks 400 of blocks 1-2000") {
		t.Fatalf("verify all on a gap: exit %d\n%s%s", code, out, errs)
	}
	jout, _, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--json")
	var r struct {
		OK       bool          `json:"ok"`
		Verified uint64        `json:"verified"`
		Top      uint64        `json:"top"`
		Gaps     []store.Range `json:"gaps"`
		Waiting  []uint64      `json:"waiting_for_parent"`
	}
	if err := json.Unmarshal([]byte(jout), &r); err != nil {
		t.Fatalf("%v: %s", err, jout)
	}
	if code != ExitFailed || r.OK || r.Top != 2000 || len(r.Gaps) != 1 || r.Gaps[0] != (store.Range{From: 301, To: 700}) ||
		len(r.Waiting) != 1 || r.Waiting[0] != 701 || r.Verified != 1599 {
		t.Fatalf("verify all --json on a gap: exit %d %+v", code, r)
	}
	if out, errs, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--allow-gaps"); code != ExitOK || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("--allow-gaps: exit %d\n%s%s", code, out, errs)
	}
	whole := genStore(t, "500", "")
	jout, _, code = run(t, "verify", "all", "--store", filepath.Join(whole, "blocks.db"), "--committee-file", filepath.Join(whole, "management.json"), "--json")
	json.Unmarshal([]byte(jout), &r)
	if code != ExitOK || !r.OK || len(r.Gaps) != 0 || r.Verified != 500 {
		t.Fatalf("verify all --json on a whole store: exit %d %+v", code, r)
	}
}

// forgedTop is a whole 500-block store whose blocks 491-500 come from
// another chain (another committee signed them): the top a node is left
// with after trusting a dishonest peer.
func forgedTop(t *testing.T) (db, honest, mgmt string) {
	dir := genStore(t, "500", "")
	honest, mgmt = filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	fork := filepath.Join(genStore(t, "500", "", "--seed", "another fork"), "blocks.db")
	db = filepath.Join(t.TempDir(), "node.db")
	data, _ := os.ReadFile(honest)
	os.WriteFile(db, data, 0o644)
	forged := map[string]map[uint64][]byte{"blocks": {}}
	fdb, err := bolt.Open(fork, 0o644, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	fdb.View(func(tx *bolt.Tx) error {
		for name, vals := range forged {
			for h := uint64(491); h <= 500; h++ {
				vals[h] = append([]byte(nil), tx.Bucket([]byte(name)).Get(binary.BigEndian.AppendUint64(nil, h))...)
			}
		}
		return nil
	})
	fdb.Close()
	updateBolt(t, db, func(tx *bolt.Tx) error {
		for name, vals := range forged {
			for h, v := range vals {
				if err := tx.Bucket([]byte(name)).Put(binary.BigEndian.AppendUint64(nil, h), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return db, honest, mgmt
}

// An audit goes on past a bad block, lists every one, and prints the
// rollback that keeps exactly the blocks that verified; that command,
// run as printed, gives a store that verifies and syncs back to the tip.
func TestVerifyListsEveryBadBlockAndTheRollback(t *testing.T) {
	t.Parallel()
	db, honest, mgmt := forgedTop(t)
	out, _, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--json")
	var r struct {
		OK              bool             `json:"ok"`
		Verified        uint64           `json:"verified"`
		Bad             []verify.Finding `json:"bad"`
		StoppedAt       uint64           `json:"stopped_at"`
		RollbackTo      *uint64          `json:"rollback_to"`
		RollbackCommand string           `json:"rollback_command"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if code != ExitFailed || r.OK || len(r.Bad) != 10 || r.Bad[0].Height != 500 || r.Bad[9].Height != 491 || r.Verified != 490 ||
		r.RollbackTo == nil || *r.RollbackTo != 490 || r.RollbackCommand != "vcsync rollback --store "+db+" --to 490 --yes" {
		t.Fatalf("verify all on a forged top: exit %d %s", code, out)
	}
	for _, f := range r.Bad {
		// 491 names the forged 490 as its parent: nothing stored links to it.
		if !strings.Contains(f.Reason, "not a member of the committee") && (f.Height != 491 || !strings.Contains(f.Reason, "does not link to the stored block 490")) {
			t.Fatalf("finding %+v", f)
		}
	}
	text, errs, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt)
	if code != ExitFailed || !strings.HasPrefix(text, "FAILED: 490 blocks verified") || !strings.Contains(text, "  bad block 491: ") ||
		!strings.Contains(text, r.RollbackCommand) || !strings.Contains(errs, "10 bad blocks; block 500: ") {
		t.Fatalf("text: exit %d\n%s%s", code, text, errs)
	}
	rollback := r.RollbackCommand
	// --max-errors stops early and then cannot name a rollback height.
	out, _, _ = run(t, "verify", "range", "--store", db, "--committee-file", mgmt, "--max-errors", "3", "--json", "1", "500")
	r.RollbackTo, r.RollbackCommand = nil, ""
	json.Unmarshal([]byte(out), &r)
	if len(r.Bad) != 3 || r.StoppedAt != 498 || r.RollbackTo != nil {
		t.Fatalf("--max-errors 3: %s", out)
	}
	if _, errs, code := run(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--max-errors", "0"); code != ExitUsage || !strings.Contains(errs, "--max-errors") {
		t.Fatalf("--max-errors 0: exit %d %s", code, errs)
	}

	mustRun(t, strings.Fields(strings.TrimPrefix(rollback, "vcsync "))...)
	mustRun(t, "verify", "all", "--store", db, "--committee-file", mgmt)
	mustRun(t, "sync", "--store", db, "--committee-file", mgmt, "--peer", "file://"+honest)
	mustEqualStores(t, honest, db)
}

// A store whose top was forged cannot pass sync any more: a peer at the
// same height names another block there, which its committee signed, so
// sync says the store diverged (exit 1) instead of "nothing to sync".
func TestSyncFindsAForgedTopAtTheSameHeight(t *testing.T) {
	t.Parallel()
	db, honest, mgmt := forgedTop(t)
	before := fileSum(t, db)
	for _, peer := range []string{"file://" + honest, startServe(t, honest)} {
		out, errs, code := run(t, "sync", "--store", db, "--committee-file", mgmt, "--peer", peer, "--json")
		var r struct {
			OK           bool   `json:"ok"`
			Kind         string `json:"kind"`
			Error        string `json:"error"`
			PeersDropped []any  `json:"peers_dropped"`
		}
		json.Unmarshal([]byte(out), &r)
		if code != ExitFailed || r.OK || r.Kind != "diverged" || !strings.Contains(r.Error, "diverged from peer "+peer+" at or below height 500") ||
			len(r.PeersDropped) != 0 {
			t.Fatalf("sync of a forged top from %s: exit %d %s %s", peer, code, out, errs)
		}
	}
	if fileSum(t, db) != before {
		t.Fatal("the sync that found the divergence wrote the store")
	}
}

// When the peer is ahead, its chain, verified from its tip, does not link
// to the forged top: that is the store's divergence, not the peer's fault,
// and the block that does not link is never committed.
func TestSyncFindsAForgedTopBelowAPeerAhead(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "600", "")
	honest, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	fork := filepath.Join(genStore(t, "600", "", "--seed", "another fork"), "blocks.db")
	db := filepath.Join(t.TempDir(), "node.db")
	copyFile(t, honest, db)
	mustRun(t, "rollback", "--store", db, "--to", "500", "--yes")
	var forged [][]byte
	fdb, _ := bolt.Open(fork, 0o644, &bolt.Options{ReadOnly: true})
	fdb.View(func(tx *bolt.Tx) error {
		for h := uint64(491); h <= 500; h++ {
			k := binary.BigEndian.AppendUint64(nil, h)
			forged = append(forged, append([]byte(nil), tx.Bucket([]byte("blocks")).Get(k)...))
		}
		return nil
	})
	fdb.Close()
	updateBolt(t, db, func(tx *bolt.Tx) error {
		for i, v := range forged {
			k := binary.BigEndian.AppendUint64(nil, uint64(491+i))
			tx.Bucket([]byte("blocks")).Put(k, v)
		}
		return nil
	})
	// The forged run itself does not link to block 490 (the check's one
	// problem); the sync must not add another.
	checkBefore, _, _ := run(t, "inspect", "--store", db, "--check", "--json")
	out, errs, code := run(t, "sync", "--store", db, "--committee-file", mgmt, "--peer", "file://"+honest, "--json")
	var r struct {
		Kind         string `json:"kind"`
		Error        string `json:"error"`
		PeersDropped []any  `json:"peers_dropped"`
	}
	json.Unmarshal([]byte(out), &r)
	if code != ExitFailed || r.Kind != "diverged" || !strings.Contains(r.Error, "at or below height 500") || len(r.PeersDropped) != 0 {
		t.Fatalf("sync below a peer ahead: exit %d %s %s", code, out, errs)
	}
	// Whatever was committed above links to what it was committed on.
	if checkAfter, _, _ := run(t, "inspect", "--store", db, "--check", "--json"); stripBlockCount(checkAfter) != stripBlockCount(checkBefore) {
		t.Fatalf("the sync added problems:\nbefore %s\nafter %s", checkBefore, checkAfter)
	}
	var st struct {
		Top     uint64 `json:"top"`
		InOrder uint64 `json:"in_order"`
	}
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", db, "--json")), &st)
	if st.InOrder != 500 {
		t.Fatalf("InOrder %d after the refused sync", st.InOrder)
	}
}

// stripBlockCount drops inspect --check's count of blocks read, which a
// commit above changes.
func stripBlockCount(report string) string {
	return regexp.MustCompile(`"blocks": \d+`).ReplaceAllString(report, "")
}

// A store that holds no block (rolled back to 0, or an old meta page that
// predates the first commit) audits as nothing wrong: no block to verify,
// no rollback to plan, never a crash.
func TestVerifyAllOfAnEmptyStore(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "10", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	mustRun(t, "rollback", "--store", db, "--to", "0", "--yes", "--force")
	out, errs, code := runChild(t, "verify", "all", "--store", db, "--committee-file", mgmt, "--json")
	var r struct {
		OK       bool   `json:"ok"`
		Verified uint64 `json:"verified"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitOK || !r.OK || r.Verified != 0 {
		t.Fatalf("verify all of an empty store: exit %d %q %s: %v", code, out, errs, err)
	}
	if out := mustRun(t, "verify", "all", "--store", db, "--committee-file", mgmt); !strings.Contains(out, "ok: 0 blocks verified") {
		t.Fatalf("text: %q", out)
	}
}
