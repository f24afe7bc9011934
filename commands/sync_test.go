package commands

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestFailingWritesLeaveNoFile(t *testing.T) {
	t.Parallel()
	src := genStore(t, "200", "")
	mgmt := filepath.Join(src, "management.json")
	peer := "file://" + filepath.Join(src, "blocks.db")
	dir := t.TempDir()
	node := filepath.Join(dir, "new.db")
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no committee source", []string{"--chain-id", "42", "--network-type", "2", "--peer", peer}, ExitUsage},
		{"chain id typo", []string{"--chain-id", "43", "--network-type", "2", "--committee-file", mgmt, "--peer", peer}, ExitUsage},
		{"chain id without network type", []string{"--chain-id", "42", "--committee-file", mgmt, "--peer", peer}, ExitUsage},
		{"no identity for a new store", []string{"--committee-file", mgmt, "--peer", peer}, ExitUsage},
		{"unreachable peer", []string{"--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--peer", "http://127.0.0.1:1"}, ExitFailed},
		{"wrong network", []string{"--chain-id", "42", "--network-type", "7", "--committee-file", mgmt, "--peer", peer}, ExitFailed},
	}
	for _, tc := range cases {
		out, errs, code := run(t, append([]string{"sync", "--store", node}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, code, tc.code, errs)
		}
		if out != "" {
			t.Errorf("%s: stdout %q, want nothing on failure", tc.name, out)
		}
		if left := dirEntries(t, dir); len(left) != 0 {
			t.Fatalf("%s left %v", tc.name, left)
		}
	}
	// A 0-byte file stays 0 bytes.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	if _, errs, code := run(t, "sync", "--store", empty, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--peer", peer); code != ExitFailed || !strings.Contains(errs, "empty") {
		t.Fatalf("0-byte store: exit %d %s", code, errs)
	}
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Fatalf("the 0-byte file grew to %d", fi.Size())
	}
	// With --json a failure still prints its one summary object, error included.
	out, _, code := run(t, "sync", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--peer", "http://127.0.0.1:1", "--json")
	var r SyncReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitFailed || r.OK || !strings.Contains(r.Error, "no peer can help") {
		t.Fatalf("json failure: exit %d %q %v", code, out, err)
	}
}

func TestInterruptWhileCollecting(t *testing.T) {
	t.Parallel()
	src := genStore(t, "20", "")
	mgmt := filepath.Join(src, "management.json")
	node := filepath.Join(t.TempDir(), "node.db")
	peer, asked := hangingPeer(t)
	code, out, errs := runUntil(t, []string{"sync", "--store", node, "--chain-id", "42", "--network-type", "2",
		"--committee-file", mgmt, "--peer", peer, "--collect-timeout", "5s"}, func(string) bool { return closed(asked) })
	if code != ExitFailed || !strings.Contains(errs, "interrupted; the store is consistent and the next run resumes") || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func TestFollowJSONIsOneObjectPerRoundAndExitsByLastRound(t *testing.T) {
	t.Parallel()
	src := genStore(t, "100", "")
	mgmt := filepath.Join(src, "management.json")
	node := filepath.Join(t.TempDir(), "node.db")
	lines := func(n int) func(string) bool {
		return func(out string) bool { return strings.Count(out, "\n") >= n }
	}
	// Every round fails (the only peer never answers): exit 1.
	code, out, errs := runUntil(t, []string{"sync", "--follow", "--json", "--stale-after", "1s", "--store", node, "--chain-id", "42",
		"--network-type", "2", "--committee-file", mgmt, "--peer", "http://127.0.0.1:1", "--collect-timeout", "100ms"}, lines(2))
	if code != ExitFailed {
		t.Fatalf("failing follow: exit %d %s", code, errs)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	rounds := 0
	for sc.Scan() {
		var r SyncReport
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.OK || r.Round != rounds+1 {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rounds++
	}
	if rounds < 2 {
		t.Fatalf("%d rounds", rounds)
	}
	// A follower whose rounds succeed exits 0 when stopped.
	code, out, errs = runUntil(t, []string{"sync", "--follow", "--json", "--stale-after", "1s", "--store", node, "--chain-id", "42",
		"--network-type", "2", "--committee-file", mgmt, "--peer", "file://" + filepath.Join(src, "blocks.db")}, lines(1))
	if code != ExitOK || !strings.HasPrefix(out, `{"round":1,"ok":true`) {
		t.Fatalf("good follow: exit %d %q %s", code, out, errs)
	}
}

func TestServeSyncExportImport(t *testing.T) {
	t.Parallel()
	src := genStore(t, "1200", "")
	mgmt := filepath.Join(src, "management.json")
	url := startServe(t, filepath.Join(src, "blocks.db"))

	node := filepath.Join(t.TempDir(), "node.db")
	r := syncResult(t, mustRun(t, "sync", "--store", node, "--chain-id", "42", "--network-type", "2",
		"--management", mgmt, "--peer", url, "--batch", "500", "--chunk", "50", "--seed", "1", "--json"))
	if r.Blocks != 1200 || r.SyncedFrom != 1 || r.SyncedTo != 1200 || r.Bytes == 0 || len(r.PeersUsed) != 1 || r.Seconds <= 0 {
		t.Fatalf("sync summary %+v", r)
	}
	var st StateReport
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", node, "--json")), &st)
	if st.InOrder != 1200 || st.Top != 1200 {
		t.Fatalf("after sync: %+v", st)
	}
	mustRun(t, "verify", "all", "--store", node, "--management", mgmt)

	// Export, then import into a fresh store; importing again adds nothing.
	file := filepath.Join(t.TempDir(), "blocks.vcx")
	mustRun(t, "export", "--store", node, "--from", "1", "--to", "1200", "--out", file)
	other := filepath.Join(t.TempDir(), "other.db")
	r = syncResult(t, mustRun(t, "import", "--store", other, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--json", file))
	if r.Blocks != 1200 {
		t.Fatalf("import summary %+v", r)
	}
	r = syncResult(t, mustRun(t, "import", "--store", other, "--committee-file", mgmt, "--json", file))
	if r.Blocks != 0 {
		t.Fatalf("second import added %d blocks", r.Blocks)
	}
	mustRun(t, "inspect", "--store", other, "--check")
}

func TestCloseGapsAndPullFromFilePeer(t *testing.T) {
	t.Parallel()
	src := genStore(t, "900", "")
	mgmt := filepath.Join(src, "management.json")
	peer := "file://" + filepath.Join(src, "blocks.db")

	gappy := genStore(t, "900", "1-100,601-900")
	db := filepath.Join(gappy, "blocks.db")
	out := mustRun(t, "close-gaps", "--store", db, "--committee-file", mgmt, "--peer", peer)
	if !strings.Contains(out, "synced 500 blocks (101-600)") || !strings.Contains(out, "gaps         none") {
		t.Fatalf("close-gaps output:\n%s", out)
	}

	// pull: one batch from the tip into an empty store.
	node := filepath.Join(t.TempDir(), "node.db")
	r := syncResult(t, mustRun(t, "pull", "--store", node, "--chain-id", "42", "--network-type", "2",
		"--committee-file", mgmt, "--peer", peer, "--batch", "200", "--json"))
	// The whole batch: its lowest block is verified with its parent, fetched for that.
	if r.SyncedTo != 900 || r.SyncedFrom != 701 || r.Blocks != 200 {
		t.Fatalf("pull summary %+v", r)
	}
	if _, errs, code := run(t, "pull", "--store", node, "--committee-file", mgmt, "--peer", peer, "--from", "10"); code != ExitUsage || !strings.Contains(errs, "must start at 700") {
		t.Fatalf("pull from a wrong height: %d %s", code, errs)
	}

	// A peer that grants less than --batch: the pull says so.
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	big := genStore(t, "1500", "")
	served := startServe(t, filepath.Join(big, "blocks.db")) // --max-batch 1000
	bigMgmt := filepath.Join(big, "management.json")
	out, errs, code := run(t, "pull", "--store", fresh, "--chain-id", "42", "--network-type", "2", "--committee-file", bigMgmt, "--peer", served, "--batch", "1400")
	if code != 0 || !strings.Contains(out, "synced 1000 blocks (501-1500)") || !strings.Contains(out, "granted 1000 of the 1400 blocks asked") {
		t.Fatalf("pull --batch 1400 from a peer granting 1000: exit %d\n%s%s", code, out, errs)
	}
	// --to above the gap the pull must close first is refused.
	if _, errs, code := run(t, "pull", "--store", fresh, "--committee-file", bigMgmt, "--peer", served, "--to", "99999"); code != ExitUsage ||
		!strings.Contains(errs, "the lowest height 99999 is above 500") || !strings.Contains(errs, "give a --to of 500 or below") {
		t.Fatalf("pull --to above the gap: exit %d %s", code, errs)
	}
	// --to above every peer's top: nothing is there to pull, and no peer is blamed.
	if _, errs, code := run(t, "pull", "--store", db, "--committee-file", mgmt, "--peer", peer, "--to", "99999"); code != ExitFailed ||
		!strings.Contains(errs, "none serves height 99999 (the pull's lowest)") || strings.Contains(errs, "dropped") {
		t.Fatalf("pull --to above every peer: exit %d %s", code, errs)
	}
}

func TestSyncWithoutUsefulPeerExits1(t *testing.T) {
	t.Parallel()
	src := genStore(t, "50", "")
	mgmt := filepath.Join(src, "management.json")
	// A listener that hangs up on every connection: held for the whole
	// test, so no other test can take its port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hangups := make(chan struct{})
	go func() {
		defer close(hangups)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-hangups })
	dead := "http://" + ln.Addr().String()
	node := filepath.Join(t.TempDir(), "node.db")
	_, errs, code := run(t, "sync", "--store", node, "--chain-id", "42", "--network-type", "2", "--management", mgmt, "--peer", dead)
	if code != ExitFailed || !strings.Contains(errs, "no peer can help") || !strings.Contains(errs, "unreachable") ||
		strings.Contains(errs, "unreachable: unreachable") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, errs, code := run(t, "sync", "--store", node, "--management", mgmt); code != ExitUsage || !strings.Contains(errs, "no peers") {
		t.Fatalf("no peers: exit %d %s", code, errs)
	}
}

// Logs: with --log-format json every stderr line is one JSON record with
// an RFC 3339 time and structured fields, the final error included; text
// lines carry the time too.
func TestSyncLogs(t *testing.T) {
	t.Parallel()
	src := genStore(t, "600", "")
	mgmt, peer := filepath.Join(src, "management.json"), "file://"+filepath.Join(src, "blocks.db")
	args := func(db string, extra ...string) []string {
		return append([]string{"sync", "--store", db, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--batch", "200"}, extra...)
	}
	_, errs, code := run(t, args(filepath.Join(t.TempDir(), "a.db"), "--peer", peer, "--log-format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var batches int
	for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, fmt.Sprint(rec["time"])); err != nil || rec["level"] == nil {
			t.Fatalf("log line without an RFC 3339 time or level: %v", rec)
		}
		if rec["msg"] == "batch" {
			batches++
			if rec["peer"] != peer || rec["from"] == nil || rec["to"] == nil || rec["blocks"] == nil {
				t.Fatalf("batch record without its fields: %v", rec)
			}
		}
	}
	if batches != 3 {
		t.Fatalf("%d batch records for 600 blocks in batches of 200:\n%s", batches, errs)
	}
	// A failure's line is a record too.
	_, errs, code = run(t, args(filepath.Join(t.TempDir(), "b.db"), "--peer", "http://127.0.0.1:1", "--log-format", "json")...)
	var last map[string]any
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || code != ExitFailed || last["level"] != "ERROR" || last["kind"] != "failed" {
		t.Fatalf("failure under --log-format json: exit %d %s", code, errs)
	}
	_, errs, _ = run(t, args(filepath.Join(t.TempDir(), "c.db"), "--peer", peer)...)
	for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
		if !regexp.MustCompile(`^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`).MatchString(line) {
			t.Fatalf("text log line without a timestamp: %q", line)
		}
	}
	if _, errs, code := run(t, args(filepath.Join(t.TempDir(), "d.db"), "--peer", peer, "--log-format", "xml")...); code != ExitUsage || !strings.Contains(errs, "give text or json") {
		t.Fatalf("--log-format xml: exit %d %s", code, errs)
	}
}
