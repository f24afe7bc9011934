package ethpos

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/store/fsck"
)

// The Ethereum index cache: a small bbolt file (by default beside the
// store) holding each contract pair's finalized event index, keyed by the
// RPC chain id and the contracts' addresses, so a rerun asks the node only
// for blocks it has not seen. The file is untrusted like any other: it is
// checked before bbolt maps it, its entries are bounded and validated, and
// a bad one is rebuilt, never obeyed.
var bucketEthIndex = []byte("eth-index")

// maxCachedIndex bounds one cached index: years of a real committee's
// events are well under a MiB.
const maxCachedIndex = 64 << 20

// cacheLockWait is how long to wait for another vcsync using the cache.
const cacheLockWait = time.Second

func loadEthIndex(path, key string) (*ethIndex, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if _, err := fsck.CheckFile(path); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o644, &bolt.Options{ReadOnly: true, Timeout: cacheLockWait})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var data []byte
	err = db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketEthIndex); b != nil {
			if v := b.Get([]byte(key)); v != nil {
				if len(v) > maxCachedIndex {
					return fmt.Errorf("cached index of %d bytes is over the %d-byte limit", len(v), maxCachedIndex)
				}
				data = append([]byte(nil), v...)
			}
		}
		return nil
	})
	if err != nil || data == nil {
		return nil, err
	}
	var ix ethIndex
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("cached index: %w", err)
	}
	if err := ix.validate(); err != nil {
		return nil, fmt.Errorf("cached index: %w", err)
	}
	return &ix, nil
}

func saveEthIndex(path, key string, ix *ethIndex) error {
	data, err := json.Marshal(ix)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		if _, err := fsck.CheckFile(path); err != nil {
			return err
		}
	}
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: cacheLockWait})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketEthIndex)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), data)
	})
}

// validate checks what replay relies on: events in chain order within
// From..To, every event's fields well formed, timestamps only for blocks
// indexed.
func (ix *ethIndex) validate() error {
	var prevBlock uint64
	var prevIndex uint
	for i, ev := range ix.Events {
		if ev.Block < ix.From || ev.Block > ix.To || ev.Block < prevBlock || (i > 0 && ev.Block == prevBlock && ev.Index <= prevIndex) {
			return fmt.Errorf("event %d at block %d is out of order or outside %d-%d", i, ev.Block, ix.From, ix.To)
		}
		prevBlock, prevIndex = ev.Block, ev.Index
		switch ev.Kind {
		case evChange, evStake:
			if ev.Weight == nil || ev.Weight.Sign() < 0 {
				return fmt.Errorf("event %d at block %d has a bad weight", i, ev.Block)
			}
		case evGuardianData:
		case evAddress:
			if len(ev.Name) > maxContractName {
				return fmt.Errorf("event %d at block %d names a contract of %d bytes", i, ev.Block, len(ev.Name))
			}
		default:
			return fmt.Errorf("event %d has unknown kind %q", i, ev.Kind)
		}
	}
	for b := range ix.Times {
		if b > ix.To {
			return fmt.Errorf("timestamp for block %d past the last block indexed (%d)", b, ix.To)
		}
	}
	if ix.Times == nil {
		ix.Times = map[uint64]uint64{}
	}
	return nil
}
