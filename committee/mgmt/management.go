// Package mgmt reads committees from a management-service document (its
// /vchains/ID/management answer) or a committee file of the same shape:
// reading it from a file or URL within bounds, validating it, answering
// lookups by reference time, and re-reading a newer one when a lookup
// passes its end. It knows nothing of Ethereum, blocks or stores.
package mgmt

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/vcsync/vcsync/committee"
)

// ManagementDoc is the management-service document, in the shape the Orbs
// management service published at GET /vchains/<id>/management.
type ManagementDoc struct {
	CurrentRefTime   uint32
	PageStartRefTime uint32
	PageEndRefTime   uint32
	VirtualChains    map[string]*VirtualChain
}

// VirtualChain is one chain's part of the document.
type VirtualChain struct {
	VirtualChainId        uint32
	GenesisRefTime        uint32
	CurrentTopology       []TopologyNode
	CommitteeEvents       []CommitteeEvent
	SubscriptionEvents    []json.RawMessage
	ProtocolVersionEvents []json.RawMessage
}

// TopologyNode is a node's network address.
type TopologyNode struct {
	EthAddress  Address
	OrbsAddress Address
	Ip          string
	Port        int
}

// CommitteeEvent says which committee took effect at RefTime.
type CommitteeEvent struct {
	RefTime   uint32
	Committee []CommitteeMember
}

// CommitteeMember is one member inside a committee event.
type CommitteeMember struct {
	EthAddress   Address
	OrbsAddress  Address
	Weight       *big.Int
	IdentityType int
}

// Address is a 20-byte address written as hex with or without 0x, as the
// management service wrote it.
type Address common.Address

func (a Address) MarshalText() ([]byte, error) {
	return []byte(hex.EncodeToString(a[:])), nil
}

func (a *Address) UnmarshalText(text []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(text), "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != common.AddressLength {
		return fmt.Errorf("address %q is not 20 bytes of hex", text)
	}
	copy(a[:], b)
	return nil
}

// maxDocBytes bounds a downloaded document; real ones are a few MiB.
const maxDocBytes = 64 << 20

// ErrURLNotFile means a committee file was named by a URL: committee files
// are read from disk only, never fetched.
var ErrURLNotFile = errors.New("a URL is not a file")

// ReadManagementDoc reads a document from a file path, or, when allowURL is
// set, from an http(s) URL.
func ReadManagementDoc(ctx context.Context, location string, allowURL bool) (*ManagementDoc, error) {
	var r io.Reader
	if scheme, _, ok := strings.Cut(location, "://"); ok && scheme != "http" && scheme != "https" && scheme != "file" {
		return nil, fmt.Errorf("management document %s: %s:// is not supported: give an http(s):// URL or a file path", location, scheme)
	}
	location = strings.TrimPrefix(location, "file://")
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		if !allowURL {
			return nil, fmt.Errorf("committee file %s: %w", location, ErrURLNotFile)
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, fmt.Errorf("management document %s: %w", location, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch management document: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return nil, fmt.Errorf("fetch management document %s: HTTP %s (%s)", location, resp.Status, excerpt(resp.Header.Get("Content-Type"), body))
		}
		r = resp.Body
	} else {
		f, err := os.Open(location)
		if err != nil {
			return nil, fmt.Errorf("read management document: %w", err)
		}
		defer f.Close()
		r = f
	}
	doc, err := ParseManagementDoc(r)
	if err != nil {
		return nil, fmt.Errorf("parse management document %s: %w", location, err)
	}
	return doc, nil
}

// excerpt is a short, one-line view of an error page's body: a server's
// HTML 404 page would otherwise fill the terminal.
func excerpt(contentType string, body []byte) string {
	text := strings.Join(strings.Fields(string(body)), " ")
	kind := "body"
	if strings.Contains(contentType, "html") || strings.HasPrefix(text, "<") {
		kind = "an HTML page"
		text = htmlTags.ReplaceAllString(text, " ")
		text = strings.Join(strings.Fields(text), " ")
	}
	const most = 80
	if r := []rune(text); len(r) > most {
		text = string(r[:most]) + "..."
	}
	if text == "" {
		return "empty " + kind
	}
	return fmt.Sprintf("%s: %q", kind, text)
}

var htmlTags = regexp.MustCompile(`<[^>]*>`)

// ParseManagementDoc decodes one JSON document of at most maxDocBytes, with
// nothing after it.
func ParseManagementDoc(r io.Reader) (*ManagementDoc, error) {
	var doc ManagementDoc
	lr := &io.LimitedReader{R: r, N: maxDocBytes + 1}
	dec := json.NewDecoder(lr)
	if err := dec.Decode(&doc); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("document is over the %d-byte limit", maxDocBytes)
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON document")
	}
	return &doc, nil
}

// DocSource answers committee questions from a management document.
type DocSource struct {
	chain   *VirtualChain
	end     uint32
	current uint32
	events  []*committee.Committee // sorted by RefTime, strictly increasing
	// Warnings name what the document holds that the service's rules say
	// to pass over: entries not final yet, repeated ref times, members
	// with no node address.
	Warnings []string
}

// NewDocSource validates the chain's part of doc and indexes its committees,
// by the management service's own rules (orbs-spec MGMT-SERVICE.md):
// entries later than CurrentRefTime are not final and are ignored; a page
// may hold entries outside [PageStartRefTime, PageEndRefTime]; of two
// entries with the same ref time only the first counts; a member with no
// OrbsAddress (a guardian that never registered a node) cannot sign and is
// left out. Weights are taken as published: the service already adjusted
// them (see AdjustWeights).
func NewDocSource(doc *ManagementDoc, chainID uint32) (*DocSource, error) {
	vc := doc.VirtualChains[strconv.FormatUint(uint64(chainID), 10)]
	if vc == nil {
		if len(doc.VirtualChains) == 0 {
			return nil, fmt.Errorf("management document lists no virtual chains: is it a management-service document (GET /vchains/%d/management)?", chainID)
		}
		ids := make([]string, 0, len(doc.VirtualChains))
		for id := range doc.VirtualChains {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return nil, fmt.Errorf("management document has no virtual chain %d (it has %s)", chainID, strings.Join(ids, ", "))
	}
	if vc.VirtualChainId != 0 && vc.VirtualChainId != chainID {
		return nil, fmt.Errorf("management document: chain under key %d says VirtualChainId %d", chainID, vc.VirtualChainId)
	}
	// Final entries end at CurrentRefTime (the service's view of Ethereum,
	// a finality margin behind its head); older documents may only say where their page ends.
	s := &DocSource{chain: vc, end: doc.CurrentRefTime, current: doc.CurrentRefTime}
	if s.end == 0 {
		s.end = doc.PageEndRefTime
	}
	notFinal, repeated := 0, 0
	for i, ev := range vc.CommitteeEvents {
		if s.end != 0 && ev.RefTime > s.end {
			notFinal++
			continue
		}
		if n := len(s.events); n > 0 {
			switch prev := s.events[n-1].RefTime; {
			case ev.RefTime == prev:
				repeated++
				continue
			case ev.RefTime < prev:
				return nil, fmt.Errorf("management document: committee events out of order: event %d at ref time %d follows ref time %d",
					i, ev.RefTime, prev)
			}
		}
		members := make([]committee.Member, 0, len(ev.Committee))
		for _, m := range ev.Committee {
			if m.OrbsAddress == (Address{}) {
				s.Warnings = append(s.Warnings, fmt.Sprintf("committee at ref time %d: member %s has no node (Orbs) address and cannot sign; left out",
					ev.RefTime, common.Address(m.EthAddress).Hex()))
				continue
			}
			// Each member keeps its own weight: the pair is never split.
			members = append(members, committee.Member{NodeAddress: common.Address(m.OrbsAddress), EthAddress: common.Address(m.EthAddress), Weight: m.Weight})
		}
		c, err := committee.NewCommittee(ev.RefTime, members)
		if err != nil {
			return nil, fmt.Errorf("management document: %w", err)
		}
		s.events = append(s.events, c)
	}
	if notFinal > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d committee entries after CurrentRefTime %d are not final yet; ignored", notFinal, s.end))
	}
	if repeated > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("%d committee entries repeat the ref time of the one before; only the first counts", repeated))
	}
	if len(s.events) == 0 {
		return nil, fmt.Errorf("management document: chain %d has no final committee events (CurrentRefTime %d)", chainID, s.end)
	}
	return s, nil
}

func (s *DocSource) CommitteeAt(_ context.Context, t uint32) (*committee.Committee, error) {
	if s.end != 0 && t > s.end {
		return nil, fmt.Errorf("%w: reference time %d is past the management document's end %d (fetch a newer document if the block is honest)", committee.ErrNoCommittee, t, s.end)
	}
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].RefTime > t })
	if i == 0 {
		return nil, fmt.Errorf("%w: reference time %d is before the first committee event (%d)", committee.ErrNoCommittee, t, s.events[0].RefTime)
	}
	return s.events[i-1], nil
}

// Current is the committee at the document's CurrentRefTime (its last event when unset).
func (s *DocSource) Current(ctx context.Context) (*committee.Committee, error) {
	if s.current == 0 {
		return s.events[len(s.events)-1], nil
	}
	return s.CommitteeAt(ctx, s.current)
}

// GenesisRefTime is the chain's genesis reference time.
func (s *DocSource) GenesisRefTime(context.Context) (uint32, error) {
	return s.chain.GenesisRefTime, nil
}
