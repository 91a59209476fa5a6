package credential

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// Entry is one entry of a list attribute, normalised: the code in its canonical spelling, the value
// in the canonical unit of its code (lists with values only), the date (dated lists only), the end
// of a period entry ("" ongoing, EndUnknown, or a date) and its statuses (lists that have them; the
// schema's default when the input names none).
type Entry struct {
	Code         string
	Value        *float64
	Unit         string
	Date         string
	End          string
	Status       string
	Verification string
}

// EndUnknown is the end of a period entry known to have ended on a date the record does not give
// (a resolved condition without an abatement date, a stopped medication without an end). A state
// window counts it as present for `none` (it may have ended yesterday) and as not present for
// `exists`: both directions stay sound.
const EndUnknown = "unknown"

// Attributes is a credential's content, normalised and checked against its schema. Lists are in
// signing order (by code, then date; ties keep their given order), and hold at most their
// capacity: when a record had more entries, the oldest were left out and Completeness says so.
type Attributes struct {
	Schema       *schema.Schema
	Scalars      []string       // one per schema attribute, canonical spelling
	Lists        [][]Entry      // one per schema list
	Completeness []Completeness // one per schema list
}

// Completeness is what a list's signed entries cover (DESIGN.md, Credential): it is signed with
// them, so a credential never drops an entry silently.
type Completeness struct {
	// CompleteSince is "" (null: nothing was left out) or a date D such that the list holds every
	// entry of the record last present on or after D: for events, dated on or after D; for period
	// entries, not ended before D. Entries left out for capacity are the ones that ended (or
	// happened) longest ago, so a family's latest entry, and every entry of a window starting on
	// or after D, is kept.
	CompleteSince string `json:"complete_since"`
	// Incomplete reports that some entry of the record could not be signed (an unmappable code, a
	// unit without a conversion, …): the list then proves presence (exists) only.
	Incomplete bool `json:"incomplete"`
}

// Complete reports whether nothing was left out.
func (c Completeness) Complete() bool { return c.CompleteSince == "" && !c.Incomplete }

// FieldError is a malformed input: the field it is about and the kind of fault. Its text is built
// from Field, Reason and Want only, which are fixed by this package, the schema and the code
// systems, never taken from the value: it can be shown to anyone (the CLI and the HTTP API show it
// as it is). Field is a JSON path into the input ("observations[0].unit"), "" for the document
// itself; it names, never quotes.
type FieldError struct {
	Field  string
	Reason Reason
	// Want says what a valid value looks like ("a date YYYY-MM-DD from 1900-01-01 to
	// 2099-12-31"); "" when the reason says it all.
	Want string
	// Err is the cause, for errors.Is and errors.As (an encode sentinel such as encode.ErrRange,
	// or a *strictjson.Error); it is never rendered, except a *strictjson.Error, which is
	// value-free by its own contract.
	Err error
}

// Reason is the kind of fault a FieldError reports, in words.
type Reason string

// The reasons of FieldError.
const (
	ReasonMissing          Reason = "missing"
	ReasonEmpty            Reason = "empty"
	ReasonType             Reason = "wrong type"
	ReasonJSON             Reason = "not valid JSON"
	ReasonUnknownAttribute Reason = "unknown attribute"
	ReasonUnknownField     Reason = "unknown field"
	ReasonNotAField        Reason = "not a field of these entries"
	ReasonNoValue          Reason = "not allowed: these entries carry no value"
	ReasonNotInSet         Reason = "not an allowed value"
	ReasonMalformed        Reason = "malformed"
	ReasonRange            Reason = "out of range"
	ReasonCheckDigit       Reason = "wrong check digit"
	ReasonNoCanonicalUnit  Reason = "no canonical unit is known for this LOINC code"
	ReasonUnknownUnit      Reason = "unit without a known conversion"
	ReasonTooLarge         Reason = "too large"
	ReasonUnsupported      Reason = "unsupported"
	ReasonMismatch         Reason = "does not match"
	ReasonNotAsIssued      Reason = "not as issued (re-spelt, reordered or changed below the encoding's precision)"
	ReasonBeforeIssued     Reason = "before issued_on"
	ReasonBeforeStart      Reason = "before the entry's start"
	ReasonNeverSigned      Reason = "never signed (an entry refuted or entered in error is not part of the record: leave it out)"
	ReasonAfterIssued      Reason = "dated after issued_on (a credential is the record as it stood on issued_on)"
	ReasonEndAfterIssued   Reason = "dated after issued_on (on issued_on the entry had not ended: leave the end out)"
	ReasonReissue          Reason = "format version 1 is no longer accepted: ask the issuer to re-issue the credential (version 2 signs the whole record and what it leaves out)"
)

// Error renders the fault: "field: reason (want …)", without "field: " for an error about a
// value that is not a field (a policy constant).
func (e *FieldError) Error() string {
	var je *strictjson.Error
	var msg string
	switch {
	case e.Reason == ReasonJSON && errors.As(e.Err, &je):
		msg = je.Error()
	case e.Want == "":
		msg = string(e.Reason)
	case e.Reason == ReasonType:
		msg = "want " + e.Want
	default:
		msg = string(e.Reason) + " (want " + e.Want + ")"
	}
	if e.Field == "" {
		return msg
	}
	return e.Field + ": " + msg
}

// Unwrap returns ErrMalformed (every FieldError is malformed input) and the cause.
func (e *FieldError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrMalformed}
	}
	return []error{ErrMalformed, e.Err}
}

// ErrMalformed marks every error caused by malformed input (as opposed to I/O or a bad signature);
// the CLI maps it to exit code 2 and the service to 400.
var ErrMalformed = errors.New("malformed input")

// fieldErr is a FieldError without a cause.
func fieldErr(field string, r Reason, want string) *FieldError {
	return &FieldError{Field: field, Reason: r, Want: want}
}

// jsonFieldErr describes a JSON document (or a part of one, at field; "" for the document) that
// strictjson refused: an unknown or mistyped member is named below field, anything else is
// reported at field.
func jsonFieldErr(field string, err error) *FieldError {
	var je *strictjson.Error
	if !errors.As(err, &je) {
		return &FieldError{Field: field, Reason: ReasonJSON, Err: err}
	}
	sub := field
	switch {
	case je.Field == "":
	case field == "":
		sub = je.Field
	default:
		sub = field + "." + je.Field
	}
	switch je.Kind {
	case strictjson.ErrUnknownField:
		return &FieldError{Field: sub, Reason: ReasonUnknownField, Err: err}
	case strictjson.ErrType:
		return &FieldError{Field: sub, Reason: ReasonType, Want: je.Want, Err: err}
	}
	return &FieldError{Field: field, Reason: ReasonJSON, Err: err}
}

// ParseAttributes reads ATTRS.json (as CLI.md describes it) for schema s: unknown attributes, wrong
// types, bad dates, codes that do not parse and units with no known conversion are refused with an
// error naming the field. Values are converted to the canonical unit of their code.
func ParseAttributes(s *schema.Schema, data []byte) (*Attributes, error) {
	var raw map[string]json.RawMessage
	if err := strictUnmarshal(data, &raw); err != nil {
		var je *strictjson.Error
		if errors.As(err, &je) && je.Kind == strictjson.ErrType {
			return nil, &FieldError{Field: "attributes", Reason: ReasonType, Want: "an object", Err: err}
		}
		return nil, jsonFieldErr("attributes", err)
	}
	a := &Attributes{Schema: s, Scalars: make([]string, len(s.Attributes)), Lists: make([][]Entry, len(s.Lists)), Completeness: make([]Completeness, len(s.Lists))}
	known := map[string]bool{}
	for i, attr := range s.Attributes {
		known[attr.Name] = true
		msg, ok := raw[attr.Name]
		if !ok {
			return nil, fieldErr(attr.Name, ReasonMissing, "")
		}
		var str string
		if err := json.Unmarshal(msg, &str); err != nil {
			return nil, fieldErr(attr.Name, ReasonType, "a string")
		}
		norm, err := normaliseScalar(attr, str)
		if err != nil {
			return nil, at(attr.Name, err)
		}
		a.Scalars[i] = norm
	}
	for i, l := range s.Lists {
		known[l.Name] = true
		msg, ok := raw[l.Name]
		if !ok {
			continue // an absent list is an empty list
		}
		entries, err := parseList(l, msg)
		if err != nil {
			return nil, err
		}
		a.Lists[i], a.Completeness[i] = fitList(l, entries)
	}
	if msg, ok := raw["completeness"]; ok {
		known["completeness"] = true
		if err := a.readCompleteness(msg); err != nil {
			return nil, err
		}
	}
	for name := range raw {
		if !known[name] {
			return nil, fieldErr(name, ReasonUnknownAttribute, "an attribute of schema "+s.ID+": "+attributeNames(s))
		}
	}
	return a, nil
}

// readCompleteness reads ATTRS.json's optional "completeness" object: an issuer whose own
// extraction left entries out says so here ({"conditions": {"incomplete": true}}, or a
// complete_since date), and it is combined with what fitting the lists to their capacity left out.
func (a *Attributes) readCompleteness(msg json.RawMessage) error {
	var in map[string]WireCompleteness
	if err := strictUnmarshal(msg, &in); err != nil {
		return jsonFieldErr("completeness", err)
	}
	for name, w := range in {
		i, _, ok := a.Schema.List(name)
		if !ok {
			return fieldErr("completeness."+name, ReasonNotInSet, "a list of schema "+a.Schema.ID+": "+listNames(a.Schema))
		}
		c := Completeness{Incomplete: w.Incomplete}
		if w.CompleteSince != nil {
			d, err := encode.Date(*w.CompleteSince)
			if err != nil {
				return at("completeness."+name+".complete_since", encodeError(err, wantDate))
			}
			c.CompleteSince = encode.DateString(d)
		}
		a.Completeness[i] = a.Completeness[i].Combine(c)
	}
	return nil
}

// listNames lists the schema's lists, in schema order.
func listNames(s *schema.Schema) string {
	var names []string
	for _, l := range s.Lists {
		names = append(names, l.Name)
	}
	return strings.Join(names, ", ")
}

// attributeNames lists the schema's attributes and lists, in schema order.
func attributeNames(s *schema.Schema) string {
	var names []string
	for _, a := range s.Attributes {
		names = append(names, a.Name)
	}
	for _, l := range s.Lists {
		names = append(names, l.Name)
	}
	return strings.Join(names, ", ")
}

// schemaIDs lists the shipped schemas.
func schemaIDs() []string {
	var ids []string
	for _, s := range schema.All() {
		ids = append(ids, s.ID)
	}
	return ids
}

// strictUnmarshal decodes exactly one JSON value strictly (see package strictjson).
func strictUnmarshal(data []byte, v any) error { return strictjson.Unmarshal(data, v) }

func normaliseScalar(attr schema.Attribute, v string) (string, error) {
	switch attr.Type {
	case schema.Date:
		d, err := encode.Date(v)
		if err != nil {
			return "", encodeError(err, wantDate)
		}
		return encode.DateString(d), nil
	case schema.Enum:
		for _, e := range attr.Values {
			if strings.EqualFold(v, e) {
				return e, nil
			}
		}
		return "", fieldErr("", ReasonNotInSet, "one of "+strings.Join(attr.Values, ", "))
	case schema.Hashed:
		if strings.TrimSpace(v) == "" {
			return "", fieldErr("", ReasonEmpty, "")
		}
		return v, nil
	}
	return "", fieldErr("", ReasonUnsupported, "")
}

type rawEntry struct {
	Code               string   `json:"code"`
	Value              *float64 `json:"value,omitempty"`
	Unit               string   `json:"unit,omitempty"`
	Onset              string   `json:"onset,omitempty"`
	Date               string   `json:"date,omitempty"`
	Start              string   `json:"start,omitempty"`
	Abatement          *string  `json:"abatement,omitempty"`
	End                *string  `json:"end,omitempty"`
	ClinicalStatus     *string  `json:"clinical_status,omitempty"`
	VerificationStatus *string  `json:"verification_status,omitempty"`
	Status             *string  `json:"status,omitempty"`
}

func parseList(l schema.List, msg json.RawMessage) ([]Entry, error) {
	if !l.HasDate() && !l.Value {
		// a list of bare codes: ["30", "1", …]
		var codes []string
		if err := strictUnmarshal(msg, &codes); err != nil {
			return nil, fieldErr(l.Name, ReasonType, "an array of code strings")
		}
		out := make([]Entry, len(codes))
		for i, c := range codes {
			norm, err := NormaliseCode(l.Code, c)
			if err != nil {
				return nil, at(fmt.Sprintf("%s[%d].code", l.Name, i), err)
			}
			out[i] = Entry{Code: norm}
		}
		return out, nil
	}
	var raws []json.RawMessage
	if err := strictUnmarshal(msg, &raws); err != nil {
		return nil, fieldErr(l.Name, ReasonType, "an array of objects")
	}
	out := make([]Entry, len(raws))
	for i, r := range raws {
		field := fmt.Sprintf("%s[%d]", l.Name, i)
		var e rawEntry
		if err := strictUnmarshal(r, &e); err != nil {
			return nil, jsonFieldErr(field, err)
		}
		dates := map[string]string{"onset": e.Onset, "date": e.Date, "start": e.Start}
		for name, v := range dates {
			if v != "" && name != l.DateField {
				return nil, fieldErr(field+"."+name, ReasonNotAField, "the date in "+l.DateField)
			}
		}
		ends := map[string]*string{"abatement": e.Abatement, "end": e.End}
		for name, v := range ends {
			if v != nil && name != l.EndField {
				return nil, fieldErr(field+"."+name, ReasonNotAField, "")
			}
		}
		statuses := map[string]*string{"clinical_status": e.ClinicalStatus, "verification_status": e.VerificationStatus, "status": e.Status}
		for name, v := range statuses {
			if v != nil && !(l.Status != nil && name == l.Status.Field) && !(l.Verification != nil && name == l.Verification.Field) {
				return nil, fieldErr(field+"."+name, ReasonNotAField, "")
			}
		}
		norm, err := NormaliseCode(l.Code, e.Code)
		if err != nil {
			return nil, at(field+".code", err)
		}
		entry := Entry{Code: norm}
		d, err := encode.Date(dates[l.DateField])
		if err != nil {
			return nil, at(field+"."+l.DateField, encodeError(err, wantDate))
		}
		entry.Date = encode.DateString(d)
		if l.HasEnd() {
			if entry.End, err = parseEnd(field+"."+l.EndField, ends[l.EndField], d); err != nil {
				return nil, err
			}
		}
		if l.Status != nil {
			if entry.Status, err = parseStatus(field, l.Status, statuses[l.Status.Field]); err != nil {
				return nil, err
			}
		}
		if l.Verification != nil {
			if entry.Verification, err = parseStatus(field, l.Verification, statuses[l.Verification.Field]); err != nil {
				return nil, err
			}
		}
		switch {
		case l.Value && e.Value == nil:
			return nil, fieldErr(field+".value", ReasonMissing, "")
		case l.Value:
			canon, ok := encode.CanonicalUnit(norm)
			if !ok {
				return nil, &FieldError{Field: field + ".code", Reason: ReasonNoCanonicalUnit, Err: encode.ErrUnknownLOINC}
			}
			fixed, err := encode.Quantity(norm, *e.Value, e.Unit)
			if errors.Is(err, encode.ErrUnknownUnit) {
				return nil, at(field+".unit", encodeError(err, wantUnit))
			}
			if err != nil {
				return nil, at(field+".value", encodeError(err, wantValue))
			}
			v, err := encode.Float(norm, fixed)
			if err != nil {
				return nil, at(field+".value", encodeError(err, wantValue))
			}
			entry.Value, entry.Unit = &v, canon.Unit
		case e.Value != nil:
			return nil, fieldErr(field+".value", ReasonNoValue, "")
		case e.Unit != "":
			return nil, fieldErr(field+".unit", ReasonNoValue, "")
		}
		out[i] = entry
	}
	return out, nil
}

// parseEnd reads the end of a period entry: absent (ongoing), "unknown" (EndUnknown) or a date on
// or after the entry's start.
func parseEnd(field string, v *string, start uint64) (string, error) {
	if v == nil {
		return "", nil
	}
	if *v == EndUnknown {
		return EndUnknown, nil
	}
	end, err := encode.Date(*v)
	if err != nil {
		return "", at(field, encodeError(err, wantEnd))
	}
	if end < start {
		return "", fieldErr(field, ReasonBeforeStart, "")
	}
	return encode.DateString(end), nil
}

// parseStatus reads an entry status, the enum's default when absent. A status the issuer never
// signs (a refuted condition, an entry entered in error) is refused: such an entry is not part of
// the record and is left out, not signed.
func parseStatus(entryField string, e *schema.EntryEnum, v *string) (string, error) {
	field := entryField + "." + e.Field
	if v == nil {
		return e.Default, nil
	}
	for _, never := range e.Never {
		if strings.EqualFold(*v, never) {
			return "", fieldErr(field, ReasonNeverSigned, "")
		}
	}
	i, ok := e.Index(*v)
	if !ok {
		return "", fieldErr(field, ReasonNotInSet, "one of "+strings.Join(e.Values, ", "))
	}
	return e.Values[i-1], nil
}

// encodeError turns an error of package encode, whose text quotes the offending input (a birth
// date, a lab value, a diagnosis code), into a value-free FieldError without its field (at sets
// it): the kind of fault and what was expected. errors.Is still finds ErrMalformed and the encode
// sentinel (encode.ErrRange, …).
func encodeError(err error, want string) *FieldError {
	kind, reason := encode.ErrSyntax, ReasonMalformed
	for _, k := range []struct {
		err    error
		reason Reason
	}{
		{encode.ErrRange, ReasonRange},
		{encode.ErrCheckDigit, ReasonCheckDigit},
		{encode.ErrUnknownLOINC, ReasonNoCanonicalUnit},
		{encode.ErrUnknownUnit, ReasonUnknownUnit},
	} {
		if errors.Is(err, k.err) {
			kind, reason = k.err, k.reason
		}
	}
	return &FieldError{Reason: reason, Want: want, Err: kind}
}

// at returns err about field: a FieldError (from encodeError, or for a part of the field) gets the
// field, or field prefixed to its own; any other error is wrapped in one.
func at(field string, err error) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return &FieldError{Field: field, Reason: ReasonMalformed, Err: err}
	}
	out := *fe
	if out.Field == "" {
		out.Field = field
	} else {
		out.Field = field + "." + out.Field
	}
	return &out
}

const (
	wantEnd   = "a date YYYY-MM-DD from 1900-01-01 to 2099-12-31, or \"unknown\""
	wantDate  = "a date YYYY-MM-DD from 1900-01-01 to 2099-12-31"
	wantValue = "a non-negative number within the range of the code's canonical unit"
	wantUnit  = "a unit with a known conversion to the code's canonical unit"
)

// NormaliseCode checks code against the code system and returns its canonical spelling.
func NormaliseCode(cs schema.CodeSystem, code string) (string, error) {
	v, err := EncodeCode(cs, code)
	if err != nil {
		return "", err
	}
	switch cs {
	case schema.ICD10CM:
		return encode.ICD10String(v)
	case schema.LOINC:
		return encode.LOINCString(v), nil
	case schema.X12:
		return encode.X12String(v)
	}
	return fmt.Sprint(v), nil
}

// EncodeCode encodes one code of system cs.
func EncodeCode(cs schema.CodeSystem, code string) (uint64, error) {
	var v uint64
	var err error
	switch cs {
	case schema.ICD10CM:
		v, err = encode.ICD10(code)
	case schema.LOINC:
		v, err = encode.LOINC(code)
	case schema.RxNorm:
		v, err = encode.RxNorm(code)
	case schema.X12:
		v, err = encode.X12(code)
	default:
		err = fmt.Errorf("unsupported code system")
	}
	if err != nil {
		return 0, encodeError(err, article(cs.String())+" code")
	}
	return v, nil
}

// article puts "a" or "an" before a code system's name, by how it is spoken: "an ICD-10-CM",
// "an RxNorm", "an X12" (letters said one by one), "a LOINC" (said as a word).
func article(name string) string {
	if name != "" && strings.ContainsRune("AEIOURXaeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// fitList keeps at most the list's capacity of entries and orders a dated list newest first
// (stable). When entries must be left out, it leaves out the ones last present longest ago (an
// event's date, a period's end; an ongoing period, or one that ended on an unknown date, is
// present now) and says so in the completeness: CompleteSince is the day after the last day an
// entry left out was present. If even that would leave out an entry still present, the list is
// Incomplete instead (no date can describe what was left out). Undated lists keep their first
// entries and are Incomplete when longer than their capacity.
func fitList(l schema.List, entries []Entry) ([]Entry, Completeness) {
	var c Completeness
	if len(entries) > l.Capacity {
		if !l.HasDate() {
			kept := entries[:l.Capacity]
			sortForTree(l, kept)
			return kept, Completeness{Incomplete: true}
		}
		last := func(e Entry) string {
			switch {
			case !l.HasEnd():
				return e.Date
			case e.End == "" || e.End == EndUnknown:
				return "9999-12-31"
			}
			return e.End
		}
		order := make([]int, len(entries))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, j int) bool { return last(entries[order[i]]) > last(entries[order[j]]) })
		keep := make([]bool, len(entries))
		for _, i := range order[:l.Capacity] {
			keep[i] = true
		}
		dropped := last(entries[order[l.Capacity]])
		if dropped == "9999-12-31" {
			c.Incomplete = true
		} else {
			d, _ := encode.Date(dropped)
			c.CompleteSince = encode.DateString(d + 1)
		}
		kept := entries[:0:0]
		for i, e := range entries {
			if keep[i] {
				kept = append(kept, e)
			}
		}
		entries = kept
	}
	sortForTree(l, entries)
	return entries, c
}

// sortForTree puts entries in signing order: by code (as encoded, so a code family is one
// contiguous block), then by date, entries equal in both keeping their given order (the one listed
// last is the latest of a same-day pair).
func sortForTree(l schema.List, entries []Entry) {
	codes := make(map[string]uint64, len(entries))
	for _, e := range entries {
		if _, ok := codes[e.Code]; !ok {
			codes[e.Code], _ = EncodeCode(l.Code, e.Code) // normalised codes encode
		}
	}
	sort.SliceStable(entries, func(i, j int) bool {
		ci, cj := codes[entries[i].Code], codes[entries[j].Code]
		if ci != cj {
			return ci < cj
		}
		return entries[i].Date < entries[j].Date
	})
}

// Combine returns the completeness of a list left out both as c and as o says: the later
// CompleteSince, and Incomplete if either is.
func (c Completeness) Combine(o Completeness) Completeness {
	out := Completeness{CompleteSince: max(c.CompleteSince, o.CompleteSince), Incomplete: c.Incomplete || o.Incomplete}
	return out
}

// MarshalJSON renders the attributes in the ATTRS.json form, normalised.
func (a *Attributes) MarshalJSON() ([]byte, error) {
	out := map[string]any{}
	for i, attr := range a.Schema.Attributes {
		out[attr.Name] = a.Scalars[i]
	}
	for i, l := range a.Schema.Lists {
		if !l.HasDate() && !l.Value {
			codes := make([]string, len(a.Lists[i]))
			for j, e := range a.Lists[i] {
				codes[j] = e.Code
			}
			out[l.Name] = codes
			continue
		}
		entries := make([]map[string]any, len(a.Lists[i]))
		for j, e := range a.Lists[i] {
			m := map[string]any{"code": e.Code, l.DateField: e.Date}
			if l.Value {
				m["value"], m["unit"] = *e.Value, e.Unit
			}
			if l.HasEnd() && e.End != "" {
				m[l.EndField] = e.End
			}
			if l.Status != nil {
				m[l.Status.Field] = e.Status
			}
			if l.Verification != nil {
				m[l.Verification.Field] = e.Verification
			}
			entries[j] = m
		}
		out[l.Name] = entries
	}
	return json.Marshal(out)
}

// Values encodes the attributes into the credential layout's values for the given header. The
// result is what the issuer commits to and what the prover feeds the circuit.
func (a *Attributes) Values(h Header) ([]*big.Int, error) {
	s := a.Schema
	layout := s.CredentialLayout()
	vals := make([]*big.Int, len(layout.Fields))
	for i := range vals {
		vals[i] = new(big.Int)
	}
	set := func(name string, v *big.Int) { vals[layout.Index(name)] = v }
	u := func(v uint64) *big.Int { return new(big.Int).SetUint64(v) }

	hc := h.HolderCommitment
	set(schema.FieldHolder, hc.BigInt(new(big.Int)))
	issued, err := encode.Date(h.IssuedOn)
	if err != nil {
		return nil, at("issued_on", encodeError(err, wantDate))
	}
	expires, err := encode.Date(h.ExpiresOn)
	if err != nil {
		return nil, at("expires_on", encodeError(err, wantDate))
	}
	set(schema.FieldIssuedOn, u(issued))
	set(schema.FieldExpiresOn, u(expires))
	set(schema.FieldID, new(big.Int).SetBytes(h.ID[:]))

	for i, attr := range s.Attributes {
		v, err := EncodeScalar(attr, a.Scalars[i])
		if err != nil {
			return nil, at(attr.Name, err)
		}
		set(schema.AttrField(attr.Name), v)
	}
	for li, l := range s.Lists {
		entries := a.Lists[li]
		if len(entries) > l.Capacity {
			return nil, fieldErr(l.Name, ReasonTooLarge, fmt.Sprintf("at most %d entries", l.Capacity))
		}
		set(schema.LengthField(l.Name), u(uint64(len(entries))))
		comp := a.Completeness[li]
		if comp.CompleteSince != "" {
			d, err := encode.Date(comp.CompleteSince)
			if err != nil {
				return nil, at("completeness."+l.Name+".complete_since", encodeError(err, wantDate))
			}
			set(schema.CompleteSinceField(l.Name), u(d))
		}
		if comp.Incomplete {
			set(schema.IncompleteField(l.Name), u(1))
		}
		tree, err := a.ListTree(li)
		if err != nil {
			return nil, err
		}
		root := tree.Root().Hash
		vals[layout.Index(schema.RootField(l.Name))] = root.BigInt(new(big.Int))
	}
	return vals, nil
}

// datedOnOrBefore checks the snapshot rule (DESIGN.md): a credential is the record as it stood on
// issued_on, so every entry, and every known end, is dated on or before it. Dates are in normal
// form (YYYY-MM-DD), so they compare as strings.
func (a *Attributes) datedOnOrBefore(issuedOn string) error {
	for li, l := range a.Schema.Lists {
		for j, e := range a.Lists[li] {
			field := fmt.Sprintf("%s[%d]", l.Name, j)
			if l.HasDate() && e.Date > issuedOn {
				return fieldErr(field+"."+l.DateField, ReasonAfterIssued, "")
			}
			if l.HasEnd() && e.End != "" && e.End != EndUnknown && e.End > issuedOn {
				return fieldErr(field+"."+l.EndField, ReasonEndAfterIssued, "")
			}
		}
	}
	return nil
}

// EncodeEnd encodes the end of a period entry: schema.OngoingEnd for "" (ongoing),
// schema.UnknownEnd for EndUnknown, else the date.
func EncodeEnd(end string) (uint64, error) {
	switch end {
	case "":
		return schema.OngoingEnd, nil
	case EndUnknown:
		return schema.UnknownEnd, nil
	}
	d, err := encode.Date(end)
	if err != nil {
		return 0, encodeError(err, wantEnd)
	}
	return d, nil
}

// EncodeScalar encodes one scalar attribute value (or policy constant) of the attribute's type.
func EncodeScalar(attr schema.Attribute, v string) (*big.Int, error) {
	switch attr.Type {
	case schema.Date:
		d, err := encode.Date(v)
		if err != nil {
			return nil, encodeError(err, wantDate)
		}
		return new(big.Int).SetUint64(d), nil
	case schema.Enum:
		for i, e := range attr.Values {
			if strings.EqualFold(v, e) {
				return big.NewInt(int64(i + 1)), nil
			}
		}
		return nil, fieldErr("", ReasonNotInSet, "one of "+strings.Join(attr.Values, ", "))
	case schema.Hashed:
		e := fieldhash.String(v)
		return e.BigInt(new(big.Int)), nil
	}
	return nil, fieldErr("", ReasonUnsupported, "")
}
