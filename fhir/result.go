package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/policy"
)

// ContentType is the media type of FHIR JSON.
const ContentType = "application/fhir+json"

// CanonicalBase is the base of the URLs zkhealth defines for its FHIR extensions, identifier
// systems and code system.
const CanonicalBase = "https://github.com/zkhealth/zkhealth/fhir"

// URLs of the extensions and identifier systems the result resources carry.
const (
	// ExtPolicyHash (valueString): the policy hash the proof is bound to ("0x…").
	ExtPolicyHash = CanonicalBase + "/StructureDefinition/policy-hash"
	// ExtScope (valueString): the policy's scope.
	ExtScope = CanonicalBase + "/StructureDefinition/scope"
	// ExtFirstUse (valueBoolean): whether the nullifier was new for the scope.
	ExtFirstUse = CanonicalBase + "/StructureDefinition/first-use"
	// ExtVerifyReason (valueCode from SystemVerifyReason): why a proof was not accepted.
	ExtVerifyReason = CanonicalBase + "/StructureDefinition/verification-reason"
	// SystemNullifier names the holder by nullifier (a per-scope pseudonym) in a Reference.
	SystemNullifier = CanonicalBase + "/NamingSystem/nullifier"
	// SystemRequest names a presentation request by its id.
	SystemRequest = CanonicalBase + "/NamingSystem/presentation-request"
	// SystemIssuerKey names an issuer by its public key (hex).
	SystemIssuerKey = CanonicalBase + "/NamingSystem/issuer-key"
	// SystemScope names a study by a policy scope that is not a ClinicalTrials.gov number.
	SystemScope = CanonicalBase + "/NamingSystem/scope"
	// SystemVerifyReason is the code system of verification failure reasons (the verifier's
	// reason codes: untrusted_issuer, challenge_mismatch, …).
	SystemVerifyReason = CanonicalBase + "/CodeSystem/verification-reason"
	// SystemClinicalTrials is the identifier system of ClinicalTrials.gov numbers.
	SystemClinicalTrials = "https://clinicaltrials.gov"
)

// Verification is a verification's outcome as the result builders need it: only what the
// verifier already knows (its policy, request, as-of date) and what the proof reveals (validity,
// nullifier). It never holds an attribute value.
type Verification struct {
	Valid  bool
	Reason string // the verifier's reason code when !Valid
	// Nullifier is the proof's nullifier (hex), the holder's pseudonym for the scope.
	Nullifier string
	// PolicyHash (hex); "" computes it from Policy and AsOf.
	PolicyHash string
	Policy     *policy.Policy
	RequestID  string
	AsOf       string // YYYY-MM-DD, the presentation request's as-of date
	// Issuer is the credential issuer's public key (hex); optional.
	Issuer string
	// FirstUse is the nullifier registry's answer; nil leaves it out.
	FirstUse *bool
	// ServiceCategories are the X12 service types to report (coverage); nil takes the codes of the
	// policy's `service_categories exists` predicates, else "30".
	ServiceCategories []string
	// Created is the response's creation time; zero means now.
	Created time.Time
}

// WantsFHIR reports whether an Accept header asks for FHIR JSON: application/fhir+json (with any
// parameters, e.g. fhirVersion) at a quality above 0 and at least that of application/json,
// application/* and */*. The verify endpoint then answers with VerificationResource.
func WantsFHIR(accept string) bool {
	fhirQ, jsonQ := 0.0, 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch mt {
		case ContentType:
			fhirQ = max(fhirQ, q)
		case "application/json", "application/*", "*/*":
			jsonQ = max(jsonQ, q)
		}
	}
	return fhirQ > 0 && fhirQ >= jsonQ
}

// VerificationResource builds the FHIR answer for the policy's schema: a
// CoverageEligibilityResponse for coverage policies, a ResearchSubject for clinical ones.
func VerificationResource(v Verification) ([]byte, error) {
	if v.Policy == nil {
		return nil, errors.New("fhir: verification result without a policy")
	}
	switch v.Policy.Schema {
	case "coverage":
		return CoverageEligibilityResponse(v)
	case "clinical":
		return ResearchSubject(v)
	}
	return nil, fmt.Errorf("fhir: no FHIR result resource for schema %q", v.Policy.Schema)
}

// JSON shapes of the FHIR datatypes the results use (field order is FHIR's).
type (
	fCoding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	fConcept struct {
		Coding []fCoding `json:"coding,omitempty"`
		Text   string    `json:"text,omitempty"`
	}
	fIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fReference struct {
		Type       string       `json:"type,omitempty"`
		Identifier *fIdentifier `json:"identifier,omitempty"`
		Display    string       `json:"display,omitempty"`
	}
	fExtension struct {
		URL          string `json:"url"`
		ValueString  string `json:"valueString,omitempty"`
		ValueCode    string `json:"valueCode,omitempty"`
		ValueBoolean *bool  `json:"valueBoolean,omitempty"`
	}
	fPeriod struct {
		Start string `json:"start,omitempty"`
	}
)

// common holds what both result resources carry.
type common struct {
	identifier []fIdentifier
	extension  []fExtension
	holder     fReference
	created    string
}

func (v *Verification) common(resourceType string) (*common, error) {
	if v.Policy == nil {
		return nil, fmt.Errorf("fhir: %s without a policy", resourceType)
	}
	if _, err := encode.Date(v.AsOf); err != nil {
		return nil, fmt.Errorf("fhir: %s: as-of date: want YYYY-MM-DD", resourceType)
	}
	hash := v.PolicyHash
	if hash == "" {
		c, err := v.Policy.Compile(v.AsOf)
		if err != nil {
			return nil, fmt.Errorf("fhir: %s: %w", resourceType, err)
		}
		hash = fieldhash.Hex(c.Assigned.Hash)
	}
	c := &common{
		extension: []fExtension{{URL: ExtPolicyHash, ValueString: hash}, {URL: ExtScope, ValueString: v.Policy.Scope}},
		holder:    fReference{Type: "Patient", Display: "holder of the proof, named only by a nullifier"},
	}
	if v.FirstUse != nil {
		fu := *v.FirstUse
		c.extension = append(c.extension, fExtension{URL: ExtFirstUse, ValueBoolean: &fu})
	}
	if v.Nullifier != "" {
		c.holder.Identifier = &fIdentifier{System: SystemNullifier, Value: v.Nullifier}
	} else {
		c.holder.Display = "unidentified holder (the proof carried no readable nullifier)"
	}
	if v.RequestID != "" {
		c.identifier = []fIdentifier{{System: SystemRequest, Value: v.RequestID}}
	}
	created := v.Created
	if created.IsZero() {
		created = time.Now()
	}
	c.created = created.UTC().Format(time.RFC3339)
	return c, nil
}

func reasonText(v Verification) string {
	if v.Valid {
		return "proven in zero knowledge: the holder's issuer-signed credential satisfies the policy"
	}
	r := v.Reason
	if r == "" {
		r = "invalid_proof"
	}
	return "not proven: " + r
}

// CoverageEligibilityResponse builds an R4 CoverageEligibilityResponse (JSON) for a coverage
// policy's verification: status active, purpose validation, outcome complete (valid) or error
// (invalid, with the reason as an error code), servicedDate the as-of date, insurance[0].inforce
// the validity and its items the service categories (X12 service type codes). The patient is
// named only by the nullifier, the request by its id; the policy hash and scope ride in
// extensions. No attribute value is ever included: the payer shown is the policy's own
// `payer eq` constant, if any.
func CoverageEligibilityResponse(v Verification) ([]byte, error) {
	c, err := v.common("CoverageEligibilityResponse")
	if err != nil {
		return nil, err
	}
	if v.Policy.Schema != "coverage" {
		return nil, fmt.Errorf("fhir: CoverageEligibilityResponse needs a coverage policy, got %q", v.Policy.Schema)
	}
	cats := v.ServiceCategories
	if cats == nil {
		cats = policyCategories(v.Policy)
	}
	items := make([]map[string]any, 0, len(cats))
	for _, cat := range cats {
		if _, err := encode.X12(cat); err != nil {
			return nil, fmt.Errorf("fhir: service category: want an X12 service type code")
		}
		items = append(items, map[string]any{"category": fConcept{Coding: []fCoding{{System: SystemX12ServiceType, Code: strings.ToUpper(cat)}}}})
	}
	insurer := fReference{Type: "Organization", Display: "issuer of the coverage credential"}
	if payer := policyPayer(v.Policy); payer != "" {
		insurer.Display = payer
	}
	if v.Issuer != "" {
		insurer.Identifier = &fIdentifier{System: SystemIssuerKey, Value: v.Issuer}
	}
	request := fReference{Type: "CoverageEligibilityRequest", Display: "zkhealth presentation request"}
	if v.RequestID != "" {
		request.Identifier = &fIdentifier{System: SystemRequest, Value: v.RequestID}
	}
	inforce := v.Valid
	insurance := map[string]any{
		"coverage": fReference{Type: "Coverage", Display: "coverage credential presented in zero knowledge"},
		"inforce":  &inforce,
	}
	if len(items) > 0 {
		insurance["item"] = items
	}
	type resp struct {
		ResourceType string           `json:"resourceType"`
		Extension    []fExtension     `json:"extension,omitempty"`
		Identifier   []fIdentifier    `json:"identifier,omitempty"`
		Status       string           `json:"status"`
		Purpose      []string         `json:"purpose"`
		Patient      fReference       `json:"patient"`
		ServicedDate string           `json:"servicedDate"`
		Created      string           `json:"created"`
		Request      fReference       `json:"request"`
		Outcome      string           `json:"outcome"`
		Disposition  string           `json:"disposition"`
		Insurer      fReference       `json:"insurer"`
		Insurance    []map[string]any `json:"insurance"`
		Error        []map[string]any `json:"error,omitempty"`
	}
	r := resp{
		ResourceType: "CoverageEligibilityResponse",
		Extension:    c.extension,
		Identifier:   c.identifier,
		Status:       "active",
		Purpose:      []string{"validation"},
		Patient:      c.holder,
		ServicedDate: v.AsOf,
		Created:      c.created,
		Request:      request,
		Outcome:      "complete",
		Disposition:  reasonText(v),
		Insurer:      insurer,
		Insurance:    []map[string]any{insurance},
	}
	if !v.Valid {
		r.Outcome = "error"
		reason := v.Reason
		if reason == "" {
			reason = "invalid_proof"
		}
		r.Error = []map[string]any{{"code": fConcept{Coding: []fCoding{{System: SystemVerifyReason, Code: reason}}}}}
	}
	return json.Marshal(r)
}

// ResearchSubject builds an R4 ResearchSubject (JSON) for a clinical policy's verification:
// status eligible (valid) or ineligible (invalid; the verifier's reason code rides in the
// verification-reason extension), period.start the as-of date, study the scope (a
// ClinicalTrials.gov identifier for "trial:NCT…" scopes), individual named only by the nullifier;
// the policy hash and scope ride in extensions. No attribute value is ever included.
func ResearchSubject(v Verification) ([]byte, error) {
	c, err := v.common("ResearchSubject")
	if err != nil {
		return nil, err
	}
	if v.Policy.Schema != "clinical" {
		return nil, fmt.Errorf("fhir: ResearchSubject needs a clinical policy, got %q", v.Policy.Schema)
	}
	study := fReference{Type: "ResearchStudy", Display: v.Policy.Scope, Identifier: &fIdentifier{System: SystemScope, Value: v.Policy.Scope}}
	if nct, ok := strings.CutPrefix(v.Policy.Scope, "trial:"); ok && nctPattern.MatchString(nct) {
		study.Identifier = &fIdentifier{System: SystemClinicalTrials, Value: nct}
	}
	status := "eligible"
	if !v.Valid {
		status = "ineligible"
		reason := v.Reason
		if reason == "" {
			reason = "invalid_proof"
		}
		c.extension = append(c.extension, fExtension{URL: ExtVerifyReason, ValueCode: reason})
	}
	type subject struct {
		ResourceType string        `json:"resourceType"`
		Extension    []fExtension  `json:"extension,omitempty"`
		Identifier   []fIdentifier `json:"identifier,omitempty"`
		Status       string        `json:"status"`
		Period       fPeriod       `json:"period"`
		Study        fReference    `json:"study"`
		Individual   fReference    `json:"individual"`
	}
	return json.Marshal(subject{
		ResourceType: "ResearchSubject",
		Extension:    c.extension,
		Identifier:   c.identifier,
		Status:       status,
		Period:       fPeriod{Start: v.AsOf},
		Study:        study,
		Individual:   c.holder,
	})
}

// policyCategories are the single codes of the policy's `service_categories exists` predicates,
// else the generic "30".
func policyCategories(p *policy.Policy) []string {
	var out []string
	for _, pr := range p.Predicates {
		if pr.List != "service_categories" || pr.Match != "exists" {
			continue
		}
		for _, c := range pr.Code {
			if !strings.ContainsAny(c, "-\u2013") && !contains(out, strings.ToUpper(c)) {
				out = append(out, strings.ToUpper(c))
			}
		}
	}
	if len(out) == 0 {
		out = []string{GenericServiceType}
	}
	return out
}

// policyPayer is the value of the policy's `payer eq` predicate ("" when none): the verifier's
// own constant, not an attribute of the credential.
func policyPayer(p *policy.Policy) string {
	for _, pr := range p.Predicates {
		if pr.Attribute == "payer" && pr.Op == "eq" {
			var s string
			if json.Unmarshal(pr.Value, &s) == nil {
				return s
			}
		}
	}
	return ""
}
