package ethpos

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// A provider's logs are untrusted: every malformed one is an error, never
// a panic, and never an event.
func TestDecodeLogRefusesMalformedLogs(t *testing.T) {
	junk := []byte{0xde, 0xad, 0xbe, 0xef}
	cases := map[string]types.Log{
		"no topic":               {BlockNumber: 7},
		"unknown topic":          {BlockNumber: 7, Topics: []common.Hash{{1}}},
		"change, no indexed":     {BlockNumber: 7, Topics: []common.Hash{eventCommitteeChange.ID}},
		"change, junk data":      {BlockNumber: 7, Topics: []common.Hash{eventCommitteeChange.ID, {2}}, Data: junk},
		"change, extra topic":    {BlockNumber: 7, Topics: []common.Hash{eventCommitteeChange.ID, {2}, {3}}},
		"guardian, junk data":    {BlockNumber: 7, Topics: []common.Hash{eventGuardianData.ID, {3}}, Data: junk},
		"guardian v1, junk data": {BlockNumber: 7, Topics: []common.Hash{eventGuardianDataV1.ID, {3}}, Data: junk},
		"stake, no indexed":      {BlockNumber: 7, Topics: []common.Hash{eventStakeChanged.ID}},
		"address, junk data":     {BlockNumber: 7, Topics: []common.Hash{eventAddressUpdated.ID}, Data: junk},
	}
	for name, l := range cases {
		if ev, err := decodeLog(l); err == nil {
			t.Errorf("%s: decoded %+v", name, ev)
		}
	}
	// A registry name longer than any real one is refused, not kept.
	data, err := eventAddressUpdated.Inputs.Pack(strings.Repeat("x", maxContractName+1), common.Address{1}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeLog(types.Log{Topics: []common.Hash{eventAddressUpdated.ID}, Data: data}); err == nil {
		t.Error("a 65-byte contract name was accepted")
	}
	// Both GuardianDataUpdated versions decode to the same event.
	v2, _ := eventGuardianData.Inputs.NonIndexed().Pack(true, [4]byte{127, 0, 0, 1}, common.Address{9}, "g", "w", big.NewInt(5))
	v1, _ := eventGuardianDataV1.Inputs.NonIndexed().Pack(true, [4]byte{127, 0, 0, 1}, common.Address{9}, "g", "w")
	guardian := common.BytesToHash(common.Address{8}.Bytes())
	for name, l := range map[string]types.Log{
		"v2": {Topics: []common.Hash{eventGuardianData.ID, guardian}, Data: v2},
		"v1": {Topics: []common.Hash{eventGuardianDataV1.ID, guardian}, Data: v1},
	} {
		ev, err := decodeLog(l)
		if err != nil || ev.Kind != evGuardianData || ev.Guardian != (common.Address{8}) || ev.Node != (common.Address{9}) || !ev.Registered {
			t.Errorf("%s: %+v, %v", name, ev, err)
		}
	}
}

// A cached index is untrusted: one that lacks the timestamp of a block
// whose CommitteeChange it holds cannot be replayed, and is refused (the
// caller rebuilds it) rather than read with a made-up time.
func TestIndexWithoutATimestampItNeedsIsRefused(t *testing.T) {
	committee, registry := common.Address{1}, common.Address{2}
	s := NewEthSource(nil, EthConfig{Committee: committee, Registry: registry})
	ev := posEvent{Block: 7, Emitter: committee, Kind: evChange, Guardian: common.Address{3}, Weight: big.NewInt(5), In: true}
	ix := &ethIndex{From: 1, To: 9, Events: []posEvent{ev}, Times: map[uint64]uint64{}}
	if err := s.use(ix); err == nil || !strings.Contains(err.Error(), "no timestamp for Ethereum block 7") {
		t.Fatalf("an index missing a needed timestamp: %v", err)
	}
	ix.Times[7] = 1_700_000_000
	if err := s.use(ix); err != nil || len(s.entries) != 1 || s.entries[0].Time != 1_700_000_000 {
		t.Fatalf("the whole index: %v, %+v", err, s.entries)
	}
}

// The contracts do not record the genesis reference time: without one, the
// source says so (the command line names the flag that gives it).
func TestGenesisRefTimeMustBeGiven(t *testing.T) {
	s := NewEthSource(nil, EthConfig{Committee: common.Address{1}, Registry: common.Address{2}})
	if _, err := s.GenesisRefTime(context.Background()); !errors.Is(err, ErrNoGenesisRefTime) {
		t.Fatalf("no genesis reference time: %v", err)
	}
	s = NewEthSource(nil, EthConfig{Committee: common.Address{1}, Registry: common.Address{2}, GenesisRefTime: 1600000000})
	if got, err := s.GenesisRefTime(context.Background()); err != nil || got != 1600000000 {
		t.Fatalf("given 1600000000: %d %v", got, err)
	}
}
