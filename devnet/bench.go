package devnet

import (
	"runtime"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

// BareRecoverRate measures signature recoveries per second on every core:
// the floor cost of verifying anything. Benchmarks report their rates next
// to it, measured in the same run, so the ratio survives a noisy machine.
func BareRecoverRate(total int) float64 {
	key, _ := crypto.GenerateKey()
	digest := crypto.Keccak256([]byte("bench"))
	sig, _ := crypto.Sign(digest, key)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < total/workers; i++ {
				crypto.Ecrecover(digest, sig)
			}
		}()
	}
	wg.Wait()
	return float64(total/workers*workers) / time.Since(start).Seconds()
}
