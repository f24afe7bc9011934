package mgmt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vcsync/vcsync/committee"
)

// minRefresh bounds how often lookups past what a document covers read it
// again: blocks from peers naming future reference times cannot turn into
// a stream of fetches.
const minRefresh = 2 * time.Second

// DocLoader is a management document or committee file that is read again
// when asked: before each follow round, and when a lookup asks for a
// reference time past what the document covers (at most once per
// minRefresh, so blocks naming future times cannot make it fetch in a loop).
type DocLoader struct {
	location string
	allowURL bool
	chainID  uint32
	warn     func(string)

	mu   sync.Mutex
	src  *DocSource
	last time.Time
	now  func() time.Time // the clock minRefresh is measured on
}

// LoadDoc reads the document at location (a URL only if allowURL) for a
// chain. warn, if set, hears what the service's rules made it pass over.
func LoadDoc(ctx context.Context, location string, allowURL bool, chainID uint32, warn func(string)) (*DocLoader, error) {
	l := &DocLoader{location: location, allowURL: allowURL, chainID: chainID, warn: warn, now: time.Now}
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *DocLoader) load(ctx context.Context) error {
	l.last = l.now()
	doc, err := ReadManagementDoc(ctx, l.location, l.allowURL)
	if err != nil {
		return err
	}
	src, err := NewDocSource(doc, l.chainID)
	if err != nil {
		return fmt.Errorf("%s: %w", l.location, err)
	}
	if l.warn != nil && l.src == nil {
		for _, w := range src.Warnings {
			l.warn(fmt.Sprintf("%s: %s", l.location, w))
		}
	}
	l.src = src
	return nil
}

// Refresh reads the document again; on failure the one read before stays.
func (l *DocLoader) Refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.load(ctx)
}

func (l *DocLoader) CommitteeAt(ctx context.Context, t uint32) (*committee.Committee, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := l.src.CommitteeAt(ctx, t)
	if errors.Is(err, committee.ErrNoCommittee) && l.src.end != 0 && t > l.src.end && l.now().Sub(l.last) >= minRefresh {
		if lerr := l.load(ctx); lerr != nil {
			return nil, fmt.Errorf("%w (reading a newer document failed: %v)", err, lerr)
		}
		return l.src.CommitteeAt(ctx, t)
	}
	return c, err
}

func (l *DocLoader) Current(ctx context.Context) (*committee.Committee, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.Current(ctx)
}

func (l *DocLoader) GenesisRefTime(ctx context.Context) (uint32, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.src.GenesisRefTime(ctx)
}
