package peerserver

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/wire"
)

// ErrExists means the export's target is already there.
var ErrExists = errors.New("the target exists")

// Export writes stored blocks to down to from into path, in the wire's frame
// format behind an export header. It never destroys: path must be absent,
// or with force a regular file (never a link, FIFO, device or directory).
// It writes a temporary file beside path, fsyncs it, renames it into place
// and fsyncs the directory, so what it reports done survives a power cut
// and a failed or killed export leaves path as it was.
func Export(src Source, path string, from, to uint64, chunk int, force bool) (int64, error) {
	if fi, err := os.Lstat(path); err == nil {
		switch {
		case !fi.Mode().IsRegular():
			return 0, fmt.Errorf("export: %w: %s is not a regular file (%s): refusing to replace it", ErrExists, path, fi.Mode().Type())
		case !force:
			return 0, fmt.Errorf("export: %w: %s: give --force to replace it", ErrExists, path)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("export: %w", err)
	}
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
	f, err := scratch.Create(path, "partial")
	if err != nil {
		return 0, fmt.Errorf("export to %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	id := src.Identity()
	if err := wire.WriteExportHeader(w, wire.ExportHeader{NetworkType: id.NetworkType, ChainID: id.ChainID, From: from, To: to, Chunk: chunk}); err != nil {
		return 0, err
	}
	fw := wire.NewFrameWriter(w, wire.Grant{From: to, To: from, Chunk: chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes})
	if err := src.ReadRange(to, from, func(_ uint64, raw []byte) error { return fw.Add(raw) }); err != nil {
		return 0, fmt.Errorf("export: %w", scratch.Named(err, tmp, path))
	}
	if err := fw.Flush(); err != nil {
		return 0, scratch.Named(err, tmp, path)
	}
	if err := w.Flush(); err != nil {
		return 0, scratch.Named(err, tmp, path)
	}
	size, _ := f.Seek(0, 1)
	if err := scratch.Commit(f, path, 0o644, "export-written"); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return size, nil
}
