package repair

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/internal/storetest"
)

// TestMain lets BenchmarkSalvageMillion run the salvage in a child process
// of its own, whose memory is the salvage's alone.
func TestMain(m *testing.M) {
	if src := os.Getenv("VCSYNC_SALVAGE_SRC"); src != "" {
		os.Exit(salvageChild(src, os.Getenv("VCSYNC_SALVAGE_DST")))
	}
	os.Exit(m.Run())
}

// salvageChild salvages src into dst, sampling its anonymous memory every
// 10 ms, and prints "blocks peak_rss_anon_bytes".
func salvageChild(src, dst string) int {
	debug.SetMemoryLimit(SalvageMemoryLimit) // as repair --out does
	var peak uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, rssAnon())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	rep, err := Salvage(src, dst, &storetest.ID, 0) // as repair --out --chain-id 42 --network-type 2
	close(stop)
	sampler.Wait()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(rep.Copied, max(peak, rssAnon()))
	return 0
}

func rssAnon() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "RssAnon:" {
			kb, _ := strconv.ParseUint(fields[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkSalvageMillion writes a 1,000,000-block store (blocks of 600
// bytes: a devnet block's size), truncates it to 60% as a failing disk
// might, and salvages it with repair --out's code in a child process,
// reporting the peak anonymous memory (bbolt's mapped pages are the page
// cache's, not the salvage's) and blocks/s. Salvage must stay flat in the
// store's size: under 64 MiB.
func BenchmarkSalvageMillion(b *testing.B) {
	const blocks = 1_000_000
	dir := b.TempDir()
	src := filepath.Join(dir, "blocks.db")
	writeMillion(b, src, blocks)
	fi, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(src, fi.Size()*6/10); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := filepath.Join(dir, fmt.Sprintf("salvaged-%d.db", i))
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "VCSYNC_SALVAGE_SRC="+src, "VCSYNC_SALVAGE_DST="+dst)
		cmd.Stderr = os.Stderr
		start := time.Now()
		out, err := cmd.Output()
		elapsed := time.Since(start)
		if err != nil {
			b.Fatalf("salvage child: %v", err)
		}
		var copied, peak uint64
		fmt.Sscan(string(out), &copied, &peak)
		if copied == 0 {
			b.Fatalf("salvaged nothing: %q", out)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak_rss_anon_MiB")
		b.ReportMetric(float64(copied), "blocks_salvaged")
		b.ReportMetric(float64(copied)/elapsed.Seconds(), "blocks/s")
	}
}

// writeMillion writes blocks 1..n linked by hash, 1000 to a transaction.
func writeMillion(b *testing.B, path string, n uint64) {
	s, err := store.Open(path, store.Options{Create: true, Identity: &storetest.ID})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var prev common.Hash
	body := make([]byte, 512)
	key, err := crypto.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	sig, err := crypto.Sign(make([]byte, 32), key) // well formed; the store checks no proof
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]*block.Block, 0, 1000)
	for h := uint64(1); h <= n; h++ {
		blk := &block.Block{Header: block.Header{
			ProtocolVersion: 1, VirtualChainID: storetest.ID.ChainID, NetworkType: storetest.ID.NetworkType,
			Height: h, PrevHash: prev, RefTime: uint32(1000 + h),
		}, Body: body, Proof: [][]byte{sig}}
		blk.Seal()
		prev = blk.Hash()
		if chunk = append(chunk, blk); len(chunk) == cap(chunk) || h == n {
			if _, err := s.AppendForward(chunk); err != nil {
				b.Fatal(err)
			}
			chunk = chunk[:0]
		}
	}
}
