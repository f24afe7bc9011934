package verify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/verify"
)

const docJSON = `{
  "CurrentRefTime": 5000, "PageStartRefTime": 1000, "PageEndRefTime": 5000,
  "VirtualChains": {"42": {"VirtualChainId": 42, "GenesisRefTime": 1000,
    "CommitteeEvents": [
      {"RefTime": 1000, "Committee": [
        {"EthAddress": "cccccccccccccccccccccccccccccccccccccccc", "OrbsAddress": "0x3333333333333333333333333333333333333333", "Weight": 300},
        {"EthAddress": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "OrbsAddress": "1111111111111111111111111111111111111111", "Weight": 100},
        {"EthAddress": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "OrbsAddress": "2222222222222222222222222222222222222222", "Weight": 200}]},
      {"RefTime": 3000, "Committee": [
        {"EthAddress": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "OrbsAddress": "1111111111111111111111111111111111111111", "Weight": 500}]}
    ]}}}`

func parseDoc(t *testing.T, s string) *verify.ManagementDoc {
	t.Helper()
	var d verify.ManagementDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestDocLookupKeepsEachMembersWeight(t *testing.T) {
	src, err := verify.NewDocSource(parseDoc(t, docJSON), 42)
	if err != nil {
		t.Fatal(err)
	}
	c, err := src.CommitteeAt(ctx, 2999)
	if err != nil {
		t.Fatal(err)
	}
	// Addresses are not sorted in the document; each keeps its own weight.
	for addr, w := range map[string]int64{"0x3333333333333333333333333333333333333333": 300, "0x1111111111111111111111111111111111111111": 100, "0x2222222222222222222222222222222222222222": 200} {
		m, ok := c.Lookup(common.HexToAddress(addr))
		if !ok || m.Weight.Int64() != w {
			t.Fatalf("member %s weight %v, want %d", addr, m.Weight, w)
		}
	}
	if c2, _ := src.CommitteeAt(ctx, 3000); c2.RefTime != 3000 || len(c2.Members) != 1 {
		t.Fatalf("committee at 3000: %+v", c2)
	}
	if cur, _ := src.Current(ctx); cur.RefTime != 3000 {
		t.Fatalf("current committee from ref time %d", cur.RefTime)
	}
	if _, err := src.CommitteeAt(ctx, 999); err == nil || !strings.Contains(err.Error(), "before the first committee event") {
		t.Fatalf("lookup before the first event: %v", err)
	}
	if _, err := src.CommitteeAt(ctx, 5001); err == nil || !strings.Contains(err.Error(), "past the management document's end 5000") {
		t.Fatalf("lookup past the end: %v", err)
	}
}

func TestDocValidation(t *testing.T) {
	cases := map[string]struct{ from, to, want string }{
		"weight zero":     {`"Weight": 200`, `"Weight": 0`, "weights must be positive"},
		"duplicate":       {`"OrbsAddress": "2222222222222222222222222222222222222222"`, `"OrbsAddress": "1111111111111111111111111111111111111111"`, "appears twice"},
		"out of order":    {`"RefTime": 3000`, `"RefTime": 900`, "out of order"},
		"past the end":    {`"PageEndRefTime": 5000`, `"PageEndRefTime": 2000`, "past the document's end"},
		"bad address":     {`"OrbsAddress": "1111111111111111111111111111111111111111", "Weight": 100`, `"OrbsAddress": "11zz", "Weight": 100`, "not 20 bytes of hex"},
		"unknown chainid": {`"42": {"VirtualChainId": 42`, `"43": {"VirtualChainId": 43`, "no virtual chain 42 (it has 43)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := strings.Replace(docJSON, tc.from, tc.to, 1)
			if s == docJSON {
				t.Fatal("test edit did not apply")
			}
			var d verify.ManagementDoc
			err := json.Unmarshal([]byte(s), &d)
			if err == nil {
				_, err = verify.NewDocSource(&d, 42)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadDocFromFileAndHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	os.WriteFile(path, []byte(docJSON), 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/vchains/42/management" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(docJSON))
	}))
	defer srv.Close()

	for _, loc := range []string{path, srv.URL + "/vchains/42/management"} {
		d, err := verify.ReadManagementDoc(context.Background(), loc, true)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if d.CurrentRefTime != 5000 {
			t.Fatalf("%s: CurrentRefTime %d", loc, d.CurrentRefTime)
		}
	}
	if _, err := verify.ReadManagementDoc(context.Background(), srv.URL+"/nope", true); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("HTTP 404: %v", err)
	}
	if _, err := verify.ReadManagementDoc(context.Background(), srv.URL+"/vchains/42/management", false); err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Fatalf("URL as committee file: %v", err)
	}
}
