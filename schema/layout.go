package schema

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// PackBits is how many bits of narrow fields one field element carries. It is below the 253 bits
// every BN254 scalar holds, so a packed element never wraps and its decomposition into
// range-checked fields is unique.
const PackBits = 248

// Field is one named entry of a Layout: an unsigned integer of Bits bits, or a whole field element
// when Bits is 0.
type Field struct {
	Name string
	Bits int
}

// Position is where a field lies in the packed vector: element index and bit offset.
type Position struct {
	Element int
	Offset  int
}

// Layout packs an ordered list of fields into field elements: a full field takes an element of its
// own; narrow fields fill an element from bit 0 upwards until the next one would pass PackBits.
// Native code (issuer, policy compiler) and the circuit both pack through a Layout, so they hash
// the same vector.
type Layout struct {
	Fields    []Field
	Positions []Position
	Elements  int
	index     map[string]int
}

// NewLayout builds the layout of fields in order. It panics on a duplicate name or a width outside
// 0..PackBits: layouts are declared by this package, so either is a programming error.
func NewLayout(fields []Field) *Layout {
	l := &Layout{Fields: fields, Positions: make([]Position, len(fields)), index: make(map[string]int, len(fields))}
	open, used := -1, 0
	for i, f := range fields {
		if _, dup := l.index[f.Name]; dup {
			panic(fmt.Sprintf("schema: duplicate layout field %q", f.Name))
		}
		if f.Bits < 0 || f.Bits > PackBits {
			panic(fmt.Sprintf("schema: field %q has width %d", f.Name, f.Bits))
		}
		l.index[f.Name] = i
		if f.Bits == 0 {
			l.Positions[i] = Position{Element: l.Elements}
			l.Elements++
			continue
		}
		if open < 0 || used+f.Bits > PackBits {
			open, used = l.Elements, 0
			l.Elements++
		}
		l.Positions[i] = Position{Element: open, Offset: used}
		used += f.Bits
	}
	return l
}

// Index returns the position in Fields of the named field. It panics when the name is absent:
// callers name fields this package declares.
func (l *Layout) Index(name string) int {
	i, ok := l.index[name]
	if !ok {
		panic(fmt.Sprintf("schema: no layout field %q", name))
	}
	return i
}

// Has reports whether the layout declares the named field.
func (l *Layout) Has(name string) bool {
	_, ok := l.index[name]
	return ok
}

// Pack checks every value against its field's width (a full field must be a canonical scalar,
// below the BN254 scalar modulus) and returns the packed elements.
func (l *Layout) Pack(values []*big.Int) ([]*big.Int, error) {
	if len(values) != len(l.Fields) {
		return nil, fmt.Errorf("layout: %d values for %d fields", len(values), len(l.Fields))
	}
	modulus := fr.Modulus()
	out := make([]*big.Int, l.Elements)
	for i := range out {
		out[i] = new(big.Int)
	}
	for i, f := range l.Fields {
		v := values[i]
		if v == nil || v.Sign() < 0 {
			return nil, fmt.Errorf("layout field %s: missing or negative value", f.Name)
		}
		if f.Bits == 0 {
			if v.Cmp(modulus) >= 0 {
				return nil, fmt.Errorf("layout field %s: not a canonical field element", f.Name)
			}
		} else if v.BitLen() > f.Bits {
			return nil, fmt.Errorf("layout field %s: value wider than %d bits", f.Name, f.Bits)
		}
		p := l.Positions[i]
		out[p.Element].Add(out[p.Element], new(big.Int).Lsh(v, uint(p.Offset)))
	}
	return out, nil
}

// Field names of the credential layout.

// AttrField is the layout name of scalar attribute name.
func AttrField(name string) string { return "attr/" + name }

// LengthField is the layout name of a list's true length.
func LengthField(list string) string { return list + "/length" }

// CompleteSinceField is the layout name of a list's complete_since date (0 when nothing was left
// out: the list is complete since 1900-01-01, the first encodable date).
func CompleteSinceField(list string) string { return list + "/complete_since" }

// IncompleteField is the layout name of a list's incomplete flag.
func IncompleteField(list string) string { return list + "/incomplete" }

// EntryField is the layout name of part ("code", "value", "date", "end", "status",
// "verification") of entry i of a list.
func EntryField(list string, i int, part string) string {
	return fmt.Sprintf("%s/%d/%s", list, i, part)
}

// Header field names of the credential layout.
const (
	FieldHolder    = "holder_commitment"
	FieldIssuedOn  = "issued_on"
	FieldExpiresOn = "expires_on"
	FieldID        = "id"
)

// CredentialLayout is the layout of the schema's credential vector: header, scalar attributes,
// then each list's length, truncation flag and entries. It is computed once per Schema.
func (s *Schema) CredentialLayout() *Layout {
	s.credLayout.Do(func() { s.cred = s.credentialLayout() })
	return s.cred
}

func (s *Schema) credentialLayout() *Layout {
	fields := []Field{
		{FieldHolder, 0},
		{FieldIssuedOn, WithinBits},
		{FieldExpiresOn, WithinBits},
		{FieldID, CredentialIDBits},
	}
	for _, a := range s.Attributes {
		fields = append(fields, Field{AttrField(a.Name), a.Type.Bits()})
	}
	for _, l := range s.Lists {
		fields = append(fields, Field{LengthField(l.Name), LengthBits},
			Field{CompleteSinceField(l.Name), WithinBits}, Field{IncompleteField(l.Name), 1})
		for i := range l.Capacity {
			fields = append(fields, Field{EntryField(l.Name, i, "code"), l.Code.Bits()})
			if l.Value {
				fields = append(fields, Field{EntryField(l.Name, i, "value"), ScalarCmpBits})
			}
			if l.HasDate() {
				fields = append(fields, Field{EntryField(l.Name, i, "date"), WithinBits})
			}
			if l.HasEnd() {
				fields = append(fields, Field{EntryField(l.Name, i, "end"), WithinBits})
			}
			if l.Status != nil {
				fields = append(fields, Field{EntryField(l.Name, i, "status"), StatusBits})
			}
			if l.Verification != nil {
				fields = append(fields, Field{EntryField(l.Name, i, "verification"), StatusBits})
			}
		}
	}
	return NewLayout(fields)
}

// Field names of the compiled-policy layout.

// PredField is the layout name of part of predicate slot i: "on", "list", "target", "set",
// "negate", "match", "win_start" and "win_state" (the window), "lo", "hi" (a scalar predicate's
// interval), and the mask bits "status/K", "verification/K" (statuses counted), "family/K",
// "range/K" and "value/K".
func PredField(i int, part string) string { return fmt.Sprintf("pred/%d/%s", i, part) }

// FamilyField is the layout name of bound ("lo" or "hi") of family slot k of a list.
func FamilyField(list string, k int, bound string) string {
	return fmt.Sprintf("family/%s/%d/%s", list, k, bound)
}

// RangeField is the layout name of bound ("lo" or "hi") of value-range slot k of a list.
func RangeField(list string, k int, bound string) string {
	return fmt.Sprintf("range/%s/%d/%s", list, k, bound)
}

// SetValueField is the layout name of slot k of the policy's pool of set values.
func SetValueField(k int) string { return fmt.Sprintf("value/%d", k) }

// Policy-wide field names of the compiled-policy layout.
const (
	FieldAsOf   = "as_of"
	FieldScope  = "scope"
	FieldMaxAge = "max_age"
)

// PolicyLayout is the layout of a compiled policy: the predicate slots, each list's pools of code
// families and value ranges, the pool of set values, the as-of date and the scope. It is computed
// once per Schema.
func (s *Schema) PolicyLayout() *Layout {
	s.polLayout.Do(func() { s.pol = s.policyLayout() })
	return s.pol
}

func (s *Schema) policyLayout() *Layout {
	var fields []Field
	for i := range s.Predicates {
		fields = append(fields,
			Field{PredField(i, "on"), 1},
			Field{PredField(i, "list"), 1},
			Field{PredField(i, "target"), TargetBits},
			Field{PredField(i, "set"), 1},
			Field{PredField(i, "negate"), 1},
			Field{PredField(i, "match"), MatchBits},
			Field{PredField(i, "win_start"), WithinBits},
			Field{PredField(i, "win_state"), 1},
		)
		for k := range s.MaxStatuses() {
			fields = append(fields, Field{PredField(i, fmt.Sprintf("status/%d", k)), 1})
		}
		for k := range s.MaxVerifications() {
			fields = append(fields, Field{PredField(i, fmt.Sprintf("verification/%d", k)), 1})
		}
		fields = append(fields,
			Field{PredField(i, "lo"), ScalarCmpBits},
			Field{PredField(i, "hi"), ScalarCmpBits},
		)
		for k := range s.MaxFamilies() {
			fields = append(fields, Field{PredField(i, fmt.Sprintf("family/%d", k)), 1})
		}
		for k := range s.MaxValueRanges() {
			fields = append(fields, Field{PredField(i, fmt.Sprintf("range/%d", k)), 1})
		}
		for k := range s.SetValues {
			fields = append(fields, Field{PredField(i, fmt.Sprintf("value/%d", k)), 1})
		}
	}
	for _, l := range s.Lists {
		for k := range l.Families {
			fields = append(fields,
				Field{FamilyField(l.Name, k, "lo"), l.Code.Bits()},
				Field{FamilyField(l.Name, k, "hi"), l.Code.Bits()})
		}
		for k := range l.ValueRanges {
			fields = append(fields,
				Field{RangeField(l.Name, k, "lo"), ScalarCmpBits},
				Field{RangeField(l.Name, k, "hi"), ScalarCmpBits})
		}
	}
	for k := range s.SetValues {
		fields = append(fields, Field{SetValueField(k), fieldhash.StringBits})
	}
	fields = append(fields, Field{FieldAsOf, WithinBits}, Field{FieldMaxAge, WithinBits}, Field{FieldScope, 0})
	return NewLayout(fields)
}
