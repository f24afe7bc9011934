package exportfile

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vcsync/vcsync/chain"
	"github.com/vcsync/vcsync/internal/countio"
	"github.com/vcsync/vcsync/internal/scratch"
	"github.com/vcsync/vcsync/wire"
)

// ErrExists means the export's target is already there; ErrNotRegular,
// that it is something other than a regular file (never replaced).
var (
	ErrExists     = errors.New("the target exists")
	ErrNotRegular = errors.New("the target is not a regular file")
)

// Result is what an export wrote.
type Result struct {
	Bytes  int64
	SHA256 string // hex, of every byte written: what import --sha256 checks
}

// Source is what an export reads: a store (store.Store is one).
type Source interface {
	Identity() chain.Identity
	State() (chain.State, error)
	ReadRange(hi, lo uint64, fn func(h uint64, raw []byte) error) error
}

// Bounds are the heights an export holds, named so they cannot be read
// the wrong way round: the file holds Highest down to Lowest.
type Bounds struct {
	Lowest, Highest uint64
}

// Create writes stored blocks b.Highest down to b.Lowest into path, in the wire's frame
// format behind an export header. It never destroys: path must be absent,
// or with force a regular file (never a link, FIFO, device or directory).
// It writes a temporary file beside path, fsyncs it, renames it into place
// and fsyncs the directory, so what it reports done survives a power cut
// and a failed or killed export leaves path as it was.
func Create(src Source, path string, b Bounds, chunk int, force bool) (Result, error) {
	if fi, err := os.Lstat(path); err == nil {
		switch {
		case !fi.Mode().IsRegular():
			return Result{}, fmt.Errorf("export: %w: %s (%s): refusing to replace it", ErrNotRegular, path, fi.Mode().Type())
		case !force:
			return Result{}, fmt.Errorf("export: %w: %s", ErrExists, path)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	if err := checkBounds(src, b); err != nil {
		return Result{}, err
	}
	f, err := scratch.Create(path, "partial")
	if err != nil {
		return Result{}, fmt.Errorf("export to %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	defer f.Close()
	res, err := Write(src, f, b, chunk)
	if err != nil {
		return res, fmt.Errorf("export: %w", scratch.Named(err, tmp, path))
	}
	if err := scratch.Commit(f, path, 0o644, "export-written"); err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	return res, nil
}

func checkBounds(src Source, b Bounds) error {
	st, err := src.State()
	if err != nil {
		return err
	}
	a := wire.StoreAvailability(src.Identity(), st)
	if b.Lowest == 0 || b.Lowest > b.Highest || b.Highest > a.ServeTo {
		return fmt.Errorf("export %d-%d: the store holds 1-%d with no gap", b.Lowest, b.Highest, a.ServeTo)
	}
	return nil
}

// Write writes the export of blocks b.Highest down to b.Lowest onto w (a pipe, a
// socket, standard output): the header, then the frames.
func Write(src Source, out io.Writer, b Bounds, chunk int) (Result, error) {
	if err := checkBounds(src, b); err != nil {
		return Result{}, err
	}
	if chunk <= 0 {
		chunk = wire.DefaultMaxChunk
	}
	sum := sha256.New()
	counted := &countio.Writer{W: io.MultiWriter(out, sum)}
	w := bufio.NewWriterSize(counted, 1<<20)
	id := src.Identity()
	if err := WriteHeader(w, Header{NetworkType: id.NetworkType, ChainID: id.ChainID, From: b.Lowest, To: b.Highest, Chunk: chunk}); err != nil {
		return Result{}, err
	}
	fw := wire.NewFrameWriter(w, wire.Grant{From: b.Highest, To: b.Lowest, Chunk: chunk, MaxFrameBytes: wire.DefaultMaxFrameBytes})
	if err := src.ReadRange(b.Highest, b.Lowest, func(_ uint64, raw []byte) error { return fw.Add(raw) }); err != nil {
		return Result{}, err
	}
	if err := fw.Flush(); err != nil {
		return Result{}, err
	}
	if err := w.Flush(); err != nil {
		return Result{}, err
	}
	return Result{Bytes: counted.N, SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}
