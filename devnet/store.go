package devnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/internal/failpoint"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/store"
)

// writeChunk is how many blocks go into one store transaction: one fsync
// per thousand blocks makes the write's cost the blocks', not the syncs'.
const writeChunk = 1000

// WriteStore creates a store at path holding chain's blocks in ranges. The
// index model allows a low run 1..A and a high run B..Top, so ranges may be
// nil (everything), one range, or two with the first starting at 1.
func (n *Network) WriteStore(path string, chain []*block.Block, ranges []store.Range) error {
	s, err := n.buildStore(path, chain, ranges)
	if err != nil {
		return err
	}
	return s.Close()
}

// buildStore writes a new store that appears at path only when closed
// (store.Store.Discard drops it).
func (n *Network) buildStore(path string, chain []*block.Block, ranges []store.Range) (*store.Store, error) {
	if len(ranges) == 0 {
		ranges = []store.Range{{From: 1, To: uint64(len(chain))}}
	}
	if err := checkRanges(ranges, uint64(len(chain))); err != nil {
		return nil, err
	}
	s, err := store.Open(path, store.Options{Create: true, PublishAtClose: true, Identity: &store.Identity{NetworkType: n.NetworkType, ChainID: n.ChainID}})
	if err != nil {
		return nil, err
	}
	if err := n.writeRanges(s, path, chain, ranges); err != nil {
		s.Discard()
		return nil, err
	}
	return s, nil
}

func (n *Network) writeRanges(s *store.Store, path string, chain []*block.Block, ranges []store.Range) error {
	st, err := s.State()
	if err != nil {
		return err
	}
	if st.Top != 0 {
		return fmt.Errorf("devnet: %s already holds blocks (Top %d)", path, st.Top)
	}
	for _, r := range ranges {
		if r.From == 1 {
			for lo := r.From; lo <= r.To; lo += writeChunk {
				hi := min(lo+writeChunk-1, r.To)
				if _, err := s.AppendForward(chain[lo-1 : hi]); err != nil {
					return err
				}
			}
			continue
		}
		for hi := r.To; hi >= r.From; {
			lo := max(r.From, hi-min(hi, writeChunk)+1)
			chunk := make([]*block.Block, 0, hi-lo+1)
			for h := hi; h >= lo; h-- {
				chunk = append(chunk, chain[h-1])
			}
			if _, err := s.CommitDescending(chunk); err != nil {
				return err
			}
			hi = lo - 1
		}
	}
	return nil
}

func checkRanges(ranges []store.Range, blocks uint64) error {
	for i, r := range ranges {
		if r.From == 0 || r.From > r.To || r.To > blocks {
			return fmt.Errorf("devnet: range %d-%d is not within 1-%d", r.From, r.To, blocks)
		}
		if i > 0 && r.From <= ranges[i-1].To+1 {
			return fmt.Errorf("devnet: ranges must ascend with a gap between them (%d-%d then %d-%d)", ranges[i-1].From, ranges[i-1].To, r.From, r.To)
		}
	}
	if len(ranges) > 2 || (len(ranges) == 2 && ranges[0].From != 1) {
		return fmt.Errorf("devnet: a store holds 1..A and B..Top at most (one gap), not %d ranges", len(ranges))
	}
	return nil
}

// Files are what Generate writes into a directory.
type Files struct {
	Store      string `json:"store"`
	Management string `json:"management"`
}

// Generate writes DIR/blocks.db (holding ranges, or everything) and
// DIR/management.json, and returns the chain it signed. The store is built
// out of sight, then the document is put in place, then the store: a
// failed Generate leaves the disk as it was (and removes DIR if it made
// it); a kill between the two renames leaves a document and no store,
// which a rerun completes.
func (n *Network) Generate(dir string, ranges []store.Range) (Files, []*block.Block, error) {
	files := Files{Store: filepath.Join(dir, "blocks.db"), Management: filepath.Join(dir, "management.json")}
	chain, err := n.Chain()
	if err != nil {
		return files, nil, err
	}
	doc, err := json.MarshalIndent(n.ManagementDoc(), "", "  ")
	if err != nil {
		return files, nil, err
	}
	if _, err := os.Lstat(files.Store); err == nil {
		return files, nil, fmt.Errorf("devnet: %s already exists: choose another directory or remove it", files.Store)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return files, nil, fmt.Errorf("devnet: %w", err)
		}
		defer func() {
			if err != nil {
				os.Remove(dir) // only if empty: what this run made
			}
		}()
	}
	s, err := n.buildStore(files.Store, chain, ranges)
	if err != nil {
		return files, nil, err
	}
	if err = scratch.WriteFile(files.Management, "new", doc, 0o644); err != nil {
		s.Discard()
		return files, nil, fmt.Errorf("devnet: %w", err)
	}
	failpoint.Hit("devnet-management-written")
	if err = s.Close(); err != nil {
		return files, nil, err
	}
	return files, chain, nil
}
