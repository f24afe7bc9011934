package commands

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/vcsync/vcsync/internal/testio"
)

// docExample is one command line from README.md or a command's --help.
type docExample struct {
	where string
	line  string
	exit  int
}

var exitComment = regexp.MustCompile(`#\s*exit (\d)`)

// exampleOf turns a documented line into an example, or false when the line
// is not one vcsync can run here: `serve` (it runs until stopped; the
// tests start their own), `--follow` (likewise) and `--eth-rpc` (it needs an
// Ethereum node; the verify package tests that source on a simulated chain).
func exampleOf(where, line string) (docExample, bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "vcsync ") {
		return docExample{}, false
	}
	ex := docExample{where: where}
	if m := exitComment.FindStringSubmatch(line); m != nil {
		ex.exit, _ = strconv.Atoi(m[1])
	}
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	ex.line = strings.TrimSpace(line)
	for _, skip := range []string{"vcsync serve", "--follow", "--eth-rpc"} {
		if strings.Contains(ex.line, skip) {
			return ex, false
		}
	}
	return ex, true
}

// docExamples collects every vcsync line of README.md's shell blocks and
// of every command's Description.
func docExamples(t *testing.T) []docExample {
	t.Helper()
	var out []docExample
	f, err := os.Open("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inShell, n, pending := false, 0, ""
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inShell = true
			continue
		case strings.HasPrefix(line, "```"):
			inShell = false
			continue
		}
		if !inShell {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		if ex, ok := exampleOf("README.md:"+strconv.Itoa(n), pending+line); ok {
			out = append(out, ex)
		}
		pending = ""
	}
	var walk func(cmds []*cli.Command, parent string)
	walk = func(cmds []*cli.Command, parent string) {
		for _, c := range cmds {
			name := parent + " " + c.Name
			text := strings.ReplaceAll(c.Description, "\\\n", " ")
			for _, line := range strings.Split(text, "\n") {
				if i := strings.Index(line, "vcsync "); i >= 0 {
					if ex, ok := exampleOf(name+" --help", line[i:]); ok {
						out = append(out, ex)
					}
				}
			}
			walk(c.Subcommands, name)
		}
	}
	walk(NewApp().Commands, "vcsync")
	return out
}

// TestDocExamples runs every example of README.md and of every --help as
// written, each in a fresh directory holding the devnet the README names.
func TestDocExamples(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	mustRun(t, "devnet", "gen", "--out", base, "--blocks", "2000", "--tip-ref-time", "1800000000")
	mustRun(t, "export", "--store", filepath.Join(base, "blocks.db"), "--out", filepath.Join(base, "blocks.vcx"))
	gapDir := filepath.Join(t.TempDir(), "gap")
	mustRun(t, "devnet", "gen", "--out", gapDir, "--blocks", "2000", "--tip-ref-time", "1800000000", "--ranges", "1-300,701-2000")
	copyFile(t, filepath.Join(gapDir, "blocks.db"), filepath.Join(base, "gap.db"))
	peerDir := t.TempDir()
	peerDB := filepath.Join(peerDir, "blocks.db")
	copyFile(t, filepath.Join(base, "blocks.db"), peerDB)
	serveURL := startServe(t, peerDB)
	replacer := strings.NewReplacer(
		"http://10.0.0.5:7700", serveURL,
		"file:///mnt/backup/blocks.db", "file://"+peerDB,
		"file:///mnt/old/blocks.db", "file://"+peerDB,
	)
	examples := docExamples(t)
	if len(examples) < 30 {
		t.Fatalf("found only %d examples", len(examples))
	}
	// Two at a time: each runs in its own directory, as child processes
	// that mostly wait on the disk and each other.
	type job struct {
		ex  docExample
		dir string
	}
	work := make(chan job)
	var workers sync.WaitGroup
	for range 2 {
		workers.Go(func() {
			for j := range work {
				ex := j.ex
				out, code := runPipeline(t, j.dir, replacer.Replace(ex.line))
				if code != ex.exit {
					t.Errorf("%s: %s\nexit %d, want %d:\n%s", ex.where, ex.line, code, ex.exit, out)
				}
			}
		})
	}
	for _, ex := range examples {
		dir := t.TempDir()
		for _, name := range []string{"blocks.db", "management.json", "blocks.vcx", "gap.db"} {
			copyFile(t, filepath.Join(base, name), filepath.Join(dir, name))
		}
		work <- job{ex, dir}
	}
	close(work)
	workers.Wait()
	t.Logf("ran %d documented examples", len(examples))
}

// runPipeline runs a documented line, "vcsync ... | vcsync ..." included,
// each command a child process in dir, and returns everything they printed
// and the last one's exit code (an earlier one failing is an error too). It
// runs on a worker goroutine, so it reports with t.Error, never t.Fatal.
func runPipeline(t *testing.T, dir, line string) (string, int) {
	var out testio.LockedBuffer // every command of the pipeline writes to it at once
	var cmds []*exec.Cmd
	for i, part := range strings.Split(line, " | ") {
		fields := strings.Fields(part)
		if len(fields) == 0 || fields[0] != "vcsync" {
			t.Errorf("%q: every command of a documented pipeline must be vcsync", line)
			return "", -1
		}
		cmd := exec.Command(os.Args[0], fields[1:]...)
		cmd.Dir, cmd.Stderr = dir, &out
		cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
		if i > 0 {
			pipe, err := cmds[i-1].StdoutPipe()
			if err != nil {
				t.Error(err)
				return "", -1
			}
			cmd.Stdin = pipe
		}
		cmds = append(cmds, cmd)
	}
	last := cmds[len(cmds)-1]
	last.Stdout = &out
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Error(err)
			return "", -1
		}
	}
	for i := len(cmds) - 1; i >= 0; i-- {
		cmds[i].Wait()
		if code := cmds[i].ProcessState.ExitCode(); i < len(cmds)-1 && code != 0 {
			t.Errorf("%q: %s exited %d", line, cmds[i].Args[1], code)
		}
	}
	return out.String(), last.ProcessState.ExitCode()
}

// Every environment variable a flag reads is in README's table.
func TestReadmeListsEveryEnvironmentVariable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(readme), "### Environment variables")
	if i < 0 {
		t.Fatal("README has no environment variables section")
	}
	table := string(readme[i:])
	table = table[:strings.Index(table[3:], "\n## ")+3]
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				if e, ok := f.(interface{ GetEnvVars() []string }); ok {
					for _, v := range e.GetEnvVars() {
						if !strings.Contains(table, "`"+v+"`") {
							t.Errorf("vcsync %s reads %s, which README's environment table does not list", c.Name, v)
						}
					}
				}
			}
			walk(c.Subcommands)
		}
	}
	walk(NewApp().Commands)
}
