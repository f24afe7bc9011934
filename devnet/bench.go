package devnet

import (
	"runtime"
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

// BareVerifyRate measures signature verifications against a known public
// key per second on every core: the floor for proofs that name signers.
func BareVerifyRate(total int) float64 {
	key, _ := crypto.GenerateKey()
	digest := crypto.Keccak256([]byte("bench"))
	sig, _ := crypto.Sign(digest, key)
	pub := crypto.FromECDSAPub(&key.PublicKey)
	return onEveryCore(total, func() { crypto.VerifySignature(pub, digest, sig[:64]) })
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

// BareRecoverRate measures signature recoveries per second on every core:
// the floor cost of verifying anything. Benchmarks report their rates next
// to it, measured in the same run, so the ratio survives a noisy machine.
func BareRecoverRate(total int) float64 {
	key, _ := crypto.GenerateKey()
	digest := crypto.Keccak256([]byte("bench"))
	sig, _ := crypto.Sign(digest, key)
	return onEveryCore(total, func() { crypto.Ecrecover(digest, sig) })
}
