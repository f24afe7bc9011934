package verify_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/rpc"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/vcsync/vcsync/devnet"
	"github.com/vcsync/vcsync/verify"
)

// posChain is a simulated Ethereum chain with the TestPoS contract
// (testdata/pos) deployed, standing in for both Committee and
// GuardiansRegistration.
type posChain struct {
	t       *testing.T
	backend *simulated.Backend
	client  simulated.Client
	key     *ecdsa.PrivateKey
	abi     abi.ABI
	addr    common.Address
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../testdata/pos/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newPosChain(t *testing.T) *posChain {
	t.Helper()
	key, _ := crypto.GenerateKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	backend := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	t.Cleanup(func() { backend.Close() })
	parsed, err := abi.JSON(strings.NewReader(string(readTestdata(t, "TestPoS.abi"))))
	if err != nil {
		t.Fatal(err)
	}
	code, err := hex.DecodeString(strings.TrimSpace(string(readTestdata(t, "TestPoS.bin"))))
	if err != nil {
		t.Fatal(err)
	}
	pc := &posChain{t: t, backend: backend, client: backend.Client(), key: key, abi: parsed}
	pc.addr = pc.send(nil, code).ContractAddress
	return pc
}

// send mines one transaction and returns its receipt.
func (pc *posChain) send(to *common.Address, data []byte) *types.Receipt {
	pc.t.Helper()
	ctx := context.Background()
	from := crypto.PubkeyToAddress(pc.key.PublicKey)
	nonce, err := pc.client.PendingNonceAt(ctx, from)
	if err != nil {
		pc.t.Fatal(err)
	}
	chainID, _ := pc.client.ChainID(ctx)
	head, _ := pc.client.HeaderByNumber(ctx, nil)
	tip := big.NewInt(1_000_000_000)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
		Gas: 5_000_000, To: to, Data: data,
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(chainID), pc.key)
	if err != nil {
		pc.t.Fatal(err)
	}
	if err := pc.client.SendTransaction(ctx, signed); err != nil {
		pc.t.Fatal(err)
	}
	pc.backend.Commit()
	rcpt, err := pc.client.TransactionReceipt(ctx, signed.Hash())
	if err != nil || rcpt.Status != types.ReceiptStatusSuccessful {
		pc.t.Fatalf("transaction failed: %v %+v", err, rcpt)
	}
	return rcpt
}

func (pc *posChain) call(method string, args ...any) *types.Receipt {
	pc.t.Helper()
	data, err := pc.abi.Pack(method, args...)
	if err != nil {
		pc.t.Fatal(err)
	}
	return pc.send(&pc.addr, data)
}

func (pc *posChain) blockTime(n uint64) uint32 {
	h, err := pc.client.HeaderByNumber(context.Background(), new(big.Int).SetUint64(n))
	if err != nil {
		pc.t.Fatal(err)
	}
	return uint32(h.Time)
}

// mine commits n empty blocks, so events fall behind the confirmations
// (and, past finalityDepth, become final).
func (pc *posChain) mine(n int) {
	for i := 0; i < n; i++ {
		pc.backend.Commit()
	}
}

// rpcProxy serves the simulated chain over HTTP JSON-RPC on 127.0.0.1, as
// a provider would: it counts calls by method and can refuse eth_getLogs
// ranges wider than maxLogRange, as hosted providers do.
type rpcProxy struct {
	rpc         *rpc.Client
	maxLogRange uint64
	mu          sync.Mutex
	calls       map[string]int
	url         string
}

func newRPCProxy(t *testing.T, pc *posChain) *rpcProxy {
	t.Helper()
	// The simulated backend hides its ethclient in an exported field of an
	// unexported wrapper; reflection reaches it, to serve it over HTTP.
	field := reflect.ValueOf(pc.client).FieldByName("Client")
	inner, ok := field.Interface().(*ethclient.Client)
	if !field.IsValid() || !ok {
		t.Fatal("the simulated client has no RPC client")
	}
	p := &rpcProxy{rpc: inner.Client(), calls: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *rpcProxy) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if method == "" {
		n := 0
		for _, c := range p.calls {
			n += c
		}
		return n
	}
	return p.calls[method]
}

func (p *rpcProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
}

type rpcRequest struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (p *rpcProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req rpcRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.calls[req.Method]++
	limit := p.maxLogRange
	p.mu.Unlock()
	reply := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if req.Method == "eth_getLogs" && limit > 0 && len(req.Params) == 1 {
		var q struct{ FromBlock, ToBlock string }
		json.Unmarshal(req.Params[0], &q)
		from, _ := strconv.ParseUint(strings.TrimPrefix(q.FromBlock, "0x"), 16, 64)
		to, _ := strconv.ParseUint(strings.TrimPrefix(q.ToBlock, "0x"), 16, 64)
		if to-from+1 > limit {
			reply["error"] = map[string]any{"code": -32005, "message": fmt.Sprintf("query exceeds max block range %d", limit)}
			json.NewEncoder(w).Encode(reply)
			return
		}
	}
	params := make([]any, len(req.Params))
	for i, prm := range req.Params {
		params[i] = prm
	}
	var result json.RawMessage
	if err := p.rpc.CallContext(r.Context(), &result, req.Method, params...); err != nil {
		reply["error"] = map[string]any{"code": -32000, "message": err.Error()}
	} else {
		reply["result"] = result
	}
	json.NewEncoder(w).Encode(reply)
}

func (p *rpcProxy) dial(t *testing.T) *ethclient.Client {
	t.Helper()
	c, err := ethclient.Dial(p.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// orbs is one whole ORBS in the contracts' 10^-18 units.
var orbs = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

func stake(w *big.Int) *big.Int { return new(big.Int).Mul(w, orbs) }

// TestEthSourceAgreesWithManagementDoc writes a devnet's rotating committees
// to the contract, builds the management document of the same history by
// hand (weights as the service publishes them: whole ORBS raised to the
// committee's average), and checks that both sources answer every
// reference time alike, quorum included.
func TestEthSourceAgreesWithManagementDoc(t *testing.T) {
	pc := newPosChain(t)
	proxy := newRPCProxy(t, pc)
	n, _ := devnet.New(devnet.Config{Seed: "eth", Blocks: 600, RotateEvery: 200})

	// Register every devnet member's node (Orbs) address.
	for _, h := range []uint64{1, 201, 401} {
		for _, m := range n.Committee(h).Members {
			pc.call("setOrbsAddress", m.EthAddress, m.NodeAddress)
		}
	}
	vc := &verify.VirtualChain{VirtualChainId: n.ChainID}
	addEvent := func(block uint64, members []verify.Member) {
		ev := verify.CommitteeEvent{RefTime: pc.blockTime(block)}
		sum := int64(0)
		for _, m := range members {
			sum += m.Weight.Int64()
		}
		for _, m := range members {
			w := max(m.Weight.Int64(), sum/int64(len(members)))
			ev.Committee = append(ev.Committee, verify.CommitteeMember{
				EthAddress: verify.Address(m.EthAddress), OrbsAddress: verify.Address(m.NodeAddress), Weight: big.NewInt(w)})
		}
		vc.CommitteeEvents = append(vc.CommitteeEvents, ev)
	}
	// Three epochs as snapshots, ten minutes apart.
	var last []verify.Member
	for _, h := range []uint64{1, 201, 401} {
		pc.backend.AdjustTime(10 * time.Minute)
		last = n.Committee(h).Members
		var addrs []common.Address
		var weights []*big.Int
		var certs []bool
		for _, m := range last {
			addrs, weights, certs = append(addrs, m.EthAddress), append(weights, stake(m.Weight)), append(certs, true)
		}
		rcpt := pc.call("setCommittee", addrs, weights, certs)
		addEvent(rcpt.BlockNumber.Uint64(), last)
	}
	// Then one member leaves with a CommitteeChange event.
	pc.backend.AdjustTime(10 * time.Minute)
	leaving := last[0]
	rcpt := pc.call("changeMember", leaving.EthAddress, stake(leaving.Weight), true, false)
	addEvent(rcpt.BlockNumber.Uint64(), last[1:])
	pc.backend.AdjustTime(10 * time.Minute)
	pc.mine(verify.DefaultConfirmations + 1)

	genesis := vc.CommitteeEvents[0].RefTime
	vc.GenesisRefTime = genesis
	head, _ := pc.client.HeaderByNumber(context.Background(), nil)
	doc := &verify.ManagementDoc{CurrentRefTime: uint32(head.Time), PageEndRefTime: uint32(head.Time),
		VirtualChains: map[string]*verify.VirtualChain{strconv.Itoa(int(n.ChainID)): vc}}
	docSrc, err := verify.NewDocSource(doc, n.ChainID)
	if err != nil {
		t.Fatal(err)
	}

	eth := verify.NewEthSource(proxy.dial(t), verify.EthConfig{Committee: pc.addr, Registry: pc.addr, GenesisRefTime: genesis})
	ctx := context.Background()
	queries := 0
	for T := genesis; T <= uint32(head.Time)-40; T += 7 {
		want, _ := docSrc.CommitteeAt(ctx, T)
		got, err := eth.CommitteeAt(ctx, T)
		if err != nil {
			t.Fatalf("T=%d: %v", T, err)
		}
		sameCommittee(t, T, got, want)
		if got.QuorumWeight().Cmp(want.QuorumWeight()) != 0 {
			t.Fatalf("T=%d: quorum %s from Ethereum, %s from the document", T, got.QuorumWeight(), want.QuorumWeight())
		}
		queries++
	}
	cur, err := eth.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := docSrc.Current(ctx)
	sameCommittee(t, head.Time, cur, want)
	// No contract state is read (no archive needed), and the whole history
	// costs a few RPCs per committee change, not one per lookup.
	if proxy.count("eth_call") != 0 || proxy.count("") > 25 {
		t.Fatalf("%d RPCs (%d eth_call) for %d lookups", proxy.count(""), proxy.count("eth_call"), queries)
	}
	t.Logf("%d lookups, %d RPCs", queries, proxy.count(""))

	if _, err := eth.CommitteeAt(ctx, genesis-1); !errors.Is(err, verify.ErrNoCommittee) || !strings.Contains(err.Error(), "no committee event at or before") {
		t.Fatalf("before the first event: %v", err)
	}
	if _, err := eth.CommitteeAt(ctx, uint32(head.Time)+3600); !errors.Is(err, verify.ErrNoCommittee) || !strings.Contains(err.Error(), "after the indexed Ethereum time") {
		t.Fatalf("after the head: %v", err)
	}

	// The binary search over headers finds the last block at or before a time.
	for _, ev := range vc.CommitteeEvents {
		b, err := verify.BlockAtTime(context.Background(), pc.client, uint64(ev.RefTime)+1)
		if err != nil {
			t.Fatal(err)
		}
		if pc.blockTime(b) > ev.RefTime+1 || pc.blockTime(b+1) <= ev.RefTime+1 {
			t.Fatalf("BlockAtTime(%d) = %d (time %d, next %d)", ev.RefTime+1, b, pc.blockTime(b), pc.blockTime(b+1))
		}
	}
}

func sameCommittee(t *testing.T, at any, got, want *verify.Committee) {
	t.Helper()
	if got.RefTime != want.RefTime || len(got.Members) != len(want.Members) {
		t.Fatalf("at %v: eth committee from %d with %d members, doc from %d with %d", at, got.RefTime, len(got.Members), want.RefTime, len(want.Members))
	}
	for _, w := range want.Members {
		g, ok := got.Lookup(w.NodeAddress)
		if !ok || g.EthAddress != w.EthAddress || g.Weight.Cmp(w.Weight) != 0 {
			t.Fatalf("at %v: member %s differs: %+v vs %+v", at, w.NodeAddress.Hex(), g, w)
		}
	}
}
