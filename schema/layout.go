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

// RootField is the layout name of a list's tree root.
func RootField(list string) string { return list + "/root" }

// LengthField is the layout name of a list's true length.
func LengthField(list string) string { return list + "/length" }

// CompleteSinceField is the layout name of a list's complete_since date (0 when nothing was left
// out: the list is complete since 1900-01-01, the first encodable date).
func CompleteSinceField(list string) string { return list + "/complete_since" }

// IncompleteField is the layout name of a list's incomplete flag.
func IncompleteField(list string) string { return list + "/incomplete" }

// Header field names of the credential layout.
const (
	FieldHolder    = "holder_commitment"
	FieldIssuedOn  = "issued_on"
	FieldExpiresOn = "expires_on"
	FieldID        = "id"
)

// CredentialLayout is the layout of the schema's credential vector: header, scalar attributes,
// then each list's root, length and completeness. It is computed once per Schema.
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
		fields = append(fields,
			Field{RootField(l.Name), 0},
			Field{LengthField(l.Name), LengthBits},
			Field{CompleteSinceField(l.Name), WithinBits},
			Field{IncompleteField(l.Name), 1})
	}
	return NewLayout(fields)
}

// Field names of a list entry's leaf layout.
const (
	LeafCode         = "code"
	LeafDate         = "date"
	LeafEnd          = "end"
	LeafValue        = "value"
	LeafStatus       = "status"
	LeafVerification = "verification"
)

// LeafCodeBits is the width of a leaf's code: the entry's code + 1 (so the low sentinel's 0 lies
// below every code) up to the padding's 2^bits + 1 (above every code).
func (l List) LeafCodeBits() int { return l.Code.Bits() + 1 }

// LeafLayout is the layout of one entry of the list as a tree leaf: code, then the fields the
// list's entries carry (date, end, value, status, verification). It packs into one element.
func (l List) LeafLayout() *Layout {
	fields := []Field{{LeafCode, l.LeafCodeBits()}}
	if l.HasDate() {
		fields = append(fields, Field{LeafDate, WithinBits})
	}
	if l.HasEnd() {
		fields = append(fields, Field{LeafEnd, WithinBits})
	}
	if l.Value {
		fields = append(fields, Field{LeafValue, ScalarCmpBits})
	}
	if l.Status != nil {
		fields = append(fields, Field{LeafStatus, StatusBits})
	}
	if l.Verification != nil {
		fields = append(fields, Field{LeafVerification, StatusBits})
	}
	return NewLayout(fields)
}

// Field names of a circuit's compiled-policy layout.

// ScalarField is the layout name of part of scalar slot k: "on", "target", "set", "negate", "lo",
// "hi" and the set-value mask bits "value/K".
func ScalarField(k int, part string) string { return fmt.Sprintf("scalar/%d/%s", k, part) }

// PickField is the layout name of part of exists slot j of a list: "on", "fam/F/on",
// "fam/F/lo", "fam/F/hi" (code families, shifted as leaf codes are), "range", "lo", "hi" (value
// range), "state", "start" (window), "status/K", "verification/K" (statuses counted).
func PickField(list string, j int, part string) string {
	return fmt.Sprintf("pick/%s/%d/%s", list, j, part)
}

// BlockField is the layout name of part of block b of a list: "on", "lo", "hi" (the family,
// shifted as leaf codes are), "kind", "start" (the window of a none block), "latest/G" (the
// latest slot a latest block belongs to).
func BlockField(list string, b int, part string) string {
	return fmt.Sprintf("block/%s/%d/%s", list, b, part)
}

// LatestField is the layout name of part of latest slot g of a list: "on", "range", "lo", "hi",
// "state", "start".
func LatestField(list string, g int, part string) string {
	return fmt.Sprintf("latest/%s/%d/%s", list, g, part)
}

// SetValueField is the layout name of slot k of the policy's pool of set values.
func SetValueField(k int) string { return fmt.Sprintf("value/%d", k) }

// Policy-wide field names of the compiled-policy layout.
const (
	FieldAsOf   = "as_of"
	FieldScope  = "scope"
	FieldMaxAge = "max_age"
)

// PolicyLayout is the layout of a policy compiled for the circuit: the scalar slots and the pool of
// set values, per list the exists slots, family blocks and latest slots, then the as-of date, the
// max credential age and the scope. It is computed once per Circuit; s is the circuit's schema.
func (c *Circuit) PolicyLayout(s *Schema) *Layout {
	c.polLayout.Do(func() { c.pol = c.policyLayout(s) })
	return c.pol
}

func (c *Circuit) policyLayout(s *Schema) *Layout {
	var fields []Field
	add := func(name string, bits int) { fields = append(fields, Field{name, bits}) }
	for k := range c.Scalars {
		f := func(part string) string { return ScalarField(k, part) }
		add(f("on"), 1)
		add(f("target"), TargetBits)
		add(f("set"), 1)
		add(f("negate"), 1)
		add(f("lo"), ScalarCmpBits)
		add(f("hi"), ScalarCmpBits)
		for v := range c.SetValues {
			add(f(fmt.Sprintf("value/%d", v)), 1)
		}
	}
	for v := range c.SetValues {
		add(SetValueField(v), fieldhash.StringBits)
	}
	for li, l := range s.Lists {
		slots := c.Lists[li]
		window := func(f func(string) string) {
			if l.HasEnd() {
				add(f("state"), 1)
			}
			if l.HasDate() {
				add(f("start"), WithinBits)
			}
		}
		valueRange := func(f func(string) string) {
			if l.Value {
				add(f("range"), 1)
				add(f("lo"), ScalarCmpBits)
				add(f("hi"), ScalarCmpBits)
			}
		}
		for j := range slots.Picks {
			f := func(part string) string { return PickField(l.Name, j, part) }
			add(f("on"), 1)
			for k := range slots.PickFamilies {
				add(f(fmt.Sprintf("fam/%d/on", k)), 1)
				add(f(fmt.Sprintf("fam/%d/lo", k)), l.LeafCodeBits())
				add(f(fmt.Sprintf("fam/%d/hi", k)), l.LeafCodeBits())
			}
			valueRange(f)
			window(f)
			if l.Status != nil {
				for k := range l.Status.Values {
					add(f(fmt.Sprintf("status/%d", k)), 1)
				}
			}
			if l.Verification != nil {
				for k := range l.Verification.Values {
					add(f(fmt.Sprintf("verification/%d", k)), 1)
				}
			}
		}
		for b := range slots.Blocks {
			f := func(part string) string { return BlockField(l.Name, b, part) }
			add(f("on"), 1)
			add(f("lo"), l.LeafCodeBits())
			add(f("hi"), l.LeafCodeBits())
			add(f("kind"), KindBits)
			if l.HasDate() {
				add(f("start"), WithinBits)
			}
			for g := range slots.Latest {
				add(f(fmt.Sprintf("latest/%d", g)), 1)
			}
		}
		for g := range slots.Latest {
			f := func(part string) string { return LatestField(l.Name, g, part) }
			add(f("on"), 1)
			valueRange(f)
			window(f)
		}
	}
	add(FieldAsOf, WithinBits)
	add(FieldMaxAge, WithinBits)
	add(FieldScope, 0)
	return NewLayout(fields)
}
