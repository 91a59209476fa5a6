package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/strictjson"
	"github.com/zkhealth/zkhealth/service"
)

// validator is a request body that checks itself, naming the offending field.
type validator interface {
	Validate() error
}

func invalidf(format string, args ...any) *zkhealth.Error {
	return zkhealth.Errorf(zkhealth.EInvalid, format, args...)
}

// readBody reads the whole body (already capped by the body limit).
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(s.d.BodyLimit)
		}
		return nil, invalidf("body: could not be read")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, invalidf("body: empty; want a JSON object")
	}
	return data, nil
}

// decode reads one JSON object into v strictly (package strictjson: unknown fields and repeated
// keys refused, nothing after it) and lets it validate itself. Errors name the field, or the
// position of a syntax error, and never echo values.
func (s *Server) decode(r *http.Request, v validator) error {
	data, err := s.readBody(r)
	if err != nil {
		return err
	}
	if err := strictjson.Unmarshal(data, v); err != nil {
		return jsonError(err)
	}
	return v.Validate()
}

// jsonError describes a body strictjson refused: a field error as it is ("ttl_seconds: want an
// integer"), anything about the document as a whole prefixed with "body: ".
func jsonError(err error) error {
	var se *strictjson.Error
	if errors.As(err, &se) && se.Field != "" {
		return invalidf("%s", se.Error())
	}
	if se != nil {
		return invalidf("body: %s", se.Error())
	}
	return invalidf("body: malformed JSON")
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// issuerInput is the body of POST /v1/issuers.
type issuerInput struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// Validate checks name and public_key, naming the first bad field.
func (in *issuerInput) Validate() error {
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

// credentialInput is the body of POST /v1/credentials: the attributes as ATTRS.json
// ("attributes") or as a FHIR R4 Bundle ("fhir", with an optional "loinc" code set for clinical
// credentials). A Synthea patient history is about 0.5 MB, within the default 1 MiB body limit.
type credentialInput service.IssueInput

// Validate checks schema, holder_commitment and exactly one of attributes and fhir; loinc and
// expires_on when given, naming the first bad field. The bundle itself is read by the service.
func (in *credentialInput) Validate() error {
	hasAttrs := len(in.Attributes) > 0 && string(in.Attributes) != "null"
	hasFHIR := len(in.FHIR) > 0 && string(in.FHIR) != "null"
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
	if in.ExpiresOn != "" {
		if _, err := encode.Date(in.ExpiresOn); err != nil {
			return invalidf("expires_on: want a date YYYY-MM-DD between 1900-01-01 and 2099-12-31")
		}
	}
	return nil
}

// requestInput is the body of POST /v1/requests.
type requestInput struct {
	PolicyID   string `json:"policy_id"`
	AsOf       string `json:"as_of,omitempty"`
	TTLSeconds *int64 `json:"ttl_seconds,omitempty"`
}

// Validate checks policy_id; as_of and ttl_seconds when given, naming the first bad field.
func (in *requestInput) Validate() error {
	if in.PolicyID == "" {
		return invalidf("policy_id: required")
	}
	if in.AsOf != "" {
		if _, err := encode.Date(in.AsOf); err != nil {
			return invalidf("as_of: want a date YYYY-MM-DD between 1900-01-01 and 2099-12-31")
		}
	}
	if in.TTLSeconds != nil && (*in.TTLSeconds < 1 || *in.TTLSeconds > int64(service.MaxRequestTTL/time.Second)) {
		return invalidf("ttl_seconds: want an integer from 1 to 86400")
	}
	return nil
}

func (in *requestInput) ttl() time.Duration {
	if in.TTLSeconds == nil {
		return 0
	}
	return time.Duration(*in.TTLSeconds) * time.Second
}

// proveInput is the body of POST /v1/proofs.
type proveInput service.ProveInput

// Validate checks request_id, credential and holder_secret, naming the first bad field.
func (in *proveInput) Validate() error {
	switch {
	case in.RequestID == "":
		return invalidf("request_id: required")
	case len(in.Credential) == 0 || string(in.Credential) == "null":
		return invalidf("credential: required")
	case !isObject(in.Credential):
		return invalidf("credential: want an object (CREDENTIAL.json)")
	case in.HolderSecret == "":
		return invalidf("holder_secret: required")
	}
	return nil
}

// verifyInput is the body of POST /v1/verify; Validate parses the proof strictly.
type verifyInput struct {
	RequestID string          `json:"request_id"`
	Proof     json.RawMessage `json:"proof"`

	file *zkhealth.ProofFile
}

// Validate checks request_id and proof, which it parses strictly, naming the first bad field.
func (in *verifyInput) Validate() error {
	switch {
	case in.RequestID == "":
		return invalidf("request_id: required")
	case len(in.Proof) == 0 || string(in.Proof) == "null":
		return invalidf("proof: required")
	case !isObject(in.Proof):
		return invalidf("proof: want an object (PROOF.json)")
	}
	f, err := zkhealth.ParseProof(in.Proof)
	if err != nil {
		return invalidf("proof: %s", strings.TrimPrefix(err.Error(), zkhealth.ErrMalformedProof.Error()+": "))
	}
	in.file = f
	return nil
}

// asyncParam reads ?async=true|false.
func asyncParam(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("async"); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, invalidf("async: want true or false")
}
