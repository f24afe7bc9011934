// Package peerclient adapts the places blocks come from to one Peer
// interface: a vcsync serve over HTTP, or one peer read in-process (Local)
// over another store read directly (file://) or, from package exportfile,
// an export file. Everything a peer sends
// is untrusted: this package enforces the wire's limits, the sync core
// verifies the blocks. It knows nothing of verification or of the store
// being written.
package peerclient

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vcsync/vcsync/block"
	"github.com/vcsync/vcsync/wire"
)

// DefaultChunkTimeout is how long a peer may take to deliver the next
// chunk before it counts as stalled (the original's "wait for chunks").
const DefaultChunkTimeout = 5 * time.Second

// Peer is a source of blocks.
type Peer interface {
	// Name identifies the peer in logs and summaries.
	Name() string
	// Availability asks what the peer has and what it will give.
	Availability(ctx context.Context) (wire.Availability, error)
	// Blocks asks for a descending range; the stream's Grant says what the peer agreed to.
	Blocks(ctx context.Context, req wire.Request) (Stream, error)
}

// Stream delivers a granted range, highest height first.
type Stream interface {
	Grant() wire.Grant
	// Next returns the next chunk and its size on the wire, or io.EOF.
	// reserve, if not nil, is told the size of each frame (or block) before
	// its memory is taken, and may wait there or refuse (its error ends
	// the stream).
	Next(reserve Reserve) ([]*block.Block, int, error)
	Close() error
}

// Reserve accounts bytes about to be read into memory.
type Reserve func(bytes int) error

// Options bound what a peer may send.
type Options struct {
	MaxBlock     int           // largest accepted block; 0 means block.DefaultMaxSize
	ChunkTimeout time.Duration // 0 means DefaultChunkTimeout
}

// Open returns the peer an address names: http(s)://host:port, or
// file:///path/store.db for another store read directly.
func Open(addr string, opts Options) (Peer, error) {
	if !strings.Contains(addr, "://") {
		return nil, fmt.Errorf("peer %q has no scheme: use http://%s (or file:///path/blocks.db for a store)", addr, addr)
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("peer %q: %w", addr, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("peer %q names no host: use http://host:port", addr)
		}
		return NewHTTP(strings.TrimRight(addr, "/"), opts), nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("peer %q: file:// needs an absolute path, file:///%s%s (%q was read as a host name)", addr, u.Host, u.Path, u.Host)
		}
		if u.Path == "" {
			return nil, fmt.Errorf("peer %q: a file peer needs a path (file:///path/blocks.db)", addr)
		}
		return NewStorePeer(u.Path, opts), nil
	default:
		return nil, fmt.Errorf("peer %q: use http://host:port or file:///path/blocks.db", addr)
	}
}
