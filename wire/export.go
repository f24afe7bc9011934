package wire

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// ExportMagic opens every export file.
const ExportMagic = "VCSYNCX1"

// maxExportHeader bounds the JSON header of an export file; a real one is
// under a hundred bytes.
const maxExportHeader = 64 << 10

// ExportHeader describes an export file: blocks To down to From follow as frames.
type ExportHeader struct {
	NetworkType uint32 `json:"network_type"`
	ChainID     uint32 `json:"chain_id"`
	From        uint64 `json:"from"`
	To          uint64 `json:"to"`
	Chunk       int    `json:"chunk"`
}

// WriteExportHeader writes the magic and the header.
func WriteExportHeader(w io.Writer, h ExportHeader) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	for _, part := range [][]byte{[]byte(ExportMagic), n[:], data} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// ReadExportHeader reads and validates the magic and the header.
func ReadExportHeader(r io.Reader) (ExportHeader, error) {
	var h ExportHeader
	var pre [len(ExportMagic) + 4]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil || string(pre[:len(ExportMagic)]) != ExportMagic {
		return h, fmt.Errorf("not a vcsync export file (no %s header)", ExportMagic)
	}
	n := binary.BigEndian.Uint32(pre[len(ExportMagic):])
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
	if h.From == 0 || h.From > h.To || h.Chunk <= 0 || h.Chunk > MaxChunkLimit {
		return h, fmt.Errorf("export header range %d-%d chunk %d is not valid", h.From, h.To, h.Chunk)
	}
	return h, nil
}
