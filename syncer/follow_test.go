package syncer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vcsync/vcsync/peerclient"
	"github.com/vcsync/vcsync/syncer"
)

func TestFollowSyncsAgainWhenStale(t *testing.T) {
	f := newFixture(t, 400)
	s := f.emptyStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var mu sync.Mutex
	var rounds []uint64
	cfg := syncer.Config{Store: s, Verifier: f.verifier(t), Peers: []peerclient.Peer{f.serve(t, nil, nil)}}
	err := syncer.Follow(ctx, cfg, 400*time.Millisecond, func(r syncer.Result, err error) {
		if err != nil {
			t.Errorf("round: %v", err)
		}
		mu.Lock()
		rounds = append(rounds, r.Blocks)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	// The first round syncs everything, later rounds (every 400ms) find nothing new.
	if len(rounds) < 3 || len(rounds) > 5 || rounds[0] != 400 || rounds[1] != 0 {
		t.Fatalf("rounds %v", rounds)
	}
	f.mustBeSynced(t, s)
}
