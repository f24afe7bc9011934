package commands

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/vcsync/vcsync/committee/ethpos"
	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/internal/ethtest"
	"github.com/vcsync/vcsync/internal/testio"
)

// The command line against a simulated Ethereum chain served over HTTP
// JSON-RPC on 127.0.0.1 (internal/ethtest): the committee source's flags,
// its JSON, and sync --follow reading committees from the contracts.

// committee --at reads the contracts' history: a guardian's node key
// before and after it rotated, with the two contract flags or through the
// ContractRegistry.
func TestCommitteeReadsTheContracts(t *testing.T) {
	t.Parallel()
	rc := ethtest.NewRotationChain(t, ethpos.DefaultConfirmations)
	proxy := ethtest.Serve(t, rc.PC)
	for _, tc := range []struct {
		at   uint32
		keys []*ecdsa.PrivateKey
	}{{rc.RotateAt - 1, rc.Before}, {rc.RotateAt + 10, rc.After}} {
		out := mustRun(t, "committee", "--chain-id", "42", "--eth-rpc", proxy.URL, "--eth-rps", "1000", "--committee-contract", rc.PC.Addr.Hex(),
			"--registry-contract", rc.PC.Addr.Hex(), "--eth-cache", "none", "--at", strconv.Itoa(int(tc.at)), "--json")
		if n0 := crypto.PubkeyToAddress(tc.keys[0].PublicKey).Hex(); !strings.Contains(out, n0) {
			t.Fatalf("committee --at %d does not name %s:\n%s", tc.at, n0, out)
		}
	}

	// Through a ContractRegistry naming the contracts before any event.
	pc := ethtest.NewPosChain(t)
	registry, contract := pc.Addr, pc.DeployTestPoS()
	pc.CallAt(registry, "setContract", "committee", contract)
	pc.CallAt(registry, "setContract", "guardiansRegistration", contract)
	var guardians []common.Address
	var nodes []string
	var weights []*big.Int
	for i := 0; i < 3; i++ {
		_, g := ethtest.NewKey(t)
		_, n := ethtest.NewKey(t)
		pc.CallAt(contract, "setOrbsAddress", g, n)
		guardians, nodes, weights = append(guardians, g), append(nodes, n.Hex()), append(weights, ethtest.Stake(big.NewInt(int64(100*(i+1)))))
	}
	pc.CallAt(contract, "setCommittee", guardians, weights, []bool{true, true, true})
	pc.Mine(int(ethpos.DefaultConfirmations) + 1)
	out := mustRun(t, "committee", "--chain-id", "42", "--eth-rpc", ethtest.Serve(t, pc).URL, "--eth-rps", "1000",
		"--contract-registry", registry.Hex(), "--eth-cache", "none", "--current", "--json")
	for _, n := range nodes {
		if !strings.Contains(out, n) {
			t.Fatalf("committee --contract-registry does not name %s:\n%s", n, out)
		}
	}
}

// sync --follow with --eth-rpc, through the command line against the
// provider's URL: the chain's committee lives on the contract, every round
// extends the Ethereum index to the new head, and the store ends whole.
func TestFollowWithEthereumSourceThroughTheCommandLine(t *testing.T) {
	pc := ethtest.NewPosChain(t)
	proxy := ethtest.Serve(t, pc)
	// One member, so the contract's adjusted weight is the devnet's own.
	n0, _ := devnet.New(devnet.Config{Seed: "follow-eth", Blocks: 10, CommitteeSize: 1, RotateEvery: 1 << 30})
	m := n0.Committee(1).Members[0]
	pc.Call("setOrbsAddress", m.EthAddress, m.NodeAddress)
	e0 := pc.BlockTime(pc.Call("setCommittee", []common.Address{m.EthAddress}, []*big.Int{ethtest.Stake(m.Weight)}, []bool{true}).BlockNumber.Uint64())
	// The chain's reference times start after the committee took effect.
	n, _ := devnet.New(devnet.Config{Seed: "follow-eth", Blocks: 120, CommitteeSize: 1, RotateEvery: 1 << 30, TipRefTime: e0 + 200})
	pc.AdjustTime(10 * time.Minute)
	pc.Mine(ethpos.DefaultConfirmations + 1)
	dir := t.TempDir()
	files, _, err := n.Generate(filepath.Join(dir, "peer"), nil)
	if err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(dir, "node.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &testio.LockedBuffer{}, &testio.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- mainInTurn(ctx, []string{"vcsync", "sync", "--follow", "--json", "--stale-after", "1s", "--store", node,
			"--chain-id", "42", "--network-type", "2", "--eth-rpc", proxy.URL, "--eth-rps", "1000", "--committee-contract", pc.Addr.Hex(),
			"--registry-contract", pc.Addr.Hex(), "--genesis-ref-time", strconv.Itoa(int(n.RefTime(0))),
			"--peer", "file://" + files.Store}, out, errb)
	}()
	// Ethereum moves on while vcsync follows; the test stops it after its
	// third round, however long the rounds take.
	for strings.Count(out.String(), "\n") < 3 {
		select {
		case code := <-done:
			t.Fatalf("follow ended early: exit %d: %s", code, errb.String())
		case <-time.After(100 * time.Millisecond):
			pc.Mine(1)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("follow: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, line := range lines[:3] {
		if !strings.HasPrefix(line, fmt.Sprintf(`{"round":%d,"ok":true`, i+1)) {
			t.Fatalf("round %d: %s", i+1, line)
		}
	}
	// The first round indexed the history; each later one began by
	// extending the index to the blocks mined meanwhile.
	if calls := proxy.Count("eth_getLogs"); calls < 3 {
		t.Fatalf("%d eth_getLogs calls over %d rounds: a round did not extend the index", calls, len(lines))
	}
	var st struct {
		InOrder uint64 `json:"in_order"`
	}
	json.Unmarshal([]byte(mustRun(t, "inspect", "--store", node, "--json")), &st)
	if st.InOrder != 120 {
		t.Fatalf("store after follow: %+v", st)
	}
	// An audit with the same source says what the index's cache beside the
	// store did, in its JSON and on stderr: once the events are final the
	// first audit writes it and the second reads it.
	pc.Mine(80)
	for _, want := range []string{"", "hit"} {
		vout, verr, code := run(t, "verify", "all", "--store", node, "--json", "--eth-rpc", proxy.URL, "--eth-rps", "1000",
			"--committee-contract", pc.Addr.Hex(), "--registry-contract", pc.Addr.Hex(), "--genesis-ref-time", strconv.Itoa(int(n.RefTime(0))))
		var audit struct {
			OK       bool   `json:"ok"`
			EthCache string `json:"eth_cache"`
		}
		json.Unmarshal([]byte(vout), &audit)
		if code != 0 || !audit.OK || audit.EthCache == "" || (want != "" && audit.EthCache != want) ||
			!strings.Contains(verr, "ethereum index: cache "+audit.EthCache) {
			t.Fatalf("verify all with --eth-rpc: exit %d %s %s", code, vout, verr)
		}
	}
}

// committee --json says how many busy answers it retried.
func TestCommitteeJSONReportsEthRetries(t *testing.T) {
	rc := ethtest.NewRotationChain(t, ethpos.DefaultConfirmations)
	proxy := ethtest.Serve(t, rc.PC)
	proxy.BusyFirst = 2
	var r struct {
		EthRetries int64 `json:"eth_retries"`
	}
	out := mustRun(t, "committee", "--chain-id", "42", "--eth-rpc", proxy.URL, "--eth-rps", "1000", "--eth-cache", "none",
		"--committee-contract", rc.PC.Addr.Hex(), "--registry-contract", rc.PC.Addr.Hex(), "--eth-from-block", "1",
		"--current", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.EthRetries != 2 {
		t.Fatalf("eth_retries %d (%v), want the provider's 2 busy answers:\n%s", r.EthRetries, err, out)
	}
}
