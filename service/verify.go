package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/verifier"
)

// Verifier checks proofs against the verifier's own values; package verifier's *Verifier
// implements it.
type Verifier interface {
	// Verify decides whether the proof proves the request's policy for its as-of date, issuer and
	// challenge: an invalid proof is a Result with a reason, an error means it could not decide.
	Verify(ctx context.Context, req verifier.Request) (verifier.Result, error)
}

// VerifyResult is the answer to a verification. FirstUse is set only for a valid proof: whether
// its nullifier was new for the scope. An invalid proof says nothing about first use.
type VerifyResult struct {
	Valid     bool   `json:"valid"`
	Reason    string `json:"reason,omitempty"`
	Nullifier string `json:"nullifier"`
	FirstUse  *bool  `json:"first_use,omitempty"`
}

// Verification is a verification's result with what it was checked against.
type Verification struct {
	Result VerifyResult
	// Cached is true when the result is a repeated verification's first answer.
	Cached bool
	// Request is the presentation request the proof was checked against.
	Request *Presentation
	// Issuer is the trusted issuer key (lower-case hex) the proof names, for a valid proof only.
	Issuer string
}

// Verify checks a proof against an open request: its policy, as-of date, scope and challenge, and
// an issuer from the registry (and among the policy's issuers when it lists any). A valid proof
// records its nullifier for the scope; FirstUse says whether it was new. Results are cached by a
// hash of the request id and the proof file, and a repeated verification returns the first answer.
// An invalid proof is a result (Valid false, Reason), not an error. Errors: EInvalid (the input),
// ENotFound/EExpired (request), EUnavailable.
func (s *Service) Verify(ctx context.Context, in VerifyInput) (Verification, error) {
	f, err := in.Parse()
	if err != nil {
		return Verification{}, err
	}
	req, err := s.proofs.requests.get(ctx, in.RequestID)
	if err != nil {
		return Verification{}, err
	}
	canonical, err := json.Marshal(f)
	if err != nil {
		return Verification{}, fmt.Errorf("encode proof: %w", err)
	}
	sum := sha256.Sum256(append([]byte(in.RequestID+"\x00"), canonical...))
	key := "verify:" + hex.EncodeToString(sum[:])
	out := Verification{Request: req}
	if res, ok := s.cachedResult(ctx, key); ok {
		out.Result, out.Cached = res, true
		return s.withIssuer(out, f), nil
	}
	res, err := s.verify(ctx, req, f, key)
	if err != nil {
		return Verification{}, err
	}
	outcome := "valid"
	if !res.Valid {
		outcome = res.Reason
	}
	s.d.Metrics.Verifications.WithLabelValues(outcome).Inc()
	out.Result = res
	enc, err := json.Marshal(res)
	if err != nil {
		return Verification{}, fmt.Errorf("encode result: %w", err)
	}
	stored, err := s.d.VerifyCache.SetNX(ctx, key, enc, s.d.VerifyTTL)
	if err == nil && !stored {
		if first, ok := s.cachedResult(ctx, key); ok {
			out.Result, out.Cached = first, true
		}
	}
	return s.withIssuer(out, f), nil
}

// cachedResult reads a verification's first answer from the cache.
func (s *Service) cachedResult(ctx context.Context, key string) (VerifyResult, bool) {
	cached, ok := cacheGet(ctx, s.d.Metrics, s.d.Logger, s.d.VerifyCache, "verify", key)
	if !ok {
		return VerifyResult{}, false
	}
	var res VerifyResult
	if json.Unmarshal(cached, &res) != nil {
		return VerifyResult{}, false
	}
	return res, true
}

// withIssuer names the proof's issuer for a valid proof (only then is it a trusted issuer's key).
func (s *Service) withIssuer(v Verification, f *zkhealth.ProofFile) Verification {
	if v.Result.Valid {
		if pk, err := credential.ParsePublicKey(f.Public.Issuer); err == nil {
			v.Issuer = credential.PublicKeyHex(pk)
		}
	}
	return v
}

// check checks the proof; claim identifies this verification in the nullifier registry, so an
// identical verification (a retry, or a race with itself) gets the same first_use. Only verify
// calls it.
func (s *Service) check(ctx context.Context, req *Presentation, f *zkhealth.ProofFile, claim string) (VerifyResult, error) {
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
	vr, err := s.d.Verifier.Verify(ctx, verifier.Request{Proof: f, Policy: req.Policy, AsOf: req.AsOf,
		Issuer: issuer, Challenge: req.Challenge, Compiled: req.Compiled})
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
	first, err := s.d.Store.UseNullifier(ctx, req.Scope, vr.Nullifier, claim)
	if err != nil {
		return VerifyResult{}, err
	}
	res.FirstUse = &first
	return res, nil
}
