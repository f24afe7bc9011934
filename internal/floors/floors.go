// Package floors measures this machine's bare signature rates, the floors
// benchmarks compare their own rates with, and names the proof forms they
// run on. It is imported by benchmarks only.
package floors

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

// ProofForm is one way a devnet chain's proofs are written, for benchmarks
// that compare them.
type ProofForm struct {
	Name string
	Bare bool // Config.BareSignatures
}

// ProofForms are protocol 2's named signers and protocol 1's bare signatures.
var ProofForms = []ProofForm{{Name: "named"}, {Name: "bare", Bare: true}}

// Benchmarks measure the floors in rounds of FloorOps operations, FloorRounds
// of each kind before their run and as many after: about two seconds each
// way on two cores.
const (
	FloorRounds = 5
	FloorOps    = 8000
)

// Floors are the bare signature rates on every core that benchmarks
// compare their own rates with: recoveries per second (what a bare proof
// costs) and verifications against a known public key per second (what a
// named proof costs after a member's first signature).
type Floors struct {
	Recover, Verify    float64
	recovers, verifies []float64 // every round, for the medians
}

// MeasureFloors measures both rates in alternating rounds of perRound
// operations, so that a neighbour's load on a shared machine falls on both
// alike. Call it before and after the work measured, and Merge the two.
func MeasureFloors(rounds, perRound int) Floors {
	key, _ := crypto.GenerateKey()
	digest := crypto.Keccak256([]byte("bench"))
	sig, _ := crypto.Sign(digest, key)
	pub := crypto.FromECDSAPub(&key.PublicKey)
	var f Floors
	for range rounds {
		f.recovers = append(f.recovers, onEveryCore(perRound, func() { crypto.Ecrecover(digest, sig) }))
		f.verifies = append(f.verifies, onEveryCore(perRound, func() { crypto.VerifySignature(pub, digest, sig[:64]) }))
	}
	return f.settle()
}

// Merge joins the rounds of two measurements (before and after a run).
func (f Floors) Merge(o Floors) Floors {
	f.recovers = append(slices.Clone(f.recovers), o.recovers...)
	f.verifies = append(slices.Clone(f.verifies), o.verifies...)
	return f.settle()
}

func (f Floors) settle() Floors {
	f.Recover, f.Verify = median(f.recovers), median(f.verifies)
	return f
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func onEveryCore(total int, op func()) float64 {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for i := 0; i < total/workers; i++ {
				op()
			}
		})
	}
	wg.Wait()
	return float64(total/workers*workers) / time.Since(start).Seconds()
}
