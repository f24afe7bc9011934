package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestExportNeverDestroys(t *testing.T) {
	t.Parallel()
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
