package commands

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcsync/vcsync/wire"
)

func TestServeAnswersAvailability(t *testing.T) {
	t.Parallel()
	dir := genStore(t, "150", "1-100,121-150")
	url := startServe(t, filepath.Join(dir, "blocks.db"))
	resp, err := http.Get(url + wire.PathAvailability)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a wire.Availability
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	// Only what the store holds with no gap is served.
	if a.ChainID != 42 || a.ServeFrom != 1 || a.ServeTo != 100 || a.Top != 150 {
		t.Fatalf("availability %+v", a)
	}
	if _, errs, code := run(t, "serve", "--store", filepath.Join(t.TempDir(), "none.db"), "--listen", "127.0.0.1:0"); code != ExitUsage || !strings.Contains(errs, "does not exist") {
		t.Fatalf("serve a missing store: exit %d %s", code, errs)
	}
}
