package service

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/policy"
)

// Presentation is an open presentation request as the service uses it: the stored request with
// its policy parsed and compiled for the request's as-of date, and its challenge as a field
// element. It is built once per request id and process (by OpenRequest, or on first use) and kept
// for the proofs, verifications and FHIR results that follow; it is never modified.
type Presentation struct {
	zkhealth.PresentationRequest
	Policy    *policy.Policy
	Compiled  *policy.Compiled
	Challenge fr.Element
}

// newPresentation parses a stored request. A stored request was valid when it was opened, so an
// error here is the store's fault (internal), not the caller's.
func newPresentation(r zkhealth.PresentationRequest) (*Presentation, error) {
	p, err := policy.Parse(r.Policy)
	if err != nil {
		return nil, fmt.Errorf("stored request %s: policy: %w", r.ID, err)
	}
	compiled, err := p.Compile(r.AsOf)
	if err != nil {
		return nil, fmt.Errorf("stored request %s: policy as of %s: %w", r.ID, r.AsOf, err)
	}
	challenge, err := fieldhash.ReduceHex(r.Challenge)
	if err != nil {
		return nil, fmt.Errorf("stored request %s: challenge: %w", r.ID, err)
	}
	return &Presentation{PresentationRequest: r, Policy: p, Compiled: compiled, Challenge: challenge}, nil
}

// maxPresentations bounds the presentations one process keeps.
const maxPresentations = 4096

// presentations reads presentation requests from the store, which stays the authority on whether
// a request exists and is open, and keeps them parsed: a request read again is parsed again only
// if it differs from the one kept. At most maxPresentations are kept, the oldest dropped first.
// Safe for concurrent use.
type presentations struct {
	store zkhealth.Store
	now   func() time.Time

	mu    sync.Mutex
	byID  map[string]*Presentation
	order []string // ids, oldest first
}

func newPresentations(store zkhealth.Store, now func() time.Time) *presentations {
	return &presentations{store: store, now: now, byID: map[string]*Presentation{}}
}

// get returns the open request with the id, parsed: ENotFound, EExpired once it expired, or the
// store's error.
func (ps *presentations) get(ctx context.Context, id string) (*Presentation, error) {
	r, err := ps.store.Request(ctx, id, ps.now())
	if err != nil {
		return nil, err
	}
	ps.mu.Lock()
	p := ps.byID[id]
	ps.mu.Unlock()
	if p != nil && p.same(r) {
		return p, nil
	}
	if p, err = newPresentation(r); err != nil {
		return nil, err
	}
	ps.keep(p)
	return p, nil
}

// same reports whether r is the request p was parsed from.
func (p *Presentation) same(r zkhealth.PresentationRequest) bool {
	return p.ID == r.ID && p.PolicyID == r.PolicyID && p.AsOf == r.AsOf && p.Scope == r.Scope &&
		p.PresentationRequest.Challenge == r.Challenge && p.ExpiresAt.Equal(r.ExpiresAt) && bytes.Equal(p.PresentationRequest.Policy, r.Policy)
}

// keep remembers p, in place of an earlier parse of the same id.
func (ps *presentations) keep(p *Presentation) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if _, ok := ps.byID[p.ID]; !ok {
		if len(ps.order) >= maxPresentations {
			delete(ps.byID, ps.order[0])
			ps.order = ps.order[1:]
		}
		ps.order = append(ps.order, p.ID)
	}
	ps.byID[p.ID] = p
}
