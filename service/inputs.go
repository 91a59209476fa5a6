package service

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// The bodies of the API's requests. Each validates itself (Validate names the first bad field and
// never echoes a value), and the service method that takes it calls Validate: this is the one
// place a request is validated. The HTTP server only decodes JSON into them.

func invalidf(format string, args ...any) *zkhealth.Error {
	return zkhealth.Errorf(zkhealth.EInvalid, format, args...)
}

const wantDate = "want a date YYYY-MM-DD between 1900-01-01 and 2099-12-31"

// present reports whether a raw JSON field was given (and is not null).
func present(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// RequestInput is the body of POST /v1/requests: the policy to open a presentation request for,
// the as-of date (default today, UTC) and the time to live in seconds (default 600).
type RequestInput struct {
	PolicyID   string `json:"policy_id"`
	AsOf       string `json:"as_of,omitempty"`
	TTLSeconds *int64 `json:"ttl_seconds,omitempty"`
}

// Validate checks policy_id, and as_of and ttl_seconds when given (EInvalid naming the field).
func (in *RequestInput) Validate() error {
	if in.PolicyID == "" {
		return invalidf("policy_id: required")
	}
	if in.AsOf != "" {
		if _, err := encode.Date(in.AsOf); err != nil {
			return invalidf("as_of: %s", wantDate)
		}
	}
	if in.TTLSeconds != nil && (*in.TTLSeconds < 1 || *in.TTLSeconds > int64(MaxRequestTTL/time.Second)) {
		return invalidf("ttl_seconds: want an integer from 1 to %d", int64(MaxRequestTTL/time.Second))
	}
	return nil
}

// ttl is the request's time to live.
func (in *RequestInput) ttl() time.Duration {
	if in.TTLSeconds == nil {
		return DefaultRequestTTL
	}
	return time.Duration(*in.TTLSeconds) * time.Second
}

// ProveInput is the body of POST /v1/proofs: the presentation request, the holder's credential
// (CREDENTIAL.json) and holder secret (the secret of HOLDER.key).
type ProveInput struct {
	RequestID    string          `json:"request_id"`
	Credential   json.RawMessage `json:"credential"`
	HolderSecret string          `json:"holder_secret"`
}

// Validate checks that request_id, credential (an object) and holder_secret are given. What they
// hold is checked by the proof's own pre-check (Proofs.Check).
func (in *ProveInput) Validate() error {
	switch {
	case in.RequestID == "":
		return invalidf("request_id: required")
	case !present(in.Credential):
		return invalidf("credential: required")
	case !isObject(in.Credential):
		return invalidf("credential: want an object (CREDENTIAL.json)")
	case in.HolderSecret == "":
		return invalidf("holder_secret: required")
	}
	return nil
}

// VerifyInput is the body of POST /v1/verify: the presentation request and the proof (PROOF.json).
type VerifyInput struct {
	RequestID string          `json:"request_id"`
	Proof     json.RawMessage `json:"proof"`
}

// Parse checks request_id and reads the proof strictly (zkhealth.ParseProof), naming the first bad
// field.
func (in *VerifyInput) Parse() (*zkhealth.ProofFile, error) {
	switch {
	case in.RequestID == "":
		return nil, invalidf("request_id: required")
	case !present(in.Proof):
		return nil, invalidf("proof: required")
	case !isObject(in.Proof):
		return nil, invalidf("proof: want an object (PROOF.json)")
	}
	f, err := zkhealth.ParseProof(in.Proof)
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("proof: %w", err))
	}
	return f, nil
}

// IssueInput is the body of POST /v1/credentials: the attributes either as ATTRS.json
// (Attributes) or read from a FHIR R4 Bundle (FHIR, with LOINC the observation codes to keep for
// a clinical credential; nil means fhir.DefaultLOINC). Exactly one of Attributes and FHIR is set.
// A Synthea patient history is about 0.5 MB, within the default 1 MiB body limit.
type IssueInput struct {
	Schema           string          `json:"schema"`
	HolderCommitment string          `json:"holder_commitment"`
	Attributes       json.RawMessage `json:"attributes,omitempty"`
	FHIR             json.RawMessage `json:"fhir,omitempty"`
	LOINC            []string        `json:"loinc,omitempty"`
	ExpiresOn        string          `json:"expires_on,omitempty"`
}

// Validate checks schema, holder_commitment (given), exactly one of attributes and fhir (each an
// object), loinc (only with fhir, for clinical) and expires_on when given, naming the first bad
// field. The attributes and the bundle themselves are read by Issue.
func (in *IssueInput) Validate() error {
	hasAttrs, hasFHIR := present(in.Attributes), present(in.FHIR)
	switch {
	case in.Schema == "":
		return invalidf("schema: required")
	case in.HolderCommitment == "":
		return invalidf("holder_commitment: required")
	case hasAttrs && hasFHIR:
		return invalidf("fhir: not allowed together with attributes; give exactly one of them")
	case !hasAttrs && !hasFHIR:
		return invalidf("attributes: required (or fhir: a FHIR R4 Bundle)")
	case hasAttrs && !isObject(in.Attributes):
		return invalidf("attributes: want an object")
	case hasFHIR && !isObject(in.FHIR):
		return invalidf("fhir: want an object (a FHIR R4 Bundle)")
	case in.LOINC != nil && !hasFHIR:
		return invalidf("loinc: only with fhir")
	case in.LOINC != nil && in.Schema != "clinical":
		return invalidf("loinc: only with schema clinical")
	}
	if _, err := schema.Get(in.Schema); err != nil {
		return invalidf("schema: want one of %s", strings.Join(schemaIDs(), ", "))
	}
	if in.ExpiresOn != "" {
		if _, err := encode.Date(in.ExpiresOn); err != nil {
			return invalidf("expires_on: %s", wantDate)
		}
	}
	return nil
}

func schemaIDs() []string {
	var ids []string
	for _, s := range schema.All() {
		ids = append(ids, s.ID)
	}
	return ids
}

// IssuerInput is the body of POST /v1/issuers: a trusted issuer's name and public key.
type IssuerInput struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// Validate checks name (1 to 200 characters) and that public_key is given; RegisterIssuer checks
// that it is an issuer key.
func (in *IssuerInput) Validate() error {
	switch {
	case in.Name == "":
		return invalidf("name: required")
	case len(in.Name) > 200:
		return invalidf("name: want at most 200 characters")
	case in.PublicKey == "":
		return invalidf("public_key: required")
	}
	return nil
}
