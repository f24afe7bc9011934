package commands

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/internal/failpoint"
)

// runKilledAt runs vcsync in a child process with the failpoint spec armed
// (to kill, or to cut the power first: see failpoint.ActionEnvVar) and fails the test unless the child died of SIGKILL there: a test whose
// kill landed anywhere else (or never) proves nothing.
func runKilledAt(t *testing.T, spec, action string, args ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1", failpoint.EnvVar+"="+spec, failpoint.ActionEnvVar+"="+action)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("vcsync %s: never reached failpoint %s (err %v):\n%s", strings.Join(args, " "), spec, err, errb.String())
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL || !strings.Contains(errb.String(), "failpoint ") {
		t.Fatalf("vcsync %s: ended with %v, not killed at failpoint %s:\n%s", strings.Join(args, " "), err, spec, errb.String())
	}
}

// writerCase is one writer killed at one named moment.
type writerCase struct {
	name  string
	point string // failpoint spec: NAME or NAME:N
	// setup prepares dir and returns the command's arguments and the store
	// the command writes (whose committed content must survive).
	setup func(t *testing.T, dir string) (args []string, target string)
	// mustExist: the target must be at its path after the kill (its first
	// commit was in place before the failpoint).
	mustExist bool
	// after checks the disk after the kill, before the rerun.
	after func(t *testing.T, dir, target string)
	// rerun is the next command of the operator (defaults to the same
	// command), which must succeed with no manual step.
	rerun func(args []string) []string
	// want checks the result of the rerun.
	want func(t *testing.T, dir, target string)
	// files are the only names dir may hold after the rerun.
	files []string
}

// writerCases is the failpoint table: every writer (sync, pull,
// close-gaps, import, export, rollback, repair, repair --out, compact --out,
// compact --replace, devnet gen) at each named moment of its write. It
// returns the committee document that verifies every store in it.
func writerCases(t *testing.T) ([]writerCase, string) {
	src := genStore(t, "400", "")
	srcDB, mgmt := filepath.Join(src, "blocks.db"), filepath.Join(src, "management.json")
	export := filepath.Join(t.TempDir(), "chain.vcx")
	mustRun(t, "export", "--store", srcDB, "--from", "1", "--to", "400", "--out", export)
	// A store with free pages (a rollback of half of it), so compaction shrinks it.
	shrinkable := filepath.Join(t.TempDir(), "rolled.db")
	copyFile(t, srcDB, shrinkable)
	mustRun(t, "rollback", "--store", shrinkable, "--to", "200", "--yes", "--force")

	syncNew := func(t *testing.T, dir string) ([]string, string) {
		node := filepath.Join(dir, "node.db")
		return []string{"sync", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt,
			"--peer", "file://" + srcDB, "--batch", "100", "--parallel", "1"}, node
	}
	importNew := func(t *testing.T, dir string) ([]string, string) {
		node := filepath.Join(dir, "node.db")
		return []string{"import", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--batch", "100", export}, node
	}
	copyOf := func(from string) func(t *testing.T, dir string) string {
		return func(t *testing.T, dir string) string {
			db := filepath.Join(dir, "node.db")
			copyFile(t, from, db)
			return db
		}
	}
	compactReplace := func(t *testing.T, dir string) ([]string, string) {
		db := copyOf(shrinkable)(t, dir)
		return []string{"compact", "--store", db, "--replace"}, db
	}
	wholeChain := func(t *testing.T, dir, target string) { mustEqualStores(t, target, srcDB) }
	sameAsShrinkable := func(t *testing.T, dir, target string) { mustEqualStores(t, target, shrinkable) }
	node := []string{"node.db"}

	var cases []writerCase
	for _, p := range []struct {
		point     string
		mustExist bool
	}{{"create-before-link", false}, {"create-after-link", true}, {"create-after-dir-sync", true}, {"after-commit:1", true}, {"after-commit:3", true}} {
		cases = append(cases,
			writerCase{name: "sync new store", point: p.point, setup: syncNew, mustExist: p.mustExist, want: wholeChain, files: node},
			writerCase{name: "import new store", point: p.point, setup: importNew, mustExist: p.mustExist, want: wholeChain, files: node})
	}
	for _, point := range []string{"compact-copy-checked", "compact-journal-written", "compact-backup-linked", "compact-swapped", "compact-swap-durable", "compact-backup-removed"} {
		cases = append(cases, writerCase{name: "compact --replace", point: point, setup: compactReplace, mustExist: true,
			after: sameAsShrinkable, want: sameAsShrinkable, files: node})
	}
	cases = append(cases,
		writerCase{name: "compact --out", point: "compact-out-checked", mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				db := copyOf(shrinkable)(t, dir)
				return []string{"compact", "--store", db, "--out", filepath.Join(dir, "out.db")}, db
			},
			after: func(t *testing.T, dir, _ string) { mustBeAbsent(t, filepath.Join(dir, "out.db")) },
			want:  func(t *testing.T, dir, _ string) { mustEqualStores(t, filepath.Join(dir, "out.db"), shrinkable) },
			files: []string{"node.db", "out.db"}},
		writerCase{name: "sync into a store with a gap", point: "after-commit:1", mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				gappy := genStore(t, "400", "1-70,301-400")
				db := copyOf(filepath.Join(gappy, "blocks.db"))(t, dir)
				return []string{"close-gaps", "--store", db, "--committee-file", mgmt, "--peer", "file://" + srcDB, "--batch", "100"}, db
			},
			after: func(t *testing.T, dir, target string) {
				for _, h := range []string{"70", "301", "400"} { // what was there before stays
					mustRun(t, "inspect", "--store", target, "--block", h)
				}
			},
			want: wholeChain, files: node},
		writerCase{name: "rollback", point: "after-commit:1", mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				db := copyOf(srcDB)(t, dir)
				return []string{"rollback", "--store", db, "--to", "330", "--yes", "--force"}, db
			},
			want: func(t *testing.T, dir, target string) {
				var st StateReport
				json.Unmarshal([]byte(mustRun(t, "inspect", "--store", target, "--json")), &st)
				if st.Top != 330 || st.InOrder != 330 {
					t.Fatalf("after rollback: %+v", st)
				}
			}, files: node},
		writerCase{name: "export", point: "export-written", mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				db := copyOf(srcDB)(t, dir)
				return []string{"export", "--store", db, "--from", "1", "--to", "400", "--out", filepath.Join(dir, "out.vcx")}, db
			},
			after: func(t *testing.T, dir, _ string) { mustBeAbsent(t, filepath.Join(dir, "out.vcx")) },
			want: func(t *testing.T, dir, _ string) {
				if fileSum(t, filepath.Join(dir, "out.vcx")) != fileSum(t, export) {
					t.Fatal("the export differs from an uninterrupted one")
				}
			},
			files: []string{"node.db", "out.vcx"}},
	)

	cases = append(cases,
		writerCase{name: "pull into a new store", point: "after-commit:1", mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				node := filepath.Join(dir, "node.db")
				return []string{"pull", "--store", node, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt,
					"--peer", "file://" + srcDB, "--batch", "200", "--chunk", "40"}, node
			},
			want: func(t *testing.T, dir, target string) {
				var st StateReport
				json.Unmarshal([]byte(mustRun(t, "inspect", "--store", target, "--json")), &st)
				if st.Top != 400 || (st.LastSynced > 201 && st.InOrder != 400) {
					t.Fatalf("after the pull and the next one: %+v", st)
				}
			}, files: node},
		writerCase{name: "repair in place", point: "after-commit:1", mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				db := copyOf(srcDB)(t, dir)
				setIndices(t, db, 500) // the indices name blocks the store lacks
				return []string{"repair", "--store", db, "--yes"}, db
			},
			want: wholeChain, files: node})
	// devnet gen writes the same chain as genStore's, into a directory of
	// its own; once its store is in place its work is done, and the
	// operator's next step is to use it (else to run it again).
	devnetGen := func(t *testing.T, dir string) ([]string, string) {
		return []string{"devnet", "gen", "--out", dir, "--blocks", "400", "--tip-ref-time", tipRefTime}, filepath.Join(dir, "blocks.db")
	}
	sameNetwork := func(t *testing.T, dir, target string) {
		wholeChain(t, dir, target)
		// The document names "now", so it is compared by what it proves.
		mustRun(t, "verify", "all", "--store", target, "--committee-file", filepath.Join(dir, "management.json"))
	}
	for _, p := range []struct {
		point     string
		mustExist bool
	}{{"devnet-management-written", false}, {"after-commit:1", false}, {"create-before-link", false}, {"create-after-link", true}, {"create-after-dir-sync", true}} {
		tc := writerCase{name: "devnet gen", point: p.point, setup: devnetGen, mustExist: p.mustExist, want: sameNetwork,
			files: []string{"blocks.db", "management.json"}}
		if p.mustExist {
			tc.rerun = func(args []string) []string {
				if _, err := os.Stat(args[3] + "/blocks.db"); err != nil {
					return args // a power cut took the link back
				}
				return []string{"inspect", "--store", args[3] + "/blocks.db", "--check"}
			}
		}
		cases = append(cases, tc)
	}

	for _, point := range []string{"salvage-batch:1", "salvage-copied"} {
		cases = append(cases, writerCase{name: "repair --out", point: point, mustExist: true,
			setup: func(t *testing.T, dir string) ([]string, string) {
				db := copyOf(srcDB)(t, dir)
				return []string{"repair", "--store", db, "--out", filepath.Join(dir, "salvaged.db")}, db
			},
			after: func(t *testing.T, dir, _ string) { mustBeAbsent(t, filepath.Join(dir, "salvaged.db")) },
			want:  func(t *testing.T, dir, _ string) { mustEqualStores(t, filepath.Join(dir, "salvaged.db"), srcDB) },
			files: []string{"node.db", "salvaged.db"}})
	}

	return cases, mgmt
}

// The failpoint table under kill -9. After each kill: the target is as it
// was or as the finished command leaves it (never absent once its first
// commit was in place), inspect --check and verify all are clean, the next
// run completes with no manual step and no debris is left.
func TestWritersSurviveKillAtEveryFailpoint(t *testing.T) {
	t.Parallel()
	cases, mgmt := writerCases(t)
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.point, func(t *testing.T) {
			t.Parallel() // the writer runs as a child process, each case in its own directory or filesystem
			dir := t.TempDir()
			args, target := tc.setup(t, dir)
			runKilledAt(t, tc.point, "", args...)
			checkAfterCrash(t, tc, dir, target, mgmt)
			checkNextRun(t, tc, args, dir, target)
		})
	}
}

// checkAfterCrash checks the disk a crash left: the target at its path if
// it must be, clean and verified if there.
func checkAfterCrash(t *testing.T, tc writerCase, dir, target, mgmt string) {
	t.Helper()
	if _, err := os.Stat(target); err != nil {
		if tc.mustExist {
			t.Fatalf("after the crash the store is not at its path: %v", err)
		}
	} else {
		mustRun(t, "inspect", "--store", target, "--check")
		mustRun(t, "verify", "all", "--store", target, "--committee-file", mgmt, "--allow-gaps") // what is stored verifies
	}
	if tc.after != nil {
		tc.after(t, dir, target)
	}
}

// checkNextRun runs the operator's next command, which must complete with
// no manual step and leave the finished result and no debris.
func checkNextRun(t *testing.T, tc writerCase, args []string, dir, target string) {
	t.Helper()
	rerun := args
	if tc.rerun != nil {
		rerun = tc.rerun(args)
	}
	if _, errs, code := runChild(t, rerun...); code != ExitOK {
		t.Fatalf("the next run: exit %d: %s", code, errs)
	}
	checkFinished(t, tc, dir, target)
}

// checkFinished checks what a finished command leaves: its result, a
// clean store and only the expected names in dir.
func checkFinished(t *testing.T, tc writerCase, dir, target string) {
	t.Helper()
	tc.want(t, dir, target)
	mustRun(t, "inspect", "--store", target, "--check")
	if got := dirEntries(t, dir); !slices.Equal(got, tc.files) {
		t.Fatalf("the directory holds %v, want %v", got, tc.files)
	}
}

func mustBeAbsent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists after the kill (or: %v)", path, err)
	}
}

// setIndices writes h as every index of the store at path, as a damaged
// or hand-edited store might hold.
func setIndices(t *testing.T, path string, h uint64) {
	t.Helper()
	updateBolt(t, path, func(tx *bolt.Tx) error {
		meta := tx.Bucket([]byte("meta"))
		for _, k := range []string{"top", "in_order", "last_synced"} {
			if err := meta.Put([]byte(k), binary.BigEndian.AppendUint64(nil, h)); err != nil {
				return err
			}
		}
		return nil
	})
}

// updateBolt edits the bbolt file at path in one transaction, underneath
// vcsync, as damage or a hand edit would.
func updateBolt(t *testing.T, path string, edit func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(edit); err != nil {
		t.Fatal(err)
	}
}
