package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// Options tune how a bundle becomes attributes.
type Options struct {
	// LOINC narrows the observations signed to these codes (each with a canonical unit,
	// encode.CanonicalUnit). Nil signs every quantitative observation whose code has a canonical
	// unit. A quantitative observation outside the set is left out and makes the observations list
	// incomplete: `none` and `latest` over observations are then unprovable.
	LOINC []string
	// AsOf (YYYY-MM-DD) is the date the credential describes: its issued_on. A coverage credential
	// describes the coverage in force on that date (else the most recent); a clinical credential
	// is the record as it stood on that date (DESIGN.md, Snapshot): entries dated after it are left
	// out (that is not incompleteness) and an end after it is read as ongoing. "" means today (UTC).
	AsOf string
}

// ErrOption marks an invalid Options value (e.g. a LOINC set with an unknown code). Such errors
// also wrap credential.ErrMalformed.
var ErrOption = errors.New("invalid FHIR import option")

// optionError is an invalid option; its message names the option and may quote it (options are
// the issuer's own flags, not record data).
type optionError struct{ msg string }

func (e *optionError) Error() string   { return e.msg }
func (e *optionError) Unwrap() []error { return []error{ErrOption, credential.ErrMalformed} }

func optionErrorf(format string, args ...any) error {
	return &optionError{msg: fmt.Sprintf(format, args...)}
}

// ParseLOINCSet reads a comma-separated LOINC set ("4548-4,2339-0") as the --loinc flag gives it
// and checks it as ClinicalAttributes will.
func ParseLOINCSet(s string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return checkLOINCSet(out)
}

// MaxLOINCSet bounds a LOINC set (the canonical-unit table holds fewer codes).
const MaxLOINCSet = 256

// checkLOINCSet validates a LOINC set: 1 to MaxLOINCSet codes, each with a canonical unit.
func checkLOINCSet(set []string) ([]string, error) {
	if len(set) == 0 {
		return nil, optionErrorf("LOINC set: want at least one code")
	}
	if len(set) > MaxLOINCSet {
		return nil, optionErrorf("LOINC set: want at most %d codes", MaxLOINCSet)
	}
	seen := map[string]bool{}
	var out []string
	for _, c := range set {
		if _, err := encode.LOINC(c); err != nil {
			return nil, optionErrorf("LOINC set: %v", strings.TrimPrefix(err.Error(), "encode: "))
		}
		if _, ok := encode.CanonicalUnit(c); !ok {
			return nil, optionErrorf("LOINC set: no canonical unit is known for LOINC %s", c)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// rawEntry is one list entry in ATTRS.json form.
type rawEntry struct {
	Code               string   `json:"code"`
	Value              *float64 `json:"value,omitempty"`
	Unit               string   `json:"unit,omitempty"`
	Onset              string   `json:"onset,omitempty"`
	Date               string   `json:"date,omitempty"`
	Start              string   `json:"start,omitempty"`
	Abatement          *string  `json:"abatement,omitempty"`
	End                *string  `json:"end,omitempty"`
	ClinicalStatus     string   `json:"clinical_status,omitempty"`
	VerificationStatus string   `json:"verification_status,omitempty"`
	Status             string   `json:"status,omitempty"`
}

// ClinicalAttributes builds the attributes of a `clinical` credential from a FHIR R4 Bundle
// holding one Patient:
//
//   - birth_date, sex: Patient.birthDate (a full date; required) and Patient.gender (absent →
//     "unknown").
//   - conditions: every Condition, whatever its clinical status (resolved ones included), with
//     its clinical and verification status and its abatement[x] as the end; refuted and
//     entered-in-error ones are not part of the record and are skipped. Code: every ICD-10-CM
//     coding; without one, the SNOMED CT codings mapped through the shipped map (SNOMEDMap). A
//     Condition coded only in SNOMED CT concepts the map lacks cannot be listed, so the list is
//     marked incomplete: `none` and `latest` are then unprovable (a concept listed as not a
//     diagnosis is left out without marking it). Date: onsetDateTime, else onsetPeriod.start,
//     else recordedDate.
//   - observations: Observations with status final, amended or corrected whose LOINC code (of the
//     Observation or of a component, e.g. blood pressure panels) is in the LOINC set;
//     valueQuantity converted to the code's canonical UCUM unit (the UCUM code when the quantity
//     has system UCUM, else its unit). Date: effectiveDateTime, effectiveInstant or
//     effectivePeriod.start. Selection: the newest entry of every code first, then the other
//     entries newest first (same-day entries in the order of the LOINC set) up to the list's
//     capacity; when entries are left out for capacity the list is complete only since the day
//     after the newest one left out (only older entries are ever dropped); a result that cannot
//     be signed (no canonical unit, outside the LOINC set, a unit without a conversion) marks it
//     incomplete.
//   - medications: MedicationRequests (intent an order; status not cancelled, draft or
//     entered-in-error; date authoredOn) and MedicationStatements (status not entered-in-error,
//     intended or not-taken; date effective[x] start, else dateAsserted); every RxNorm coding of
//     medicationCodeableConcept or of the referenced Medication (in the bundle or contained).
//
// A resource with a subject must refer to the bundle's Patient. Every code read must come from a
// known system (a Condition with neither ICD-10-CM nor SNOMED CT, an Observation without LOINC, a
// medication without RxNorm is an error). Errors are *Error naming the resource and path and
// wrap ErrMalformed; an invalid Options.LOINC wraps ErrOption.
//
// A narrowed LOINC set that leaves a quantitative result of the record out marks the observations
// list incomplete (Options.LOINC): nothing left out is ever silent.
func ClinicalAttributes(bundle []byte, opts Options) (*credential.Attributes, error) {
	set := opts.LOINC
	if set != nil {
		var err error
		if set, err = checkLOINCSet(set); err != nil {
			return nil, err
		}
	}
	snapshot := opts.AsOf
	if snapshot == "" {
		snapshot = today()
	}
	if _, err := encode.Date(snapshot); err != nil {
		return nil, optionErrorf("as-of date: want YYYY-MM-DD between 1900-01-01 and 2099-12-31")
	}
	b, err := readBundle(bundle)
	if err != nil {
		return nil, err
	}
	p, err := b.onePatient()
	if err != nil {
		return nil, err
	}
	birth, err := p.date("birthDate")
	if err != nil {
		return nil, err
	}
	sex := "unknown"
	if p.has("gender") {
		if sex, err = p.statusCode("gender", "male", "female", "other", "unknown"); err != nil {
			return nil, err
		}
	}
	conds, condIncomplete, err := b.conditions()
	if err != nil {
		return nil, err
	}
	obs, obsOmitted, err := b.observations(set, snapshot)
	if err != nil {
		return nil, err
	}
	meds, err := b.medications()
	if err != nil {
		return nil, err
	}
	conds, meds = asOfSnapshot(conds, snapshot), asOfSnapshot(meds, snapshot)
	attrs := map[string]any{"birth_date": birth, "sex": sex, "conditions": conds, "observations": obs, "medications": meds}
	raw, err := json.Marshal(attrs)
	if err != nil {
		return nil, fmt.Errorf("fhir: encode attributes: %w", err)
	}
	s := schema.Clinical()
	a, err := credential.ParseAttributes(s, raw)
	if err != nil {
		return nil, fmt.Errorf("fhir: attributes built from the bundle do not parse: %w", err)
	}
	if condIncomplete {
		i, _, _ := s.List("conditions")
		a.Completeness[i].Incomplete = true
	}
	if obsOmitted {
		i, _, _ := s.List("observations")
		a.Completeness[i].Incomplete = true
	}
	return a, nil
}

// asOfSnapshot keeps the period entries that had started on or before day, reading an end after day
// as ongoing: on day the entry had not ended.
func asOfSnapshot(entries []rawEntry, day string) []rawEntry {
	var out []rawEntry
	for _, e := range entries {
		start := e.Onset + e.Start
		if start > day {
			continue
		}
		for _, end := range []**string{&e.Abatement, &e.End} {
			if *end != nil && **end != credential.EndUnknown && **end > day {
				*end = nil
			}
		}
		out = append(out, e)
	}
	return out
}

// conditions reads every Condition of the record that an issuer signs: all clinical statuses,
// resolved ones included, with their abatement; refuted and entered-in-error ones are not part of
// the record and are left out. incomplete reports a Condition that could not be expressed in
// ICD-10-CM.
func (b *bundle) conditions() (out []rawEntry, incomplete bool, err error) {
	seen := map[string]bool{}
	for _, r := range b.byType["Condition"] {
		if err := b.checkPatientRef(r.node, "subject", true); err != nil {
			return nil, false, err
		}
		ver := "confirmed"
		if vs, ok, err := r.optObject("verificationStatus"); err != nil {
			return nil, false, err
		} else if ok {
			if ver, err = statusConcept(vs, SystemConditionVer, "unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"); err != nil {
				return nil, false, err
			}
			if ver == "refuted" || ver == "entered-in-error" {
				continue
			}
		}
		cs, ok, err := r.optObject("clinicalStatus")
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, cs.fail("required to tell whether the condition is active")
		}
		st, err := statusConcept(cs, SystemConditionClin, "active", "recurrence", "relapse", "inactive", "remission", "resolved")
		if err != nil {
			return nil, false, err
		}
		cn, err := r.object("code")
		if err != nil {
			return nil, false, err
		}
		codes, unmapped, err := conditionCodes(cn)
		if err != nil {
			return nil, false, err
		}
		if unmapped {
			if !notADiagnosis(cn) {
				incomplete = true
			}
			continue
		}
		onset, err := conditionDate(r.node)
		if err != nil {
			return nil, false, err
		}
		abatement, err := conditionAbatement(r.node, st)
		if err != nil {
			return nil, false, err
		}
		for _, c := range codes {
			e := rawEntry{Code: c, Onset: onset, Abatement: abatement, ClinicalStatus: st, VerificationStatus: ver}
			k, _ := json.Marshal(e)
			if !seen[string(k)] {
				seen[string(k)] = true
				out = append(out, e)
			}
		}
	}
	return out, incomplete, nil
}

// conditionAbatement is the end of a Condition: abatementDateTime, abatementPeriod.end (else
// .start); nil (ongoing) when absent and the condition is active, recurring or relapsing;
// credential.EndUnknown when it abated on a date the record does not give (an abatementAge,
// abatementRange or abatementString, or an inactive, remitted or resolved condition without any).
func conditionAbatement(r node, clinicalStatus string) (*string, error) {
	date := func(d string) *string { return &d }
	if r.has("abatementDateTime") {
		d, err := r.date("abatementDateTime")
		return date(d), err
	}
	if p, ok, err := r.optObject("abatementPeriod"); err != nil {
		return nil, err
	} else if ok {
		for _, side := range []string{"end", "start"} {
			if p.has(side) {
				d, err := p.date(side)
				return date(d), err
			}
		}
	}
	for _, other := range []string{"abatementAge", "abatementRange", "abatementString", "abatementPeriod"} {
		if r.has(other) {
			return date(credential.EndUnknown), nil
		}
	}
	switch clinicalStatus {
	case "active", "recurrence", "relapse":
		return nil, nil
	}
	return date(credential.EndUnknown), nil
}

// statusConcept reads a required-binding status CodeableConcept: its coding in sys, one of allowed.
func statusConcept(cc node, sys string, allowed ...string) (string, error) {
	cs, err := cc.codings()
	if err != nil {
		return "", err
	}
	mine := in(cs, sys)
	if len(mine) == 0 {
		return "", cc.get("coding").fail("no coding from %s", sys)
	}
	for _, a := range allowed {
		if mine[0].code == a {
			return a, nil
		}
	}
	return "", mine[0].n.get("code").fail("not a code of %s (%s)", sys, strings.Join(allowed, ", "))
}

// notADiagnosis reports whether every SNOMED CT coding of a Condition's code is a concept that is
// not a diagnosis (NotADiagnosis): such a Condition is not part of the conditions list.
func notADiagnosis(cn node) bool {
	cs, err := cn.codings()
	if err != nil {
		return false
	}
	sct := in(cs, SystemSNOMED)
	for _, c := range sct {
		if !NotADiagnosis(c.code) {
			return false
		}
	}
	return len(sct) > 0
}

// conditionCodes returns the ICD-10-CM codes of a Condition's code: its ICD-10-CM codings, else
// its SNOMED CT codings through the shipped map. unmapped reports SNOMED CT codings none of which
// the map has.
func conditionCodes(cn node) (codes []string, unmapped bool, err error) {
	cs, err := cn.codings()
	if err != nil {
		return nil, false, err
	}
	icd, sct := in(cs, SystemICD10CM), in(cs, SystemSNOMED)
	if len(icd) == 0 && len(sct) == 0 {
		return nil, false, cn.get("coding").fail("no ICD-10-CM (%s) or SNOMED CT (%s) coding", SystemICD10CM, SystemSNOMED)
	}
	add := func(c string) {
		for _, have := range codes {
			if have == c {
				return
			}
		}
		codes = append(codes, c)
	}
	for _, c := range icd {
		norm, err := credential.NormaliseCode(schema.ICD10CM, c.code)
		if err != nil {
			return nil, false, c.n.get("code").failErr(err, "not a valid ICD-10-CM code")
		}
		add(norm)
	}
	if len(codes) > 0 {
		return codes, false, nil
	}
	for _, c := range sct {
		if _, err := encode.SNOMED(c.code); err != nil {
			return nil, false, c.n.get("code").failErr(err, "not a valid SNOMED CT concept id")
		}
		if m, ok := SNOMEDToICD10CM(c.code); ok {
			add(m.ICD10CM)
		}
	}
	return codes, len(codes) == 0, nil
}

// conditionDate is a Condition's date: onsetDateTime, else onsetPeriod.start, else recordedDate.
func conditionDate(r node) (string, error) {
	if r.has("onsetDateTime") {
		return r.date("onsetDateTime")
	}
	if p, ok, err := r.optObject("onsetPeriod"); err != nil {
		return "", err
	} else if ok && p.has("start") {
		return p.date("start")
	}
	if r.has("recordedDate") {
		return r.date("recordedDate")
	}
	return "", r.get("onset[x]").fail("required to date the condition: want onsetDateTime, onsetPeriod.start or recordedDate")
}

// obsCandidate is one observation value, in the canonical unit of its code.
type obsCandidate struct {
	code  string
	value float64 // canonical unit, exactly representable at the code's scale
	date  string
}

// observations reads the quantitative results of the record: every Observation (and Observation
// component, e.g. blood pressure panels) with status final, amended or corrected and a
// valueQuantity. A value is signed when its LOINC code has a canonical unit (and, when the issuer
// narrows the set, is in it) and its unit converts to it; a quantitative result that cannot be
// signed (no LOINC coding, a code without a canonical unit or outside the issuer's set, a unit
// without a conversion, a negative or bounded value) is left out and reported: omitted makes the
// list incomplete, so no `none` or `latest` over observations is provable from it. Results that
// are not quantities (coded, text, …) are not part of the list and do not count. Entries dated
// after snapshot are not yet part of the record. Capacity is left to credential.ParseAttributes,
// which keeps the newest and signs complete_since.
func (b *bundle) observations(set []string, snapshot string) ([]rawEntry, bool, error) {
	inSet := map[string]bool{}
	for _, c := range set {
		inSet[c] = true
	}
	var out []rawEntry
	omitted := false
	seen := map[obsCandidate]bool{}
	for _, r := range b.byType["Observation"] {
		st, err := r.statusCode("status", "registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown")
		if err != nil {
			return nil, false, err
		}
		if err := b.checkPatientRef(r.node, "subject", false); err != nil {
			return nil, false, err
		}
		if st != "final" && st != "amended" && st != "corrected" {
			continue // not a result (yet), or not part of the record
		}
		parts := []node{r.node}
		comps, err := r.objects("component")
		if err != nil {
			return nil, false, err
		}
		parts = append(parts, comps...)
		date := ""
		for _, part := range parts {
			q, ok, err := part.optObject("valueQuantity")
			if err != nil {
				return nil, false, err
			}
			if !ok {
				continue // not a quantitative result: not part of the list
			}
			code, err := observationCode(part, inSet)
			if err != nil {
				return nil, false, err
			}
			if date == "" {
				if date, err = observationDate(r.node); err != nil {
					return nil, false, err
				}
			}
			if date > snapshot {
				continue // not yet part of the record on the snapshot date
			}
			if code == "" {
				omitted = true
				continue
			}
			v, signable, err := quantity(q, code)
			if err != nil {
				return nil, false, err
			}
			if !signable {
				omitted = true
				continue
			}
			c := obsCandidate{code: code, value: v, date: date}
			if !seen[c] {
				seen[c] = true
				canon, _ := encode.CanonicalUnit(code)
				out = append(out, rawEntry{Code: code, Value: &v, Unit: canon.Unit, Date: date})
			}
		}
	}
	return out, omitted, nil
}

// observationCode returns the LOINC code under which an Observation or component's value can be
// signed: its first LOINC coding that has a canonical unit and, when the issuer narrows the set,
// is in it; "" when it has none (no LOINC coding, a malformed or unknown code).
func observationCode(part node, inSet map[string]bool) (string, error) {
	cn, err := part.object("code")
	if err != nil {
		return "", err
	}
	cs, err := cn.codings()
	if err != nil {
		return "", err
	}
	for _, c := range in(cs, SystemLOINC) {
		if _, err := encode.LOINC(c.code); err != nil {
			continue
		}
		if _, ok := encode.CanonicalUnit(c.code); ok && (len(inSet) == 0 || inSet[c.code]) {
			return c.code, nil
		}
	}
	return "", nil
}

// quantity reads a valueQuantity of LOINC code, converted to the code's canonical unit. signable
// is false for a value that cannot be signed: a bounded value (<, >…), no unit, a unit without a
// conversion, a negative or unrepresentable value. A Quantity that is not well-formed is an error.
func quantity(q node, code string) (v float64, signable bool, err error) {
	value, err := q.number("value")
	if err != nil {
		return 0, false, err
	}
	if q.has("comparator") {
		if _, err := q.statusCode("comparator", "<", "<=", ">=", ">"); err != nil {
			return 0, false, err
		}
		return 0, false, nil
	}
	unit, _, err := q.optStr("unit")
	if err != nil {
		return 0, false, err
	}
	sys, _, err := q.optStr("system")
	if err != nil {
		return 0, false, err
	}
	ucum, _, err := q.optStr("code")
	if err != nil {
		return 0, false, err
	}
	if ucum != "" && sys == SystemUCUM {
		unit = ucum
	}
	if unit == "" {
		return 0, false, nil
	}
	fixed, err := encode.Quantity(code, value, unit)
	if err != nil {
		return 0, false, nil
	}
	f, err := encode.Float(code, fixed)
	if err != nil {
		return 0, false, nil
	}
	return f, true, nil
}

// observationDate is effectiveDateTime, effectiveInstant or effectivePeriod.start (else .end).
func observationDate(r node) (string, error) {
	for _, name := range []string{"effectiveDateTime", "effectiveInstant"} {
		if r.has(name) {
			return r.date(name)
		}
	}
	if p, ok, err := r.optObject("effectivePeriod"); err != nil {
		return "", err
	} else if ok {
		if p.has("start") {
			return p.date("start")
		}
		if p.has("end") {
			return p.date("end")
		}
	}
	return "", r.get("effective[x]").fail("required to date the observation: want effectiveDateTime, effectiveInstant or effectivePeriod")
}

// medications reads MedicationRequests and MedicationStatements.
func (b *bundle) medications() ([]rawEntry, error) {
	var out []rawEntry
	seen := map[string]bool{}
	add := func(codes []string, start string, end *string, status string) {
		for _, c := range codes {
			e := rawEntry{Code: c, Start: start, End: end, Status: status}
			if k, _ := json.Marshal(e); !seen[string(k)] {
				seen[string(k)] = true
				out = append(out, e)
			}
		}
	}
	for _, r := range b.byType["MedicationRequest"] {
		st, err := r.statusCode("status", "active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown")
		if err != nil {
			return nil, err
		}
		intent, err := r.statusCode("intent", "proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order", "option")
		if err != nil {
			return nil, err
		}
		if err := b.checkPatientRef(r.node, "subject", true); err != nil {
			return nil, err
		}
		// a proposal, plan or option is not a medication order; entered-in-error is not part of the record
		if st == "entered-in-error" || intent == "proposal" || intent == "plan" || intent == "option" {
			continue
		}
		codes, err := b.medicationCodes(r)
		if err != nil {
			return nil, err
		}
		start, err := r.date("authoredOn")
		if err != nil {
			return nil, err
		}
		add(codes, start, medicationEnd(st, ""), st)
	}
	for _, r := range b.byType["MedicationStatement"] {
		st, err := r.statusCode("status", "active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown", "not-taken")
		if err != nil {
			return nil, err
		}
		if err := b.checkPatientRef(r.node, "subject", true); err != nil {
			return nil, err
		}
		if st == "entered-in-error" {
			continue
		}
		codes, err := b.medicationCodes(r)
		if err != nil {
			return nil, err
		}
		start, err := statementDate(r.node)
		if err != nil {
			return nil, err
		}
		end := ""
		if p, ok, err := r.optObject("effectivePeriod"); err != nil {
			return nil, err
		} else if ok && p.has("end") {
			if end, err = p.date("end"); err != nil {
				return nil, err
			}
		}
		add(codes, start, medicationEnd(st, end), st)
	}
	return out, nil
}

// medicationEnd is the end of a medication entry: the recorded end date when there is one; nil
// (ongoing) while active or on hold; credential.EndUnknown for one that ended (completed, stopped,
// cancelled, …) on a date the record does not give. A MedicationRequest records no end of use.
func medicationEnd(status, end string) *string {
	if end != "" {
		return &end
	}
	switch status {
	case "active", "on-hold":
		return nil
	}
	u := credential.EndUnknown
	return &u
}

// statementDate is a MedicationStatement's effectiveDateTime, effectivePeriod.start or dateAsserted.
func statementDate(r node) (string, error) {
	if r.has("effectiveDateTime") {
		return r.date("effectiveDateTime")
	}
	if p, ok, err := r.optObject("effectivePeriod"); err != nil {
		return "", err
	} else if ok && p.has("start") {
		return p.date("start")
	}
	if r.has("dateAsserted") {
		return r.date("dateAsserted")
	}
	return "", r.get("effective[x]").fail("required to date the medication: want effectiveDateTime, effectivePeriod.start or dateAsserted")
}

// medicationCodes returns the RxNorm codes of medication[x]: a CodeableConcept, or a reference to
// a Medication in the bundle or contained in r.
func (b *bundle) medicationCodes(r *resource) ([]string, error) {
	cc, ok, err := r.optObject("medicationCodeableConcept")
	if err != nil {
		return nil, err
	}
	if !ok {
		ref, ok, err := r.optObject("medicationReference")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, r.get("medication[x]").fail("required element missing")
		}
		target, err := b.medication(r, ref)
		if err != nil {
			return nil, err
		}
		if cc, err = target.object("code"); err != nil {
			return nil, err
		}
	}
	cs, err := cc.codings()
	if err != nil {
		return nil, err
	}
	rx := in(cs, SystemRxNorm)
	if len(rx) == 0 {
		return nil, cc.get("coding").fail("no RxNorm coding (%s)", SystemRxNorm)
	}
	var codes []string
	for _, c := range rx {
		norm, err := credential.NormaliseCode(schema.RxNorm, c.code)
		if err != nil {
			return nil, c.n.get("code").failErr(err, "not a valid RxNorm concept id")
		}
		codes = append(codes, norm)
	}
	return codes, nil
}

// medication resolves a medicationReference to a Medication resource.
func (b *bundle) medication(r *resource, ref node) (node, error) {
	s, err := ref.str("reference")
	if err != nil {
		return node{}, err
	}
	var target node
	if id, ok := strings.CutPrefix(s, "#"); ok {
		target, ok = contained(r.node, id)
		if !ok {
			return node{}, ref.get("reference").fail("no contained resource with this id")
		}
	} else {
		t := b.resolve(s)
		if t == nil {
			return node{}, ref.get("reference").fail("does not resolve to a resource in the bundle")
		}
		target = t.node
	}
	if typ, err := target.str("resourceType"); err != nil {
		return node{}, err
	} else if typ != "Medication" {
		return node{}, ref.get("reference").fail("does not refer to a Medication")
	}
	return target, nil
}

// contained finds the contained resource with the given id. Contained resources are named by
// their index ("ExplanationOfBenefit[3].contained[1]").
func contained(r node, id string) (node, bool) {
	arr, err := r.objects("contained")
	if err != nil {
		return node{}, false
	}
	for _, c := range arr {
		if cid, _, err := c.optStr("id"); err == nil && cid == id {
			c.id = cid
			return c, true
		}
	}
	return node{}, false
}

// today is the current UTC date.
func today() string { return time.Now().UTC().Format("2006-01-02") }
