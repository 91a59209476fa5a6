package service

import (
	"context"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/verifier/auditlog"
)

// VerificationLog is where the service records its verifications; package verifier/auditlog's
// *Log implements it.
type VerificationLog interface {
	// Append records the entry and returns its index once it is durable.
	Append(ctx context.Context, e auditlog.Entry) (uint64, error)
}

// verify is every verification the service makes (POST /v1/verify, and any other path that
// verifies a proof must come through here): it checks the proof (check) and records the
// verification in the log (Deps.Log) before anyone sees the result, so an answer given is an
// entry logged; when the log cannot record it, the verification fails (EUnavailable) and a retry
// verifies again. A repeated verification answered from the verification cache is not verified
// again and not logged again.
func (s *Service) verify(ctx context.Context, req *Presentation, f *zkhealth.ProofFile, claim string) (VerifyResult, error) {
	res, err := s.check(ctx, req, f, claim)
	if err != nil {
		return VerifyResult{}, err
	}
	if s.d.Log == nil {
		return res, nil
	}
	if _, err := s.d.Log.Append(ctx, logEntry(s.d.Now(), req, f, res)); err != nil {
		return VerifyResult{}, err
	}
	return res, nil
}

// logEntry is what the log keeps of a verification: the binding it was checked against (the
// proof's, proven, when valid; else the request's for the smallest circuit that holds its
// policy), the scope, the nullifier the proof names (when it parses), the result and the time.
func logEntry(now time.Time, req *Presentation, f *zkhealth.ProofFile, res VerifyResult) auditlog.Entry {
	e := auditlog.Entry{
		Time:    now.UTC().Truncate(time.Second),
		Binding: req.Compiled.Assigned.Hash,
		Scope:   req.Scope,
		Result:  auditlog.ResultValid,
	}
	if res.Valid {
		if b, err := fieldhash.ParseHex(f.Public.PolicyHash); err == nil {
			e.Binding = b
		}
	} else {
		e.Result = res.Reason
	}
	if n, err := fieldhash.ParseHex(res.Nullifier); err == nil {
		e.Nullifier = &n
	}
	return e
}
