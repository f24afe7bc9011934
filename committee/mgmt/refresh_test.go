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
	defer func(d time.Duration) { minRefresh = d }(minRefresh)
	minRefresh = 50 * time.Millisecond
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
	// Past the document's end, with no newer document yet: no committee.
	time.Sleep(60 * time.Millisecond)
	if _, err := l.CommitteeAt(ctx, 3500); !errors.Is(err, committee.ErrNoCommittee) {
		t.Fatalf("past the end of v1: %v", err)
	}
	// Lookups past the end re-read at most once per minRefresh.
	before := fetches.Load()
	for i := 0; i < 20; i++ {
		l.CommitteeAt(ctx, 3500)
	}
	if fetches.Load()-before > 1 {
		t.Fatalf("%d fetches for 20 lookups inside one refresh interval", fetches.Load()-before)
	}
	// The service publishes a newer document: the next lookup past the end reads it.
	version.Store(1)
	time.Sleep(60 * time.Millisecond)
	c, err := l.CommitteeAt(ctx, 3500)
	if err != nil || c.RefTime != 3000 {
		t.Fatalf("after the service moved on: %v %v", c, err)
	}
	if err := l.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}
