package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcsync/vcsync/syncer"
)

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs `vcsync serve` on port 0 of 127.0.0.1 until the test
// ends and returns the URL it logged: the kernel picks the port, so no
// other test can take it in between.
func startServe(t *testing.T, db string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &lockedBuffer{}
	go func() {
		app := NewApp()
		app.Writer, app.ErrWriter = io.Discard, logs
		done <- app.RunContext(ctx, []string{"vcsync", "serve", "--store", db, "--listen", "127.0.0.1:0"})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	addr := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)
	for i := 0; i < 500; i++ {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v\n%s", err, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s", logs.String())
	return ""
}

func syncResult(t *testing.T, out string) syncer.Result {
	t.Helper()
	var r syncer.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return r
}

func TestServeSyncExportImport(t *testing.T) {
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
}

func TestSyncWithoutUsefulPeerExits1(t *testing.T) {
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
	if code != ExitFailed || !strings.Contains(errs, "no peer can help") || !strings.Contains(errs, "unreachable") {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if _, errs, code := run(t, "sync", "--store", node, "--management", mgmt); code != ExitUsage || !strings.Contains(errs, "no peers") {
		t.Fatalf("no peers: exit %d %s", code, errs)
	}
}

func TestDemo(t *testing.T) {
	out := mustRun(t, "demo", "--blocks", "3000", "--batch", "100") // 30 batches: the forger is chosen
	for _, want := range []string{"synced 3000 blocks (1-3000)", "peer dropped:", "not a member of the committee", "gaps         none", "in order     3000"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
