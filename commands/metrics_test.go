package commands

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vcsync/vcsync/internal/testio"
)

// scrape reads url's metrics with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the metrics do not parse: %v", err)
	}
	return families
}

// value is the sum of a family's samples whose labels include want.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	sum := 0.0
	for _, m := range f.Metric {
		match := true
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		}
	}
	return sum
}

// waitForLog waits until logs match re and returns the first group.
func waitForLog(t *testing.T, logs *testio.LockedBuffer, re *regexp.Regexp) string {
	t.Helper()
	for range 500 {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never logged:\n%s", re, logs.String())
	return ""
}

// childWithLogs runs vcsync in a child process, its stderr gathered in
// logs; stop sends SIGTERM and waits (also at cleanup).
func childWithLogs(t *testing.T, args ...string) (logs *testio.LockedBuffer, stop func()) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
	logs = &testio.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	return logs, stop
}

// serve and sync --follow, each in its own process, expose Prometheus
// metrics that say what they did: blocks served and committed, the
// store's heights, rounds, latencies, the lag to the best peer, and a
// hostile peer dropped under its kind and failure reason. Between rounds
// inspect reads the store the follower writes.
func TestMetricsOfServeAndFollow(t *testing.T) {
	t.Parallel()
	src := genStore(t, "600", "")
	db, mgmt := filepath.Join(src, "blocks.db"), filepath.Join(src, "management.json")
	fork := filepath.Join(genStore(t, "700", "", "--seed", "hostile fork"), "blocks.db") // ahead, and signed by strangers
	metricsURL := regexp.MustCompile(`msg=metrics url=(http://127\.0\.0\.1:\d+/metrics)`)
	peerURL := regexp.MustCompile(`msg=serving .*url=(http://127\.0\.0\.1:\d+)\n`)

	serveLogs, _ := childWithLogs(t, "serve", "--store", db, "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	serveMetrics := waitForLog(t, serveLogs, metricsURL)
	peer := waitForLog(t, serveLogs, peerURL)
	hostileLogs, _ := childWithLogs(t, "serve", "--store", fork, "--listen", "127.0.0.1:0")
	hostile := waitForLog(t, hostileLogs, peerURL)

	node := filepath.Join(t.TempDir(), "node.db")
	followLogs, stopFollow := childWithLogs(t, "sync", "--follow", "--stale-after", "1s", "--store", node, "--chain-id", "42",
		"--network-type", "2", "--committee-file", mgmt, "--peer", peer, "--peer", hostile, "--batch", "1000", "--metrics-addr", "127.0.0.1:0")
	followMetrics := waitForLog(t, followLogs, metricsURL)

	var f map[string]*dto.MetricFamily
	for range 1000 { // until a round has synced the chain and one has met the hostile peer
		f = scrape(t, followMetrics)
		if f["vcsync_sync_rounds_total"] != nil && f["vcsync_sync_peers_dropped_total"] != nil && value(t, f, "vcsync_store_top", nil) == 600 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"vcsync_sync_committed_blocks_total": 600, "vcsync_store_top": 600, "vcsync_store_in_order": 600,
		"vcsync_store_gap_blocks": 0, "vcsync_build_info": 1, "vcsync_sync_best_peer_top": 600, "vcsync_sync_lag_blocks": 0, // the dropped liar's 700 no longer counts
	} {
		if got := value(t, f, name, nil); got != want {
			t.Errorf("follow: %s = %v, want %v", name, got, want)
		}
	}
	if got := value(t, f, "vcsync_verify_signatures_recovered_total", nil); got < 600*2 {
		t.Errorf("follow: %v signatures recovered for 600 blocks signed by at least 2 of 4 members", got)
	}
	if got := value(t, f, "vcsync_sync_peers_dropped_total", map[string]string{"kind": "bad_block"}); got < 1 {
		t.Errorf("follow: the hostile peer was dropped %v times as bad_block", got)
	}
	if got := value(t, f, "vcsync_sync_verification_failures_total", map[string]string{"reason": "not_member"}); got < 1 {
		t.Errorf("follow: %v verification failures for signers not in the committee", got)
	}
	if n := histogramCount(t, f, "vcsync_sync_duration_seconds", "chunk"); n < 6 {
		t.Errorf("follow: %d chunk latencies observed for 600 blocks in chunks of 100", n)
	}
	if n := histogramCount(t, f, "vcsync_sync_duration_seconds", "batch"); n < 1 {
		t.Errorf("follow: %d batch latencies", n)
	}
	// Between rounds the follower has released the store.
	mustRun(t, "inspect", "--store", node, "--lock-timeout", "5s")

	s := scrape(t, serveMetrics)
	if got := value(t, s, "vcsync_serve_blocks_total", nil); got != 600 {
		t.Errorf("serve: %v blocks served, want the 600 synced", got)
	}
	if got := value(t, s, "vcsync_serve_requests_total", map[string]string{"endpoint": "blocks", "code": "2xx"}); got < 1 {
		t.Errorf("serve: %v block requests answered 2xx", got)
	}
	if got := value(t, s, "vcsync_serve_streams_open", nil); got != 0 {
		t.Errorf("serve: %v streams open after the sync", got)
	}
	if got := value(t, s, "vcsync_store_in_order", nil); got != 600 {
		t.Errorf("serve: in_order %v", got)
	}
	stopFollow()
}

// histogramCount is how many observations a histogram's sample with
// label what="..." holds.
func histogramCount(t *testing.T, families map[string]*dto.MetricFamily, name, what string) uint64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == "what" && l.GetValue() == what && m.Histogram != nil {
				return m.Histogram.GetSampleCount()
			}
		}
	}
	return 0
}
