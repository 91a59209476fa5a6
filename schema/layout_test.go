package schema

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/zkhealth/zkhealth/internal/encode"
)

// checkLayout asserts the invariants the circuit's unpacking relies on: every field has a position
// inside the layout, a full field is alone in its element, the narrow fields of an element never
// pass PackBits and never overlap.
func checkLayout(t *testing.T, l *Layout) {
	t.Helper()
	if len(l.Positions) != len(l.Fields) {
		t.Fatalf("%d positions for %d fields", len(l.Positions), len(l.Fields))
	}
	full := make(map[int]string)
	narrow := make(map[int][]int) // element -> field indexes
	for i, f := range l.Fields {
		p := l.Positions[i]
		if p.Element < 0 || p.Element >= l.Elements {
			t.Fatalf("field %s in element %d of %d", f.Name, p.Element, l.Elements)
		}
		if got := l.Index(f.Name); got != i {
			t.Fatalf("Index(%s) = %d, want %d", f.Name, got, i)
		}
		if f.Bits == 0 {
			if p.Offset != 0 {
				t.Fatalf("full field %s at offset %d", f.Name, p.Offset)
			}
			if other, dup := full[p.Element]; dup {
				t.Fatalf("full fields %s and %s share element %d", other, f.Name, p.Element)
			}
			full[p.Element] = f.Name
			continue
		}
		narrow[p.Element] = append(narrow[p.Element], i)
	}
	for e, idx := range narrow {
		if name, ok := full[e]; ok {
			t.Fatalf("full field %s shares element %d with narrow fields", name, e)
		}
		used := make([]bool, PackBits)
		for _, i := range idx {
			f, p := l.Fields[i], l.Positions[i]
			if p.Offset < 0 || p.Offset+f.Bits > PackBits {
				t.Fatalf("field %s occupies bits [%d, %d) of element %d, beyond PackBits", f.Name, p.Offset, p.Offset+f.Bits, e)
			}
			for b := p.Offset; b < p.Offset+f.Bits; b++ {
				if used[b] {
					t.Fatalf("field %s overlaps another field at bit %d of element %d", f.Name, b, e)
				}
				used[b] = true
			}
		}
	}
	// Every element holds something: no wasted (and unconstrained) element.
	for e := range l.Elements {
		if _, ok := full[e]; !ok && len(narrow[e]) == 0 {
			t.Fatalf("element %d is empty", e)
		}
	}
}

// unpack reads field i back out of a packed vector.
func unpack(l *Layout, packed []*big.Int, i int) *big.Int {
	f, p := l.Fields[i], l.Positions[i]
	v := new(big.Int).Set(packed[p.Element])
	if f.Bits == 0 {
		return v
	}
	v.Rsh(v, uint(p.Offset))
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(f.Bits)), big.NewInt(1))
	return v.And(v, mask)
}

func TestNewLayoutPositions(t *testing.T) {
	tests := []struct {
		name     string
		fields   []Field
		want     []Position
		elements int
	}{
		{"Empty", nil, []Position{}, 0},
		{"OneNarrow", []Field{{"a", 8}}, []Position{{0, 0}}, 1},
		{"NarrowFill", []Field{{"a", 8}, {"b", 17}, {"c", 1}}, []Position{{0, 0}, {0, 8}, {0, 25}}, 1},
		{"FullAlone", []Field{{"f", 0}}, []Position{{0, 0}}, 1},
		{"TwoFull", []Field{{"f", 0}, {"g", 0}}, []Position{{0, 0}, {1, 0}}, 2},
		// A full field takes the next element; later narrow fields keep filling the open one.
		{"FullBetweenNarrow", []Field{{"a", 8}, {"f", 0}, {"b", 8}}, []Position{{0, 0}, {1, 0}, {0, 8}}, 2},
		{"ExactlyPackBits", []Field{{"a", PackBits}, {"b", 1}}, []Position{{0, 0}, {1, 0}}, 2},
		{"FillToPackBits", []Field{{"a", 200}, {"b", 48}, {"c", 1}}, []Position{{0, 0}, {0, 200}, {1, 0}}, 2},
		{"OneBitOver", []Field{{"a", 200}, {"b", 49}, {"c", 48}}, []Position{{0, 0}, {1, 0}, {1, 49}}, 2},
		{"FullFirst", []Field{{"f", 0}, {"a", 3}, {"b", 5}}, []Position{{0, 0}, {1, 0}, {1, 3}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLayout(tt.fields)
			if l.Elements != tt.elements {
				t.Errorf("Elements = %d, want %d", l.Elements, tt.elements)
			}
			if fmt.Sprint(l.Positions) != fmt.Sprint(tt.want) {
				t.Errorf("Positions = %v, want %v", l.Positions, tt.want)
			}
			checkLayout(t, l)
		})
	}
}

func TestNewLayoutPanics(t *testing.T) {
	tests := []struct {
		name   string
		fields []Field
	}{
		{"Duplicate", []Field{{"a", 1}, {"a", 2}}},
		{"DuplicateFull", []Field{{"a", 0}, {"a", 0}}},
		{"Negative", []Field{{"a", -1}}},
		{"TooWide", []Field{{"a", PackBits + 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLayout(%v) did not panic", tt.fields)
				}
			}()
			NewLayout(tt.fields)
		})
	}
}

func TestIndexPanicsOnUnknownName(t *testing.T) {
	l := NewLayout([]Field{{"a", 1}, {"b", 0}})
	if !l.Has("a") || !l.Has("b") || l.Has("c") || l.Has("") {
		t.Errorf("Has is wrong")
	}
	if l.Index("b") != 1 {
		t.Errorf("Index(b) = %d", l.Index("b"))
	}
	for _, name := range []string{"c", "", "A", "a "} {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Errorf("Index(%q) did not panic", name)
				} else if !strings.Contains(fmt.Sprint(r), fmt.Sprintf("%q", name)) {
					t.Errorf("Index(%q) panic %v does not name the field", name, r)
				}
			}()
			l.Index(name)
		}()
	}
}

func TestPack(t *testing.T) {
	l := NewLayout([]Field{{"a", 8}, {"f", 0}, {"b", 8}, {"c", 1}})
	modulus := fr.Modulus()
	minus1 := new(big.Int).Sub(modulus, big.NewInt(1))
	b := func(v int64) *big.Int { return big.NewInt(v) }
	tests := []struct {
		name    string
		values  []*big.Int
		wantErr string // "" for accepted
		want    []*big.Int
	}{
		{"Zero", []*big.Int{b(0), b(0), b(0), b(0)}, "", []*big.Int{b(0), b(0)}},
		{"Packed", []*big.Int{b(1), b(7), b(2), b(1)}, "", []*big.Int{b(1 + 2<<8 + 1<<16), b(7)}},
		{"MaxNarrow", []*big.Int{b(255), b(0), b(255), b(1)}, "", []*big.Int{b(255 + 255<<8 + 1<<16), b(0)}},
		{"FullModulusMinus1", []*big.Int{b(0), minus1, b(0), b(0)}, "", []*big.Int{b(0), minus1}},
		{"NarrowTooWide", []*big.Int{b(256), b(0), b(0), b(0)}, "layout field a", nil},
		{"BitTooWide", []*big.Int{b(0), b(0), b(0), b(2)}, "layout field c", nil},
		{"FullModulus", []*big.Int{b(0), modulus, b(0), b(0)}, "layout field f", nil},
		{"FullAboveModulus", []*big.Int{b(0), new(big.Int).Lsh(b(1), 256), b(0), b(0)}, "layout field f", nil},
		{"Negative", []*big.Int{b(0), b(0), b(-1), b(0)}, "layout field b", nil},
		{"NegativeFull", []*big.Int{b(0), b(-1), b(0), b(0)}, "layout field f", nil},
		{"Nil", []*big.Int{b(0), nil, b(0), b(0)}, "layout field f", nil},
		{"TooFew", []*big.Int{b(0), b(0), b(0)}, "3 values for 4 fields", nil},
		{"TooMany", []*big.Int{b(0), b(0), b(0), b(0), b(0)}, "5 values for 4 fields", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Pack(tt.values)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Pack = %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("Pack = %v, want %v", got, tt.want)
			}
			for i := range l.Fields {
				if v := unpack(l, got, i); v.Cmp(tt.values[i]) != 0 {
					t.Errorf("field %s unpacks to %v, want %v", l.Fields[i].Name, v, tt.values[i])
				}
			}
		})
	}
}

// TestPackDoesNotAliasInputs checks Pack never writes into the caller's values.
func TestPackDoesNotAliasInputs(t *testing.T) {
	l := NewLayout([]Field{{"f", 0}, {"a", 4}, {"b", 4}})
	in := []*big.Int{big.NewInt(5), big.NewInt(3), big.NewInt(9)}
	out, err := l.Pack(in)
	if err != nil {
		t.Fatal(err)
	}
	out[0].SetInt64(100)
	out[1].SetInt64(100)
	if in[0].Int64() != 5 || in[1].Int64() != 3 || in[2].Int64() != 9 {
		t.Errorf("Pack aliases its inputs: %v", in)
	}
}

// credentialFieldCount is the credential layout's field count, derived from DESIGN.md's header
// (holder commitment, issued_on, expires_on, id) and the schema's declaration, independently of
// CredentialLayout.
func credentialFieldCount(s *Schema) int {
	n := 4 + len(s.Attributes)
	for _, l := range s.Lists {
		perEntry := 1
		if l.Value {
			perEntry++
		}
		if l.HasDate() {
			perEntry++
		}
		if l.HasEnd() {
			perEntry++
		}
		if l.Status != nil {
			perEntry++
		}
		if l.Verification != nil {
			perEntry++
		}
		n += 3 + l.Capacity*perEntry
	}
	return n
}

func TestLayoutSizes(t *testing.T) {
	tests := []struct {
		schema *Schema
		// Golden sizes: a change here changes every circuit's constraint system and keys.
		credFields, credElements int
		polFields, polElements   int
	}{
		{Coverage(), 30, 6, 267, 14},
		{Clinical(), 175, 15, 675, 18},
	}
	for _, tt := range tests {
		t.Run(tt.schema.ID, func(t *testing.T) {
			s := tt.schema
			cl := s.CredentialLayout()
			checkLayout(t, cl)
			if got := credentialFieldCount(s); len(cl.Fields) != got {
				t.Errorf("credential layout has %d fields, the declaration implies %d", len(cl.Fields), got)
			}
			if len(cl.Fields) != tt.credFields || cl.Elements != tt.credElements {
				t.Errorf("credential layout: %d fields in %d elements, want %d in %d", len(cl.Fields), cl.Elements, tt.credFields, tt.credElements)
			}
			pl := s.PolicyLayout()
			checkLayout(t, pl)
			perPred := 10 + s.MaxStatuses() + s.MaxVerifications() + s.MaxFamilies() + s.MaxValueRanges() + s.SetValues
			families := 0
			for _, l := range s.Lists {
				families += 2*l.Families + 2*l.ValueRanges
			}
			if want := s.Predicates*perPred + families + s.SetValues + 3; len(pl.Fields) != want {
				t.Errorf("policy layout has %d fields, the declaration implies %d", len(pl.Fields), want)
			}
			if len(pl.Fields) != tt.polFields || pl.Elements != tt.polElements {
				t.Errorf("policy layout: %d fields in %d elements, want %d in %d", len(pl.Fields), pl.Elements, tt.polFields, tt.polElements)
			}

			// Header and every declared part are present, with the declared widths.
			for name, bits := range map[string]int{
				FieldHolder: 0, FieldIssuedOn: WithinBits, FieldExpiresOn: WithinBits, FieldID: CredentialIDBits,
			} {
				if got := cl.Fields[cl.Index(name)].Bits; got != bits {
					t.Errorf("%s is %d bits, want %d", name, got, bits)
				}
			}
			for _, a := range s.Attributes {
				if got := cl.Fields[cl.Index(AttrField(a.Name))].Bits; got != a.Type.Bits() {
					t.Errorf("%s is %d bits, want %d", a.Name, got, a.Type.Bits())
				}
			}
			for _, l := range s.Lists {
				cl.Index(LengthField(l.Name))
				cl.Index(CompleteSinceField(l.Name))
				cl.Index(IncompleteField(l.Name))
				for i := range l.Capacity {
					if got := cl.Fields[cl.Index(EntryField(l.Name, i, "code"))].Bits; got != l.Code.Bits() {
						t.Errorf("%s code is %d bits, want %d", l.Name, got, l.Code.Bits())
					}
					if cl.Has(EntryField(l.Name, i, "value")) != l.Value {
						t.Errorf("%s[%d] value presence wrong", l.Name, i)
					}
					if cl.Has(EntryField(l.Name, i, "date")) != l.HasDate() {
						t.Errorf("%s[%d] date presence wrong", l.Name, i)
					}
				}
				if cl.Has(EntryField(l.Name, l.Capacity, "code")) {
					t.Errorf("%s has an entry beyond its capacity", l.Name)
				}
			}
			for _, name := range []string{FieldAsOf, FieldScope, SetValueField(s.SetValues - 1), PredField(s.Predicates-1, "hi")} {
				pl.Index(name)
			}
			if pl.Has(PredField(s.Predicates, "on")) {
				t.Errorf("policy layout has a predicate slot beyond %d", s.Predicates)
			}
			if pl.Fields[pl.Index(FieldScope)].Bits != 0 {
				t.Errorf("scope is not a full field")
			}
		})
	}
}

// TestLayoutWidthsAgree checks the shared widths against one another: a list length holds every
// capacity, an entry index fits IndexBits, dates fit the comparison width.
func TestLayoutWidthsAgree(t *testing.T) {
	if MaxListCapacity > 1<<IndexBits || MaxListCapacity >= 1<<LengthBits {
		t.Errorf("MaxListCapacity %d does not fit IndexBits %d / LengthBits %d", MaxListCapacity, IndexBits, LengthBits)
	}
	if WithinBits > ScalarCmpBits || EnumBits > ScalarCmpBits {
		t.Errorf("an ordered scalar is wider than ScalarCmpBits")
	}
	if !(encode.MaxDate < UnknownEnd && UnknownEnd < OngoingEnd && OngoingEnd < 1<<WithinBits) {
		t.Errorf("ends UnknownEnd %d, OngoingEnd %d do not lie between MaxDate and 2^WithinBits", UnknownEnd, OngoingEnd)
	}
	if PackBits >= fr.Bits {
		t.Errorf("PackBits %d does not stay below the %d-bit modulus", PackBits, fr.Bits)
	}
}
