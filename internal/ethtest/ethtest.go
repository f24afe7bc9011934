// Package ethtest is test machinery for the Ethereum committee source: a
// simulated Ethereum chain with the TestPoS contract (testdata/pos), a
// JSON-RPC provider serving it on 127.0.0.1 that counts calls and can
// refuse or ration them as hosted providers do, and a chain whose
// committee rotates a node key. The tests of committee/ethpos and of the
// command line share it; no shipped package imports it.
package ethtest

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/rpc"
)

// Testdata reads a file of the repository's testdata/pos.
func Testdata(t testing.TB, name string) []byte {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "testdata", "pos", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// PosChain is a simulated Ethereum chain with the TestPoS contract
// deployed at Addr, standing in for both Committee and
// GuardiansRegistration (and, deployed again, for a ContractRegistry).
type PosChain struct {
	t       testing.TB
	Backend *simulated.Backend
	Client  simulated.Client
	Key     *ecdsa.PrivateKey
	ABI     abi.ABI
	Addr    common.Address
}

// NewPosChain starts a simulated chain and deploys TestPoS on it.
func NewPosChain(t testing.TB) *PosChain {
	t.Helper()
	key, _ := crypto.GenerateKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	backend := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	t.Cleanup(func() { backend.Close() })
	parsed, err := abi.JSON(strings.NewReader(string(Testdata(t, "TestPoS.abi"))))
	if err != nil {
		t.Fatal(err)
	}
	pc := &PosChain{t: t, Backend: backend, Client: backend.Client(), Key: key, ABI: parsed}
	pc.Addr = pc.DeployTestPoS()
	return pc
}

// Send mines one transaction and returns its receipt.
func (pc *PosChain) Send(to *common.Address, data []byte) *types.Receipt {
	pc.t.Helper()
	return MineTx(pc.t, pc.Backend, pc.Key, to, data, nil)
}

// DeployTestPoS deploys one more TestPoS, to play one contract version.
func (pc *PosChain) DeployTestPoS() common.Address {
	pc.t.Helper()
	code, err := hex.DecodeString(strings.TrimSpace(string(Testdata(pc.t, "TestPoS.bin"))))
	if err != nil {
		pc.t.Fatal(err)
	}
	return pc.Send(nil, code).ContractAddress
}

// Call mines one call of method on the TestPoS at Addr.
func (pc *PosChain) Call(method string, args ...any) *types.Receipt {
	pc.t.Helper()
	data, err := pc.ABI.Pack(method, args...)
	if err != nil {
		pc.t.Fatal(err)
	}
	return pc.Send(&pc.Addr, data)
}

// CallAt mines one call of method on the TestPoS at addr and returns its block.
func (pc *PosChain) CallAt(addr common.Address, method string, args ...any) uint64 {
	pc.t.Helper()
	data, err := pc.ABI.Pack(method, args...)
	if err != nil {
		pc.t.Fatal(err)
	}
	return pc.Send(&addr, data).BlockNumber.Uint64()
}

// BlockTime is the timestamp of block n.
func (pc *PosChain) BlockTime(n uint64) uint32 {
	h, err := pc.Client.HeaderByNumber(context.Background(), new(big.Int).SetUint64(n))
	if err != nil {
		pc.t.Fatal(err)
	}
	return uint32(h.Time)
}

// Mine commits n empty blocks, so events fall behind the confirmations
// (and, past the finality depth, become final).
func (pc *PosChain) Mine(n int) {
	for i := 0; i < n; i++ {
		pc.Backend.Commit()
	}
}

// AdjustTime seals one empty block d after the head. The simulated beacon
// refuses while its pool still lists a transaction that was just mined
// (the pool forgets it on a goroutine of its own after the block is in),
// which a loaded machine makes common; ignored, the chain's clock
// silently stands still. So AdjustTime waits for the
// pool to catch up and fails the test on any other refusal.
func AdjustTime(t testing.TB, backend *simulated.Backend, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := backend.AdjustTime(d)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "non-empty block") || time.Now().After(deadline) {
			t.Fatalf("moving the simulated chain's clock by %v: %v", d, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// AdjustTime seals one empty block d after the head (see AdjustTime).
func (pc *PosChain) AdjustTime(d time.Duration) {
	pc.t.Helper()
	AdjustTime(pc.t, pc.Backend, d)
}

// MineTx signs one transaction with key, mines it on the simulated chain
// and fails the test unless it succeeded.
func MineTx(t testing.TB, backend *simulated.Backend, key *ecdsa.PrivateKey, to *common.Address, data []byte, value *big.Int) *types.Receipt {
	t.Helper()
	ctx := context.Background()
	client := backend.Client()
	nonce, err := client.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	chainID, _ := client.ChainID(ctx)
	head, _ := client.HeaderByNumber(ctx, nil)
	tip := big.NewInt(1_000_000_000)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
		Gas: 15_000_000, To: to, Data: data, Value: value,
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(chainID), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SendTransaction(ctx, signed); err != nil {
		t.Fatal(err)
	}
	backend.Commit()
	rcpt, err := client.TransactionReceipt(ctx, signed.Hash())
	if err != nil || rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transaction failed: %v %+v", err, rcpt)
	}
	return rcpt
}

// Orbs is one whole ORBS in the contracts' 10^-18 units.
var Orbs = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

// Stake is w whole ORBS in the contracts' units.
func Stake(w *big.Int) *big.Int { return new(big.Int).Mul(w, Orbs) }

// NewKey makes a node key and its address.
func NewKey(t testing.TB) (*ecdsa.PrivateKey, common.Address) {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k, crypto.PubkeyToAddress(k.PublicKey)
}

// RotationChain sets a 3-member committee, then rotates member 0's node key
// with no committee event: the keys before and after, and the Ethereum
// times of the committee and of the rotation.
type RotationChain struct {
	PC                    *PosChain
	Guardians             []common.Address
	Before, After         []*ecdsa.PrivateKey // node keys of the members, before and after the rotation
	CommitteeAt, RotateAt uint32
}

// NewRotationChain builds one, its events confirmations deep.
func NewRotationChain(t testing.TB, confirmations uint64) *RotationChain {
	rc := &RotationChain{PC: NewPosChain(t)}
	var weights []*big.Int
	var certs []bool
	for i := 0; i < 3; i++ {
		_, g := NewKey(t)
		k, n := NewKey(t)
		rc.Guardians, rc.Before = append(rc.Guardians, g), append(rc.Before, k)
		rc.PC.Call("setOrbsAddress", g, n)
		weights, certs = append(weights, Stake(big.NewInt(int64(100*(i+1))))), append(certs, true)
	}
	rc.PC.AdjustTime(time.Hour)
	rc.CommitteeAt = rc.PC.BlockTime(rc.PC.Call("setCommittee", rc.Guardians, weights, certs).BlockNumber.Uint64())
	rc.PC.AdjustTime(time.Hour)
	newKey0, newNode0 := NewKey(t)
	rc.After = append([]*ecdsa.PrivateKey{newKey0}, rc.Before[1:]...)
	rc.RotateAt = rc.PC.BlockTime(rc.PC.Call("setOrbsAddress", rc.Guardians[0], newNode0).BlockNumber.Uint64())
	rc.PC.AdjustTime(time.Hour)
	rc.PC.Mine(int(confirmations) + 1)
	return rc
}

// Provider serves a simulated chain over HTTP JSON-RPC on 127.0.0.1, as a
// hosted provider would: it counts calls by method, and can refuse
// eth_getLogs ranges wider than MaxLogRange and answer busy. Set its knobs
// before the first call.
type Provider struct {
	URL         string
	MaxLogRange uint64
	// BusyEvery answers every nth call 429, and a call that finds another
	// in flight 503 (a burst), as public providers do.
	BusyEvery int
	BusyFirst int // answers the first BusyFirst calls 503
	// TimeShift moves every block's timestamp this many seconds back, to
	// serve a chain that reads as older than the wall clock the simulated
	// backend stamps blocks with.
	TimeShift uint64

	rpc           *rpc.Client
	mu            sync.Mutex
	inFlight      int
	refused       int
	refusedRanges [][2]uint64 // the eth_getLogs ranges refused as too wide
	calls         map[string]int
}

// Serve serves pc's chain.
func Serve(t testing.TB, pc *PosChain) *Provider {
	t.Helper()
	return ServeSimulated(t, pc.Client)
}

// ServeSimulated serves a simulated chain's client until the test ends.
func ServeSimulated(t testing.TB, client simulated.Client) *Provider {
	t.Helper()
	// The simulated backend hides its ethclient in an exported field of an
	// unexported wrapper; reflection reaches it, to serve it over HTTP.
	field := reflect.ValueOf(client).FieldByName("Client")
	inner, ok := field.Interface().(*ethclient.Client)
	if !field.IsValid() || !ok {
		t.Fatal("the simulated client has no RPC client")
	}
	p := &Provider{rpc: inner.Client(), calls: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Count is the number of calls of method ("": of every method).
func (p *Provider) Count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if method == "" {
		return p.totalLocked()
	}
	return p.calls[method]
}

// Calls is the number of calls by method.
func (p *Provider) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.calls)
}

// Refused is how many calls were answered busy.
func (p *Provider) Refused() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused
}

// RefusedRanges are the eth_getLogs ranges refused as too wide, in order.
func (p *Provider) RefusedRanges() [][2]uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][2]uint64(nil), p.refusedRanges...)
}

func (p *Provider) totalLocked() int {
	n := 0
	for _, c := range p.calls {
		n += c
	}
	return n
}

// Reset forgets the calls counted so far.
func (p *Provider) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
}

// Dial connects an ethclient to the provider until the test ends.
func (p *Provider) Dial(t testing.TB) *ethclient.Client {
	t.Helper()
	c, err := ethclient.Dial(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type rpcRequest struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req rpcRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if status := p.admit(req.Method); status != 0 {
		http.Error(w, "slow down", status)
		return
	}
	defer func() { p.mu.Lock(); p.inFlight--; p.mu.Unlock() }()
	reply := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	if msg := p.tooWide(req); msg != "" {
		reply["error"] = map[string]any{"code": -32005, "message": msg}
		json.NewEncoder(w).Encode(reply)
		return
	}
	params := make([]any, len(req.Params))
	for i, prm := range req.Params {
		params[i] = prm
	}
	var result json.RawMessage
	if err := p.rpc.CallContext(r.Context(), &result, req.Method, params...); err != nil {
		reply["error"] = map[string]any{"code": -32000, "message": err.Error()}
	} else {
		reply["result"] = p.shiftTime(req.Method, result)
	}
	json.NewEncoder(w).Encode(reply)
}

// admit counts a call and says the busy status to answer it with (0: serve
// it, and it is in flight).
func (p *Provider) admit(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls[method]++
	status := 0
	switch {
	case p.totalLocked() <= p.BusyFirst:
		status = http.StatusServiceUnavailable
	case p.BusyEvery > 0 && p.totalLocked()%p.BusyEvery == 0:
		status = http.StatusTooManyRequests
	case p.BusyEvery > 0 && p.inFlight > 0:
		status = http.StatusServiceUnavailable
	}
	if status != 0 {
		p.refused++
		return status
	}
	p.inFlight++
	return 0
}

// tooWide refuses an eth_getLogs range wider than MaxLogRange, with the
// message a provider gives ("" when served).
func (p *Provider) tooWide(req rpcRequest) string {
	if req.Method != "eth_getLogs" || p.MaxLogRange == 0 || len(req.Params) != 1 {
		return ""
	}
	var q struct{ FromBlock, ToBlock string }
	json.Unmarshal(req.Params[0], &q)
	from, _ := strconv.ParseUint(strings.TrimPrefix(q.FromBlock, "0x"), 16, 64)
	to, _ := strconv.ParseUint(strings.TrimPrefix(q.ToBlock, "0x"), 16, 64)
	if to-from+1 <= p.MaxLogRange {
		return ""
	}
	p.mu.Lock()
	p.refusedRanges = append(p.refusedRanges, [2]uint64{from, to})
	p.mu.Unlock()
	return fmt.Sprintf("query exceeds max block range %d", p.MaxLogRange)
}

// shiftTime moves a block's timestamp back by TimeShift.
func (p *Provider) shiftTime(method string, result json.RawMessage) json.RawMessage {
	if p.TimeShift == 0 || !strings.HasPrefix(method, "eth_getBlockBy") {
		return result
	}
	var fields map[string]json.RawMessage
	var stamp string
	if json.Unmarshal(result, &fields) != nil || json.Unmarshal(fields["timestamp"], &stamp) != nil {
		return result
	}
	t, err := strconv.ParseUint(strings.TrimPrefix(stamp, "0x"), 16, 64)
	if err != nil {
		return result
	}
	fields["timestamp"], _ = json.Marshal(fmt.Sprintf("0x%x", t-p.TimeShift))
	out, _ := json.Marshal(fields)
	return out
}
