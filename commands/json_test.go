package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
)

// documentedJSON reads docs/JSON.md's tables of objects: the fields each
// command's object always has, and those it may have ("name?").
func documentedJSON(t *testing.T) map[string][2][]string {
	data, err := os.ReadFile("../docs/JSON.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `([^`]+)`((?:, `[^`]+`)*) \\| (.*) \\|$")
	field := regexp.MustCompile("`([a-z0-9_]+)(\\??)`")
	docs := map[string][2][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(m[3], "`ok`") {
			continue
		}
		var fields [2][]string // required, optional
		for _, f := range field.FindAllStringSubmatch(m[3], -1) {
			if f[2] == "?" {
				fields[1] = append(fields[1], f[1])
			} else {
				fields[0] = append(fields[0], f[1])
			}
		}
		docs[m[1]] = fields
	}
	return docs
}

// Every command's --json object has exactly the fields docs/JSON.md lists
// for it: each required one, and none it does not name.
func TestJSONObjectsAreDocumented(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	tmp := t.TempDir()
	vcx, synced := filepath.Join(tmp, "a.vcx"), filepath.Join(tmp, "s.db")
	id := []string{"--chain-id", "42", "--network-type", "2"}
	runs := []struct {
		row  string
		args []string
	}{
		{"inspect", []string{"inspect", "--store", db}},
		{"inspect --block", []string{"inspect", "--store", db, "--block", "5"}},
		{"inspect --check", []string{"inspect", "--store", db, "--check"}},
		{"verify tip", []string{"verify", "tip", "--store", db, "--committee-file", mgmt}},
		{"verify all", []string{"verify", "all", "--store", db, "--committee-file", mgmt}},
		{"committee", []string{"committee", "--chain-id", "42", "--committee-file", mgmt, "--current"}},
		{"export", []string{"export", "--store", db, "--out", vcx}},
		{"sync", append(append([]string{"sync", "--store", synced}, id...), "--committee-file", mgmt, "--peer", "file://"+db)},
		{"sync", append(append([]string{"import", "--store", filepath.Join(tmp, "i.db")}, id...), "--committee-file", mgmt, vcx)},
		{"rollback", []string{"rollback", "--store", synced, "--to", "290"}},
		{"repair", []string{"repair", "--store", synced}},
		{"repair --out", []string{"repair", "--store", synced, "--out", filepath.Join(tmp, "r.db")}},
		{"compact", []string{"compact", "--store", synced, "--out", filepath.Join(tmp, "c.db")}},
		{"devnet gen", []string{"devnet", "gen", "--out", filepath.Join(tmp, "d"), "--blocks", "10", "--tip-ref-time", tipRefTime}},
		{"version", []string{"version"}},
		{"any, failing early", []string{"inspect", "--store", filepath.Join(tmp, "none.db")}},
	}
	docs := documentedJSON(t)
	for _, r := range runs {
		doc, ok := docs[r.row]
		if !ok {
			t.Errorf("docs/JSON.md has no row for %q", r.row)
			continue
		}
		args := append(slices.Clone(r.args[:len(r.args)-len(trailing(r.args))]), "--json")
		args = append(args, trailing(r.args)...)
		out, errs, _ := run(t, args...)
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(out), &obj); err != nil {
			t.Errorf("%v: not one JSON object: %v\n%s%s", args, err, out, errs)
			continue
		}
		for _, f := range doc[0] {
			if _, ok := obj[f]; !ok {
				t.Errorf("%v: documented field %q missing: %s", args, f, out)
			}
		}
		for f := range obj {
			if !slices.Contains(doc[0], f) && !slices.Contains(doc[1], f) {
				t.Errorf("%v: field %q is not in docs/JSON.md's row %q", args, f, r.row)
			}
		}
	}
}

// trailing is a command's positional arguments (import's file): --json
// goes before them.
func trailing(args []string) []string {
	if args[0] == "import" {
		return args[len(args)-1:]
	}
	return nil
}

// With --json, every failure is one object on stdout with ok, error and
// kind, including those before a run starts; the kinds are what a script
// branches on, and each goes with its exit code.
func TestJSONOnEveryFailure(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "")
	db, mgmt := filepath.Join(dir, "blocks.db"), filepath.Join(dir, "management.json")
	tmp := t.TempDir()
	foreign := filepath.Join(tmp, "foreign.db")
	updateBolt(t, foreign, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	truncated := filepath.Join(tmp, "truncated.db")
	data, _ := os.ReadFile(db)
	fh, err := fsck.CheckFile(db)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(truncated, data[:fh.Need/2], 0o644) // half of what bbolt wrote (the file's tail is sparse)
	locked := filepath.Join(tmp, "locked.db")
	os.WriteFile(locked, data, 0o644)
	holder, err := store.Open(locked, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()

	cases := []struct {
		name string
		args []string
		code int
		kind string
	}{
		{"usage", []string{"inspect", "--store", db, "--block", "5", "--check", "--json"}, ExitUsage, kindUsage},
		{"missing store", []string{"inspect", "--store", filepath.Join(tmp, "none.db"), "--json"}, ExitUsage, kindIO},
		{"locked", []string{"inspect", "--store", locked, "--lock-timeout", "0s", "--json"}, ExitTempFail, kindLocked},
		{"not vcsync", []string{"inspect", "--store", foreign, "--json"}, ExitUsage, kindNotVcsync},
		{"truncated, inspect --check", []string{"inspect", "--store", truncated, "--check", "--json"}, ExitFailed, kindDamaged},
		{"truncated, repair", []string{"repair", "--store", truncated, "--json"}, ExitFailed, kindDamaged},
		{"missing committee file", []string{"verify", "all", "--store", db, "--committee-file", filepath.Join(tmp, "none.json"), "--json"}, ExitUsage, kindIO},
		{"missing height", []string{"verify", "range", "--store", db, "--committee-file", mgmt, "--json", "290", "310"}, ExitFailed, kindVerification},
		{"no peer", []string{"sync", "--store", db, "--committee-file", mgmt, "--peer", "http://127.0.0.1:1", "--json"}, ExitFailed, kindFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, tc.args...)
			var r struct {
				OK    *bool  `json:"ok"`
				Error string `json:"error"`
				Kind  string `json:"kind"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil || r.OK == nil || *r.OK || r.Error == "" || r.Kind != tc.kind || code != tc.code {
				t.Fatalf("exit %d (want %d), stdout %q (want ok false, kind %q), stderr %q", code, tc.code, out, tc.kind, errs)
			}
			if !strings.Contains(errs, r.Error) {
				t.Fatalf("the object's error %q is not the one on stderr %q", r.Error, errs)
			}
		})
	}
}

// A run stopped by a signal says so in its object: kind "interrupted" and
// "interrupted": true (RunProcess then exits 128 + the signal).
func TestJSONOfAnInterruptedSync(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "300", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	mainInTurn(ctx, []string{"vcsync", "sync", "--store", filepath.Join(t.TempDir(), "new.db"), "--chain-id", "42", "--network-type", "2",
		"--committee-file", filepath.Join(dir, "management.json"), "--peer", "file://" + filepath.Join(dir, "blocks.db"), "--json"}, &out, &errb)
	var r struct {
		OK          bool   `json:"ok"`
		Kind        string `json:"kind"`
		Interrupted bool   `json:"interrupted"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.OK || r.Kind != kindInterrupted || !r.Interrupted {
		t.Fatalf("interrupted sync: %s %s", out.String(), errb.String())
	}
}
