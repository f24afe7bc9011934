package metrics

import (
	"testing"
)

type fakeEth struct{}

func (fakeEth) Calls() map[string]int64 {
	return map[string]int64{"eth_getLogs": 7, "eth_blockNumber": 2}
}
func (fakeEth) Retries() int64            { return 3 }
func (fakeEth) Indexed() (uint64, string) { return 1234, "rebuilt: block 99 is no longer 0xab" }

// The Ethereum source's figures are read at each scrape, with a fixed
// label set (the cache's outcome without its reason).
func TestEthereumFigures(t *testing.T) {
	r := New("test")
	r.WatchEthereum(fakeEth{})
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.Metric {
			key := f.GetName()
			for _, l := range m.Label {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[key] = m.Gauge.GetValue()
			}
		}
	}
	for key, want := range map[string]float64{
		"vcsync_eth_rpc_calls_total{method=eth_getLogs}": 7, "vcsync_eth_rpc_calls_total{method=eth_blockNumber}": 2,
		"vcsync_eth_rpc_retries_total": 3, "vcsync_eth_index_block": 1234, "vcsync_eth_cache_info{outcome=rebuilt}": 1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}
