package syncer

import (
	"testing"
	"time"

	"github.com/vcsync/vcsync/block"
)

// Runs queued behind a slow commit are written as one descending run, and
// gathering them never writes into the chunk a run was cut from (its tail
// may be blocks still waiting for their parent).
func TestGatherQueuedJoinsWaitingRuns(t *testing.T) {
	t.Parallel()
	mk := func(hs ...uint64) []*block.Block {
		var out []*block.Block
		for _, h := range hs {
			out = append(out, &block.Block{Header: block.Header{Height: h}})
		}
		return out
	}
	seg := mk(10, 9, 8, 7)
	first := commitJob{blocks: seg[:2], bytes: 20}
	jobs := make(chan commitJob, 3)
	jobs <- commitJob{blocks: mk(8, 7), bytes: 20}
	jobs <- commitJob{blocks: mk(6), bytes: 10}
	got := gatherQueued(first, jobs, gathering{})
	var hs []uint64
	for _, b := range got.blocks {
		hs = append(hs, b.Height())
	}
	if len(hs) != 5 || hs[0] != 10 || hs[4] != 6 || got.bytes != 50 {
		t.Fatalf("gathered heights %v, %d bytes; want 10..6, 50 bytes", hs, got.bytes)
	}
	if seg[2] == got.blocks[2] {
		t.Fatal("gathering wrote into the chunk the first run was cut from")
	}
	if len(jobs) != 0 {
		t.Fatalf("%d runs left queued", len(jobs))
	}
	close(jobs)
	if got := gatherQueued(commitJob{blocks: mk(5)}, jobs, gathering{}); len(got.blocks) != 1 {
		t.Fatalf("a closed queue added %d blocks", len(got.blocks)-1)
	}
}

// A commit gathers runs until it holds enough bytes, but never past its
// time bound, and not while the download waits for the memory it holds.
func TestGatheringStopsAtSizeTimeOrStarvation(t *testing.T) {
	t.Parallel()
	one := func(h uint64) commitJob {
		return commitJob{blocks: []*block.Block{{Header: block.Header{Height: h}}}, bytes: 10}
	}
	jobs := make(chan commitJob, 10)
	for h := uint64(9); h >= 5; h-- {
		jobs <- one(h)
	}
	// Enough after three runs (30 bytes): the rest already queued join too.
	if got := gatherQueued(one(10), jobs, gathering{least: 30, within: time.Minute}); len(got.blocks) != 6 {
		t.Fatalf("gathered %d runs, want all 6 queued", len(got.blocks))
	}
	// Not enough and nothing comes: the time bound ends the wait.
	start := time.Now()
	if got := gatherQueued(one(4), jobs, gathering{least: 1000, within: 50 * time.Millisecond}); len(got.blocks) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("gathered %d after %s", len(got.blocks), time.Since(start))
	}
	// The download is starved: write at once.
	start = time.Now()
	if got := gatherQueued(one(3), jobs, gathering{least: 1000, within: time.Minute, starved: func() bool { return true }}); len(got.blocks) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("a starved download waited %s", time.Since(start))
	}
}
