package committee_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/committee"
)

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
	if golden.ChangeTime != committee.WeightRuleChangeTime || len(golden.Cases) < 300 {
		t.Fatalf("golden file: change time %d, %d cases", golden.ChangeTime, len(golden.Cases))
	}
	for _, c := range golden.Cases {
		raw := make([]*big.Int, len(c.Stakes))
		for i, s := range c.Stakes {
			raw[i], _ = new(big.Int).SetString(s, 10)
		}
		if got := fmt.Sprint(committee.AdjustWeights(raw, c.Time)); got != fmt.Sprint(c.Weights) {
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
	before := committee.AdjustWeights(raw, committee.WeightRuleChangeTime-1)
	after := committee.AdjustWeights(raw, committee.WeightRuleChangeTime)
	if fmt.Sprint(before) != "[110 110 300]" || fmt.Sprint(after) != "[165 165 300]" {
		t.Fatalf("before %v, after %v", before, after)
	}
	quorum := func(ws []*big.Int) int64 {
		members := make([]committee.Member, len(ws))
		for i, w := range ws {
			members[i] = committee.Member{NodeAddress: common.BigToAddress(big.NewInt(int64(i + 1))), Weight: w}
		}
		c, _ := committee.NewCommittee(1, members)
		return c.QuorumWeight().Int64()
	}
	// 520 total: quorum 347, which 300 + 110 = 410 reaches; 630 total:
	// quorum 421, which 300 + 165 = 465 reaches and 300 alone never does.
	if quorum(before) != 347 || quorum(after) != 421 {
		t.Fatalf("quorum %d before, %d after", quorum(before), quorum(after))
	}
}
