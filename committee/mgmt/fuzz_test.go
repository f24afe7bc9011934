package mgmt

import (
	"bytes"
	"testing"
)

// FuzzManagementDoc: whatever a management service or committee file
// holds, parsing and indexing it gives committees or an error, never a
// panic; a source it accepts answers lookups.
func FuzzManagementDoc(f *testing.F) {
	f.Add([]byte(`{"CurrentRefTime":200,"PageStartRefTime":1,"PageEndRefTime":200,"VirtualChains":{"42":{"VirtualChainId":42,"GenesisRefTime":100,
"CommitteeEvents":[{"RefTime":100,"Committee":[{"EthAddress":"0x00000000000000000000000000000000000000aa","OrbsAddress":"00000000000000000000000000000000000000bb","Weight":10}]}]}}}`))
	f.Add([]byte(`{"VirtualChains":{"42":{"CommitteeEvents":[{"RefTime":5,"Committee":[]}]}}}`))
	f.Add([]byte(`{"VirtualChains":{"42":null}}`))
	f.Add([]byte(`{} trailing`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseManagementDoc(bytes.NewReader(data))
		if err != nil {
			return
		}
		src, err := NewDocSource(doc, 42)
		if err != nil {
			return
		}
		for _, at := range []uint32{0, 100, 150, 1 << 31} {
			if c, err := src.CommitteeAt(t.Context(), at); err == nil && c.TotalWeight().Sign() <= 0 {
				t.Fatalf("committee at %d has no weight", at)
			}
		}
		src.Current(t.Context())
	})
}
