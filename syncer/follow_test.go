package syncer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vcsync/vcsync/committee"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/syncer"
)

func TestFollowSyncsAgainWhenStale(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 400)
	s := f.emptyStore(t)
	// The test ends the run itself after three rounds, so a slow machine
	// (or the race detector) changes how long it takes, never what it sees.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var rounds []uint64
	var waits []float64
	cfg := syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{f.serve(t, nil, nil)}}
	start := time.Now()
	err := syncer.Follow(ctx, cfg, 100*time.Millisecond, func(r syncer.Result, err error) {
		if err != nil {
			t.Errorf("round: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		rounds, waits = append(rounds, r.Blocks), append(waits, r.NextRoundSeconds)
		if len(rounds) == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The first round syncs everything, later ones find nothing new (the
	// third round's report cancels the run, so there is no fourth); each
	// successful round schedules the next stale-after later, and two such
	// waits did pass (a lower bound: a slow machine only makes it longer).
	if fmt.Sprint(rounds) != "[400 0 0]" || fmt.Sprint(waits) != "[0.1 0.1 0.1]" {
		t.Fatalf("rounds %v, next rounds after %v s", rounds, waits)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("three rounds in %v: follow did not wait stale-after between them", time.Since(start))
	}
	if err := s.Acquire(); err != nil { // released since its last round
		t.Fatal(err)
	}
	f.mustBeSynced(t, s)
}

// Between rounds the follower releases the store: a reader (an operator's
// inspect) opens it while the follower idles, and the next round takes it back.
func TestFollowReleasesTheStoreBetweenRounds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300)
	s := f.emptyStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{f.serve(t, nil, nil)}}
	done := make(chan error, 1)
	go func() { done <- syncer.Follow(ctx, cfg, time.Hour, func(syncer.Result, error) {}) }()
	var reader *store.Store
	for deadline := time.Now().Add(30 * time.Second); reader == nil; {
		r, err := store.Open(s.Path(), store.Options{ReadOnly: true, LockTimeout: time.Millisecond})
		switch {
		case err == nil:
			reader = r
		case !errors.Is(err, store.ErrLocked) && !errors.Is(err, store.ErrNotExist):
			t.Fatal(err)
		case time.Now().After(deadline):
			t.Fatal("the store was never released while following")
		default:
			time.Sleep(5 * time.Millisecond)
		}
	}
	st, err := reader.State()
	reader.Close()
	if err != nil || st.Top != 300 || st.InOrder != 300 {
		t.Fatalf("a reader beside the idle follower: %+v %v", st, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// refreshCounter is a committee source that counts Refresh calls.
type refreshCounter struct {
	committee.Source
	refreshes atomic.Int32
}

func (r *refreshCounter) Refresh(context.Context) error {
	r.refreshes.Add(1)
	return nil
}

func TestFollowRefreshesTheCommitteeSource(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 100)
	s := f.emptyStore(t)
	v := f.verifier(t)
	src := &refreshCounter{Source: v.Source}
	v.Source = src
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rounds := 0
	cfg := syncer.Config{Store: s, Verifier: v, Peers: []peerclient.Peer{f.serve(t, nil, nil)}}
	syncer.Follow(ctx, cfg, 20*time.Millisecond, func(syncer.Result, error) {
		if rounds++; rounds == 3 {
			cancel()
		}
	})
	if got := src.refreshes.Load(); got != 2 {
		t.Fatalf("%d refreshes over 3 rounds, want one before each round after the first", got)
	}
}

// Failed rounds back off: each says when the next one starts, and the
// wait doubles (with jitter under half again) while the rounds fail.
func TestFollowBacksOffWhileRoundsFail(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 50)
	s := f.emptyStore(t)
	dead := peerclient.NewHTTP("http://127.0.0.1:1", peerclient.Options{})
	cfg := syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{dead}, CollectTimeout: 50 * time.Millisecond,
		Rand: rand.New(rand.NewSource(1))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []float64
	syncer.Follow(ctx, cfg, 50*time.Millisecond, func(r syncer.Result, err error) {
		if err == nil {
			t.Error("a round against a dead peer succeeded")
		}
		if waits = append(waits, r.NextRoundSeconds); len(waits) == 4 {
			cancel()
		}
	})
	for i, w := range waits {
		base := 0.05 * float64(int(1)<<i)
		if w < base || w > base*1.5 {
			t.Fatalf("round %d: next round in %vs, want %v to %v (waits %v)", i+1, w, base, base*1.5, waits)
		}
	}
}
