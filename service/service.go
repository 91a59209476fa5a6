// Package service is zkhealth's application logic behind the HTTP API, independent of HTTP and of
// which backing store is used: registering policies, opening presentation requests, issuing
// credentials, proving (Proofs: with the keyed-hash proof cache and the job queue) and verifying
// (with the issuer registry, the nullifier registry and the verification cache). It reaches the
// proving system through three small interfaces (Prover, Verifier, KeyRegistry), validates every
// request body in one place (the input types' Validate), and parses a presentation request once
// per process (Presentation).
//
// Privacy: the only private inputs it sees are a holder's credential and secret in Prove. They
// reach the prover and, for asynchronous jobs, the queue (which encrypts them); cache keys derived
// from them are HMACs under the server secret; nothing private is logged or returned in errors.
package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/metrics"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// Request TTL bounds (API.md).
const (
	DefaultRequestTTL = 600 * time.Second
	MaxRequestTTL     = 86400 * time.Second
)

// KeyRegistry describes the circuits the service proves and verifies and serves their verifying
// keys; internal/keys' *Registry implements it.
type KeyRegistry interface {
	// Circuits describes the loaded circuits.
	Circuits() []keys.Info
	// VerifyingKey returns a circuit's verifying key in its compressed serialisation, or false.
	VerifyingKey(circuit string) ([]byte, bool)
}

// Deps are the service's collaborators. Store, ProofCache, VerifyCache, Prover, Verifier, Keys,
// Secret and IssuerKey are required; Queue is needed for asynchronous proofs. Proofs, when set,
// is the proving use case to use (its store and proof cache must be Store and ProofCache); nil
// builds one.
type Deps struct {
	Store       zkhealth.Store
	ProofCache  zkhealth.Cache
	VerifyCache zkhealth.Cache
	Queue       zkhealth.Queue
	Prover      Prover
	Verifier    Verifier
	Keys        KeyRegistry
	Proofs      *Proofs
	// Secret keys the HMACs of cache and job keys; at least 32 bytes, shared by every process
	// serving one deployment.
	Secret    []byte
	IssuerKey *credential.IssuerKey
	// Log records every verification (verify); nil records none (tests of other parts only:
	// app always sets it).
	Log     VerificationLog
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// ProofTTL and VerifyTTL are how long cached answers live (default 1 h).
	ProofTTL  time.Duration
	VerifyTTL time.Duration
}

// Service implements the API's operations.
type Service struct {
	d      Deps
	proofs *Proofs
}

// New checks the dependencies and returns the service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.ProofCache == nil || d.VerifyCache == nil:
		return nil, errors.New("service: store and caches are required")
	case d.Prover == nil || d.Verifier == nil || d.Keys == nil || d.IssuerKey == nil:
		return nil, errors.New("service: prover, verifier, key registry and issuer key are required")
	case len(d.Secret) < 32:
		return nil, errors.New("service: the server secret must be at least 32 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	if d.VerifyTTL == 0 {
		d.VerifyTTL = time.Hour
	}
	proofs := d.Proofs
	if proofs == nil {
		var err error
		proofs, err = NewProofs(ProofsDeps{Store: d.Store, Cache: d.ProofCache, Prover: d.Prover, Secret: d.Secret,
			Metrics: d.Metrics, Logger: d.Logger, Now: d.Now, TTL: d.ProofTTL})
		if err != nil {
			return nil, err
		}
	}
	return &Service{d: d, proofs: proofs}, nil
}

// today is the current UTC date.
func (s *Service) today() string { return s.d.Now().UTC().Format("2006-01-02") }

func randomID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// RegisterPolicy validates a POLICY.json and stores it under an id derived from its canonical
// form, so the same policy content always gets the same id. Errors: EInvalid naming the field or
// predicate, EUnavailable.
func (s *Service) RegisterPolicy(ctx context.Context, raw []byte) (zkhealth.StoredPolicy, error) {
	p, err := policy.Parse(raw)
	if err != nil {
		return zkhealth.StoredPolicy{}, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	if _, err := p.Compile(s.today()); err != nil {
		return zkhealth.StoredPolicy{}, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	canonical, err := json.Marshal(p)
	if err != nil {
		return zkhealth.StoredPolicy{}, fmt.Errorf("canonical policy: %w", err)
	}
	sum := sha256.Sum256(canonical)
	sp := zkhealth.StoredPolicy{ID: "pol_" + hex.EncodeToString(sum[:12]), Policy: canonical}
	if err := s.d.Store.PutPolicy(ctx, sp); err != nil {
		return zkhealth.StoredPolicy{}, err
	}
	return sp, nil
}

// Policy returns a stored policy: ENotFound, EUnavailable.
func (s *Service) Policy(ctx context.Context, id string) (zkhealth.StoredPolicy, error) {
	return s.d.Store.Policy(ctx, id)
}

// OpenRequest opens a presentation request for a stored policy: as-of date (default today, UTC),
// a fresh random challenge, and an expiry ttl from now (default 600 s, 1 s to 86400 s). The
// request is kept parsed for the proofs and verifications that follow. Errors: EInvalid (the
// input, or a policy that cannot be compiled for the as-of date), ENotFound (policy),
// EUnavailable.
func (s *Service) OpenRequest(ctx context.Context, in RequestInput) (zkhealth.PresentationRequest, error) {
	var zero zkhealth.PresentationRequest
	if err := in.Validate(); err != nil {
		return zero, err
	}
	asOf := in.AsOf
	if asOf == "" {
		asOf = s.today()
	}
	sp, err := s.d.Store.Policy(ctx, in.PolicyID)
	if err != nil {
		return zero, err
	}
	p, err := policy.Parse(sp.Policy)
	if err != nil {
		return zero, fmt.Errorf("stored policy %s: %w", in.PolicyID, err)
	}
	compiled, err := p.Compile(asOf)
	if err != nil {
		return zero, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("policy as of %s: %w", asOf, err))
	}
	var ch fr.Element
	if _, err := ch.SetRandom(); err != nil {
		return zero, fmt.Errorf("challenge: %w", err)
	}
	chb := ch.Bytes()
	r := zkhealth.PresentationRequest{
		ID:        randomID("req_"),
		PolicyID:  in.PolicyID,
		Policy:    sp.Policy,
		AsOf:      asOf,
		Scope:     p.Scope,
		Challenge: hex.EncodeToString(chb[:]),
		ExpiresAt: s.d.Now().Add(in.ttl()).UTC().Truncate(time.Second),
	}
	if err := s.d.Store.PutRequest(ctx, r); err != nil {
		return zero, err
	}
	s.proofs.requests.keep(&Presentation{PresentationRequest: r, Policy: p, Compiled: compiled, Challenge: ch})
	return r, nil
}

// Request returns an open request: ENotFound, EExpired once it expired, EUnavailable.
func (s *Service) Request(ctx context.Context, id string) (zkhealth.PresentationRequest, error) {
	p, err := s.proofs.requests.get(ctx, id)
	if err != nil {
		return zkhealth.PresentationRequest{}, err
	}
	return p.PresentationRequest, nil
}

// Prove proves a request synchronously (see Proofs.Prove). A repeated identical request returns
// the cached proof (hit = true). Errors: EInvalid (input), ENotFound/EExpired (request),
// ECredential (bad signature, wrong holder, expired credential, untrusted issuer), ENotSatisfied.
func (s *Service) Prove(ctx context.Context, in ProveInput) (proofJSON []byte, hit bool, err error) {
	return s.proofs.Prove(ctx, in)
}

// ProveAsync runs the checks a synchronous proof gets before proving (Proofs.Check: a request the
// synchronous call refuses at once is refused here too, with the same error), then queues the
// proof job and returns its id. The id is a keyed hash of the request, so the same body queued
// twice names the same job. Errors: those of Check, EOverloaded (queue full), EUnavailable.
func (s *Service) ProveAsync(ctx context.Context, in ProveInput) (string, error) {
	if s.d.Queue == nil {
		return "", zkhealth.Errorf(zkhealth.EUnavailable, "asynchronous proving is not configured")
	}
	if err := s.proofs.Check(ctx, in); err != nil {
		return "", err
	}
	id := s.proofs.jobID(in)
	job := zkhealth.ProofJob{RequestID: in.RequestID, Credential: in.Credential, HolderSecret: in.HolderSecret}
	if err := s.d.Queue.Enqueue(ctx, id, job); err != nil {
		return "", err
	}
	return id, nil
}

// Job returns an asynchronous job's state: ENotFound, EUnavailable.
func (s *Service) Job(ctx context.Context, id string) (zkhealth.Job, error) {
	if s.d.Queue == nil {
		return zkhealth.Job{}, zkhealth.Errorf(zkhealth.ENotFound, "no such job")
	}
	return s.d.Queue.Job(ctx, id)
}

// Issue signs a credential with the server's issuer key: issued today, expiring on ExpiresOn
// (default one year later). With FHIR, the attributes are built by fhir.Attributes as of the issue
// date (package fhir documents the mapping). Errors: EInvalid (a malformed field, attribute or
// bundle, or a bad loinc set: the message names the field, or the FHIR resource and path, and
// never carries a value from the record).
func (s *Service) Issue(ctx context.Context, in IssueInput) (*credential.Credential, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	sc, err := schema.Get(in.Schema)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err) // Validate checked it
	}
	hc, err := fieldhash.ParseHex(in.HolderCommitment)
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "holder_commitment: want a field element in hex")
	}
	hasFHIR := present(in.FHIR)
	issued := s.d.Now().UTC()
	issuedOn := issued.Format("2006-01-02")
	expires := in.ExpiresOn
	if expires == "" {
		expires = issued.AddDate(1, 0, 0).Format("2006-01-02")
	}
	if !hasFHIR {
		c, err := credential.Issue(s.d.IssuerKey, sc, hc, in.Attributes, issuedOn, expires, nil)
		if err != nil {
			return nil, zkhealth.Wrap(zkhealth.EInvalid, err)
		}
		return c, nil
	}
	attrs, err := fhir.Attributes(sc, in.FHIR, fhir.Options{LOINC: in.LOINC, AsOf: issuedOn})
	switch {
	case errors.Is(err, fhir.ErrOption):
		return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("loinc: %w", err))
	case errors.Is(err, credential.ErrMalformed):
		// fhir's messages name the resource and FHIR path and carry no value from the record
		return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("fhir: %w", err))
	case err != nil:
		return nil, fmt.Errorf("fhir attributes: %w", err)
	}
	c, err := credential.IssueAttributes(s.d.IssuerKey, attrs, hc, issuedOn, expires, nil)
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, err)
	}
	return c, nil
}

// RegisterIssuer adds a trusted issuer; the public key must be a valid issuer key. Registering a
// key again returns the existing record. Errors: EInvalid naming the field, EUnavailable.
func (s *Service) RegisterIssuer(ctx context.Context, in IssuerInput) (zkhealth.Issuer, error) {
	if err := in.Validate(); err != nil {
		return zkhealth.Issuer{}, err
	}
	pk, err := credential.ParsePublicKey(in.PublicKey)
	if err != nil {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.EInvalid, "public_key: %v", err)
	}
	pub := credential.PublicKeyHex(pk)
	sum := sha256.Sum256([]byte(pub))
	return s.d.Store.PutIssuer(ctx, zkhealth.Issuer{ID: "iss_" + hex.EncodeToString(sum[:8]), Name: in.Name, PublicKey: pub})
}

// Issuers lists the trusted issuers, oldest first: EUnavailable.
func (s *Service) Issuers(ctx context.Context) ([]zkhealth.Issuer, error) {
	return s.d.Store.Issuers(ctx)
}

// Circuit describes one circuit the service proves and verifies.
type Circuit struct {
	ID            string `json:"id"`
	Schema        string `json:"schema"`
	Backend       string `json:"backend"`
	Constraints   int    `json:"constraints"`
	PublicInputs  int    `json:"public_inputs"`
	VKFingerprint string `json:"vk_fingerprint"`
	// Capacity is the entries each list of the schema's credentials holds (API.md).
	Capacity map[string]int `json:"capacity"`
	// Slots is what a policy proved with the circuit may hold (a policy is proved with the
	// smallest circuit of its schema that holds it).
	Slots Slots `json:"slots"`
}

// Slots are a circuit's predicate slots.
type Slots struct {
	AttributePredicates int         `json:"attribute_predicates"`
	SetValues           int         `json:"set_values"`
	Lists               []ListSlots `json:"lists"`
}

// ListSlots are a circuit's slots on one list, and the list's capacity (the same in every circuit
// of the schema).
type ListSlots struct {
	List              string `json:"list"`
	Capacity          int    `json:"capacity"`
	Exists            int    `json:"exists"`
	FamiliesPerExists int    `json:"families_per_exists"`
	FamilyBlocks      int    `json:"family_blocks"`
	Latest            int    `json:"latest"`
}

// slotsOf describes a circuit's slots.
func slotsOf(s *schema.Schema, c *schema.Circuit) Slots {
	out := Slots{AttributePredicates: c.Scalars, SetValues: c.SetValues, Lists: []ListSlots{}}
	for li, l := range s.Lists {
		ls := c.Lists[li]
		out.Lists = append(out.Lists, ListSlots{List: l.Name, Capacity: l.Capacity, Exists: ls.Picks,
			FamiliesPerExists: ls.PickFamilies, FamilyBlocks: ls.Blocks, Latest: ls.Latest})
	}
	return out
}

// Circuits lists the loaded circuits.
func (s *Service) Circuits() []Circuit {
	var out []Circuit
	for _, k := range s.d.Keys.Circuits() {
		c := Circuit{ID: k.Circuit, Schema: k.Schema, Backend: string(k.Backend),
			Constraints: k.Constraints, PublicInputs: k.PublicInputs, VKFingerprint: k.VKFingerprint}
		if sc, circuit, err := schema.ByCircuit(k.Circuit); err == nil {
			c.Slots = slotsOf(sc, circuit)
			c.Capacity = map[string]int{}
			for _, l := range sc.Lists {
				c.Capacity[l.Name] = l.Capacity
			}
		}
		out = append(out, c)
	}
	return out
}

// VerifyingKey returns a circuit's verifying key in its compressed serialisation: ENotFound for
// a circuit not loaded.
func (s *Service) VerifyingKey(id string) ([]byte, error) {
	vk, ok := s.d.Keys.VerifyingKey(id)
	if !ok {
		return nil, zkhealth.Errorf(zkhealth.ENotFound, "no circuit %q", id)
	}
	return vk, nil
}

// Ready reports whether the store answers (keys are loaded by construction).
func (s *Service) Ready(ctx context.Context) error { return s.d.Store.Ping(ctx) }
