package syncer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/syncer"
)

func TestFollowSyncsAgainWhenStale(t *testing.T) {
	f := newFixture(t, 400)
	s := f.emptyStore(t)
	// The test ends the run itself after three rounds, so a slow machine
	// (or the race detector) changes how long it takes, never what it sees.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var rounds []uint64
	cfg := syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{f.serve(t, nil, nil)}}
	start := time.Now()
	err := syncer.Follow(ctx, cfg, 100*time.Millisecond, func(r syncer.Result, err error) {
		if err != nil {
			t.Errorf("round: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		rounds = append(rounds, r.Blocks)
		if len(rounds) == 3 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The first round syncs everything, later ones find nothing new; rounds
	// are at least stale-after apart.
	if fmt.Sprint(rounds) != "[400 0 0]" && fmt.Sprint(rounds) != "[400 0 0 0]" {
		t.Fatalf("rounds %v", rounds)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("three rounds in %v: follow did not wait stale-after between them", time.Since(start))
	}
	f.mustBeSynced(t, s)
}
