package commands

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	t.Parallel()
	var v VersionInfo
	if err := json.Unmarshal([]byte(mustRun(t, "version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.GoVersion != runtime.Version() || v.Version == "" {
		t.Fatalf("version %+v", v)
	}
	text := mustRun(t, "--version")
	if !strings.HasPrefix(text, "vcsync ") || !strings.Contains(text, "go-ethereum") || !strings.Contains(text, "bbolt") {
		t.Fatalf("--version: %q", text)
	}
	if _, errs, code := run(t, "version", "extra"); code != ExitUsage || !strings.Contains(errs, "takes no arguments") {
		t.Fatalf("version extra: exit %d %s", code, errs)
	}
}
