package repair

import (
	"errors"
	"fmt"
	"os"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store"
	"github.com/vcsync/vcsync/store/fsck"
	"github.com/vcsync/vcsync/store/internal/layout"
)

// SalvageReport says what Salvage copied.
type SalvageReport struct {
	Read     uint64 `json:"read"`     // blocks read and decoded
	Copied   uint64 `json:"copied"`   // blocks written to the new store
	Unusable uint64 `json:"unusable"` // stored blocks unreadable, undecodable or outside both linked runs
	// Method is how blocks were found: "bbolt" (through the file's B+tree)
	// or "page scan" (every leaf page read raw, when bbolt cannot reach the
	// tree; blocks removed by an earlier rollback may then come back).
	Method string      `json:"method"`
	State  store.State `json:"-"`
}

// salvageBatch bounds one transaction of the salvaged copy, in blocks and
// bytes, so memory stays flat in the store's size.
const (
	salvageBatchBlocks = 1000
	salvageBatchBytes  = 8 << 20
	// SalvageMemoryLimit is the soft memory limit repair --out gives the Go
	// runtime: a staging transaction and a copy batch (each at most
	// salvageBatchBytes, and bbolt's page copy of it) with room to spare,
	// so garbage does not double them (BenchmarkSalvageMillion).
	SalvageMemoryLimit = 6 * salvageBatchBytes
)

// Salvage copies every readable, decodable block of the store at src into
// a new store at dst, rebuilding the indices from what it could read: the
// linked run from block 1 up, and the linked run down from the highest
// block. It reads each height in its own guarded transaction, so damage
// costs only the blocks it touches, and writes in bounded batches. src is
// only read, under the shared lock every reader takes (refused while a
// writer holds it). dst is built beside its name and appears only once it
// is complete and checked: a failure (a full disk) leaves no file there.
func Salvage(src, dst string, id *store.Identity, maxBlock int) (SalvageReport, error) {
	var rep SalvageReport
	if _, err := os.Lstat(dst); err == nil {
		return rep, fmt.Errorf("%s exists: salvage writes a new file", dst)
	}
	sr := &salvageReader{id: id, maxBlock: maxBlock}
	defer sr.close()
	how, err := sr.open(src, dst)
	if err != nil {
		return rep, err
	}
	rep.Method = how
	if sr.id == nil {
		return rep, fmt.Errorf("%s: the chain identity is unreadable: give the chain id and network type", src)
	}
	out, err := store.Open(dst, store.Options{Create: true, New: true, Identity: sr.id, MaxBlock: maxBlock, PublishAtClose: true})
	if err != nil {
		return rep, err
	}
	if err := sr.copyRuns(out, &rep); err != nil {
		out.Discard()
		return rep, err
	}
	if rep.Copied == 0 {
		out.Discard()
		return rep, fmt.Errorf("%w: no readable block of chain %d network %d in %s", store.ErrDamaged, sr.id.ChainID, sr.id.NetworkType, src)
	}
	failpoint.Hit("salvage-copied")
	if rep.State, err = out.State(); err == nil {
		err = fsck.Check(out, nil)
	}
	if err != nil {
		out.Discard()
		return rep, fmt.Errorf("salvage into %s: the copy does not check, nothing was kept: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return rep, err
	}
	return rep, nil
}

// copyRuns writes the linked run up from block 1, then the linked run down
// from the highest block, and counts what it read.
func (r *salvageReader) copyRuns(out *store.Store, rep *SalvageReport) error {
	top := r.top()
	for h := uint64(1); h <= top; h++ {
		if r.block(h) != nil {
			rep.Read++
		}
	}
	var batch []*block.Block
	var batchBytes int
	flush := func(write func([]*block.Block) (store.State, error)) error {
		if len(batch) == 0 {
			return nil
		}
		_, err := write(batch)
		rep.Copied += uint64(len(batch))
		batch, batchBytes = batch[:0], 0
		failpoint.Hit("salvage-batch")
		return err
	}
	add := func(b *block.Block, write func([]*block.Block) (store.State, error)) error {
		batch = append(batch, b)
		batchBytes += len(b.Body) + 1024
		if len(batch) >= salvageBatchBlocks || batchBytes >= salvageBatchBytes {
			return flush(write)
		}
		return nil
	}
	// The low run: 1, 2, ... while each links to the one below.
	var low uint64
	var prev common.Hash
	for h := uint64(1); h <= top; h++ {
		b := r.block(h)
		if b == nil || (h > 1 && b.Header.PrevHash != prev) {
			break
		}
		if err := add(b, out.AppendForward); err != nil {
			return err
		}
		low, prev = h, b.Hash()
	}
	if err := flush(out.AppendForward); err != nil {
		return err
	}
	// The high run: down from the highest readable block while linked.
	h := top
	for h > low+1 && r.block(h) == nil {
		h--
	}
	var parent common.Hash
	for first := true; h > low+1; h-- {
		b := r.block(h)
		if b == nil || (!first && b.Hash() != parent) {
			break
		}
		if err := add(b, out.CommitDescending); err != nil {
			return err
		}
		parent, first = b.Header.PrevHash, false
	}
	if err := flush(out.CommitDescending); err != nil {
		return err
	}
	rep.Unusable = r.unreadable + rep.Read - rep.Copied
	return nil
}

// salvageReader reads the blocks of a damaged store by height: through
// bbolt when the file opens and its tree is reachable, else from a staging
// file filled by scanning the leaf pages raw. It learns the chain's
// identity from the store or, failing that, its first block.
type salvageReader struct {
	id         *store.Identity
	maxBlock   int
	src        *store.Store // the store, read through bbolt
	staging    *bolt.DB     // or the blocks a page scan found, by height
	stagePath  string
	unreadable uint64 // heights whose bytes could not be read at all
	counted    map[uint64]bool
}

// open opens src and says how its blocks will be read.
func (r *salvageReader) open(src, dst string) (string, error) {
	s, err := store.Open(src, store.Options{ReadOnly: true, MaxBlock: r.maxBlock})
	if errors.Is(err, store.ErrLocked) {
		return "", fmt.Errorf("salvage %s: %w; salvage reads a store only while nothing writes it", src, err)
	}
	if err == nil {
		if r.id == nil {
			id := s.Identity()
			r.id = &id
		}
		r.src = s
		if r.top() > 0 && r.anyReadable() {
			return "bbolt", nil
		}
		s.Close()
		r.src = nil
	}
	if err := fsck.RegularFile(src); err != nil {
		return "", err
	}
	return "page scan", r.stage(src, dst)
}

// anyReadable reports whether bbolt reaches at least one block.
func (r *salvageReader) anyReadable() bool {
	for h, top := uint64(1), r.top(); h <= top; h++ {
		if r.block(h) != nil {
			return true
		}
	}
	return false
}

// stage scans src's leaf pages into a staging bbolt file beside dst (the
// first copy of a height found stays: later ones are older copies on freed
// pages), so the runs can be read by height with flat memory.
func (r *salvageReader) stage(src, dst string) error {
	fh, _ := fsck.CheckFile(src)
	pageSize := fh.PageSize
	if pageSize == 0 {
		pageSize = 4096
	}
	var err error
	if r.stagePath, err = scratch.Name(dst, "scan"); err != nil {
		return fmt.Errorf("salvage into %s: %w", dst, err)
	}
	if r.staging, err = bolt.Open(r.stagePath, 0o600, &bolt.Options{NoSync: true}); err != nil {
		return fmt.Errorf("salvage into %s: %w", dst, err)
	}
	tx, err := r.staging.Begin(true)
	if err != nil {
		return err
	}
	bk, _ := tx.CreateBucketIfNotExists(layout.Blocks)
	pending := 0
	scanErr := fsck.ScanLeaves(src, pageSize, func(k, v []byte) {
		if err != nil || len(k) != 8 || len(v) <= 8 || bk.Get(k) != nil {
			return
		}
		b, derr := block.Decode(v, r.maxBlock)
		if h, _ := layout.Height(k); derr != nil || b.Height() != h {
			return
		}
		if r.id == nil {
			r.id = &store.Identity{ChainID: b.Header.VirtualChainID, NetworkType: b.Header.NetworkType}
		}
		if err = bk.Put(append([]byte(nil), k...), append([]byte(nil), v...)); err != nil {
			return
		}
		if pending += len(v); pending >= salvageBatchBytes {
			if err = tx.Commit(); err == nil {
				tx, err = r.staging.Begin(true)
			}
			if err == nil {
				bk = tx.Bucket(layout.Blocks)
			}
			pending = 0
		}
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("salvage into %s: %w", dst, err)
	}
	return tx.Commit()
}

// top is the highest height there may be a block at.
func (r *salvageReader) top() uint64 {
	if r.src != nil {
		return highestKey(r.src)
	}
	var top uint64
	r.staging.View(func(tx *bolt.Tx) error {
		top, _ = layout.Height(lastKey(tx.Bucket(layout.Blocks)))
		return nil
	})
	return top
}

// block returns the block at h if it reads and decodes, at that height, for
// the chain; nil otherwise.
func (r *salvageReader) block(h uint64) *block.Block {
	var raw []byte
	var err error
	if r.src != nil {
		raw, err = r.src.GetRaw(h)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			r.countUnreadable(h)
		}
	} else {
		r.staging.View(func(tx *bolt.Tx) error {
			raw = append([]byte(nil), tx.Bucket(layout.Blocks).Get(layout.Key(h))...)
			return nil
		})
	}
	if len(raw) == 0 {
		return nil
	}
	b, err := block.Decode(raw, r.maxBlock)
	if err != nil || b.Height() != h || b.Header.VirtualChainID != r.id.ChainID || b.Header.NetworkType != r.id.NetworkType {
		r.countUnreadable(h)
		return nil
	}
	return b
}

// countUnreadable counts a height whose stored bytes are unusable once,
// however often it is read.
func (r *salvageReader) countUnreadable(h uint64) {
	if r.counted == nil {
		r.counted = map[uint64]bool{}
	}
	if !r.counted[h] {
		r.counted[h] = true
		r.unreadable++
	}
}

func (r *salvageReader) close() {
	if r.src != nil {
		r.src.Close()
	}
	if r.staging != nil {
		r.staging.Close()
		os.Remove(r.stagePath)
	}
}

// highestKey is the highest height stored, or Top when the cursor cannot
// reach it.
func highestKey(s *store.Store) uint64 {
	var top uint64
	s.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(layout.Meta); meta != nil {
			top = layout.ReadState(meta).Top
		}
		return nil
	})
	s.View(func(tx *bolt.Tx) error {
		if h, ok := layout.Height(lastKey(tx.Bucket(layout.Blocks))); ok {
			top = max(top, h)
		}
		return nil
	})
	return top
}

// lastKey is the highest key of b.
func lastKey(b *bolt.Bucket) []byte {
	k, _ := b.Cursor().Last()
	return k
}
