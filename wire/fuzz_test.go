package wire

import (
	"bytes"
	"testing"
)

// The fuzz targets' seeds are in f.Add below and in testdata/fuzz/<target>/;
// `go test` runs them all, and CI fuzzes each target briefly.

// FuzzReadFrame: whatever a peer sends, the frame reader returns blocks or
// an error, never panics, never allocates past its limit, and every block
// it returns has a height (decoded and checked).
func FuzzReadFrame(f *testing.F) {
	var good bytes.Buffer
	fw := NewFrameWriter(&good, Grant{Chunk: 4, MaxFrameBytes: 1 << 20})
	for h := uint64(3); h >= 1; h-- {
		fw.Add(testBlock(h, 40))
	}
	fw.Flush()
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()/2])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 1, 0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for i := 0; i < 8; i++ {
			blocks, n, err := ReadFrame(r, 1<<16, 4, 1<<15)
			if err != nil {
				return
			}
			if len(blocks) == 0 || len(blocks) > 4 || n > 4+1<<16 {
				t.Fatalf("frame of %d bytes gave %d blocks", n, len(blocks))
			}
		}
	})
}

// FuzzDecodeAvailability: an availability answer decodes into a coherent
// range or an error.
func FuzzDecodeAvailability(f *testing.F) {
	f.Add([]byte(`{"network_type":2,"chain_id":42,"in_order":10,"last_synced":10,"top":10,"serve_from":1,"serve_to":10,"max_batch":1000,"max_chunk":100,"max_frame_bytes":16777216}`))
	f.Add([]byte(`{"serve_from":5,"serve_to":1}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAvailability(bytes.NewReader(data))
		if err != nil {
			return
		}
		if a.ServeFrom > a.ServeTo || (a.ServeTo > 0 && (a.ServeFrom == 0 || a.MaxChunk <= 0 || a.MaxChunk > MaxChunkLimit)) {
			t.Fatalf("accepted an incoherent answer %+v", a)
		}
	})
}
