package exportfile

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/vcsync/vcsync/wire"
)

// FuzzReadHeader: an export file's header is valid or an error, and
// a header length is checked before it is allocated.
func FuzzReadHeader(f *testing.F) {
	var good bytes.Buffer
	WriteHeader(&good, Header{NetworkType: 2, ChainID: 42, From: 1, To: 100, Chunk: 50})
	f.Add(good.Bytes())
	huge := []byte(Magic + "\xff\xff\xff\xff")
	f.Add(huge)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], 2)
	f.Add(append([]byte(Magic), append(n[:], '{', '}')...))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHeader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if h.From == 0 || h.From > h.To || h.Chunk <= 0 || h.Chunk > wire.MaxChunkLimit {
			t.Fatalf("accepted an invalid header %+v", h)
		}
	})
}
