package fsck

import (
	"encoding/binary"
	"io"
	"os"
)

// bbolt's leaf page layout (go.etcd.io/bbolt/internal/common/page.go): a
// 16-byte header (id u64, flags u16, count u16, overflow u32), then count
// 16-byte elements (flags, pos, ksize, vsize, u32 each); an element's key
// sits pos bytes after the element, its value right after the key.
const (
	leafPageFlag   = 0x02
	leafElemSize   = 16
	maxScanOverrun = 1 << 16 // most overflow pages followed for one leaf (256 MiB of 4 KiB pages)
)

// ScanLeaves reads the file page by page with ReadAt (no memory map, so
// damage cannot fault) and calls fn with every plain key/value on a page
// that says it is a leaf. What it finds is unchecked: callers decode and
// check every value.
func ScanLeaves(path string, pageSize int, fn func(k, v []byte)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	le := binary.LittleEndian
	hdr := make([]byte, 16)
	for off := int64(2 * pageSize); off+16 <= size; off += int64(pageSize) {
		if _, err := f.ReadAt(hdr, off); err != nil && err != io.EOF {
			return err
		}
		if le.Uint16(hdr[8:]) != leafPageFlag {
			continue
		}
		count, overflow := int(le.Uint16(hdr[10:])), int64(le.Uint32(hdr[12:]))
		if overflow > maxScanOverrun {
			continue
		}
		page := make([]byte, min((1+overflow)*int64(pageSize), size-off))
		n, _ := f.ReadAt(page, off)
		page = page[:n]
		for i := 0; i < count; i++ {
			e := 16 + i*leafElemSize
			if e+leafElemSize > len(page) {
				break
			}
			flags, pos := le.Uint32(page[e:]), int(le.Uint32(page[e+4:]))
			ksize, vsize := int(le.Uint32(page[e+8:])), int(le.Uint32(page[e+12:]))
			start := e + pos
			if flags != 0 || pos < 0 || ksize < 0 || vsize < 0 || start+ksize+vsize > len(page) || start+ksize+vsize < start {
				continue
			}
			fn(page[start:start+ksize], page[start+ksize:start+ksize+vsize])
		}
	}
	return nil
}
