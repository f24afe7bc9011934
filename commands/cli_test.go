package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcsync/vcsync/store"
)

// dirEntries lists what a directory holds, to prove a command left nothing.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// hangingPeer accepts connections and never answers, until the test ends.
func hangingPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

func TestFailingWritesLeaveNoFile(t *testing.T) {
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

func TestUsageErrorsAreOneLineOnStderr(t *testing.T) {
	dir := genStore(t, "20", "")
	db := filepath.Join(dir, "blocks.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"inspect", "--bogus"}, "see vcsync inspect --help"},
		{[]string{"inspect"}, "needs --store"},
		{[]string{"inspect", "--store", db, "oops", "--json"}, `"--json" comes after an argument`},
		{[]string{"inspect", "--store", db, "oops"}, "takes no arguments"},
		{[]string{"inspect", "--store", db, "--block", "5", "--check"}, "do not go together"},
		{[]string{"sync", "--store", db, "--batch", "0"}, "--batch 0 is out of range: give 1 to 1000000"},
		{[]string{"sync", "--store", db, "--chunk", "-3"}, "--chunk -3 is out of range"},
		{[]string{"sync", "--store", db, "--max-block-bytes", "-1"}, "--max-block-bytes -1 is out of range"},
		{[]string{"inspect", "--store", db, "--lock-timeout", "-1s"}, "--lock-timeout -1s is out of range"},
		{[]string{"devnet", "gen", "--out", t.TempDir(), "--committee-size", "0"}, "--committee-size 0 is out of range"},
		{[]string{"verify", "range", "--store", db, "--committee-file", "x", "1", "5", "--json"}, "put flags first"},
		{[]string{"sync", "--store", db, "--committee-file", "x", "--peer", "127.0.0.1:7700"}, `has no scheme: use http://127.0.0.1:7700`},
		{[]string{"sync", "--store", db, "--committee-file", "x", "--peer", "file://pf/self.db"}, "file:// needs an absolute path, file:///pf/self.db"},
		{[]string{"sync", "--store", db, "--committee-file", "x", "--peer", "file://" + db}, "a store cannot be its own peer"},
	}
	for _, tc := range cases {
		out, errs, code := run(t, tc.args...)
		if code != ExitUsage || out != "" || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2, one line with %q", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestMissingHeightExits1Everywhere(t *testing.T) {
	dir := genStore(t, "50", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	if _, _, code := run(t, "inspect", "--store", db, "--block", "99"); code != ExitFailed {
		t.Errorf("inspect --block 99: exit %d", code)
	}
	out, _, code := run(t, "verify", "range", "--store", db, "--committee-file", mgmt, "--json", "40", "60")
	if code != ExitFailed || !strings.Contains(out, `"first_bad": 60`) {
		t.Errorf("verify range past Top: exit %d %s", code, out)
	}
}

func TestLockTimeoutZeroDoesNotWait(t *testing.T) {
	dir := genStore(t, "20", "")
	db := filepath.Join(dir, "blocks.db")
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, errs, code := runChild(t, "inspect", "--store", db, "--lock-timeout", "0")
	if code != ExitUsage || !strings.Contains(errs, "locked by another process") || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("exit %d after %v: %s", code, time.Since(start), errs)
	}
}

func TestExportNeverDestroys(t *testing.T) {
	dir := genStore(t, "100", "")
	db := filepath.Join(dir, "blocks.db")
	out := t.TempDir()
	file := filepath.Join(out, "x.vcx")
	mustRun(t, "export", "--store", db, "--to", "50", "--out", file)
	first, _ := os.ReadFile(file)
	if _, errs, code := run(t, "export", "--store", db, "--out", file); code != ExitUsage || !strings.Contains(errs, "--force") {
		t.Fatalf("export over an earlier one: exit %d %s", code, errs)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, first) {
		t.Fatal("the refused export changed the file")
	}
	mustRun(t, "export", "--store", db, "--out", file, "--force")
	fifo := filepath.Join(out, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(out, "link")
	os.Symlink(file, link)
	for _, p := range []string{fifo, link, out} {
		if _, errs, code := run(t, "export", "--store", db, "--out", p, "--force"); code != ExitUsage || !strings.Contains(errs, "not a regular file") {
			t.Fatalf("export to %s: exit %d %s", p, code, errs)
		}
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatal("the FIFO was replaced")
	}
	if left := dirEntries(t, out); len(left) != 3 {
		t.Fatalf("export left litter: %v", left)
	}
}

func TestInterruptWhileCollecting(t *testing.T) {
	src := genStore(t, "20", "")
	mgmt := filepath.Join(src, "management.json")
	node := filepath.Join(t.TempDir(), "node.db")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"vcsync", "sync", "--store", node, "--chain-id", "42", "--network-type", "2",
		"--committee-file", mgmt, "--peer", hangingPeer(t), "--collect-timeout", "5s"}, &out, &errb)
	if code != ExitFailed || !strings.Contains(errb.String(), "interrupted; the store is consistent and the next run resumes") || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestFollowJSONIsOneObjectPerRoundAndExitsByLastRound(t *testing.T) {
	src := genStore(t, "100", "")
	mgmt := filepath.Join(src, "management.json")
	node := filepath.Join(t.TempDir(), "node.db")
	// Every round fails (the only peer never answers): exit 1.
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"vcsync", "sync", "--follow", "--json", "--stale-after", "1s", "--store", node, "--chain-id", "42",
		"--network-type", "2", "--committee-file", mgmt, "--peer", "http://127.0.0.1:1", "--collect-timeout", "100ms"}, &out, &errb)
	if code != ExitFailed {
		t.Fatalf("failing follow: exit %d %s", code, errb.String())
	}
	sc := bufio.NewScanner(&out)
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
	ctx2, cancel2 := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel2()
	out.Reset()
	code = Main(ctx2, []string{"vcsync", "sync", "--follow", "--json", "--stale-after", "1s", "--store", node, "--chain-id", "42",
		"--network-type", "2", "--committee-file", mgmt, "--peer", "file://" + filepath.Join(src, "blocks.db")}, &out, &errb)
	if code != ExitOK || !strings.HasPrefix(out.String(), `{"round":1,"ok":true`) {
		t.Fatalf("good follow: exit %d %q", code, out.String())
	}
}
