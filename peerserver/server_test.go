package peerserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/wire"
)

// devnetStore generates a devnet chain holding ranges (nil: all) and
// opens its store read-only until the test ends.
func devnetStore(t *testing.T, seed string, blocks uint64, ranges []store.Range) *store.Store {
	t.Helper()
	n, _ := devnet.New(devnet.Config{Seed: seed, Blocks: blocks})
	files, _, err := n.Generate(filepath.Join(t.TempDir(), "n"), ranges)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(files.Store, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func serveGapStore(t *testing.T) *httptest.Server {
	t.Helper()
	s := devnetStore(t, "srv", 300, []store.Range{{From: 1, To: 120}, {From: 201, To: 300}})
	srv := httptest.NewServer(peerserver.New(s, peerserver.Options{MaxBatch: 50, MaxChunk: 20}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestAvailabilityServesOnlyTheContiguousPart(t *testing.T) {
	srv := serveGapStore(t)
	resp, err := http.Get(srv.URL + wire.PathAvailability)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a wire.Availability
	json.NewDecoder(resp.Body).Decode(&a)
	if a.ServeFrom != 1 || a.ServeTo != 120 || a.Top != 300 || a.MaxBatch != 50 || a.MaxChunk != 20 || a.ChainID != 42 {
		t.Fatalf("availability %+v", a)
	}
}

func TestBlocksErrorsAndGrant(t *testing.T) {
	srv := serveGapStore(t)
	get := func(q string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + wire.PathBlocks + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	if resp, body := get("?from=250"); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable || !strings.Contains(body, "outside what this peer serves (1-120)") {
		t.Fatalf("a height in the high run: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("?from=abc"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not a number") {
		t.Fatalf("bad parameter: %d %s", resp.StatusCode, body)
	}
	resp, _ := get("?from=100&to=1&chunk=500")
	if resp.StatusCode != http.StatusOK || resp.Header.Get(wire.HeaderFrom) != "100" || resp.Header.Get(wire.HeaderTo) != "51" || resp.Header.Get(wire.HeaderChunk) != "20" {
		t.Fatalf("grant %d %v", resp.StatusCode, resp.Header)
	}

	// The client reads the same grant and exactly the granted heights, in frames of 20.
	st, err := peerclient.NewHTTP(srv.URL, peerclient.Options{}).Blocks(t.Context(), wire.Request{From: 100, To: 1, Chunk: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	next, frames := uint64(100), 0
	for {
		blocks, _, err := st.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		for _, b := range blocks {
			if b.Height() != next {
				t.Fatalf("height %d, want %d", b.Height(), next)
			}
			next--
		}
	}
	if next != 50 || frames != 3 {
		t.Fatalf("stream ended at %d after %d frames", next+1, frames)
	}
}

// /healthz says the store reads and its heights; /readyz also wants
// blocks to serve, and is 503 for an empty store.
func TestHealthAndReadiness(t *testing.T) {
	srv := serveGapStore(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			OK      bool   `json:"ok"`
			InOrder uint64 `json:"in_order"`
			Top     uint64 `json:"top"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !h.OK || h.InOrder != 120 || h.Top != 300 {
			t.Fatalf("%s: %s %+v", path, resp.Status, h)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.db")
	s, err := store.Open(empty, store.Options{Create: true, Identity: &store.Identity{ChainID: 42, NetworkType: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	esrv := httptest.NewServer(peerserver.New(s, peerserver.Options{}).Handler())
	defer esrv.Close()
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable} {
		resp, err := http.Get(esrv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s of an empty store: %s, want %d", path, resp.Status, want)
		}
	}
}
