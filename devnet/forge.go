package devnet

import (
	"fmt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/peerserver"
)

// Forger serves a store as a dishonest peer would: every block whose height
// is a multiple of Every carries a proof signed by keys outside the
// committee. The header, and so the hash link, is untouched: only proof
// verification can catch it.
type Forger struct {
	peerserver.Source
	Net   *Network
	Every uint64
}

// ReadRange passes blocks through, forging the chosen heights.
func (f Forger) ReadRange(hi, lo uint64, fn func(h uint64, raw []byte) error) error {
	return f.Source.ReadRange(hi, lo, func(h uint64, raw []byte) error {
		if f.Every == 0 || h%f.Every != 0 {
			return fn(h, raw)
		}
		b, err := block.Decode(raw, 0)
		if err != nil {
			return err
		}
		b.Proof = nil
		for i := 0; i < len(f.Net.SignerKeys(h)); i++ {
			key := f.Net.OutsiderKey()
			if i > 0 {
				key = f.Net.keys[(i*7)%len(f.Net.keys)] // real devnet keys, wrong epoch or duplicates
			}
			if err := b.Sign(key); err != nil {
				return err
			}
		}
		forged, err := b.Encode()
		if err != nil {
			return fmt.Errorf("forge block %d: %w", h, err)
		}
		return fn(h, forged)
	})
}
