// Package schema declares, as data, the two credential schemas zkhealth ships (coverage and
// clinical) and the fixed-width layouts that a credential and a compiled policy take as vectors of
// field elements.
//
// A schema is the single source of truth for three parties: the issuer that packs and signs a
// credential, the policy compiler, and the circuit. None of them hard-codes an attribute: they
// all walk the same Layout, so a new schema is a new declaration here, not new circuit code.
package schema

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// AttrType is the type of a scalar attribute; it fixes the attribute's encoding and which policy
// operators apply to it.
type AttrType int

const (
	// Date is a calendar date, encoded by encode.Date (encode.DateBits wide). Ordered.
	Date AttrType = iota + 1
	// Enum is one of a fixed list of strings, encoded as its 1-based index (EnumBits wide). Only
	// equality and set membership are meaningful, but the encoding is ordered.
	Enum
	// Hashed is a free string hashed to fieldhash.StringBits bits. Only equality is provable on it.
	Hashed
)

// EnumBits is the width of an Enum attribute.
const EnumBits = 8

// String returns the type's name as used in messages.
func (t AttrType) String() string {
	switch t {
	case Date:
		return "date"
	case Enum:
		return "enum"
	case Hashed:
		return "string"
	}
	return fmt.Sprintf("AttrType(%d)", int(t))
}

// Ordered reports whether order comparisons (lt, between, …) are provable on the type.
func (t AttrType) Ordered() bool { return t == Date || t == Enum }

// Bits is the declared width of the type's encoding.
func (t AttrType) Bits() int {
	switch t {
	case Date:
		return encode.DateBits
	case Enum:
		return EnumBits
	case Hashed:
		return fieldhash.StringBits
	}
	return 0
}

// Attribute is one scalar attribute of a schema.
type Attribute struct {
	Name string
	Type AttrType
	// Values lists an Enum's values; value i is encoded as i+1 (0 never occurs).
	Values []string
}

// CodeSystem is the code system of a list's entries; it fixes how codes and code families are
// encoded.
type CodeSystem int

const (
	// ICD10CM codes, order-preserving (encode.ICD10); a family is a prefix or a block range.
	ICD10CM CodeSystem = iota + 1
	// LOINC codes (encode.LOINC); a family is one exact code.
	LOINC
	// RxNorm concept ids (encode.RxNorm); a family is one exact id.
	RxNorm
	// X12 service type codes, order-preserving (encode.X12); a family is a code or a range.
	X12
)

// String returns the code system's name as used in messages.
func (c CodeSystem) String() string {
	switch c {
	case ICD10CM:
		return "ICD-10-CM"
	case LOINC:
		return "LOINC"
	case RxNorm:
		return "RxNorm"
	case X12:
		return "X12 service type"
	}
	return fmt.Sprintf("CodeSystem(%d)", int(c))
}

// Bits is the width of an encoded code of the system.
func (c CodeSystem) Bits() int {
	switch c {
	case ICD10CM:
		return encode.ICD10Bits
	case LOINC:
		return encode.LOINCBits
	case RxNorm:
		return encode.RxNormBits
	case X12:
		return encode.X12Bits
	}
	return 0
}

// List is a list attribute: up to Capacity entries, each a code with an optional value, an optional
// date, an optional end date (period entries) and optional statuses, plus its true length and its
// completeness, signed by the issuer.
type List struct {
	Name     string
	Capacity int
	Code     CodeSystem
	// Value reports whether entries carry a fixed-point value (encode.ValueBits wide).
	Value bool
	// DateField names the entry's date in ATTRS.json ("onset", "date", "start"); "" for none. It is
	// the date of the event: the date an event window (within_days) looks at.
	DateField string
	// EndField names the end of a period entry ("abatement", "end"); "" when entries are events.
	// An absent end means the entry is ongoing; an end known to have happened on an unknown date
	// is written "unknown". A state window (present_within_days) looks at start and end.
	EndField string
	// Status is the entry's status (a condition's clinical status, a medication's status); nil for
	// lists without one.
	Status *EntryEnum
	// Verification is a condition's verification status; nil for other lists.
	Verification *EntryEnum
	// Families is how many distinct code families all predicates on this list may use together.
	Families int
	// ValueRanges is how many distinct value ranges all predicates on this list may use together
	// (lists with values only). Each entry is checked against each range once, whatever the number
	// of predicates.
	ValueRanges int
}

// EntryEnum is an enumerated field of a list entry (a status). Value i of Values is encoded as i+1.
type EntryEnum struct {
	// Field is the name in ATTRS.json ("clinical_status", "verification_status", "status").
	Field string
	// Values are the statuses an issuer may sign, in encoding order.
	Values []string
	// Default is the value of an entry that does not name one.
	Default string
	// Counted are the values `exists` counts when a predicate names none (DESIGN.md, Policy).
	Counted []string
	// Never are values an issuer never signs (an entry with one is not part of the record).
	Never []string
}

// Index returns the encoding of v (1-based) and whether v is one of the values (case-insensitive).
func (e *EntryEnum) Index(v string) (int, bool) {
	for i, x := range e.Values {
		if strings.EqualFold(x, v) {
			return i + 1, true
		}
	}
	return 0, false
}

// Mask returns the bit mask (bit i-1 for encoding i) of the given values, or an error naming the
// first unknown one.
func (e *EntryEnum) Mask(values []string) (uint64, error) {
	var m uint64
	for _, v := range values {
		i, ok := e.Index(v)
		if !ok {
			return 0, fmt.Errorf("unknown %s %q (want one of %s)", e.Field, v, strings.Join(e.Values, ", "))
		}
		m |= 1 << (i - 1)
	}
	return m, nil
}

// Encoded ends of a period entry beyond every date (encode.MaxDate < UnknownEnd < OngoingEnd).
const (
	// OngoingEnd is the end of an entry that has not ended.
	OngoingEnd = 1<<encode.DateBits - 1
	// UnknownEnd is the end of an entry that ended on a date the record does not give.
	UnknownEnd = 1<<encode.DateBits - 2
)

// StatusBits is the width of an encoded entry status (at most 15 values).
const StatusBits = 4

// HasDate reports whether the list's entries carry a date.
func (l List) HasDate() bool { return l.DateField != "" }

// HasEnd reports whether the list's entries are periods (they carry an end).
func (l List) HasEnd() bool { return l.EndField != "" }

// Schema declares a credential type and the capacities of its circuit.
type Schema struct {
	// ID is the schema's name in files and APIs ("coverage", "clinical").
	ID string
	// Circuit is the id of the circuit proving statements over this schema ("coverage-v1").
	Circuit    string
	Attributes []Attribute
	Lists      []List
	// Predicates is the number of predicate slots of the circuit (P in DESIGN.md).
	Predicates int
	// SetValues is how many distinct values all in/not_in/eq/ne predicates may use together.
	SetValues int

	// layouts are computed on first use; a Schema must not be modified after that.
	credLayout, polLayout sync.Once
	cred, pol             *Layout
}

// Widths shared by every schema.
const (
	// CredentialIDBits is the width of the random credential id.
	CredentialIDBits = 128
	// LengthBits is the width of a list's length.
	LengthBits = 8
	// ScalarCmpBits is the width at which scalar attributes and list values are compared; every
	// ordered scalar and every value fits it.
	ScalarCmpBits = 32
	// WithinBits is the width of an encoded date, of a window's start and of a number of days.
	WithinBits = encode.DateBits
	// MaxListCapacity bounds every list so that an entry index fits 5 bits in the latest-key.
	MaxListCapacity = 32
	// IndexBits is the width of an entry index in the latest-key (date·2^IndexBits + rank).
	IndexBits = 5
	// TargetBits is the width of a predicate's target (attribute or list index).
	TargetBits = 4
	// MatchBits is the width of a list predicate's match kind.
	MatchBits = 2
)

// Match kinds of a list predicate, as compiled.
const (
	MatchExists = 0
	MatchNone   = 1
	MatchLatest = 2
)

// Coverage returns the coverage schema: an insurer's eligibility record.
func Coverage() *Schema {
	return &Schema{
		ID:      "coverage",
		Circuit: "coverage-v1",
		Attributes: []Attribute{
			{Name: "payer", Type: Hashed},
			{Name: "plan", Type: Hashed},
			{Name: "member_id", Type: Hashed},
			{Name: "status", Type: Enum, Values: []string{"active", "cancelled", "draft", "entered-in-error"}},
			{Name: "period_start", Type: Date},
			{Name: "period_end", Type: Date},
			{Name: "insurance_type", Type: Hashed},
		},
		Lists: []List{
			{Name: "service_categories", Capacity: 16, Code: X12, Families: 4},
		},
		Predicates: 8,
		SetValues:  16,
	}
}

// Clinical returns the clinical schema: demographics, conditions, observations, medications.
func Clinical() *Schema {
	return &Schema{
		ID:      "clinical",
		Circuit: "clinical-v1",
		Attributes: []Attribute{
			{Name: "birth_date", Type: Date},
			{Name: "sex", Type: Enum, Values: []string{"female", "male", "other", "unknown"}},
		},
		Lists: []List{
			{Name: "conditions", Capacity: 16, Code: ICD10CM, DateField: "onset", EndField: "abatement",
				Status: ConditionClinicalStatus(), Verification: ConditionVerificationStatus(), Families: 8},
			{Name: "observations", Capacity: 16, Code: LOINC, Value: true, DateField: "date", Families: 6, ValueRanges: 4},
			{Name: "medications", Capacity: 8, Code: RxNorm, DateField: "start", EndField: "end",
				Status: MedicationStatus(), Families: 4},
		},
		Predicates: 16,
		// sex, the only attribute a set is meaningful on, has 4 values
		SetValues: 4,
	}
}

// ConditionClinicalStatus is FHIR's Condition.clinicalStatus. exists counts active, recurrence and
// relapse by default; none counts every one.
func ConditionClinicalStatus() *EntryEnum {
	return &EntryEnum{Field: "clinical_status",
		Values:  []string{"active", "recurrence", "relapse", "inactive", "remission", "resolved"},
		Default: "active", Counted: []string{"active", "recurrence", "relapse"}}
}

// ConditionVerificationStatus is FHIR's Condition.verificationStatus. Refuted and entered-in-error
// conditions are never signed; exists counts confirmed ones by default.
func ConditionVerificationStatus() *EntryEnum {
	return &EntryEnum{Field: "verification_status",
		Values:  []string{"confirmed", "unconfirmed", "provisional", "differential"},
		Default: "confirmed", Counted: []string{"confirmed"}, Never: []string{"refuted", "entered-in-error"}}
}

// MedicationStatus is the status of a MedicationRequest or MedicationStatement. Entered-in-error
// ones are never signed; exists counts active ones by default.
func MedicationStatus() *EntryEnum {
	return &EntryEnum{Field: "status",
		Values:  []string{"active", "on-hold", "completed", "stopped", "cancelled", "draft", "intended", "not-taken", "unknown"},
		Default: "active", Counted: []string{"active"}, Never: []string{"entered-in-error"}}
}

// shipped holds one shared instance of each shipped schema, built on first use and never modified
// afterwards, so their layouts are computed once per process.
var shipped = sync.OnceValue(func() []*Schema {
	all := []*Schema{Clinical(), Coverage()}
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	return all
})

// All returns every shipped schema, sorted by ID. The schemas are shared: callers must not modify
// them (Coverage and Clinical return fresh copies to modify).
func All() []*Schema { return append([]*Schema(nil), shipped()...) }

// ErrUnknownSchema is returned by Get for a schema id that is not shipped.
var ErrUnknownSchema = fmt.Errorf("unknown schema")

// Get returns the schema with the given id, or an error wrapping ErrUnknownSchema.
func Get(id string) (*Schema, error) {
	for _, s := range All() {
		if s.ID == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w %q (known: coverage, clinical)", ErrUnknownSchema, id)
}

// ByCircuit returns the schema whose circuit has the given id.
func ByCircuit(circuit string) (*Schema, error) {
	for _, s := range All() {
		if s.Circuit == circuit {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown circuit %q", circuit)
}

// Attribute returns the index and declaration of the named scalar attribute.
func (s *Schema) Attribute(name string) (int, Attribute, bool) {
	for i, a := range s.Attributes {
		if a.Name == name {
			return i, a, true
		}
	}
	return 0, Attribute{}, false
}

// List returns the index and declaration of the named list.
func (s *Schema) List(name string) (int, List, bool) {
	for i, l := range s.Lists {
		if l.Name == name {
			return i, l, true
		}
	}
	return 0, List{}, false
}

// CodeBits is the widest code of any list of the schema.
func (s *Schema) CodeBits() int {
	w := 0
	for _, l := range s.Lists {
		w = max(w, l.Code.Bits())
	}
	return w
}

// MaxFamilies is the largest family pool of any list; a predicate's family mask has this width.
func (s *Schema) MaxFamilies() int {
	f := 0
	for _, l := range s.Lists {
		f = max(f, l.Families)
	}
	return f
}

// MaxCapacity is the longest list of the schema.
func (s *Schema) MaxCapacity() int {
	c := 0
	for _, l := range s.Lists {
		c = max(c, l.Capacity)
	}
	return c
}

// MaxValueRanges is the largest value-range pool of any list; a predicate's range mask has this
// width.
func (s *Schema) MaxValueRanges() int {
	r := 0
	for _, l := range s.Lists {
		r = max(r, l.ValueRanges)
	}
	return r
}

// MaxStatuses is the most status values of any list (the width of a predicate's status mask).
func (s *Schema) MaxStatuses() int {
	n := 0
	for _, l := range s.Lists {
		if l.Status != nil {
			n = max(n, len(l.Status.Values))
		}
	}
	return n
}

// MaxVerifications is the most verification-status values of any list.
func (s *Schema) MaxVerifications() int {
	n := 0
	for _, l := range s.Lists {
		if l.Verification != nil {
			n = max(n, len(l.Verification.Values))
		}
	}
	return n
}

// HasValues reports whether any list carries values.
func (s *Schema) HasValues() bool {
	for _, l := range s.Lists {
		if l.Value {
			return true
		}
	}
	return false
}

// HasDates reports whether any list carries dates.
func (s *Schema) HasDates() bool {
	for _, l := range s.Lists {
		if l.HasDate() {
			return true
		}
	}
	return false
}

// Validate checks the declaration against the limits the circuit relies on. A schema that fails
// it must never reach the circuit compiler.
func (s *Schema) Validate() error {
	if len(s.Attributes) > 1<<TargetBits || len(s.Lists) > 1<<TargetBits {
		return fmt.Errorf("schema %s: more than %d attributes or lists", s.ID, 1<<TargetBits)
	}
	if s.Predicates < 1 || s.SetValues < 1 {
		return fmt.Errorf("schema %s: needs at least one predicate and one set value", s.ID)
	}
	for _, l := range s.Lists {
		if l.Capacity < 1 || l.Capacity > MaxListCapacity {
			return fmt.Errorf("schema %s: list %s capacity %d outside 1..%d", s.ID, l.Name, l.Capacity, MaxListCapacity)
		}
		if l.Families < 1 {
			return fmt.Errorf("schema %s: list %s needs at least one family slot", s.ID, l.Name)
		}
		if l.Value != (l.ValueRanges > 0) {
			return fmt.Errorf("schema %s: list %s: value ranges need values and values need ranges", s.ID, l.Name)
		}
		for _, e := range []*EntryEnum{l.Status, l.Verification} {
			if e != nil && (len(e.Values) == 0 || len(e.Values) >= 1<<StatusBits) {
				return fmt.Errorf("schema %s: list %s: %s needs 1..%d values", s.ID, l.Name, e.Field, 1<<StatusBits-1)
			}
		}
		if l.HasEnd() && !l.HasDate() {
			return fmt.Errorf("schema %s: list %s: a period entry needs a start date", s.ID, l.Name)
		}
		if l.Code.Bits() == 0 || l.Code.Bits() > 64 {
			return fmt.Errorf("schema %s: list %s has unsupported code system", s.ID, l.Name)
		}
	}
	for _, a := range s.Attributes {
		if a.Type == Enum && (len(a.Values) == 0 || len(a.Values) >= 1<<EnumBits) {
			return fmt.Errorf("schema %s: enum %s needs 1..%d values", s.ID, a.Name, 1<<EnumBits-1)
		}
	}
	return nil
}
