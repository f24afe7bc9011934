package peerserver

import (
	"bufio"
	"fmt"
	"os"

	"github.com/vcsync/vcsync/wire"
)

// Export writes stored blocks to down to from into path, in the wire's frame
// format behind an export header. It writes to a temporary file and renames
// it, so a failed export never leaves a truncated file behind.
func Export(src Source, path string, from, to uint64, chunk int) (int64, error) {
	st, err := src.State()
	if err != nil {
		return 0, err
	}
	a := wire.StoreAvailability(src.Identity(), st)
	if from == 0 || from > to || to > a.ServeTo {
		return 0, fmt.Errorf("export %d-%d: the store holds 1-%d with no gap", from, to, a.ServeTo)
	}
	if chunk <= 0 {
		chunk = wire.DefaultMaxChunk
	}
	tmp := path + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	id := src.Identity()
	if err := wire.WriteExportHeader(w, wire.ExportHeader{NetworkType: id.NetworkType, ChainID: id.ChainID, From: from, To: to, Chunk: chunk}); err != nil {
		return 0, err
	}
	fw := wire.NewFrameWriter(w, wire.Grant{From: to, To: from, Chunk: chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes})
	if err := src.ReadRange(to, from, func(_ uint64, raw []byte) error { return fw.Add(raw) }); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	if err := fw.Flush(); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	size, _ := f.Seek(0, 1)
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return size, nil
}
