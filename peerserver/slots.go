package peerserver

import (
	"net"
	"sync"
	"time"
)

// DefaultMaxStreamsPerClient bounds the streams one client address holds
// at once. Two is a client's live batch and one batch fetched ahead: a
// client with --parallel 4 asks for five, and the rest of its requests
// are told "later" (it backs off and uses other peers), so the 16 slots
// of a server are shared by at least eight clients instead of three.
const DefaultMaxStreamsPerClient = 2

// retryAfterSeconds is what a refused client is told to wait: about the
// time a batch of 1000 blocks takes to stream on loopback, so a slot has
// likely freed by then.
const retryAfterSeconds = 1

// refusalLogEvery is how often serve logs refusals of one client.
const refusalLogEvery = time.Minute

// slots counts the streams open, in all and per client address, and
// remembers when each client's refusals were last logged.
type slots struct {
	mu        sync.Mutex
	max       int
	perClient int
	open      int
	byClient  map[string]int
	logged    map[string]time.Time
}

func newSlots(max, perClient int) *slots {
	return &slots{max: max, perClient: perClient, byClient: map[string]int{}, logged: map[string]time.Time{}}
}

// take claims a slot for the client at remoteAddr; the reason says which
// limit refused it.
func (s *slots) take(remoteAddr string) (release func(), reason string) {
	client := clientOf(remoteAddr)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.open >= s.max:
		return nil, "too many concurrent streams; try another peer or later"
	case s.byClient[client] >= s.perClient:
		return nil, "this client already holds its share of streams; try another peer or later"
	}
	s.open++
	s.byClient[client]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.open--
		if s.byClient[client]--; s.byClient[client] == 0 {
			delete(s.byClient, client)
		}
	}, ""
}

// shouldLog reports whether a refusal of this client is the first in
// refusalLogEvery, and forgets clients not refused for that long.
func (s *slots) shouldLog(remoteAddr string, now time.Time) bool {
	client := clientOf(remoteAddr)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, at := range s.logged {
		if now.Sub(at) >= refusalLogEvery {
			delete(s.logged, c)
		}
	}
	if _, ok := s.logged[client]; ok {
		return false
	}
	s.logged[client] = now
	return true
}

// clientOf is the address a client's slots are counted under: its IP.
func clientOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
