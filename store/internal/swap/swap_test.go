package swap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Recover reads where a killed swap stopped from the files beside the
// store: a copy still there means the rename did not happen (undo: the
// store is the old file); no copy means it did (finish: the store is the
// copy). Either way the backup and the journal go and the store stays.
func TestRecoverFinishesOrUndoesByTheFilesLeft(t *testing.T) {
	for _, tc := range []struct {
		name      string
		copyLeft  bool
		journal   bool
		says      string
		storeHold string
	}{
		{"before the rename", true, true, "undid", "old"},
		{"after the rename", false, true, "finished", "copy"},
		{"no swap", true, false, "", "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "blocks.db")
			os.WriteFile(path, []byte("old"), 0o644)
			if err := os.Link(path, BackupPath(path)); err != nil {
				t.Fatal(err)
			}
			if tc.copyLeft {
				os.WriteFile(CopyPath(path), []byte("copy"), 0o644)
			} else {
				os.Remove(path)
				os.WriteFile(path, []byte("copy"), 0o644)
			}
			if tc.journal {
				os.WriteFile(JournalPath(path), []byte("compaction in place\n"), 0o644)
			}
			what, err := Recover(path)
			if err != nil || !strings.Contains(what, tc.says) || (tc.says == "") != (what == "") {
				t.Fatalf("Recover: %q %v, want %q", what, err, tc.says)
			}
			if data, _ := os.ReadFile(path); string(data) != tc.storeHold {
				t.Fatalf("the store holds %q, want %q", data, tc.storeHold)
			}
			if !tc.journal {
				return // nothing of an operator's is touched without a journal
			}
			for _, left := range []string{CopyPath(path), BackupPath(path), JournalPath(path)} {
				if _, err := os.Lstat(left); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s is still there", filepath.Base(left))
				}
			}
		})
	}
}
