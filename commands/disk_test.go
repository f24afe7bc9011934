package commands

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vcsync/vcsync/internal/failpoint"
)

// Power cuts and full disks need a filesystem of the test's own: a loop
// mounted ext4 (whose shutdown ioctl drops what was not made durable) and
// a small tmpfs. Both need root; where they cannot be had the tests say so
// and skip.

// mountOrSkip runs mount with args onto a new directory and unmounts it
// when the test ends.
func mountOrSkip(t *testing.T, args ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a test filesystem needs root")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", append(args, dir)...).CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot mount a test filesystem (mount %s): %v %s", strings.Join(args, " "), err, out)
	}
	t.Cleanup(func() {
		if unmount(dir) != nil {
			exec.Command("umount", "-l", dir).Run() // detach it, so the temp dir can go
		}
	})
	return dir
}

// unmount unmounts dir, trying again for a second while it is busy: a
// parallel test's child, between its fork and its exec, briefly holds
// copies of this process's open files, one of them on dir perhaps.
func unmount(dir string) error {
	var out []byte
	var err error
	for try := 0; try < 50; try++ {
		if out, err = exec.Command("umount", dir).CombinedOutput(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("umount %s: %v %s", dir, err, out)
}

// ext4 is a loop-mounted ext4 filesystem whose power can be cut.
type ext4 struct {
	image, mnt string
}

func newExt4(t *testing.T) ext4 {
	t.Helper()
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("skipped: mkfs.ext4 (e2fsprogs) is not installed")
	}
	image := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(image, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(image, 48<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", image).CombinedOutput(); err != nil {
		t.Skipf("skipped: mkfs.ext4: %v %s", err, out)
	}
	return ext4{image: image, mnt: mountOrSkip(t, "-o", "loop", image)}
}

// dir is a directory on the filesystem for the command under test.
func (e ext4) dir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(e.mnt, "w")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// remount unmounts what a power cut left and mounts it again, replaying
// the journal as a boot would.
func (e ext4) remount(t *testing.T) {
	t.Helper()
	if err := unmount(e.mnt); err != nil {
		t.Fatalf("after the power cut: %v", err)
	}
	if out, err := exec.Command("mount", "-o", "loop", e.image, e.mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount after the power cut: %v %s", err, out)
	}
}

// The failpoint table under power cuts: at each named moment the child
// shuts its filesystem down without flushing the journal and dies; after a
// remount the same guarantees as after a kill hold. (Its cases run one at
// a time; unmount waits out another test's child holding the mount busy
// for a moment.)
func TestWritersSurvivePowerCutAtEveryFailpoint(t *testing.T) {
	t.Parallel()
	cases, mgmt := writerCases(t)
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.point, func(t *testing.T) {
			disk := newExt4(t)
			dir := disk.dir(t)
			args, target := tc.setup(t, dir)
			syscall.Sync() // what setup wrote was there before the command ran
			runKilledAt(t, tc.point, "powercut="+disk.mnt, args...)
			disk.remount(t)
			if tc.point == "create-after-link" {
				tc.mustExist = false // a link is durable only once its directory is synced
			}
			checkAfterCrash(t, tc, dir, target, mgmt)
			checkNextRun(t, tc, args, dir, target)
		})
	}
}

// A power cut right after a writer's exit 0 loses nothing it reported.
func TestPowerCutAfterExit0LosesNothing(t *testing.T) {
	cases, _ := writerCases(t)
	for _, tc := range eachWriterOnce(cases) {
		t.Run(tc.name, func(t *testing.T) {
			disk := newExt4(t)
			dir := disk.dir(t)
			args, target := tc.setup(t, dir)
			syscall.Sync()
			if _, errs, code := runChild(t, args...); code != ExitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if err := failpoint.Shutdown(disk.mnt); err != nil {
				t.Fatalf("power cut: %v", err)
			}
			disk.remount(t)
			checkFinished(t, tc, dir, target)
		})
	}
}

// eachWriterOnce keeps the first case of each writer.
func eachWriterOnce(cases []writerCase) []writerCase {
	var out []writerCase
	seen := map[string]bool{}
	for _, tc := range cases {
		if !seen[tc.name] {
			seen[tc.name] = true
			out = append(out, tc)
		}
	}
	return out
}

// scratchName matches the hidden names writers build under
// (".NAME.TAG-RANDOM"), which must never reach an operator's eyes.
var scratchName = regexp.MustCompile(`\.[^/ ]+\.(new|partial|compact|scan)-[0-9]+`)

// Every writer on a disk that fills up at several moments of its write:
// it fails naming the file the user gave and the full disk, leaves the
// target as it was or finished (never a partial file at a new path), and
// once space is freed the same command completes with no debris left.
// Rollback and repair in place rewrite pages the file already holds, so
// they may finish where the others fail.
func TestWritersOnAFullDisk(t *testing.T) {
	t.Parallel()
	cases, mgmt := writerCases(t)
	for _, tc := range eachWriterOnce(cases) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the writer runs as a child process, each case in its own directory or filesystem
			failed := false
			for _, free := range []int64{16 << 10, 200 << 10, 500 << 10} {
				mnt := mountOrSkip(t, "-t", "tmpfs", "-o", "size=12m", "tmpfs")
				dir := filepath.Join(mnt, "w")
				os.Mkdir(dir, 0o755)
				args, target := tc.setup(t, dir)
				ballast := fillDisk(t, mnt, free)
				out, errs, code := runChild(t, args...)
				os.Remove(ballast) // the operator frees space before the next run
				if code == ExitOK {
					checkFinished(t, tc, dir, target)
					continue
				}
				failed = true
				if !strings.Contains(errs, "no space left on device") {
					t.Fatalf("%d KiB free: exit %d without naming the full disk: %s", free>>10, code, errs)
				}
				if m := scratchName.FindString(errs); m != "" {
					t.Fatalf("%d KiB free: the error names the scratch file %s: %s", free>>10, m, errs)
				}
				crashed := tc
				crashed.mustExist = strings.Contains(out+errs, "committed ") // reported, so in place
				checkAfterCrash(t, crashed, dir, target, mgmt)
				checkNextRun(t, tc, args, dir, target)
			}
			if !failed && tc.name != "rollback" && tc.name != "repair in place" {
				t.Fatal("the disk never filled: the test proves nothing")
			}
		})
	}
}

// fillDisk takes all but free bytes of the filesystem at mnt into a
// ballast file (outside the command's directory) and returns its path.
func fillDisk(t *testing.T, mnt string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	if avail <= free {
		t.Fatalf("only %d bytes free on the test filesystem, want more than %d", avail, free)
	}
	path := filepath.Join(mnt, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, avail-free); err != nil {
		t.Fatal(err)
	}
	return path
}

// A second writer started at each failpoint of the first (same command,
// same target), while the first is held there: the first finishes, the
// second waits for it or is refused with a message saying another process
// has the store, and what is left is exactly what one finished run
// leaves. Neither exits 0 having lost its work.
func TestSecondWriterAtEveryFailpoint(t *testing.T) {
	t.Parallel()
	cases, _ := writerCases(t)
	refusal := regexp.MustCompile(`locked by another process|another process is (creating|writing) it|another process created|exists|nothing to`)
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.point, func(t *testing.T) {
			t.Parallel() // the writer runs as a child process, each case in its own directory or filesystem
			dir := t.TempDir()
			args, target := tc.setup(t, dir)
			marks := t.TempDir()
			pause, waiting := filepath.Join(marks, "paused"), filepath.Join(marks, "waiting")
			first := startChild(t, tc.point, "pause="+pause, args...)
			waitForFile(t, pause, first)
			second := startChild(t, "lock-wait", "mark="+waiting, withLockTimeout(args)...)
			waitForFile(t, waiting, second)
			os.Remove(pause) // the first goes on
			if code, errs := first.wait(); code != ExitOK {
				t.Fatalf("the first writer: exit %d: %s", code, errs)
			}
			if code, errs := second.wait(); code != ExitOK && !refusal.MatchString(errs) {
				t.Fatalf("the second writer: exit %d without saying another process had the store: %s", code, errs)
			}
			checkFinished(t, tc, dir, target)
		})
	}
}

// withLockTimeout lets a command that opens a store wait for its lock
// longer than the test could hold it.
func withLockTimeout(args []string) []string {
	if args[0] == "devnet" {
		return args
	}
	return append([]string{args[0], "--lock-timeout", "60s"}, args[1:]...) // flags before arguments
}

type child struct {
	cmd  *exec.Cmd
	errb *strings.Builder
	done chan struct{}
	err  error
}

// startChild starts vcsync in a child process with a failpoint armed.
func startChild(t *testing.T, spec, action string, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), errb: &strings.Builder{}, done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1", failpoint.EnvVar+"="+spec, failpoint.ActionEnvVar+"="+action)
	c.cmd.Stderr = c.errb
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() { c.cmd.Process.Kill(); <-c.done })
	return c
}

func (c *child) wait() (int, string) {
	<-c.done
	if ee, ok := c.err.(*exec.ExitError); ok {
		return ee.ExitCode(), c.errb.String()
	}
	return 0, c.errb.String()
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// waitForFile waits until path exists or the child has exited (then it
// never reached its failpoint, which is not an error for a second writer
// refused before it waited for anything).
func waitForFile(t *testing.T, path string, c *child) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil || c.exited() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}
