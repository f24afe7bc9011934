package commands

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/testio"
	"github.com/vcsync/vcsync/internal/testwait"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
)

func readBlocks(t *testing.T, path string, hi, lo uint64) []*block.Block {
	t.Helper()
	s, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []*block.Block
	for h := hi; h >= lo; h-- {
		b, err := s.Get(h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

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
// The channel closes at its first connection: a request is in flight.
func hangingPeer(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done, accepted := make(chan struct{}), make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if conns = append(conns, c); len(conns) == 1 {
				close(accepted)
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String(), accepted
}

// TestMain lets the test binary run as vcsync itself: a child process
// started with VCSYNC_TEST_CHILD=1 runs the command line, so a test sees
// what an operator would, crashes included.
func TestMain(m *testing.M) {
	if os.Getenv("VCSYNC_TEST_CHILD") == "1" {
		if spec := os.Getenv(failpoint.EnvVar); spec != "" {
			if err := failpoint.Arm(spec, os.Getenv(failpoint.ActionEnvVar)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(ExitUsage)
			}
		}
		os.Exit(RunProcess(append([]string{"vcsync"}, os.Args[1:]...), os.Stdout, os.Stderr))
	}
	root, err := os.MkdirTemp("", "vcsync-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtures.root = root
	// Most tests here wait (on a stalling peer, a timeout, a child
	// process): let three per CPU run at once.
	testwait.RaiseParallel(3)
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

// runChild runs vcsync in a child process and fails the test if it died of
// a panic or a signal.
func runChild(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if ee, ok := err.(*exec.ExitError); ok && !ee.Exited() {
		t.Fatalf("vcsync %s died: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	for _, crash := range []string{"panic:", "fatal error:", "SIGSEGV", "SIGBUS", "goroutine "} {
		if strings.Contains(errb.String(), crash) {
			t.Fatalf("vcsync %s crashed (exit %d):\n%s", strings.Join(args, " "), code, errb.String())
		}
	}
	if code != ExitOK && code != ExitFailed && code != ExitUsage && code != ExitTempFail {
		t.Fatalf("vcsync %s: exit %d", strings.Join(args, " "), code)
	}
	return out.String(), errb.String(), code
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(data)
}

// mustEqualStores checks two stores hold the same blocks and indices.
func mustEqualStores(t testing.TB, a, b string) {
	t.Helper()
	dump := func(path string) (map[string][]byte, []byte) {
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		blocks := map[string][]byte{}
		var idx []byte
		db.View(func(tx *bolt.Tx) error {
			tx.Bucket([]byte("blocks")).ForEach(func(k, v []byte) error {
				blocks[string(k)] = append([]byte(nil), v...)
				return nil
			})
			m := tx.Bucket([]byte("meta"))
			for _, k := range []string{"in_order", "last_synced", "top", "chain_id", "network_type"} {
				idx = append(idx, m.Get([]byte(k))...)
			}
			return nil
		})
		return blocks, idx
	}
	ab, ai := dump(a)
	bb, bi := dump(b)
	if !bytes.Equal(ai, bi) || len(ab) != len(bb) {
		t.Fatalf("stores differ: %d vs %d blocks", len(ab), len(bb))
	}
	for k, v := range ab {
		if !bytes.Equal(bb[k], v) {
			t.Fatalf("block %x differs", k)
		}
	}
}

// startServe runs `vcsync serve` on port 0 of 127.0.0.1 until the test
// ends and returns the URL it logged: the kernel picks the port, so no
// other test can take it in between.
func startServe(t *testing.T, db string) string {
	url, _ := startServeWith(t, db)
	return url
}

// startServeStoppable starts serve and returns a stop that shuts it down
// and waits (also run at cleanup, once).
func startServeStoppable(t *testing.T, db string) (stop func()) {
	_, stop = startServeWith(t, db)
	return stop
}

func startServeWith(t *testing.T, db string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &testio.LockedBuffer{}
	// serve parses its flags in-process too: it takes its turn until it
	// listens (or ends), when cli is done with its package-level help.
	inProcess.Lock()
	var unlock sync.Once
	defer unlock.Do(inProcess.Unlock)
	go func() {
		app := NewApp()
		app.Writer, app.ErrWriter = io.Discard, logs
		done <- app.RunContext(ctx, []string{"vcsync", "serve", "--store", db, "--listen", "127.0.0.1:0"})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
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
	}
	t.Cleanup(stop)
	addr := regexp.MustCompile(`msg=serving .*url=(http://127\.0\.0\.1:\d+)`)
	for i := 0; i < 500; i++ {
		if m := addr.FindStringSubmatch(logs.String()); m != nil {
			return m[1], stop
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended before listening: %v\n%s", err, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s", logs.String())
	return "", nil
}

func syncResult(t *testing.T, out string) syncer.Result {
	t.Helper()
	var r syncer.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return r
}

// run executes vcsync with args and returns stdout, stderr and the exit code
// main would use.
// inProcess lets one command at a time run in the test process: each app
// has its own flags, but urfave/cli writes into its package-level help flag
// and help command as it runs, so parallel tests (whose writers run as
// child processes) take turns for their in-process commands.
var inProcess sync.Mutex

func run(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	inProcess.Lock()
	defer inProcess.Unlock()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"vcsync"}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

// mainInTurn is Main, taking its turn with the other in-process commands.
func mainInTurn(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	inProcess.Lock()
	defer inProcess.Unlock()
	return Main(ctx, args, stdout, stderr)
}

// runUntil runs vcsync with args in its turn, interrupts it once enough
// says so of what it has printed, and returns its exit code and output.
// The interrupt waits on what the command did, never on a timer that
// would start before the command's turn and run out on a loaded machine.
// A command that ends by itself returns at once; one that never gets
// enough fails the test after a minute.
func runUntil(t *testing.T, args []string, enough func(stdout string) bool) (int, string, string) {
	t.Helper()
	out, errb := &testio.LockedBuffer{}, &testio.LockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- mainInTurn(ctx, append([]string{"vcsync"}, args...), out, errb) }()
	giveUp := time.After(time.Minute)
	for !enough(out.String()) {
		select {
		case code := <-done:
			return code, out.String(), errb.String()
		case <-giveUp:
			cancel()
			<-done
			t.Fatalf("vcsync %s never printed enough: %q %q", strings.Join(args, " "), out.String(), errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	code := <-done
	return code, out.String(), errb.String()
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, errs, code := run(t, args...)
	if code != 0 {
		t.Fatalf("vcsync %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// tipRefTime pins every devnet a test makes to one chain: two stores made
// a second apart from the default "now" would be different chains.
var tipRefTime = strconv.FormatInt(time.Now().Unix(), 10)

// genStore makes a devnet store in a temp dir and returns its directory.
func genStore(t testing.TB, blocks, ranges string, extra ...string) string {
	t.Helper()
	args := append([]string{"--blocks", blocks, "--ranges", ranges}, extra...)
	if !strings.Contains(strings.Join(extra, " "), "--tip-ref-time") {
		args = append(args, "--tip-ref-time", tipRefTime)
	}
	dir := t.TempDir()
	copyDir(t, generated(t, args), dir)
	return dir
}

// fixtures caches the chains genStore generates, by their arguments: many
// tests start from the same chain, and signing it again was a good part
// of this package's time. Each test gets its own copy.
var fixtures = struct {
	mu   sync.Mutex
	root string // made by TestMain, removed after the run
	dirs map[string]string
}{dirs: map[string]string{}}

// generated returns the directory holding the chain devnet gen makes with
// args, generating it the first time.
func generated(t testing.TB, args []string) string {
	t.Helper()
	fixtures.mu.Lock()
	defer fixtures.mu.Unlock()
	key := strings.Join(args, "\x00")
	if dir, ok := fixtures.dirs[key]; ok {
		return dir
	}
	dir := filepath.Join(fixtures.root, strconv.Itoa(len(fixtures.dirs)))
	mustRun(t, append([]string{"devnet", "gen", "--out", dir}, args...)...)
	fixtures.dirs[key] = dir
	return dir
}

// copyDir copies the files of from into to, keeping bbolt's sparse tails
// sparse (a test that measures disk use must see what a real file takes).
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		const block = 4096
		for off := 0; off < len(data); off += block {
			chunk := data[off:min(off+block, len(data))]
			if bytes.Count(chunk, []byte{0}) == len(chunk) {
				continue // a hole
			}
			if _, err := f.WriteAt(chunk, int64(off)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Truncate(int64(len(data))); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
