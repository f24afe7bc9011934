package syncer_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
// the number of changes, not of blocks.
func memoryChain(blocks uint64) devnet.Config {
	return devnet.Config{Seed: "bench-memory", Blocks: blocks, BodyBytes: 200, RotateEvery: blocks / 80}
}

// TestMain lets the benchmark generate its chain in a child process: a
// generator holding 200,000 blocks in memory would leave the runtime's
// bookkeeping for a heap of that size behind, and the sync's memory would
// be measured on top of it.
func TestMain(m *testing.M) {
	if dir := os.Getenv("VCSYNC_GEN_DIR"); dir != "" {
		blocks, _ := strconv.ParseUint(os.Getenv("VCSYNC_GEN_BLOCKS"), 10, 64)
		n, err := devnet.New(memoryChain(blocks))
		if err == nil {
			_, _, err = n.Generate(dir, nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func benchSyncMemory(b *testing.B, blocks uint64) {
	n, err := devnet.New(memoryChain(blocks))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "src")
	gen := exec.Command(os.Args[0])
	gen.Env = append(os.Environ(), "VCSYNC_GEN_DIR="+dir, fmt.Sprintf("VCSYNC_GEN_BLOCKS=%d", blocks))
	if out, err := gen.CombinedOutput(); err != nil {
		b.Fatalf("generate: %v\n%s", err, out)
	}
	src, _ := store.Open(filepath.Join(dir, "blocks.db"), store.Options{ReadOnly: true})
	defer src.Close()
	srv := httptest.NewServer(peerserver.New(src, peerserver.Options{}).Handler())
	defer srv.Close()
	docSrc, _ := verify.NewDocSource(n.ManagementDoc(), n.ChainID)
	id := store.Identity{ChainID: n.ChainID, NetworkType: n.NetworkType}
	var peakHeap, peakAnon, peakFile, peakGo uint64
	for i := 0; i < b.N; i++ {
		s, err := store.Open(filepath.Join(b.TempDir(), "node.db"), store.Options{Create: true, Identity: &id})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
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
		sy := syncer.New(syncer.Config{Store: s, Peers: []peerclient.Peer{peerclient.NewHTTP(srv.URL, peerclient.Options{})},
			Verifier: &verify.Verifier{Source: docSrc, ChainID: n.ChainID, NetworkType: n.NetworkType}, Rand: rand.New(rand.NewSource(1))})
		res, err := sy.Sync(context.Background())
		close(stop)
		sampler.Wait()
		if err != nil || res.Blocks != blocks {
			b.Fatalf("synced %d: %v", res.Blocks, err)
		}
		s.Close()
	}
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak_heap_MiB")
	b.ReportMetric(float64(peakAnon)/(1<<20), "peak_rss_anon_MiB")
	b.ReportMetric(float64(peakFile)/(1<<20), "peak_rss_file_MiB")
	b.ReportMetric(float64(peakGo)/(1<<20), "peak_go_held_MiB")
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
