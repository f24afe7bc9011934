package syncer

import (
	"context"
	"errors"
	"sync"

	"github.com/vcsync/vcsync/wire"
)

// memBudget bounds the bytes of frames a download holds in memory: the
// downloader takes a frame's size before the frame is read (waiting while
// the verifier and the committer still hold earlier ones) and the
// committer gives it back once those blocks are on disk.
type memBudget struct {
	mu       sync.Mutex
	cond     *sync.Cond
	capacity int
	free     int
	closed   bool
	waiting  int // takes waiting for memory
}

var errBudgetClosed = errors.New("the download ended")

func newMemBudget(bytes int) *memBudget {
	b := &memBudget{capacity: bytes, free: bytes}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// take waits until n bytes are free, or the budget is closed. A frame
// larger than the whole budget is taken once nothing else is held, so a
// download never waits for ever.
func (b *memBudget) take(n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.free < n && b.free < b.capacity && !b.closed {
		b.waiting++
		b.cond.Wait()
		b.waiting--
	}
	if b.closed {
		return errBudgetClosed
	}
	b.free -= n
	return nil
}

func (b *memBudget) give(n int) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// starved says a take is waiting for memory: whoever holds some should
// give it back rather than wait for more.
func (b *memBudget) starved() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiting > 0
}

// closeOn closes the budget when ctx ends: a download waiting for memory
// then ends with the run (SIGINT, or the batch's end) whatever it waits
// for. stop undoes it, or waits for the close that already started, so no
// goroutine outlives its caller.
func (b *memBudget) closeOn(ctx context.Context) (stop func()) {
	closed := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(closed)
		b.close()
	})
	return func() {
		if !cancel() {
			<-closed
		}
	}
}

// close wakes a waiting take for good: the download is over.
func (b *memBudget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

// SoftMemoryLimit is what a sync with parallel downloads may hold in
// memory, and what the sync commands give the Go runtime as its soft
// memory limit (unless GOMEMLIMIT says otherwise), so garbage never
// doubles it:
//
//   - maxPrefetchBytes for each prefetch (parallel of them when
//     parallel > 1), the frame being read included;
//   - liveBatchBytes for the live batch, from the read to the commit;
//   - one frame for the block that waits for its parent outside that
//     count, and one for the block carried over from the batch above;
//   - twice liveBatchBytes for the store's copies of the blocks being
//     committed: bbolt writes each value into pages of its own, and when
//     the file outgrows its map it first copies the open transaction's
//     values to the heap (docs/BENCHMARKS.md has the profile);
//   - runtimeAllowance for everything else (the verifier's committees,
//     the store's bookkeeping, buffers, stacks).
func SoftMemoryLimit(parallel int) int64 {
	prefetches := 0
	if parallel > 1 {
		prefetches = parallel
	}
	return int64(prefetches)*maxPrefetchBytes + 3*liveBatchBytes + 2*maxFrame() + runtimeAllowance
}

// MemoryBound is the most a sync holds: the soft limit, plus one frame
// for each download that may be allocating one while the collector runs.
// The runtime enforces its soft limit at allocations but collects
// concurrently, so each of the downloads (the live batch and every
// prefetch) can complete one frame-sized allocation past the limit before
// a cycle frees the garbage: with four peers sending 56 MiB frames the
// peak sat two frames past the limit. Measured against it:
// BenchmarkSyncHugeFrames (docs/BENCHMARKS.md).
func MemoryBound(parallel int) int64 {
	return SoftMemoryLimit(parallel) + int64(downloads(parallel))*maxFrame()
}

// downloads is how many batches may be downloading at once: the live one
// and, when parallel > 1, a prefetch per peer slot.
func downloads(parallel int) int {
	if parallel > 1 {
		return parallel + 1
	}
	return 1
}

func maxFrame() int64 { return int64(wire.FrameLimit(wire.Grant{}, 0)) }

// runtimeAllowance is the soft limit's share for what is not blocks.
const runtimeAllowance = 64 << 20
