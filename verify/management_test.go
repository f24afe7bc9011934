package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
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

// The management service's own rules: entries after CurrentRefTime are not
// final, a page may hold entries outside its start and end, of two entries
// with the same ref time only the first counts, and a member with no node
// address cannot sign.
func TestDocFollowsTheServiceRules(t *testing.T) {
	ctx := context.Background()
	doc := strings.Replace(docJSON, `"CurrentRefTime": 5000, "PageStartRefTime": 1000, "PageEndRefTime": 5000`,
		`"CurrentRefTime": 2000, "PageStartRefTime": 1500, "PageEndRefTime": 1800`, 1)
	src, err := verify.NewDocSource(parseDoc(t, doc), 42)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := src.CommitteeAt(ctx, 1999); err != nil || len(c.Members) != 3 {
		t.Fatalf("the event at 1000, before the page's start, counts: %v %v", c, err)
	}
	if _, err := src.CommitteeAt(ctx, 2001); !errors.Is(err, verify.ErrNoCommittee) {
		t.Fatalf("past CurrentRefTime: %v", err)
	}
	if len(src.Warnings) != 1 || !strings.Contains(src.Warnings[0], "not final") {
		t.Fatalf("warnings %q", src.Warnings)
	}

	doc = strings.Replace(docJSON, `{"RefTime": 3000`, `{"RefTime": 1000`, 1)
	doc = strings.Replace(doc, `"OrbsAddress": "2222222222222222222222222222222222222222", `, ``, 1)
	src, err = verify.NewDocSource(parseDoc(t, doc), 42)
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
	var d verify.ManagementDoc
	if err := json.Unmarshal([]byte(`{}`), &d); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.NewDocSource(&d, 42); err == nil || !strings.Contains(err.Error(), "lists no virtual chains") {
		t.Fatalf("an empty document: %v", err)
	}
	if _, err := verify.ParseManagementDoc(strings.NewReader(docJSON + `{"more": 1}`)); err == nil || !strings.Contains(err.Error(), "trailing data") {
		t.Fatalf("trailing data: %v", err)
	}
}

// The weights are the management service's, case for case, on both sides
// of its rule change and at every rounding half: testdata/weights/golden.json
// was computed by JavaScript itself (testdata/weights/gen.js).
func TestAdjustWeightsMatchesTheManagementService(t *testing.T) {
	data, err := os.ReadFile("../testdata/weights/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		ChangeTime uint64 `json:"change_time"`
		Cases      []struct {
			Name    string   `json:"name"`
			Time    uint64   `json:"time"`
			Stakes  []string `json:"stakes"`
			Weights []string `json:"weights"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	if golden.ChangeTime != verify.WeightRuleChangeTime || len(golden.Cases) < 300 {
		t.Fatalf("golden file: change time %d, %d cases", golden.ChangeTime, len(golden.Cases))
	}
	for _, c := range golden.Cases {
		raw := make([]*big.Int, len(c.Stakes))
		for i, s := range c.Stakes {
			raw[i], _ = new(big.Int).SetString(s, 10)
		}
		if got := fmt.Sprint(verify.AdjustWeights(raw, c.Time)); got != fmt.Sprint(c.Weights) {
			t.Fatalf("%s (time %d): %s, the service computed %v", c.Name, c.Time, got, c.Weights)
		}
	}
}

// The rule change moves quorum: the same stakes give other weights, and a
// set of signers reaching quorum under one rule may not under the other.
func TestWeightRuleChangeMovesQuorum(t *testing.T) {
	orbs := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	raw := []*big.Int{new(big.Int).Mul(big.NewInt(10), orbs), new(big.Int).Mul(big.NewInt(20), orbs),
		new(big.Int).Add(new(big.Int).Mul(big.NewInt(300), orbs), big.NewInt(999))}
	// Whole ORBS 10, 20, 300: total 330; before, at least round(330/3) = 110;
	// after, at least round(330/2) = 165.
	before := verify.AdjustWeights(raw, verify.WeightRuleChangeTime-1)
	after := verify.AdjustWeights(raw, verify.WeightRuleChangeTime)
	if fmt.Sprint(before) != "[110 110 300]" || fmt.Sprint(after) != "[165 165 300]" {
		t.Fatalf("before %v, after %v", before, after)
	}
	quorum := func(ws []*big.Int) int64 {
		members := make([]verify.Member, len(ws))
		for i, w := range ws {
			members[i] = verify.Member{NodeAddress: common.BigToAddress(big.NewInt(int64(i + 1))), Weight: w}
		}
		c, _ := verify.NewCommittee(1, members)
		return c.QuorumWeight().Int64()
	}
	// 520 total: quorum 347, which 300 + 110 = 410 reaches; 630 total:
	// quorum 421, which 300 + 165 = 465 reaches and 300 alone never does.
	if quorum(before) != 347 || quorum(after) != 421 {
		t.Fatalf("quorum %d before, %d after", quorum(before), quorum(after))
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
	// An HTML error page is named and cut short, on one line.
	_, err := verify.ReadManagementDoc(context.Background(), srv.URL+"/html", true)
	if err == nil || !strings.Contains(err.Error(), `HTTP 404 Not Found (an HTML page: "404 Not Found Not Found The requested URL`) ||
		strings.Contains(err.Error(), "<") || strings.Contains(err.Error(), "\n") || len(err.Error()) > 250 {
		t.Fatalf("HTML 404: %v", err)
	}
	// Only http(s) and files: ftp:// is not read as a path.
	if _, err := verify.ReadManagementDoc(context.Background(), "ftp://example.com/m.json", true); err == nil || !strings.Contains(err.Error(), "ftp:// is not supported") {
		t.Fatalf("ftp: %v", err)
	}
	if d, err := verify.ReadManagementDoc(context.Background(), "file://"+path, false); err != nil || d.CurrentRefTime != 5000 {
		t.Fatalf("file://: %v", err)
	}
	if _, err := verify.ReadManagementDoc(context.Background(), srv.URL+"/vchains/42/management", false); err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Fatalf("URL as committee file: %v", err)
	}
}
