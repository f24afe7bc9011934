// Package pos holds the ABI of each event vcsync reads from the Orbs PoS V2
// contracts, per contract version, as the real contracts' compiler output
// has them (events.json, made by testdata/orbs-v2/build.sh from
// orbs-network/orbs-ethereum-contracts-v2). It knows no rule about them.
package pos

import (
	_ "embed"
	"encoding/json"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
)

//go:embed events.json
var eventsJSON []byte

// Events is each contract version's events by name: "Committee",
// "Elections", "GuardiansRegistration", "GuardiansRegistrationV1" (mainnet's
// first registration contract, whose GuardianDataUpdated has no
// registrationTime) and "ContractRegistry".
var Events = mustParse(eventsJSON)

func mustParse(data []byte) map[string]abi.ABI {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		panic(err) // compiled in
	}
	out := make(map[string]abi.ABI, len(raw))
	for name, events := range raw {
		parsed, err := abi.JSON(strings.NewReader(string(events)))
		if err != nil {
			panic(err)
		}
		out[name] = parsed
	}
	return out
}
