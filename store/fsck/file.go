// Package fsck checks a store file, as bbolt keeps its check apart from
// its core. First as bytes, before and without bbolt (CheckFile): that its
// meta pages are valid and the file holds every page they name (bbolt maps
// the file first, and a truncated one faults inside the map), read with
// ReadAt only, never a memory map. Then, through the store's guarded reads,
// the walk of every block against the indices (CheckAll, Check). And a raw
// scan of its leaf pages for salvage when the tree is unreachable. It
// writes nothing and knows nothing of peers or committees.
package fsck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
)

// ErrDamaged matches every error about a store file that is damaged: bad
// meta pages, a file shorter than its pages, or a page that made bbolt
// panic or fault while it was read.
var ErrDamaged = errors.New("store file is damaged")

// DamageError says what is damaged and, when known, near which block.
type DamageError struct {
	Path   string
	Height uint64 // 0 when the damage is not tied to a block
	Detail string
}

func (e *DamageError) Error() string {
	if e.Height != 0 {
		return fmt.Sprintf("store file is damaged near block %d: %s (%s)", e.Height, e.Detail, e.Path)
	}
	return fmt.Sprintf("store file is damaged: %s (%s)", e.Detail, e.Path)
}

func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// bbolt's on-disk meta page (go.etcd.io/bbolt/internal/common): a 16-byte
// page header, then magic, version, page size, flags, root bucket (root
// page id, sequence), freelist page id, high-water page id, txid and an
// FNV-64a checksum of the 56 bytes before it. bbolt validates a meta page
// but not that the file is as long as the meta says, and it maps the file
// before reading it: a truncated file then faults inside the map. So the
// file is checked here first.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16
	metaSize       = 64
	noFreelist     = ^uint64(0)
)

type boltMeta struct {
	pageSize         uint32
	root, freelist   uint64
	highWater, txid  uint64
	problem          string // why the page is not a valid meta page; "" when valid
	offset           int64
	magic, version   uint32
	checksum, summed uint64
}

func parseMeta(page []byte, offset int64) boltMeta {
	m := boltMeta{offset: offset}
	if len(page) < pageHeaderSize+metaSize {
		m.problem = "cut short"
		return m
	}
	b := page[pageHeaderSize : pageHeaderSize+metaSize]
	le := binary.LittleEndian // bbolt writes native order; vcsync runs on little-endian machines
	m.magic, m.version, m.pageSize = le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:])
	m.root, m.freelist, m.highWater, m.txid = le.Uint64(b[16:]), le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:])
	m.checksum = le.Uint64(b[56:])
	h := fnv.New64a()
	h.Write(b[:56])
	m.summed = h.Sum64()
	switch {
	case m.magic != boltMagic:
		m.problem = fmt.Sprintf("bad magic %#x", m.magic)
	case m.version != boltVersion:
		m.problem = fmt.Sprintf("version %d, not bbolt's %d", m.version, boltVersion)
	case m.checksum != m.summed:
		m.problem = "checksum mismatch"
	case m.pageSize < 512 || m.pageSize > 1<<24 || m.pageSize&(m.pageSize-1) != 0:
		m.problem = fmt.Sprintf("page size %d is not a power of two between 512 and 16 MiB", m.pageSize)
	}
	return m
}

// FileHealth is what checking a store file's bbolt frame found.
type FileHealth struct {
	Size     int64
	PageSize int
	// Need is the length the meta in use says the file has; when it is
	// over Size, the file was truncated.
	Need int64
	// MetaProblems names each meta page that is not valid, though the file
	// can still be opened from the other.
	MetaProblems []string
}

// RegularFile refuses anything but a regular file (or a missing one) before
// it is opened: opening a FIFO blocks in open(2) until a writer comes, and
// a device or directory is never a store.
func RegularFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s): not a vcsync store", path, fileKind(fi.Mode()))
	}
	return nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// CheckFile checks the file at path before bbolt maps it: its size, both
// meta pages (magic, version, checksum, page size) and that the file holds
// every page the meta bbolt will use names. It returns a *DamageError when
// bbolt cannot open the file safely.
func CheckFile(path string) (FileHealth, error) {
	var fh FileHealth
	f, err := os.Open(path)
	if err != nil {
		return fh, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fh, err
	}
	if !fi.Mode().IsRegular() {
		return fh, fmt.Errorf("%s is not a regular file", path)
	}
	fh.Size = fi.Size()
	damaged := func(format string, args ...any) (FileHealth, error) {
		return fh, &DamageError{Path: path, Detail: fmt.Sprintf(format, args...)}
	}
	if fh.Size == 0 {
		return damaged("the file is empty (0 bytes): not a vcsync store")
	}
	read := func(off int64) []byte {
		buf := make([]byte, pageHeaderSize+metaSize)
		n, _ := f.ReadAt(buf, off)
		return buf[:n]
	}
	// Meta page 0 names the page size; if it is bad, look for meta page 1
	// where each possible page size would put it, as bbolt does.
	m0 := parseMeta(read(0), 0)
	pageSize := m0.pageSize
	if m0.problem != "" {
		pageSize = 0
		for sz := int64(1024); sz <= 1<<24 && sz < fh.Size; sz <<= 1 {
			if m := parseMeta(read(sz), sz); m.problem == "" && int64(m.pageSize) == sz {
				pageSize = m.pageSize
				break
			}
		}
	}
	if pageSize == 0 {
		return damaged("neither meta page is valid (meta page 0: %s): not a bbolt file, or its first pages are destroyed", m0.problem)
	}
	fh.PageSize = int(pageSize)
	m1 := parseMeta(read(int64(pageSize)), int64(pageSize))
	if m1.problem == "" && m1.pageSize != pageSize {
		m1.problem = fmt.Sprintf("page size %d differs from meta page 0's %d", m1.pageSize, pageSize)
	}
	if m0.problem != "" {
		fh.MetaProblems = append(fh.MetaProblems, "meta page 0: "+m0.problem)
	}
	if m1.problem != "" {
		fh.MetaProblems = append(fh.MetaProblems, "meta page 1: "+m1.problem)
	}
	// bbolt opens from the valid meta with the higher transaction id.
	use := m0
	if m0.problem != "" || (m1.problem == "" && m1.txid > m0.txid) {
		use = m1
	}
	if use.problem != "" {
		return damaged("both meta pages are invalid (%s; %s)", m0.problem, m1.problem)
	}
	need := int64(use.highWater) * int64(pageSize)
	fh.Need = need
	switch {
	case use.highWater < 2 || use.root < 2 || use.root >= use.highWater:
		return damaged("meta page at offset %d names root page %d of %d pages", use.offset, use.root, use.highWater)
	case use.freelist != noFreelist && (use.freelist < 2 || use.freelist >= use.highWater):
		return damaged("meta page at offset %d names freelist page %d of %d pages", use.offset, use.freelist, use.highWater)
	case need > fh.Size:
		return damaged("the file is %d bytes, but its meta page names %d pages of %d bytes (%d bytes): it was truncated",
			fh.Size, use.highWater, pageSize, need)
	}
	return fh, nil
}
