package mgmt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/committee"
	"github.com/vcsync/vcsync/committee/mgmt"
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

var ctx = context.Background()

func parseDoc(t *testing.T, s string) *mgmt.ManagementDoc {
	t.Helper()
	var d mgmt.ManagementDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestDocLookupKeepsEachMembersWeight(t *testing.T) {
	src, err := mgmt.NewDocSource(parseDoc(t, docJSON), 42)
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
		"bad address":     {`"OrbsAddress": "1111111111111111111111111111111111111111", "Weight": 100`, `"OrbsAddress": "11zz", "Weight": 100`, "not 20 bytes of hex"},
		"unknown chainid": {`"42": {"VirtualChainId": 42`, `"43": {"VirtualChainId": 43`, "no virtual chain 42 (it has 43)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := strings.Replace(docJSON, tc.from, tc.to, 1)
			if s == docJSON {
				t.Fatal("test edit did not apply")
			}
			var d mgmt.ManagementDoc
			err := json.Unmarshal([]byte(s), &d)
			if err == nil {
				_, err = mgmt.NewDocSource(&d, 42)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// The management service's own rules: entries after CurrentRefTime are not
// final, a page may hold entries outside its start and end, of two entries
// with the same ref time only the first counts, and a member with no node
// address cannot sign.
func TestDocFollowsTheServiceRules(t *testing.T) {
	ctx := context.Background()
	doc := strings.Replace(docJSON, `"CurrentRefTime": 5000, "PageStartRefTime": 1000, "PageEndRefTime": 5000`,
		`"CurrentRefTime": 2000, "PageStartRefTime": 1500, "PageEndRefTime": 1800`, 1)
	src, err := mgmt.NewDocSource(parseDoc(t, doc), 42)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := src.CommitteeAt(ctx, 1999); err != nil || len(c.Members) != 3 {
		t.Fatalf("the event at 1000, before the page's start, counts: %v %v", c, err)
	}
	if _, err := src.CommitteeAt(ctx, 2001); !errors.Is(err, committee.ErrNoCommittee) {
		t.Fatalf("past CurrentRefTime: %v", err)
	}
	if len(src.Warnings) != 1 || !strings.Contains(src.Warnings[0], "not final") {
		t.Fatalf("warnings %q", src.Warnings)
	}

	doc = strings.Replace(docJSON, `{"RefTime": 3000`, `{"RefTime": 1000`, 1)
	doc = strings.Replace(doc, `"OrbsAddress": "2222222222222222222222222222222222222222", `, ``, 1)
	src, err = mgmt.NewDocSource(parseDoc(t, doc), 42)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := src.CommitteeAt(ctx, 4000)
	if len(c.Members) != 2 || c.TotalWeight().Int64() != 400 {
		t.Fatalf("the first entry at 1000 counts, without the member that has no node address: %+v", c.Members)
	}
	if len(src.Warnings) != 2 {
		t.Fatalf("warnings %q", src.Warnings)
	}
	var d mgmt.ManagementDoc
	if err := json.Unmarshal([]byte(`{}`), &d); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.NewDocSource(&d, 42); err == nil || !strings.Contains(err.Error(), "lists no virtual chains") {
		t.Fatalf("an empty document: %v", err)
	}
	if _, err := mgmt.ParseManagementDoc(strings.NewReader(docJSON + `{"more": 1}`)); err == nil || !strings.Contains(err.Error(), "trailing data") {
		t.Fatalf("trailing data: %v", err)
	}
}

func TestReadDocFromFileAndHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	os.WriteFile(path, []byte(docJSON), 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/html" { // a web server's own 404 page
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n" + strings.Repeat("<p>The requested URL was not found on this server.</p>\n", 20) + "</body></html>"))
			return
		}
		if r.URL.Path != "/vchains/42/management" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(docJSON))
	}))
	defer srv.Close()

	for _, loc := range []string{path, srv.URL + "/vchains/42/management"} {
		d, err := mgmt.ReadManagementDoc(context.Background(), loc, true)
		if err != nil {
			t.Fatalf("%s: %v", loc, err)
		}
		if d.CurrentRefTime != 5000 {
			t.Fatalf("%s: CurrentRefTime %d", loc, d.CurrentRefTime)
		}
	}
	if _, err := mgmt.ReadManagementDoc(context.Background(), srv.URL+"/nope", true); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("HTTP 404: %v", err)
	}
	// An HTML error page is named and cut short, on one line.
	_, err := mgmt.ReadManagementDoc(context.Background(), srv.URL+"/html", true)
	if err == nil || !strings.Contains(err.Error(), `HTTP 404 Not Found (an HTML page: "404 Not Found Not Found The requested URL`) ||
		strings.Contains(err.Error(), "<") || strings.Contains(err.Error(), "\n") || len(err.Error()) > 250 {
		t.Fatalf("HTML 404: %v", err)
	}
	// Only http(s) and files: ftp:// is not read as a path.
	if _, err := mgmt.ReadManagementDoc(context.Background(), "ftp://example.com/m.json", true); err == nil || !strings.Contains(err.Error(), "ftp:// is not supported") {
		t.Fatalf("ftp: %v", err)
	}
	if d, err := mgmt.ReadManagementDoc(context.Background(), "file://"+path, false); err != nil || d.CurrentRefTime != 5000 {
		t.Fatalf("file://: %v", err)
	}
	if _, err := mgmt.ReadManagementDoc(context.Background(), srv.URL+"/vchains/42/management", false); err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Fatalf("URL as committee file: %v", err)
	}
}
