package verify

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// A provider's logs are untrusted: every malformed one is an error, never
// a panic, and never an event.
func TestDecodeLogRefusesMalformedLogs(t *testing.T) {
	junk := []byte{0xde, 0xad, 0xbe, 0xef}
	cases := map[string]types.Log{
		"no topic":             {BlockNumber: 7},
		"unknown topic":        {BlockNumber: 7, Topics: []common.Hash{{1}}},
		"snapshot, junk data":  {BlockNumber: 7, Topics: []common.Hash{topicCommitteeSnapshot}, Data: junk},
		"change, no indexed":   {BlockNumber: 7, Topics: []common.Hash{topicCommitteeChange}},
		"change, junk data":    {BlockNumber: 7, Topics: []common.Hash{topicCommitteeChange, {2}}, Data: junk},
		"guardian, junk data":  {BlockNumber: 7, Topics: []common.Hash{topicGuardianData, {3}}, Data: junk},
		"unregister, no topic": {BlockNumber: 7, Topics: []common.Hash{topicGuardianLeave}},
	}
	for name, l := range cases {
		if ev, err := decodeLog(l); err == nil {
			t.Errorf("%s: decoded %+v", name, ev)
		}
	}
	// Arrays of different lengths in a snapshot are refused too.
	data, err := committeeABI.Events["CommitteeSnapshot"].Inputs.Pack(
		[]common.Address{{1}, {2}}, []*big.Int{big.NewInt(1)}, []bool{true, true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeLog(types.Log{Topics: []common.Hash{topicCommitteeSnapshot}, Data: data}); err == nil {
		t.Error("a snapshot with 2 addresses and 1 weight was accepted")
	}
}
