package commands

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
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
func waitForLog(t *testing.T, logs *lockedBuffer, re *regexp.Regexp) string {
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

// serve and sync --follow expose Prometheus metrics that say what they
// did: blocks served and committed, the store's heights, rounds.
func TestMetricsOfServeAndFollow(t *testing.T) {
	src := genStore(t, "600", "")
	db, mgmt := filepath.Join(src, "blocks.db"), filepath.Join(src, "management.json")
	metricsURL := regexp.MustCompile(`msg=metrics url=(http://127\.0\.0\.1:\d+/metrics)`)

	serveCtx, stopServe := context.WithCancel(context.Background())
	serveLogs := &lockedBuffer{}
	served := make(chan int, 1)
	go func() {
		served <- Main(serveCtx, []string{"vcsync", "serve", "--store", db, "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, &lockedBuffer{}, serveLogs)
	}()
	defer func() { stopServe(); <-served }()
	serveMetrics := waitForLog(t, serveLogs, metricsURL)
	peer := waitForLog(t, serveLogs, regexp.MustCompile(`msg=serving .*url=(http://127\.0\.0\.1:\d+)\n`))

	node := filepath.Join(t.TempDir(), "node.db")
	followCtx, stopFollow := context.WithCancel(context.Background())
	followLogs := &lockedBuffer{}
	followed := make(chan int, 1)
	go func() {
		followed <- Main(followCtx, []string{"vcsync", "sync", "--follow", "--stale-after", "1s", "--store", node, "--chain-id", "42",
			"--network-type", "2", "--committee-file", mgmt, "--peer", peer, "--batch", "1000", "--metrics-addr", "127.0.0.1:0"}, &lockedBuffer{}, followLogs)
	}()
	defer func() { stopFollow(); <-followed }()
	followMetrics := waitForLog(t, followLogs, metricsURL)

	var f map[string]*dto.MetricFamily
	for range 500 { // until the first round has ended
		if f = scrape(t, followMetrics); f["vcsync_sync_rounds_total"] != nil { // a vector appears with its first sample
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, want := range map[string]float64{
		"vcsync_sync_committed_blocks_total": 600, "vcsync_store_top": 600, "vcsync_store_in_order": 600,
		"vcsync_store_gap_blocks": 0, "vcsync_sync_last_round_success": 1, "vcsync_build_info": 1,
	} {
		if got := value(t, f, name, nil); got != want {
			t.Errorf("follow: %s = %v, want %v", name, got, want)
		}
	}
	if got := value(t, f, "vcsync_sync_rounds_total", map[string]string{"result": "ok"}); got < 1 {
		t.Errorf("follow: %v ok rounds", got)
	}

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
}
