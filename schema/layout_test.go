package schema

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/merkle"
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
// (holder commitment, issued_on, expires_on, id) and the schema's declaration (per list a root, a
// length and two completeness fields), independently of CredentialLayout.
func credentialFieldCount(s *Schema) int {
	return 4 + len(s.Attributes) + 4*len(s.Lists)
}

// policyFieldCount is a circuit's policy layout field count, derived from its slots independently
// of PolicyLayout.
func policyFieldCount(s *Schema, c *Circuit) int {
	n := c.Scalars*(6+c.SetValues) + c.SetValues + 3
	for li, l := range s.Lists {
		ls := c.Lists[li]
		window, values, statuses, date := 0, 0, 0, 0
		if l.HasDate() {
			window, date = 1, 1
		}
		if l.HasEnd() {
			window++
		}
		if l.Value {
			values = 3
		}
		if l.Status != nil {
			statuses += len(l.Status.Values)
		}
		if l.Verification != nil {
			statuses += len(l.Verification.Values)
		}
		n += ls.Picks * (1 + 3*ls.PickFamilies + values + window + statuses)
		n += ls.Blocks * (4 + date + ls.Latest)
		n += ls.Latest * (1 + values + window)
	}
	return n
}

func TestLayoutSizes(t *testing.T) {
	// Golden sizes: a change here changes every circuit's constraint system and keys.
	creds := map[string][2]int{"coverage": {15, 6}, "clinical": {18, 6}}
	policies := map[string][2]int{}
	for _, s := range All() {
		t.Run(s.ID, func(t *testing.T) {
			cl := s.CredentialLayout()
			checkLayout(t, cl)
			if got := credentialFieldCount(s); len(cl.Fields) != got {
				t.Errorf("credential layout has %d fields, the declaration implies %d", len(cl.Fields), got)
			}
			if want := creds[s.ID]; len(cl.Fields) != want[0] || cl.Elements != want[1] {
				t.Errorf("credential layout: %d fields in %d elements, want %d in %d", len(cl.Fields), cl.Elements, want[0], want[1])
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
				for name, bits := range map[string]int{
					RootField(l.Name): 0, LengthField(l.Name): LengthBits, CompleteSinceField(l.Name): WithinBits, IncompleteField(l.Name): 1,
				} {
					if got := cl.Fields[cl.Index(name)].Bits; got != bits {
						t.Errorf("%s is %d bits, want %d", name, got, bits)
					}
				}
				if l.Capacity >= 1<<LengthBits {
					t.Errorf("%s: capacity %d does not fit its length", l.Name, l.Capacity)
				}
				// a leaf packs into one element: the tree hashes one element per leaf
				ll := l.LeafLayout()
				checkLayout(t, ll)
				if ll.Elements != 1 || ll.Fields[0].Name != LeafCode || ll.Fields[0].Bits != l.Code.Bits()+1 {
					t.Errorf("%s: leaf layout %+v", l.Name, ll.Fields)
				}
				for _, f := range []struct {
					name string
					has  bool
				}{{LeafDate, l.HasDate()}, {LeafEnd, l.HasEnd()}, {LeafValue, l.Value}, {LeafStatus, l.Status != nil}, {LeafVerification, l.Verification != nil}} {
					if ll.Has(f.name) != f.has {
						t.Errorf("%s: leaf field %s present %v", l.Name, f.name, ll.Has(f.name))
					}
				}
			}
			for _, c := range s.Circuits {
				pl := c.PolicyLayout(s)
				checkLayout(t, pl)
				if got := policyFieldCount(s, c); len(pl.Fields) != got {
					t.Errorf("%s: policy layout has %d fields, the slots imply %d", c.ID, len(pl.Fields), got)
				}
				policies[c.ID] = [2]int{len(pl.Fields), pl.Elements}
				for _, name := range []string{FieldAsOf, FieldScope, FieldMaxAge, SetValueField(c.SetValues - 1), ScalarField(c.Scalars-1, "hi")} {
					pl.Index(name)
				}
				if pl.Has(ScalarField(c.Scalars, "on")) || pl.Has(SetValueField(c.SetValues)) {
					t.Errorf("%s: policy layout has a slot beyond its declaration", c.ID)
				}
				if pl.Fields[pl.Index(FieldScope)].Bits != 0 {
					t.Errorf("scope is not a full field")
				}
				if c.PolicyLayout(s) != pl {
					t.Errorf("%s: policy layout recomputed", c.ID)
				}
			}
		})
	}
	want := map[string][2]int{
		"coverage-v2-s": {64, 6}, "coverage-v2-l": {315, 16},
		"clinical-v2-s": {98, 9}, "clinical-v2-m": {229, 16}, "clinical-v2-l": {863, 51},
	}
	if fmt.Sprint(policies) != fmt.Sprint(want) {
		t.Errorf("policy layouts (fields, elements) %v, want %v", policies, want)
	}
}

// TestLayoutWidthsAgree checks the shared widths against one another: three children's aggregates
// and a tag fit a lane, dates fit the comparison width.
func TestLayoutWidthsAgree(t *testing.T) {
	if WithinBits+PresenceBits > AggBits || 3*AggBits+merkle.TagBits >= fr.Bits {
		t.Errorf("aggregates of %d bits do not pack three to a lane", AggBits)
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
