package syncer

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A take waits for what it needs to be given back, a frame larger than
// the whole budget is taken once nothing else is held, and close wakes a
// waiting take with an error instead of leaving it blocked.
func TestMemBudget(t *testing.T) {
	t.Parallel()
	b := newMemBudget(100)
	if err := b.take(60); err != nil {
		t.Fatal(err)
	}
	took := make(chan error, 1)
	go func() { took <- b.take(60) }()
	stillWaiting(t, took, "took 60 of 40 free bytes")
	b.give(60)
	if err := <-took; err != nil {
		t.Fatalf("after the give: %v", err)
	}
	b.give(60)

	if err := b.take(250); err != nil { // larger than the budget, nothing held
		t.Fatalf("an oversized frame with nothing held: %v", err)
	}
	go func() { took <- b.take(1) }()
	stillWaiting(t, took, "took a byte while an oversized frame was held")
	b.close()
	if err := <-took; !errors.Is(err, errBudgetClosed) {
		t.Fatalf("a waiting take after close: %v", err)
	}
}

// A download waiting for memory ends when the run's context does, even if
// nothing would ever give the memory back.
func TestMemBudgetClosesWithItsContext(t *testing.T) {
	t.Parallel()
	b := newMemBudget(100)
	ctx, cancel := context.WithCancel(context.Background())
	defer b.closeOn(ctx)()
	if err := b.take(100); err != nil {
		t.Fatal(err)
	}
	took := make(chan error, 1)
	go func() { took <- b.take(1) }()
	stillWaiting(t, took, "took a byte of none free")
	cancel()
	select {
	case err := <-took:
		if !errors.Is(err, errBudgetClosed) {
			t.Fatalf("after the context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a take waiting for memory outlived its context")
	}
}

// stillWaiting fails the test if the take behind took returns within 20 ms:
// it must be waiting for memory to be given back.
func stillWaiting(t *testing.T, took <-chan error, what string) {
	t.Helper()
	select {
	case err := <-took:
		t.Fatalf("%s: %v", what, err)
	case <-time.After(20 * time.Millisecond):
	}
}
