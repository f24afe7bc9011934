package commands

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestImportRefusesAForeignFileAndLeavesNoStore(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "50", "")
	mgmt := filepath.Join(dir, "management.json")
	out := t.TempDir()
	junk := filepath.Join(out, "junk.vcx")
	os.WriteFile(junk, []byte("not an export"), 0o644)
	node := filepath.Join(out, "node.db")
	if _, errs, code := run(t, "import", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, junk); code != ExitUsage || !strings.Contains(errs, "not a vcsync export file") {
		t.Fatalf("import of a foreign file: exit %d %s", code, errs)
	}
	if _, errs, code := run(t, "import", "--store", node, "--committee-file", mgmt); code != ExitUsage || !strings.Contains(errs, "takes 1 argument") {
		t.Fatalf("import without a file: exit %d %s", code, errs)
	}
	if left := dirEntries(t, out); len(left) != 1 {
		t.Fatalf("failed imports left %v", left)
	}
	// An export of the chain imports into a new store.
	vcx := filepath.Join(out, "blocks.vcx")
	mustRun(t, "export", "--store", filepath.Join(dir, "blocks.db"), "--out", vcx)
	mustRun(t, "import", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, vcx)
	mustEqualStores(t, filepath.Join(dir, "blocks.db"), node)
}

// pipeChild runs vcsync in a child process with stdin from in.
func pipeChild(t *testing.T, in io.Reader, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &out, &errb
	cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// export --out - writes the same bytes as an export to a file, and its
// summary (on stderr) gives their SHA-256; import - reads stdin through a
// real pipe and checks it with --sha256.
func TestExportToStdoutImportFromStdin(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "1200", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	tmp := t.TempDir()
	vcx := filepath.Join(tmp, "a.vcx")
	var exp struct {
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	json.Unmarshal([]byte(mustRun(t, "export", "--store", db, "--out", vcx, "--chunk", "7", "--json")), &exp)
	file, _ := os.ReadFile(vcx)
	if sum := sha256.Sum256(file); hex.EncodeToString(sum[:]) != exp.SHA256 || int64(len(file)) != exp.Bytes {
		t.Fatalf("export's summary %+v does not describe the file it wrote (%d bytes)", exp, len(file))
	}
	streamed, errs, code := pipeChild(t, nil, "export", "--store", db, "--out", "-", "--chunk", "7")
	if code != 0 || !bytes.Equal([]byte(streamed), file) || !strings.Contains(errs, "sha256 "+exp.SHA256) {
		t.Fatalf("export --out -: exit %d, %d bytes (file %d), stderr %q", code, len(streamed), len(file), errs)
	}
	// A batch of 500 ends inside the file's 7-block frames: the pipe
	// keeps what it read below a batch for the next one.
	node := filepath.Join(tmp, "node.db")
	id := []string{"--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--batch", "500"}
	out, errs, code := pipeChild(t, bytes.NewReader(file), append(append([]string{"import"}, id...), "--sha256", exp.SHA256, "--json", "-")...)
	var r struct {
		OK     bool   `json:"ok"`
		Blocks uint64 `json:"blocks"`
		SHA256 string `json:"sha256"`
	}
	if json.Unmarshal([]byte(out), &r); code != 0 || !r.OK || r.Blocks != 1200 || r.SHA256 != exp.SHA256 {
		t.Fatalf("import -: exit %d %s %s", code, out, errs)
	}
	mustEqualStores(t, db, node)
	// A stream that is not the exported file is named as such (its
	// verified blocks stay; here the store already had them all).
	wrong := strings.Repeat("0", 64)
	if _, errs, code := pipeChild(t, bytes.NewReader(file), append(append([]string{"import"}, id...), "--sha256", wrong, "-")...); code != ExitFailed || !strings.Contains(errs, "not the file that was exported") {
		t.Fatalf("import - with a wrong --sha256: exit %d %s", code, errs)
	}
	// A regular file with a wrong --sha256 is refused before anything is written.
	fresh := filepath.Join(tmp, "fresh.db")
	if _, errs, code := run(t, "import", "--store", fresh, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--sha256", wrong, vcx); code != ExitUsage || !strings.Contains(errs, "nothing was imported") {
		t.Fatalf("import of a file with a wrong --sha256: exit %d %s", code, errs)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("a refused import left a store: %v", err)
	}
	if _, errs, code := run(t, "import", "--store", fresh, "--sha256", "xyz", vcx); code != ExitUsage || !strings.Contains(errs, "64 hex digits") {
		t.Fatalf("a malformed --sha256: exit %d %s", code, errs)
	}
}

// import <(cat a.vcx) hands vcsync a pipe it may open only once; a FIFO
// is opened without blocking in open(2), waits for its writer up to the
// chunk timeout and fails after it; a writer that stalls is dropped after
// the chunk timeout.
func TestImportFromAFIFO(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	tmp := t.TempDir()
	vcx := filepath.Join(tmp, "a.vcx")
	mustRun(t, "export", "--store", db, "--out", vcx)
	file, _ := os.ReadFile(vcx)
	fifo := filepath.Join(tmp, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	id := []string{"--chain-id", "42", "--network-type", "2", "--committee-file", mgmt}
	// The writer never blocks in open(2): it retries a non-blocking open
	// until a reader is there (or gives up), so the test cannot hang.
	write := func(data []byte, hold time.Duration) *sync.WaitGroup {
		var wg sync.WaitGroup
		wg.Go(func() {
			var f *os.File
			for deadline := time.Now().Add(10 * time.Second); f == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				f, _ = os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			}
			if f == nil {
				return
			}
			defer f.Close()
			f.Write(data)
			time.Sleep(hold) // a stalled writer keeps the pipe open
		})
		return &wg
	}
	node := filepath.Join(tmp, "node.db")
	w := write(file, 0)
	mustRun(t, append(append([]string{"import", "--store", node}, id...), fifo)...)
	w.Wait()
	mustEqualStores(t, db, node)

	start := time.Now()
	if _, errs, code := run(t, append(append([]string{"import", "--store", filepath.Join(tmp, "empty.db"), "--chunk-timeout", "300ms"}, id...), fifo)...); code != ExitUsage ||
		time.Since(start) > 5*time.Second || !strings.Contains(errs, "nothing was written to it within 300ms") {
		t.Fatalf("a FIFO nobody writes: exit %d after %s: %s", code, time.Since(start), errs)
	}
	w = write(file[:len(file)/2], 3*time.Second)
	_, errs, code := run(t, append(append([]string{"import", "--store", filepath.Join(tmp, "stalled.db"), "--chunk-timeout", "500ms"}, id...), fifo)...)
	w.Wait()
	if code != ExitFailed || !strings.Contains(errs, "sent nothing for 500ms") {
		t.Fatalf("a stalled writer: exit %d %s", code, errs)
	}
}

// A truncated export file is damage, not a dropped connection.
func TestTruncatedExportIsDamaged(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "")
	tmp := t.TempDir()
	vcx := filepath.Join(tmp, "a.vcx")
	mustRun(t, "export", "--store", filepath.Join(dir, "blocks.db"), "--out", vcx)
	data, _ := os.ReadFile(vcx)
	for _, cut := range []int{len(data) / 2, len(data) - 1} {
		os.WriteFile(vcx, data[:cut], 0o644)
		out, errs, code := run(t, "import", "--store", filepath.Join(tmp, "n.db"), "--chain-id", "42", "--network-type", "2",
			"--committee-file", filepath.Join(dir, "management.json"), "--json", vcx)
		var r struct {
			PeersDropped []struct{ Kind, Reason string } `json:"peers_dropped"`
		}
		json.Unmarshal([]byte(out), &r)
		if code != ExitFailed || len(r.PeersDropped) != 1 || r.PeersDropped[0].Kind != "damaged" || !strings.Contains(r.PeersDropped[0].Reason, "truncated") {
			t.Fatalf("cut at %d of %d: exit %d %s %s", cut, len(data), code, out, errs)
		}
	}
}

// An honest export older than the honesty grace, once the committee has
// rotated, can never pass the tip rule: the import names the reason
// (untrusted_tip) and the fix; --trust HEIGHT:HASH, read from a node the
// operator trusts, anchors it instead, and inspect shows the anchor.
func TestOldExportNeedsATrustedCheckpoint(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "600", "", "--tip-ref-time", "1700000000") // 2023: far past the grace
	src := filepath.Join(dir, "blocks.db")
	tmp := t.TempDir()
	vcx := filepath.Join(tmp, "old.vcx")
	mustRun(t, "export", "--store", src, "--out", vcx)
	// The committee rotated since: none of the export's signers is current.
	mgmt := filepath.Join(tmp, "management.json")
	var doc map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "management.json"))
	json.Unmarshal(data, &doc)
	vc := doc["VirtualChains"].(map[string]any)["42"].(map[string]any)
	var fresh []any
	for i := range 4 {
		addr := fmt.Sprintf("%040x", 0xabc0+i)
		fresh = append(fresh, map[string]any{"EthAddress": addr, "OrbsAddress": addr, "Weight": 1000, "IdentityType": 0})
	}
	vc["CommitteeEvents"] = append(vc["CommitteeEvents"].([]any), map[string]any{"RefTime": 1750000000, "Committee": fresh})
	data, _ = json.Marshal(doc)
	os.WriteFile(mgmt, data, 0o644)

	node := filepath.Join(tmp, "node.db")
	id := []string{"--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt}
	out, errs, code := run(t, append(append([]string{"import"}, id...), "--json", vcx)...)
	var r struct {
		PeersDropped []struct{ Kind, Reason string } `json:"peers_dropped"`
	}
	json.Unmarshal([]byte(out), &r)
	if code != ExitFailed || len(r.PeersDropped) != 1 || r.PeersDropped[0].Kind != "untrusted_tip" || !strings.Contains(r.PeersDropped[0].Reason, "--trust HEIGHT:HASH") {
		t.Fatalf("old export without a checkpoint: exit %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(node); !os.IsNotExist(err) {
		t.Fatal("a refused import created the store")
	}

	var blk struct {
		Hash string `json:"hash"`
	}
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", src, "--block", "550", "--json")), &blk)
	wrong := "550:0x" + strings.Repeat("ab", 32)
	if _, errs, code := run(t, append(append([]string{"import"}, id...), "--trust", wrong, vcx)...); code != ExitFailed || !strings.Contains(errs, "is not the trusted checkpoint's") {
		t.Fatalf("a wrong checkpoint hash: exit %d %s", code, errs)
	}
	for _, bad := range []string{"550", "0:" + blk.Hash, "x:" + blk.Hash, "550:0x12"} {
		if _, errs, code := run(t, append(append([]string{"import"}, id...), "--trust", bad, vcx)...); code != ExitUsage || !strings.Contains(errs, "is not HEIGHT:HASH") {
			t.Fatalf("--trust %s: exit %d %s", bad, code, errs)
		}
	}
	mustRun(t, append(append([]string{"import"}, id...), "--trust", "550:"+blk.Hash, vcx)...)
	var st struct {
		InOrder    uint64 `json:"in_order"`
		Top        uint64 `json:"top"`
		Checkpoint *struct {
			Height uint64 `json:"height"`
			Hash   string `json:"hash"`
		} `json:"trusted_checkpoint"`
	}
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", node, "--json")), &st)
	if st.InOrder != 550 || st.Top != 550 || st.Checkpoint == nil || st.Checkpoint.Height != 550 || st.Checkpoint.Hash != blk.Hash {
		t.Fatalf("after the anchored import: %+v", st)
	}
	if text := mustRun(t, "inspect", "--store", node); !strings.Contains(text, "checkpoint   block 550 "+blk.Hash) {
		t.Fatalf("inspect does not show the checkpoint:\n%s", text)
	}
	mustRun(t, "verify", "range", "--store", node, "--committee-file", mgmt, "1", "550")
	// A checkpoint the store contradicts is refused before anything is fetched.
	other := "550:0x" + strings.Repeat("cd", 32)
	if _, errs, code := run(t, append(append([]string{"import"}, id...), "--trust", other, vcx)...); code != ExitFailed || !strings.Contains(errs, "not the trusted checkpoint") {
		t.Fatalf("a checkpoint the store contradicts: exit %d %s", code, errs)
	}
}
