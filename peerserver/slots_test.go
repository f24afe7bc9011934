package peerserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vcsync/vcsync/internal/testio"

	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/wire"
)

// heldSource holds every range read until release is closed, so the
// test controls how long streams stay open: each read first says so on
// reading (until release, after which reads neither wait nor say).
type heldSource struct {
	peerserver.Source
	reading chan struct{}
	release chan struct{}
}

func (h *heldSource) ReadRange(hi, lo uint64, fn func(uint64, []byte) error) error {
	select {
	case h.reading <- struct{}{}:
	case <-h.release:
	}
	<-h.release
	return h.Source.ReadRange(hi, lo, fn)
}

// One client address holds at most its share of streams: the next request
// gets 503 with a Retry-After, logged once however often it is refused,
// and the slot is back once a stream ends.
func TestPerClientStreamCap(t *testing.T) {
	src := &heldSource{Source: devnetStore(t, "slots", 100, nil), reading: make(chan struct{}), release: make(chan struct{})}
	var logs testio.LockedBuffer
	srv := httptest.NewServer(peerserver.New(src, peerserver.Options{Log: slog.New(slog.NewJSONHandler(&logs, nil))}).Handler())
	t.Cleanup(srv.Close)
	get := func() *http.Response {
		resp, err := http.Get(srv.URL + wire.PathBlocks + "?from=100&to=51&batch=50&chunk=10")
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	var held sync.WaitGroup
	for range peerserver.DefaultMaxStreamsPerClient {
		held.Go(func() {
			resp := get()
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("a stream within the client's share: %s", resp.Status)
			}
			var sink bytes.Buffer
			sink.ReadFrom(resp.Body)
		})
		<-src.reading // the stream holds its slot, blocked in its first read
	}
	for range 3 {
		resp := get()
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a stream past the client's share: %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
		}
	}
	if got := len(logLines(t, logs.String(), "busy: stream refused", "client", "127.0.0.1")); got != 1 {
		t.Fatalf("three refusals logged %d times, want once:\n%s", got, logs.String())
	}
	close(src.release) // the held streams finish; later reads are not held
	held.Wait()
	resp := get()
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the streams ended: %s", resp.Status)
	}
	// One access line per stream, with what was served.
	for _, line := range logLines(t, logs.String(), "stream", "outcome", "ok") {
		if line["from"] != 100.0 || line["to"] != 51.0 || line["blocks"] != 50.0 || line["bytes"].(float64) <= 0 || line["client"] == "" {
			t.Fatalf("access line %v", line)
		}
	}
	// (The last stream's client hung up early: its line may say so, or not yet be written.)
	if n := len(logLines(t, logs.String(), "stream", "outcome", "ok")); n < peerserver.DefaultMaxStreamsPerClient {
		t.Fatalf("%d access lines for %d whole streams:\n%s", n, peerserver.DefaultMaxStreamsPerClient, logs.String())
	}
}

// logLines parses JSON log lines and returns those with the message and
// the field value given.
func logLines(t *testing.T, logs, msg, key, value string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["msg"] == msg && strings.HasPrefix(fmt.Sprint(rec[key]), value) {
			out = append(out, rec)
		}
	}
	return out
}
