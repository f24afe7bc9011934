// Package exportfile is vcsync's export file: its header, writing a
// store's blocks into one (atomically, never replacing what is not a
// regular file), and reading one back as a peer, from a regular file, a
// pipe or standard input, with every byte bounded before it is read. It
// knows nothing of verification or of the store being written.
package exportfile

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vcsync/vcsync/wire"
)

// Magic opens every export file.
const Magic = "VCSYNCX1"

// maxExportHeader bounds the JSON header of an export file; a real one is
// under a hundred bytes.
const maxExportHeader = 64 << 10

// Header describes an export file: blocks To down to From follow as frames.
type Header struct {
	NetworkType uint32 `json:"network_type"`
	ChainID     uint32 `json:"chain_id"`
	From        uint64 `json:"from"`
	To          uint64 `json:"to"`
	Chunk       int    `json:"chunk"`
}

// WriteHeader writes the magic and the header.
func WriteHeader(w io.Writer, h Header) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	for _, part := range [][]byte{[]byte(Magic), n[:], data} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// ReadHeader reads and validates the magic and the header.
func ReadHeader(r io.Reader) (Header, error) {
	var h Header
	var pre [len(Magic) + 4]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:len(Magic)]) != Magic {
		return h, fmt.Errorf("not a vcsync export file (no %s header)", Magic)
	}
	n := binary.BigEndian.Uint32(pre[len(Magic):])
	if n > maxExportHeader {
		return h, fmt.Errorf("export header of %d bytes is over the %d-byte limit", n, maxExportHeader)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return h, fmt.Errorf("read export header: %w", err)
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("export header: %w", err)
	}
	if h.From == 0 || h.From > h.To || h.Chunk <= 0 || h.Chunk > wire.MaxChunkLimit {
		return h, fmt.Errorf("export header range %d-%d chunk %d is not valid", h.From, h.To, h.Chunk)
	}
	return h, nil
}
