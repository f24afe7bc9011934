package commands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFleet is the load harness: M `vcsync serve` processes of one
// devnet store on 127.0.0.1 and N `vcsync sync` processes started at once
// against all of them (each into a new store, --json), as when a region
// comes up. It reports runs finished (every one must, with the source's
// blocks), the time to finish (p50, p95, max), the aggregate rate against
// one client alone, the busy answers the clients got, and each server's
// peak RSS. Every process is a child that ends with the benchmark.
//
//	go test ./commands -run XXX -bench Fleet -benchtime 1x
func BenchmarkFleet(b *testing.B) {
	for _, c := range []struct {
		servers, clients int
		blocks           string
		kill             bool
	}{{1, 30, "3000", false}, {3, 30, "3000", false}, {3, 30, "3000", true}, {1, 30, "20000", false}, {3, 30, "20000", false}} {
		name := fmt.Sprintf("servers=%d/clients=%d/blocks=%s", c.servers, c.clients, c.blocks)
		if c.kill {
			name += "/one_server_killed"
		}
		b.Run(name, func(b *testing.B) { benchFleet(b, c.servers, c.clients, c.blocks, c.kill) })
	}
}

// killAfter is when the one_server_killed case kills its first server:
// mid-run, as a node crashing under the fleet's load.
const killAfter = 2 * time.Second

func benchFleet(b *testing.B, servers, clients int, blocks string, kill bool) {
	src := genStore(b, blocks, "")
	srcDB, mgmt := filepath.Join(src, "blocks.db"), filepath.Join(src, "management.json")
	var peers []string
	var procs []*exec.Cmd
	for range servers {
		url, cmd := serveProcess(b, srcDB)
		peers, procs = append(peers, "--peer", url), append(procs, cmd)
	}
	syncArgs := func(store string) []string {
		return append([]string{"sync", "--store", store, "--chain-id", "42", "--network-type", "2", "--committee-file", mgmt, "--json"}, peers...)
	}
	// One client alone first: the rate the fleet is compared with.
	alone := time.Now()
	if out, errs, code := childRun(syncArgs(filepath.Join(b.TempDir(), "alone.db"))); code != 0 {
		b.Fatalf("one client alone: exit %d: %s%s", code, out, errs)
	}
	aloneSecs := time.Since(alone).Seconds()

	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		times := make([]float64, clients)
		results := make([]struct {
			code    int
			out     string
			errs    string
			busy    int
			waits   float64
			dropped int
			drops   []string
		}, clients)
		start := time.Now()
		var fleet sync.WaitGroup
		if kill {
			killer := time.AfterFunc(killAfter, func() { procs[0].Process.Kill() })
			defer killer.Stop()
		}
		for k := range clients {
			fleet.Go(func() {
				r := &results[k]
				r.out, r.errs, r.code = childRun(syncArgs(filepath.Join(dir, fmt.Sprintf("node%d.db", k))))
				times[k] = time.Since(start).Seconds()
				var res struct {
					BusyAnswers     int                                   `json:"busy_answers"`
					BusyWaitSeconds float64                               `json:"busy_wait_seconds"`
					PeersDropped    []struct{ Peer, Kind, Reason string } `json:"peers_dropped"`
				}
				json.Unmarshal([]byte(r.out), &res)
				r.busy, r.waits, r.dropped = res.BusyAnswers, res.BusyWaitSeconds, len(res.PeersDropped)
				for _, d := range res.PeersDropped {
					r.drops = append(r.drops, d.Peer+" "+d.Kind+": "+d.Reason)
				}
			})
		}
		fleet.Wait()
		wall := time.Since(start).Seconds()
		finished, busy, dropped := 0, 0, 0
		for k, r := range results {
			for _, d := range r.drops {
				if !kill || !strings.HasPrefix(d, peers[1]+" ") { // peers[1]: the killed server's URL
					b.Errorf("client %d dropped an honest server that was up: %s", k, d)
				}
			}
			if r.code != 0 {
				b.Errorf("client %d: exit %d: %s", k, r.code, r.errs)
				continue
			}
			mustEqualStores(b, filepath.Join(dir, fmt.Sprintf("node%d.db", k)), srcDB)
			finished++
			busy += r.busy
			dropped += r.dropped
		}
		slices.Sort(times)
		b.ReportMetric(float64(finished), "finished")
		b.ReportMetric(times[len(times)/2], "p50_s")
		b.ReportMetric(times[len(times)*95/100], "p95_s")
		b.ReportMetric(times[len(times)-1], "max_s")
		b.ReportMetric(float64(clients)*aloneSecs/wall, "aggregate/alone")
		b.ReportMetric(float64(busy), "busy_answers")
		b.ReportMetric(float64(dropped), "peers_dropped")
	}
	var peak int64
	for i, cmd := range procs {
		if kill && i == 0 {
			continue // killed: its peak is not a served run's
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss)
		}
	}
	b.ReportMetric(float64(peak)/1024, "server_peak_rss_MiB")
}

// serveProcess starts `vcsync serve` of db in a child process on a port
// the kernel picks and returns its URL; the test or benchmark stops it.
func serveProcess(b testing.TB, db string, extra ...string) (string, *exec.Cmd) {
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--store", db, "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var logReader sync.WaitGroup
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logReader.Wait() })
	addr := regexp.MustCompile(`msg=serving .*url=(http://127\.0\.0\.1:\d+)`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			logReader.Go(func() { // keep reading the log so the server never blocks on it
				for sc.Scan() {
				}
			})
			return m[1], cmd
		}
	}
	b.Fatal("serve ended before listening")
	return "", nil
}

// childRun runs vcsync in a child process.
func childRun(args []string) (string, string, int) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VCSYNC_TEST_CHILD=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}
