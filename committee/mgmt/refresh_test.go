package mgmt

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vcsync/vcsync/committee"
)

const docV1 = `{"CurrentRefTime": 2000, "PageStartRefTime": 1000, "PageEndRefTime": 2000,
  "VirtualChains": {"42": {"VirtualChainId": 42, "GenesisRefTime": 1000, "CommitteeEvents": [
    {"RefTime": 1000, "Committee": [{"EthAddress": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "OrbsAddress": "1111111111111111111111111111111111111111", "Weight": 100}]}]}}}`

// A newer document adds a committee at 3000 and extends the end to 5000.
var docV2 = strings.Replace(strings.Replace(docV1, `"CurrentRefTime": 2000`, `"CurrentRefTime": 5000`, 1),
	`"Weight": 100}]}]`, `"Weight": 100}]}, {"RefTime": 3000, "Committee": [{"EthAddress": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "OrbsAddress": "2222222222222222222222222222222222222222", "Weight": 100}]}]`, 1)

func TestDocLoaderReadsANewerDocument(t *testing.T) {
	var version, fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if version.Load() == 0 {
			w.Write([]byte(docV1))
		} else {
			w.Write([]byte(docV2))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	l, err := LoadDoc(ctx, srv.URL, true, 42, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := l.last
	l.now = func() time.Time { return clock }
	// Past the document's end, with no newer document yet: no committee.
	clock = clock.Add(minRefresh)
	if _, err := l.CommitteeAt(ctx, 3500); !errors.Is(err, committee.ErrNoCommittee) {
		t.Fatalf("past the end of v1: %v", err)
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d fetches: a lookup past the end, a refresh interval after the first read, reads again", fetches.Load())
	}
	// Lookups past the end re-read at most once per minRefresh.
	for i := 0; i < 20; i++ {
		l.CommitteeAt(ctx, 3500)
	}
	if fetches.Load() != 2 {
		t.Fatalf("%d more fetches for 20 lookups inside one refresh interval", fetches.Load()-2)
	}
	// The service publishes a newer document: the next lookup past the end reads it.
	version.Store(1)
	if _, err := l.CommitteeAt(ctx, 3500); !errors.Is(err, committee.ErrNoCommittee) {
		t.Fatalf("read again within the refresh interval: %v", err)
	}
	clock = clock.Add(minRefresh)
	c, err := l.CommitteeAt(ctx, 3500)
	if err != nil || c.RefTime != 3000 {
		t.Fatalf("after the service moved on: %v %v", c, err)
	}
	if err := l.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}
