package peerclient

import (
	"context"
	"io"

	"github.com/vcsync/vcsync/wire"
)

// LocalSource is what a peer read in-process reads: another store
// (StoreFile) or an export file (package exportfile). It says what it
// holds and streams what was granted; Local does the rest.
type LocalSource interface {
	Name() string
	// Availability says what the source holds and will give.
	Availability(ctx context.Context) (wire.Availability, error)
	// Read streams a grant: g.From down to g.To, g.Chunk blocks at a time.
	Read(ctx context.Context, g wire.Grant) (Stream, error)
}

// Local is the one peer read in-process, whatever its source: it grants a
// request by the same rules as a server (wire.GrantFor), so a file peer
// cannot be asked for more, or otherwise, than a network peer would give.
type Local struct {
	Source LocalSource
}

func (p *Local) Name() string { return p.Source.Name() }

func (p *Local) Availability(ctx context.Context) (wire.Availability, error) {
	return p.Source.Availability(ctx)
}

func (p *Local) Blocks(ctx context.Context, req wire.Request) (Stream, error) {
	a, err := p.Source.Availability(ctx)
	if err != nil {
		return nil, err
	}
	g, err := wire.GrantFor(a, req)
	if err != nil {
		return nil, err
	}
	return p.Source.Read(ctx, g)
}

// Close releases what the source holds (a store's read lock), if anything.
func (p *Local) Close() error {
	if c, ok := p.Source.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
