// Package schema declares, as data, the two credential schemas zkhealth ships (coverage and
// clinical), the ladder of circuit sizes that prove statements over each (Circuit), and the
// fixed-width layouts that a credential, a list entry and a compiled policy take as vectors of
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
	Name string
	Code CodeSystem
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
	// Depth is the depth of the list's tree of Arity^Depth leaves: a low sentinel, up to Capacity
	// entries in signing order, and padding. A path in it costs Depth permutations in circuit, so
	// a proof's cost grows with the logarithm of the capacity.
	Depth int
	// Capacity is Arity^Depth − 2, the most entries the list holds (set by the declarations
	// below; Validate checks it).
	Capacity int
}

// Arity is the arity of a list's tree: six children and their aggregates fill one width-8
// Poseidon2 permutation (merkle.Width).
const Arity = 6

// PosBits is the width of a leaf position (below Arity^Depth).
func (l List) PosBits() int {
	n, b := 1, 0
	for range l.Depth {
		n *= Arity
	}
	for (n-1)>>b != 0 {
		b++
	}
	return b
}

// Leaves is the number of leaves of the list's tree.
func (l List) Leaves() int {
	n := 1
	for range l.Depth {
		n *= Arity
	}
	return n
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

// Schema declares a credential type and the ladder of circuits that prove policies over it.
type Schema struct {
	// ID is the schema's name in files and APIs ("coverage", "clinical").
	ID         string
	Attributes []Attribute
	Lists      []List
	// Circuits is the ladder of circuit sizes, smallest first: a policy is proved with the first
	// that holds it (DESIGN.md, Capacity).
	Circuits []*Circuit

	// the credential layout is computed on first use; a Schema must not be modified after that.
	credLayout sync.Once
	cred       *Layout
}

// Circuit is one rung of a schema's ladder: how many predicates of each kind its policy circuit
// holds. A policy is data: the compiler assigns its predicates to these slots, so a new trial
// needs no new setup, only a policy that fits a rung.
type Circuit struct {
	// ID names the circuit and its keys ("clinical-v2-s").
	ID string
	// Schema is the id of the schema the circuit proves statements over.
	Schema string
	// Scalars is the number of scalar predicate slots.
	Scalars int
	// SetValues is how many distinct values all eq/ne/in/not_in predicates may use together.
	SetValues int
	// Lists holds, per list of the schema, its slots.
	Lists []ListSlots

	polLayout sync.Once
	pol       *Layout
}

// ListSlots are the slots a circuit holds for one list.
type ListSlots struct {
	// Picks are exists slots: one opened entry each, with up to PickFamilies code families.
	Picks, PickFamilies int
	// Blocks are family blocks: the entries of one code family, bounded by two opened entries
	// around them, for none (one block per family) and latest (one block per family).
	Blocks int
	// Latest are latest slots (each uses one block per family).
	Latest int
}

// Widths shared by every schema.
const (
	// CredentialIDBits is the width of the random credential id.
	CredentialIDBits = 128
	// LengthBits is the width of a list's length.
	LengthBits = 16
	// ScalarCmpBits is the width at which scalar attributes and list values are compared; every
	// ordered scalar and every value fits it.
	ScalarCmpBits = 32
	// WithinBits is the width of an encoded date, of a window's start and of a number of days.
	WithinBits = encode.DateBits
	// TargetBits is the width of a scalar predicate's target (an attribute index).
	TargetBits = 4
	// KindBits is the width of a block's kind.
	KindBits = 2
)

// Match kinds of a list predicate, as compiled.
const (
	MatchExists = 0
	MatchNone   = 1
	MatchLatest = 2
)

// Block kinds: what a family block checks of the entries between its two openings.
const (
	// BlockNoneEvent: no entry dated on or after the window's start (no window: no entry at all).
	BlockNoneEvent = 0
	// BlockNoneState: no entry present (not ended before) on or after the window's start.
	BlockNoneState = 1
	// BlockLatest: no entry newer than its latest slot's entry.
	BlockLatest = 2
)

// Coverage returns the coverage schema: an insurer's eligibility record.
func Coverage() *Schema {
	return &Schema{
		ID: "coverage",
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
			{Name: "service_categories", Depth: 3, Capacity: 214, Code: X12},
		},
		// coverage-v2-s holds CLI.md's eligibility policy within a 2^14 FFT domain; -l eight predicates of
		// any kind within 2^16.
		Circuits: []*Circuit{
			{ID: "coverage-v2-s", Schema: "coverage", Scalars: 5, SetValues: 4,
				Lists: []ListSlots{{Picks: 1, PickFamilies: 2}}},
			{ID: "coverage-v2-l", Schema: "coverage", Scalars: 8, SetValues: 16,
				Lists: []ListSlots{{Picks: 8, PickFamilies: 4, Blocks: 4}}},
		},
	}
}

// Clinical returns the clinical schema: demographics, conditions, observations, medications.
func Clinical() *Schema {
	return &Schema{
		ID: "clinical",
		Attributes: []Attribute{
			{Name: "birth_date", Type: Date},
			{Name: "sex", Type: Enum, Values: []string{"female", "male", "other", "unknown"}},
		},
		Lists: []List{
			{Name: "conditions", Depth: 3, Capacity: 214, Code: ICD10CM, DateField: "onset", EndField: "abatement",
				Status: ConditionClinicalStatus(), Verification: ConditionVerificationStatus()},
			{Name: "observations", Depth: 4, Capacity: 1294, Code: LOINC, Value: true, DateField: "date"},
			{Name: "medications", Depth: 4, Capacity: 1294, Code: RxNorm, DateField: "start", EndField: "end",
				Status: MedicationStatus()},
		},
		// clinical-v2-s holds CLI.md's trial policy within a 2^15 FFT domain, -m most policies
		// within 2^16, -l sixteen predicates and more within 2^17.
		Circuits: []*Circuit{
			{ID: "clinical-v2-s", Schema: "clinical", Scalars: 4, SetValues: 4,
				Lists: []ListSlots{
					{Picks: 1, PickFamilies: 4, Blocks: 3},
					{Blocks: 1, Latest: 1},
					{},
				}},
			{ID: "clinical-v2-m", Schema: "clinical", Scalars: 6, SetValues: 4,
				Lists: []ListSlots{
					{Picks: 2, PickFamilies: 4, Blocks: 4},
					{Picks: 2, PickFamilies: 2, Blocks: 3, Latest: 2},
					{Picks: 1, PickFamilies: 4, Blocks: 2, Latest: 1},
				}},
			{ID: "clinical-v2-l", Schema: "clinical", Scalars: 16, SetValues: 16,
				Lists: []ListSlots{
					{Picks: 6, PickFamilies: 8, Blocks: 8},
					{Picks: 4, PickFamilies: 4, Blocks: 6, Latest: 3},
					{Picks: 3, PickFamilies: 4, Blocks: 4, Latest: 1},
				}},
		},
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

// ByCircuit returns the circuit with the given id and its schema.
func ByCircuit(id string) (*Schema, *Circuit, error) {
	for _, s := range All() {
		for _, c := range s.Circuits {
			if c.ID == id {
				return s, c, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("unknown circuit %q", id)
}

// CircuitIDs returns the ids of every circuit of every shipped schema, schema by schema, each
// ladder smallest first.
func CircuitIDs() []string {
	var ids []string
	for _, s := range All() {
		for _, c := range s.Circuits {
			ids = append(ids, c.ID)
		}
	}
	return ids
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
	if len(s.Attributes) > 1<<TargetBits {
		return fmt.Errorf("schema %s: more than %d attributes", s.ID, 1<<TargetBits)
	}
	for _, l := range s.Lists {
		if l.Depth < 1 || l.Capacity != l.Leaves()-2 {
			return fmt.Errorf("schema %s: list %s: capacity %d is not %d^%d − 2", s.ID, l.Name, l.Capacity, Arity, l.Depth)
		}
		if l.Capacity >= 1<<LengthBits {
			return fmt.Errorf("schema %s: list %s: capacity %d does not fit %d bits", s.ID, l.Name, l.Capacity, LengthBits)
		}
		for _, e := range []*EntryEnum{l.Status, l.Verification} {
			if e != nil && (len(e.Values) == 0 || len(e.Values) >= 1<<StatusBits) {
				return fmt.Errorf("schema %s: list %s: %s needs 1..%d values", s.ID, l.Name, e.Field, 1<<StatusBits-1)
			}
		}
		if l.HasEnd() && !l.HasDate() {
			return fmt.Errorf("schema %s: list %s: a period entry needs a start date", s.ID, l.Name)
		}
		if l.Code.Bits() == 0 || l.Code.Bits() > 62 {
			return fmt.Errorf("schema %s: list %s has unsupported code system", s.ID, l.Name)
		}
		if KeyBits(l) > MaxKeyBits {
			return fmt.Errorf("schema %s: list %s: a latest-key of %d bits is too wide", s.ID, l.Name, KeyBits(l))
		}
	}
	for _, a := range s.Attributes {
		if a.Type == Enum && (len(a.Values) == 0 || len(a.Values) >= 1<<EnumBits) {
			return fmt.Errorf("schema %s: enum %s needs 1..%d values", s.ID, a.Name, 1<<EnumBits-1)
		}
	}
	if len(s.Circuits) == 0 {
		return fmt.Errorf("schema %s: no circuit", s.ID)
	}
	for _, c := range s.Circuits {
		if err := c.validate(s); err != nil {
			return err
		}
	}
	return nil
}

// validate checks a circuit's slots against its schema.
func (c *Circuit) validate(s *Schema) error {
	if c.Schema != s.ID {
		return fmt.Errorf("circuit %s: declared for schema %s, listed under %s", c.ID, c.Schema, s.ID)
	}
	if c.Scalars < 1 || c.SetValues < 1 {
		return fmt.Errorf("circuit %s: needs at least one scalar slot and one set value", c.ID)
	}
	if len(c.Lists) != len(s.Lists) {
		return fmt.Errorf("circuit %s: %d list slot declarations for %d lists", c.ID, len(c.Lists), len(s.Lists))
	}
	for li, ls := range c.Lists {
		l := s.Lists[li]
		if ls.Picks < 0 || ls.Blocks < 0 || ls.Latest < 0 || (ls.Picks > 0 && ls.PickFamilies < 1) {
			return fmt.Errorf("circuit %s: list %s: bad slot counts", c.ID, l.Name)
		}
		if ls.Latest > 0 && (!l.HasDate() || ls.Blocks < ls.Latest) {
			return fmt.Errorf("circuit %s: list %s: a latest slot needs dated entries and a block", c.ID, l.Name)
		}
	}
	return nil
}

// Predicates is the most predicates a policy compiled for the circuit may have: one per scalar
// slot, exists slot and family block (a one-family none or latest predicate takes one block).
func (c *Circuit) Predicates() int {
	n := c.Scalars
	for _, ls := range c.Lists {
		n += ls.Picks + ls.Blocks
	}
	return n
}

// Circuit returns the schema's circuit with the given id.
func (s *Schema) Circuit(id string) (*Circuit, bool) {
	for _, c := range s.Circuits {
		if c.ID == id {
			return c, true
		}
	}
	return nil, false
}

// KeyBits is the width of a list entry's latest-key (date + 1)·2^PosBits + position: distinct per
// leaf, ordered by date and then by signing order, 0 for the sentinel and padding.
func KeyBits(l List) int { return WithinBits + l.PosBits() }

// PresenceBits is the width of a period entry's presence, end + 1 (2^WithinBits for an ongoing
// entry or one that ended on an unknown date), 0 for the sentinel and padding.
const PresenceBits = WithinBits + 1

// MaxKeyBits is the widest latest-key a list may have (Validate checks every list's KeyBits).
const MaxKeyBits = 28

// AggBits is the width of one child's packed aggregates, key + presence·2^MaxKeyBits.
const AggBits = MaxKeyBits + PresenceBits
