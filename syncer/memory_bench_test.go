package syncer_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vcsync/vcsync/committee/mgmt"
	"github.com/vcsync/vcsync/internal/testwait"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/peerserver"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
	"github.com/vcsync/vcsync/verify"
)

// BenchmarkSyncMemory syncs 20,000 and 200,000 blocks and reports the peak
// Go heap (runtime) and the peak anonymous memory of the process (RssAnon;
// bbolt's mapped file pages are the page cache's, reported apart as
// RssFile), sampled every 20 ms during the sync alone. Memory must not grow
// with the chain: the pipeline holds a bounded number of chunks.
func BenchmarkSyncMemory(b *testing.B) {
	for _, blocks := range []uint64{20_000, 200_000} {
		b.Run(fmt.Sprintf("blocks=%d", blocks), func(b *testing.B) { benchSyncMemory(b, blocks) })
	}
}

// memoryChain is the chain both lengths sync: the same 80 committee
// changes at both, since the committee history a source holds grows with
// the number of changes, not of blocks. Its times are fixed: the chain is
// generated in a child process, and the parent's committee document must
// name the same times (with "now" they differed by the generation's time).
func memoryChain(blocks uint64) devnet.Config {
	return devnet.Config{Seed: "bench-memory", Blocks: blocks, BodyBytes: 200, RotateEvery: blocks / 80, TipRefTime: hugeTipRefTime}
}

// TestMain lets the benchmark generate its chain in a child process: a
// generator holding 200,000 blocks in memory would leave the runtime's
// bookkeeping for a heap of that size behind, and the sync's memory would
// be measured on top of it.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VCSYNC_GEN_DIR"); dir != "" {
		blocks, _ := strconv.ParseUint(os.Getenv("VCSYNC_GEN_BLOCKS"), 10, 64)
		cfg := memoryChain(blocks)
		if body, _ := strconv.Atoi(os.Getenv("VCSYNC_GEN_BODY")); body > 0 {
			cfg = hugeChain(blocks, body)
		}
		n, err := devnet.New(cfg)
		if err == nil {
			_, _, err = n.Generate(dir, nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv("VCSYNC_SERVE_STORE"); path != "" {
		serveUntilStdinCloses(path)
		return
	}
	// Most tests here wait (on a stalling peer, a timeout, a child
	// process): let three per CPU run at once.
	testwait.RaiseParallel(3)
	os.Exit(m.Run())
}

// serveUntilStdinCloses is the child that serves the memory benchmark's
// chain, as a remote peer would: in its own process, so the sync is
// measured without the server's buffers. It prints its address and serves
// until its parent closes stdin.
func serveUntilStdinCloses(path string) {
	src, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	fmt.Printf("http://%s\n", ln.Addr())
	err = peerserver.Serve(ctx, ln, peerserver.New(src, peerserver.Options{}).Handler())
	src.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// servePeerProcess starts the serving child for the store at path and
// returns its URL; the child stops when the benchmark ends.
func servePeerProcess(b *testing.B, path string) string {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "VCSYNC_SERVE_STORE="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("serving child: %v", err)
	}
	return strings.TrimSpace(url)
}

func benchSyncMemory(b *testing.B, blocks uint64) {
	cfg := memoryChain(blocks)
	urls := []string{servePeerProcess(b, generateInChild(b, blocks, 0))}
	peakHeap, peakLive, peakAnon, peakFile, peakGo := measureSync(b, cfg, urls, syncer.Config{})
	b.ReportMetric(float64(peakLive)/(1<<20), "peak_live_heap_MiB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak_heap_MiB")
	b.ReportMetric(float64(peakAnon)/(1<<20), "peak_rss_anon_MiB")
	b.ReportMetric(float64(peakFile)/(1<<20), "peak_rss_file_MiB")
	b.ReportMetric(float64(peakGo)/(1<<20), "peak_go_held_MiB")
}

// hugeTipRefTime is fixed: the chain is generated in a child process, and
// the parent's committee document must name the same times.
const hugeTipRefTime = 1_800_000_000

// hugeChain is a chain of blocks near the 64 MiB block limit: each is a
// frame of its own, the largest a peer may send.
func hugeChain(blocks uint64, body int) devnet.Config {
	return devnet.Config{Seed: "bench-huge", Blocks: blocks, BodyBytes: body, RotateEvery: 4, TipRefTime: hugeTipRefTime}
}

// BenchmarkSyncHugeFrames syncs 24 blocks of 56 MiB from four peers (each
// in its own process) with --parallel 4 and batches of 3 blocks: every
// download holds frames of 56 MiB at once, the case that bounds memory.
// It reports the peak anonymous memory against the bound README gives.
func BenchmarkSyncHugeFrames(b *testing.B) {
	const blocks, body, parallel = 24, 56 << 20, 4
	path := generateInChild(b, blocks, body)
	var urls []string
	for range parallel {
		urls = append(urls, servePeerProcess(b, path))
	}
	// As the sync commands do (commands/sync.go).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(syncer.SoftMemoryLimit(parallel)))
	_, peakLive, peakAnon, _, peakGo := measureSync(b, hugeChain(blocks, body), urls,
		syncer.Config{Batch: 3, Chunk: 3, Parallel: parallel})
	bound := float64(syncer.MemoryBound(parallel)) / (1 << 20)
	b.ReportMetric(float64(peakLive)/(1<<20), "peak_live_heap_MiB")
	b.ReportMetric(float64(peakAnon)/(1<<20), "peak_rss_anon_MiB")
	b.ReportMetric(float64(peakGo)/(1<<20), "peak_go_held_MiB")
	b.ReportMetric(bound, "bound_MiB")
	b.ReportMetric(float64(peakAnon)/(1<<20)/bound, "rss/bound")
}

// generateInChild writes the chain in a child process (see TestMain) and
// returns its store's path.
func generateInChild(b *testing.B, blocks uint64, body int) string {
	dir := filepath.Join(b.TempDir(), "src")
	gen := exec.Command(os.Args[0])
	gen.Env = append(os.Environ(), "VCSYNC_GEN_DIR="+dir, fmt.Sprintf("VCSYNC_GEN_BLOCKS=%d", blocks), fmt.Sprintf("VCSYNC_GEN_BODY=%d", body))
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("generate: %v\n%s", err, out)
	}
	return filepath.Join(dir, "blocks.db")
}

// measureSync syncs the chain of cfg from urls into new stores, b.N times,
// sampling memory every 20 ms, and returns the peaks: heap in use, live
// heap, RssAnon, RssFile and what the Go runtime holds from the OS.
func measureSync(b *testing.B, cfg devnet.Config, urls []string, tune syncer.Config) (peakHeap, peakLive, peakAnon, peakFile, peakGo uint64) {
	n, err := devnet.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	docSrc, _ := mgmt.NewDocSource(n.ManagementDoc(), n.ChainID)
	id := store.Identity{ChainID: n.ChainID, NetworkType: n.NetworkType}
	for i := 0; i < b.N; i++ {
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		stop := make(chan struct{})
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}} // what the last GC found reachable
		var sampler sync.WaitGroup
		sampler.Go(func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				metrics.Read(live)
				peakLive = max(peakLive, live[0].Value.Uint64())
				anon, file := procRSS()
				goHeld := ms.Sys - ms.HeapReleased // what the Go runtime holds from the OS
				peakHeap, peakAnon, peakFile, peakGo = max(peakHeap, ms.HeapInuse), max(peakAnon, anon), max(peakFile, file), max(peakGo, goHeld)
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		})
		var peers []peerclient.Peer
		for _, u := range urls {
			peers = append(peers, peerclient.NewHTTP(u, peerclient.Options{}))
		}
		c := tune
		c.Store, c.Peers, c.Rand = s, peers, rand.New(rand.NewSource(1))
		c.Verifier = &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}
		res, err := syncer.New(c).Sync(context.Background())
		close(stop)
		sampler.Wait()
		if err != nil || res.Blocks != cfg.Blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		s.Close()
	}
	return
}

// procRSS reads RssAnon and RssFile (bytes) from /proc/self/status.
func procRSS() (anon, file uint64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "RssAnon:":
			anon = kb << 10
		case "RssFile:":
			file = kb << 10
		}
	}
	return anon, file
}
