// Package service is zkhealth's application logic behind the HTTP API, independent of HTTP and of
// which backing store is used: registering policies, opening presentation requests, issuing
// credentials, proving (with the keyed-hash proof cache and the job queue) and verifying (with
// the issuer registry, the nullifier registry and the verification cache).
//
// Privacy: the only private inputs it sees are a holder's credential and secret in Prove. They
// reach the prover and, for asynchronous jobs, the queue (which encrypts them); cache keys derived
// from them are HMACs under the server secret; nothing private is logged or returned in errors.
package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/fhir"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/metrics"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier"
)

// Request TTL bounds (API.md).
const (
	DefaultRequestTTL = 600 * time.Second
	MaxRequestTTL     = 86400 * time.Second
)

// Deps are the service's collaborators. Store, ProofCache, VerifyCache, Prover, Verifier, Secret
// and IssuerKey are required; Queue is needed for asynchronous proofs.
type Deps struct {
	Store       zkhealth.Store
	ProofCache  zkhealth.Cache
	VerifyCache zkhealth.Cache
	Queue       zkhealth.Queue
	Prover      *prover.Prover
	Verifier    *verifier.Verifier
	// Secret keys the HMACs of cache and job keys; at least 32 bytes, shared by every process
	// serving one deployment.
	Secret    []byte
	IssuerKey *credential.IssuerKey
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	Now       func() time.Time
	// ProofTTL and VerifyTTL are how long cached answers live (default 1 h).
	ProofTTL  time.Duration
	VerifyTTL time.Duration
}

// Service implements the API's operations.
type Service struct {
	d Deps
}

// New checks the dependencies and returns the service.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.ProofCache == nil || d.VerifyCache == nil:
		return nil, errors.New("service: store and caches are required")
	case d.Prover == nil || d.Verifier == nil || d.IssuerKey == nil:
		return nil, errors.New("service: prover, verifier and issuer key are required")
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
		d.Metrics = metrics.New(nil)
	}
	if d.ProofTTL == 0 {
		d.ProofTTL = time.Hour
	}
	if d.VerifyTTL == 0 {
		d.VerifyTTL = time.Hour
	}
	return &Service{d: d}, nil
}

// today is the current UTC date.
func (s *Service) today() string { return s.d.Now().UTC().Format("2006-01-02") }

// keyed is the hex HMAC-SHA256 of parts under the server secret, with a purpose label: the form of
// every cache or job key derived from private input.
func (s *Service) keyed(purpose string, parts ...[]byte) string {
	m := hmac.New(sha256.New, s.d.Secret)
	m.Write([]byte(purpose))
	for _, p := range parts {
		var n [8]byte
		for i := range 8 {
			n[i] = byte(len(p) >> (8 * (7 - i)))
		}
		m.Write(n[:])
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

func randomID(prefix string) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// RegisterPolicy validates a POLICY.json and stores it under an id derived from its canonical
// form, so the same policy content always gets the same id.
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

// Policy returns a stored policy.
func (s *Service) Policy(ctx context.Context, id string) (zkhealth.StoredPolicy, error) {
	return s.d.Store.Policy(ctx, id)
}

// OpenRequest opens a presentation request for a stored policy: as-of date (default today, UTC),
// a fresh random challenge, and an expiry ttl from now (default 600 s, 1 s to 86400 s).
func (s *Service) OpenRequest(ctx context.Context, policyID, asOf string, ttl time.Duration) (zkhealth.PresentationRequest, error) {
	var zero zkhealth.PresentationRequest
	if ttl == 0 {
		ttl = DefaultRequestTTL
	}
	if ttl < time.Second || ttl > MaxRequestTTL {
		return zero, zkhealth.Errorf(zkhealth.EInvalid, "ttl_seconds must be between 1 and 86400")
	}
	if asOf == "" {
		asOf = s.today()
	}
	if _, err := encode.Date(asOf); err != nil {
		return zero, zkhealth.Errorf(zkhealth.EInvalid, "as_of: want a date YYYY-MM-DD between 1900-01-01 and 2099-12-31")
	}
	sp, err := s.d.Store.Policy(ctx, policyID)
	if err != nil {
		return zero, err
	}
	p, err := policy.Parse(sp.Policy)
	if err != nil {
		return zero, fmt.Errorf("stored policy %s: %w", policyID, err)
	}
	if _, err := p.Compile(asOf); err != nil {
		return zero, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("policy as of %s: %w", asOf, err))
	}
	var ch fr.Element
	if _, err := ch.SetRandom(); err != nil {
		return zero, fmt.Errorf("challenge: %w", err)
	}
	chb := ch.Bytes()
	r := zkhealth.PresentationRequest{
		ID:        randomID("req_"),
		PolicyID:  policyID,
		Policy:    sp.Policy,
		AsOf:      asOf,
		Scope:     p.Scope,
		Challenge: hex.EncodeToString(chb[:]),
		ExpiresAt: s.d.Now().Add(ttl).UTC().Truncate(time.Second),
	}
	if err := s.d.Store.PutRequest(ctx, r); err != nil {
		return zero, err
	}
	return r, nil
}

// Request returns an open request: ENotFound, or EExpired once it expired.
func (s *Service) Request(ctx context.Context, id string) (zkhealth.PresentationRequest, error) {
	return s.d.Store.Request(ctx, id, s.d.Now())
}

// ProveInput is the body of a proof request.
type ProveInput struct {
	RequestID    string          `json:"request_id"`
	Credential   json.RawMessage `json:"credential"`
	HolderSecret string          `json:"holder_secret"`
}

// cacheKey is the keyed hash identifying a proof request (request id, credential, secret).
func (s *Service) cacheKey(in ProveInput) string {
	var cred bytes.Buffer
	if json.Compact(&cred, in.Credential) != nil {
		cred.Write(in.Credential)
	}
	return s.keyed("proof", []byte(in.RequestID), cred.Bytes(), []byte(in.HolderSecret))
}

// Prove proves a request synchronously. A repeated identical request returns the cached proof
// (hit = true). Errors: ENotFound/EExpired (request), EInvalid (malformed credential or secret),
// ECredential (bad signature, wrong holder, expired credential, untrusted issuer), ENotSatisfied.
func (s *Service) Prove(ctx context.Context, in ProveInput) (proofJSON []byte, hit bool, err error) {
	// the request first: an expired request answers EExpired even when its proof is cached
	req, err := s.Request(ctx, in.RequestID)
	if err != nil {
		return nil, false, err
	}
	key := s.cacheKey(in)
	if cached, ok := s.cacheGet(ctx, s.d.ProofCache, "proof", key); ok {
		return cached, true, nil
	}
	out, err := s.prove(ctx, req, in)
	if err != nil {
		return nil, false, err
	}
	stored, err := s.d.ProofCache.SetNX(ctx, key, out, s.d.ProofTTL)
	if err != nil {
		s.d.Logger.WarnContext(ctx, "proof cache unavailable", "err_code", zkhealth.ErrorCode(err))
	} else if !stored {
		// another process answered the same request first: its answer wins
		if cached, ok := s.cacheGet(ctx, s.d.ProofCache, "proof", key); ok {
			return cached, false, nil
		}
	}
	return out, false, nil
}

func (s *Service) cacheGet(ctx context.Context, c zkhealth.Cache, name, key string) ([]byte, bool) {
	v, ok, err := c.Get(ctx, key)
	switch {
	case err != nil:
		s.d.Metrics.Cache.WithLabelValues(name, "error").Inc()
		s.d.Logger.WarnContext(ctx, "cache unavailable", "cache", name, "err_code", zkhealth.ErrorCode(err))
		return nil, false
	case ok:
		s.d.Metrics.Cache.WithLabelValues(name, "hit").Inc()
		return v, true
	}
	s.d.Metrics.Cache.WithLabelValues(name, "miss").Inc()
	return nil, false
}

// prove runs one proof for an open request: input checks, issuer registry, prover.
func (s *Service) prove(ctx context.Context, req zkhealth.PresentationRequest, in ProveInput) ([]byte, error) {
	cred, err := credential.Parse(in.Credential)
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("credential: %w", err))
	}
	hk, err := credential.HolderKeyFromHex(in.HolderSecret)
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "holder_secret: want 32 bytes of hex")
	}
	p, err := policy.Parse(req.Policy)
	if err != nil {
		return nil, fmt.Errorf("stored policy: %w", err)
	}
	challenge, err := fieldhash.ReduceHex(req.Challenge)
	if err != nil {
		return nil, fmt.Errorf("stored challenge: %w", err)
	}
	if _, err := s.d.Store.IssuerByKey(ctx, cred.Issuer); err != nil {
		if zkhealth.ErrorCode(err) == zkhealth.ENotFound {
			return nil, zkhealth.Errorf(zkhealth.ECredential, "the credential's issuer is not in the trusted-issuer registry")
		}
		return nil, err
	}
	circuit := "unknown"
	if sc, err := schema.Get(p.Schema); err == nil {
		circuit = sc.Circuit
	}
	start := time.Now()
	f, err := s.d.Prover.Prove(ctx, prover.Request{Credential: cred, Holder: hk, Policy: p, AsOf: req.AsOf, Challenge: challenge})
	if err != nil {
		outcome := "error"
		if c := zkhealth.ErrorCode(err); c != zkhealth.EInternal && c != zkhealth.EUnavailable {
			outcome = "refused"
		}
		s.d.Metrics.Proofs.WithLabelValues(circuit, outcome).Inc()
		return nil, err
	}
	s.d.Metrics.Proofs.WithLabelValues(circuit, "ok").Inc()
	s.d.Metrics.ProofLatency.WithLabelValues(circuit).Observe(time.Since(start).Seconds())
	out, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode proof: %w", err)
	}
	return out, nil
}

// ProveAsync queues a proof job and returns its id. The id is a keyed hash of the request, so
// the same body queued twice names the same job.
func (s *Service) ProveAsync(ctx context.Context, in ProveInput) (string, error) {
	if s.d.Queue == nil {
		return "", zkhealth.Errorf(zkhealth.EUnavailable, "asynchronous proving is not configured")
	}
	if _, err := s.Request(ctx, in.RequestID); err != nil {
		return "", err
	}
	if _, err := credential.HolderKeyFromHex(in.HolderSecret); err != nil {
		return "", zkhealth.Errorf(zkhealth.EInvalid, "holder_secret: want 32 bytes of hex")
	}
	if _, err := credential.Parse(in.Credential); err != nil {
		return "", zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("credential: %w", err))
	}
	id := "job_" + s.cacheKey(in)[:32]
	job := zkhealth.ProofJob{RequestID: in.RequestID, Credential: in.Credential, HolderSecret: in.HolderSecret}
	if err := s.d.Queue.Enqueue(ctx, id, job); err != nil {
		return "", err
	}
	return id, nil
}

// RunJob is the zkhealth.ProofRunner workers call: it proves the job as Prove does (and fills
// the proof cache).
func (s *Service) RunJob(ctx context.Context, job zkhealth.ProofJob) ([]byte, error) {
	out, _, err := s.Prove(ctx, ProveInput(job))
	return out, err
}

// Job returns an asynchronous job's state.
func (s *Service) Job(ctx context.Context, id string) (zkhealth.Job, error) {
	if s.d.Queue == nil {
		return zkhealth.Job{}, zkhealth.Errorf(zkhealth.ENotFound, "no such job")
	}
	return s.d.Queue.Job(ctx, id)
}

// VerifyResult is the answer to a verification.
type VerifyResult struct {
	Valid     bool   `json:"valid"`
	Reason    string `json:"reason,omitempty"`
	Nullifier string `json:"nullifier"`
	FirstUse  bool   `json:"first_use"`
}

// Verify checks a proof against an open request: its policy, as-of date, scope and challenge, and
// an issuer from the registry (and among the policy's issuers when it lists any). A valid proof
// records its nullifier for the scope; FirstUse says whether it was new. Results are cached by a
// hash of the request id and the proof file, and a repeated verification returns the first answer.
// An invalid proof is a result (Valid false, Reason), not an error.
func (s *Service) Verify(ctx context.Context, requestID string, f *zkhealth.ProofFile) (VerifyResult, bool, error) {
	req, err := s.Request(ctx, requestID)
	if err != nil {
		return VerifyResult{}, false, err
	}
	canonical, err := json.Marshal(f)
	if err != nil {
		return VerifyResult{}, false, fmt.Errorf("encode proof: %w", err)
	}
	sum := sha256.Sum256(append([]byte(requestID+"\x00"), canonical...))
	key := "verify:" + hex.EncodeToString(sum[:])
	if cached, ok := s.cacheGet(ctx, s.d.VerifyCache, "verify", key); ok {
		var res VerifyResult
		if json.Unmarshal(cached, &res) == nil {
			return res, true, nil
		}
	}
	res, err := s.verify(ctx, req, f, key)
	if err != nil {
		return VerifyResult{}, false, err
	}
	outcome := "valid"
	if !res.Valid {
		outcome = res.Reason
	}
	s.d.Metrics.Verifications.WithLabelValues(outcome).Inc()
	enc, _ := json.Marshal(res)
	stored, err := s.d.VerifyCache.SetNX(ctx, key, enc, s.d.VerifyTTL)
	if err == nil && !stored {
		if cached, ok := s.cacheGet(ctx, s.d.VerifyCache, "verify", key); ok {
			var first VerifyResult
			if json.Unmarshal(cached, &first) == nil {
				return first, true, nil
			}
		}
	}
	return res, false, nil
}

// verify checks the proof; claim identifies this verification in the nullifier registry, so an
// identical verification (a retry, or a race with itself) gets the same first_use.
func (s *Service) verify(ctx context.Context, req zkhealth.PresentationRequest, f *zkhealth.ProofFile, claim string) (VerifyResult, error) {
	res := VerifyResult{Nullifier: f.Public.Nullifier}
	issuer, err := credential.ParsePublicKey(f.Public.Issuer)
	if err != nil {
		res.Reason = verifier.ReasonMalformed
		return res, nil
	}
	if _, err := s.d.Store.IssuerByKey(ctx, credential.PublicKeyHex(issuer)); err != nil {
		if zkhealth.ErrorCode(err) != zkhealth.ENotFound {
			return VerifyResult{}, err
		}
		res.Reason = verifier.ReasonUntrustedIssuer
		return res, nil
	}
	p, err := policy.Parse(req.Policy)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("stored policy: %w", err)
	}
	challenge, err := fieldhash.ReduceHex(req.Challenge)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("stored challenge: %w", err)
	}
	vr, err := s.d.Verifier.Verify(ctx, verifier.Request{Proof: f, Policy: p, AsOf: req.AsOf, Issuer: issuer, Challenge: challenge})
	if err != nil {
		return VerifyResult{}, err
	}
	res.Valid, res.Reason = vr.Valid, vr.Reason
	if vr.Nullifier != "" {
		res.Nullifier = vr.Nullifier
	}
	if !vr.Valid {
		return res, nil
	}
	res.FirstUse, err = s.d.Store.UseNullifier(ctx, req.Scope, vr.Nullifier, claim)
	if err != nil {
		return VerifyResult{}, err
	}
	return res, nil
}

// IssueInput is the body of a credential request: the attributes either as ATTRS.json
// (Attributes) or read from a FHIR R4 Bundle (FHIR, with LOINC the observation codes to keep for
// a clinical credential; nil signs every quantitative observation with a canonical unit). Exactly one of Attributes and FHIR is set.
type IssueInput struct {
	Schema           string          `json:"schema"`
	HolderCommitment string          `json:"holder_commitment"`
	Attributes       json.RawMessage `json:"attributes,omitempty"`
	FHIR             json.RawMessage `json:"fhir,omitempty"`
	LOINC            []string        `json:"loinc,omitempty"`
	ExpiresOn        string          `json:"expires_on,omitempty"`
}

// Issue signs a credential with the server's issuer key: issued today, expiring on ExpiresOn
// (default one year later). With FHIR, the attributes are built by fhir.Attributes as of the issue
// date (package fhir documents the mapping). Errors: EInvalid (a malformed field, attribute or
// bundle, or a bad loinc set: the message names the field, or the FHIR resource and path, and
// never carries a value from the record).
func (s *Service) Issue(ctx context.Context, in IssueInput) (*credential.Credential, error) {
	sc, err := schema.Get(in.Schema)
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "schema: want coverage or clinical")
	}
	hc, err := fieldhash.ParseHex(in.HolderCommitment)
	if err != nil {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "holder_commitment: want a field element in hex")
	}
	hasAttrs, hasFHIR := present(in.Attributes), present(in.FHIR)
	switch {
	case hasAttrs && hasFHIR:
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "fhir: give either attributes or fhir, not both")
	case !hasAttrs && !hasFHIR:
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "attributes: required (or fhir)")
	case in.LOINC != nil && !hasFHIR:
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "loinc: only with fhir")
	}
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

// present reports whether a raw JSON field was given (and is not null).
func present(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// RegisterIssuer adds a trusted issuer; the public key must be a valid issuer key.
func (s *Service) RegisterIssuer(ctx context.Context, name, publicKey string) (zkhealth.Issuer, error) {
	if name == "" || len(name) > 200 {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.EInvalid, "name: want 1 to 200 characters")
	}
	pk, err := credential.ParsePublicKey(publicKey)
	if err != nil {
		return zkhealth.Issuer{}, zkhealth.Errorf(zkhealth.EInvalid, "public_key: %v", err)
	}
	pub := credential.PublicKeyHex(pk)
	sum := sha256.Sum256([]byte(pub))
	return s.d.Store.PutIssuer(ctx, zkhealth.Issuer{ID: "iss_" + hex.EncodeToString(sum[:8]), Name: name, PublicKey: pub})
}

// Issuers lists the trusted issuers.
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
}

// Circuits lists the loaded circuits.
func (s *Service) Circuits() []Circuit {
	var out []Circuit
	for _, sc := range schema.All() {
		if k := s.d.Prover.Keys(sc.Circuit); k != nil {
			out = append(out, Circuit{ID: k.Info.Circuit, Schema: k.Info.Schema, Backend: string(k.Info.Backend),
				Constraints: k.Info.Constraints, PublicInputs: k.Info.PublicInputs, VKFingerprint: k.Info.VKFingerprint})
		}
	}
	return out
}

// VerifyingKey returns a circuit's verifying key in its compressed serialisation.
func (s *Service) VerifyingKey(id string) ([]byte, error) {
	k := s.d.Prover.Keys(id)
	if k == nil {
		return nil, zkhealth.Errorf(zkhealth.ENotFound, "no circuit %q", id)
	}
	w, ok := k.VK.(io.WriterTo)
	if !ok {
		return nil, fmt.Errorf("verifying key of %s cannot be serialised", id)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("serialise verifying key: %w", err)
	}
	return buf.Bytes(), nil
}

// Ready reports whether the store answers (keys are loaded by construction).
func (s *Service) Ready(ctx context.Context) error { return s.d.Store.Ping(ctx) }

// Backend is the proving backend in use.
func (s *Service) Backend() keys.Backend { return s.d.Prover.Backend() }
