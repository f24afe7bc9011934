package wire

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Paths and headers of the HTTP protocol (docs/PROTOCOL.md).
const (
	PathAvailability = "/v1/availability"
	PathBlocks       = "/v1/blocks"
	HeaderFrom       = "Vcsync-Batch-From"
	HeaderTo         = "Vcsync-Batch-To"
	HeaderChunk      = "Vcsync-Chunk"
	HeaderMaxFrame   = "Vcsync-Max-Frame-Bytes"
	FrameContentType = "application/x-vcsync-frames"
	// MaxAvailabilityBytes bounds the availability answer; it is a few hundred bytes.
	MaxAvailabilityBytes = 64 << 10
)

// SetGrantHeaders announces a grant before the first frame.
func SetGrantHeaders(h http.Header, g Grant) {
	h.Set("Content-Type", FrameContentType)
	h.Set(HeaderFrom, strconv.FormatUint(g.From, 10))
	h.Set(HeaderTo, strconv.FormatUint(g.To, 10))
	h.Set(HeaderChunk, strconv.Itoa(g.Chunk))
	h.Set(HeaderMaxFrame, strconv.Itoa(g.MaxFrameBytes))
}

// ParseGrant reads the grant a peer announced in its response headers.
func ParseGrant(h http.Header) (Grant, error) {
	var g Grant
	var err error
	num := func(name string, limit uint64) uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = strconv.ParseUint(h.Get(name), 10, 64)
		if err == nil && v > limit {
			err = fmt.Errorf("over %d", limit)
		}
		if err != nil {
			err = fmt.Errorf("%w: header %s %q", ErrProtocol, name, h.Get(name))
		}
		return v
	}
	g.From, g.To = num(HeaderFrom, 1<<63), num(HeaderTo, 1<<63)
	g.Chunk, g.MaxFrameBytes = int(num(HeaderChunk, 1<<31)), int(num(HeaderMaxFrame, 1<<31))
	if err == nil && (g.To == 0 || g.To > g.From || g.Chunk <= 0 || g.MaxFrameBytes <= 0) {
		err = fmt.Errorf("%w: grant %d-%d chunk %d frame %d is not valid", ErrProtocol, g.From, g.To, g.Chunk, g.MaxFrameBytes)
	}
	return g, err
}

// DecodeAvailability reads one availability answer of at most
// MaxAvailabilityBytes, with nothing after it.
func DecodeAvailability(r io.Reader) (Availability, error) {
	var a Availability
	dec := json.NewDecoder(io.LimitReader(r, MaxAvailabilityBytes))
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("%w: availability answer: %v", ErrProtocol, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return a, fmt.Errorf("%w: availability answer: trailing data after the JSON object", ErrProtocol)
	}
	if a.ServeFrom > a.ServeTo || (a.ServeTo > 0 && a.ServeFrom == 0) {
		return a, fmt.Errorf("%w: availability answer: impossible range %d-%d", ErrProtocol, a.ServeFrom, a.ServeTo)
	}
	if a.ServeTo > 0 && (a.MaxBatch == 0 || a.MaxChunk <= 0 || a.MaxChunk > MaxChunkLimit || a.MaxFrameBytes <= 0) {
		return a, fmt.Errorf("%w: availability answer: batch %d, chunk %d, frame %d bytes are not valid limits",
			ErrProtocol, a.MaxBatch, a.MaxChunk, a.MaxFrameBytes)
	}
	return a, nil
}
