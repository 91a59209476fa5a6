package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// TestCapacities pins the capacities DESIGN.md promises (Size, Capacity): whole records per list,
// and predicates per policy on each schema's largest circuit.
func TestCapacities(t *testing.T) {
	tests := []struct {
		schema   *Schema
		list     string
		capacity int
	}{
		{Coverage(), "service_categories", 16},
		{Clinical(), "conditions", 128},
		{Clinical(), "observations", 1024},
		{Clinical(), "medications", 256},
	}
	for _, tt := range tests {
		t.Run(tt.schema.ID+"/"+tt.list, func(t *testing.T) {
			_, l, ok := tt.schema.List(tt.list)
			if !ok {
				t.Fatalf("schema %s has no list %s", tt.schema.ID, tt.list)
			}
			if l.Capacity < tt.capacity {
				t.Errorf("capacity %d, DESIGN.md wants at least %d", l.Capacity, tt.capacity)
			}
			if l.Capacity != l.Leaves()-2 || l.Leaves() != pow(Arity, l.Depth) {
				t.Errorf("capacity %d of a depth-%d tree of %d leaves", l.Capacity, l.Depth, l.Leaves())
			}
		})
	}
	for _, tt := range []struct {
		schema     *Schema
		predicates int
	}{{Clinical(), 16}, {Coverage(), 8}} {
		largest := tt.schema.Circuits[len(tt.schema.Circuits)-1]
		if p := largest.Predicates(); p < tt.predicates {
			t.Errorf("%s holds %d predicates, DESIGN.md wants at least %d", largest.ID, p, tt.predicates)
		}
	}
}

// TestLadder: each schema's circuits are ordered smallest first, each rung holds at least every
// slot of the one below (so "the smallest that holds it" is well defined), ids are unique.
func TestLadder(t *testing.T) {
	tests := []struct {
		schema *Schema
		ids    []string
	}{
		{Coverage(), []string{"coverage-v2-s", "coverage-v2-l"}},
		{Clinical(), []string{"clinical-v2-s", "clinical-v2-m", "clinical-v2-l"}},
	}
	for _, tt := range tests {
		t.Run(tt.schema.ID, func(t *testing.T) {
			var ids []string
			for i, c := range tt.schema.Circuits {
				ids = append(ids, c.ID)
				if c.Schema != tt.schema.ID {
					t.Errorf("%s declared for %s", c.ID, c.Schema)
				}
				if got, ok := tt.schema.Circuit(c.ID); !ok || got != c {
					t.Errorf("Circuit(%s) = %v, %v", c.ID, got, ok)
				}
				if i == 0 {
					continue
				}
				prev := tt.schema.Circuits[i-1]
				if c.Scalars < prev.Scalars || c.SetValues < prev.SetValues {
					t.Errorf("%s has fewer scalar slots or set values than %s", c.ID, prev.ID)
				}
				for li, ls := range c.Lists {
					p := prev.Lists[li]
					if ls.Picks < p.Picks || (p.Picks > 0 && ls.PickFamilies < p.PickFamilies) || ls.Blocks < p.Blocks || ls.Latest < p.Latest {
						t.Errorf("%s list %d slots %+v below %s's %+v", c.ID, li, ls, prev.ID, p)
					}
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("ladder %v, want %v", ids, tt.ids)
			}
			if _, ok := tt.schema.Circuit("nope"); ok {
				t.Error("Circuit(nope) found")
			}
		})
	}
}

func pow(b, e int) int {
	n := 1
	for range e {
		n *= b
	}
	return n
}

// TestDeclarations pins each shipped schema's attributes and lists as DESIGN.md and CLI.md
// describe them.
func TestDeclarations(t *testing.T) {
	type attr struct {
		name   string
		typ    AttrType
		values string
	}
	type list struct {
		name      string
		code      CodeSystem
		value     bool
		dateField string
	}
	tests := []struct {
		schema *Schema
		id     string
		attrs  []attr
		lists  []list
	}{
		{Coverage(), "coverage",
			[]attr{
				{"payer", Hashed, ""}, {"plan", Hashed, ""}, {"member_id", Hashed, ""},
				{"status", Enum, "active,cancelled,draft,entered-in-error"},
				{"period_start", Date, ""}, {"period_end", Date, ""}, {"insurance_type", Hashed, ""},
			},
			[]list{{"service_categories", X12, false, ""}}},
		{Clinical(), "clinical",
			[]attr{{"birth_date", Date, ""}, {"sex", Enum, "female,male,other,unknown"}},
			[]list{
				{"conditions", ICD10CM, false, "onset"},
				{"observations", LOINC, true, "date"},
				{"medications", RxNorm, false, "start"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			s := tt.schema
			if s.ID != tt.id {
				t.Errorf("ID = %q", s.ID)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if len(s.Attributes) != len(tt.attrs) {
				t.Fatalf("%d attributes, want %d", len(s.Attributes), len(tt.attrs))
			}
			for i, want := range tt.attrs {
				a := s.Attributes[i]
				if a.Name != want.name || a.Type != want.typ || strings.Join(a.Values, ",") != want.values {
					t.Errorf("attribute %d = %+v, want %+v", i, a, want)
				}
				j, got, ok := s.Attribute(want.name)
				if !ok || j != i || got.Name != want.name {
					t.Errorf("Attribute(%s) = %d, %v, %v", want.name, j, got, ok)
				}
			}
			if len(s.Lists) != len(tt.lists) {
				t.Fatalf("%d lists, want %d", len(s.Lists), len(tt.lists))
			}
			for i, want := range tt.lists {
				l := s.Lists[i]
				if l.Name != want.name || l.Code != want.code || l.Value != want.value || l.DateField != want.dateField {
					t.Errorf("list %d = %+v, want %+v", i, l, want)
				}
				if l.HasDate() != (want.dateField != "") {
					t.Errorf("list %s HasDate = %v", l.Name, l.HasDate())
				}
				j, got, ok := s.List(want.name)
				if !ok || j != i || got.Name != want.name {
					t.Errorf("List(%s) = %d, %v, %v", want.name, j, got, ok)
				}
			}
			if _, _, ok := s.Attribute("nope"); ok {
				t.Errorf("Attribute(nope) found")
			}
			if _, _, ok := s.List("nope"); ok {
				t.Errorf("List(nope) found")
			}
			// A list is not an attribute and vice versa.
			if _, _, ok := s.Attribute(s.Lists[0].Name); ok {
				t.Errorf("Attribute(%s) found a list", s.Lists[0].Name)
			}
			if _, _, ok := s.List(s.Attributes[0].Name); ok {
				t.Errorf("List(%s) found an attribute", s.Attributes[0].Name)
			}
		})
	}
}

func TestDerivedSizes(t *testing.T) {
	tests := []struct {
		schema                     *Schema
		codeBits, statuses, verifs int
		hasValues, hasDates        bool
		posBits                    []int
	}{
		{Coverage(), encode.X12Bits, 0, 0, false, false, []int{8}},
		{Clinical(), encode.ICD10Bits, 9, 4, true, true, []int{8, 11, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.schema.ID, func(t *testing.T) {
			s := tt.schema
			if s.CodeBits() != tt.codeBits || s.MaxStatuses() != tt.statuses || s.MaxVerifications() != tt.verifs ||
				s.HasValues() != tt.hasValues || s.HasDates() != tt.hasDates {
				t.Errorf("CodeBits %d MaxStatuses %d MaxVerifications %d HasValues %v HasDates %v; want %+v",
					s.CodeBits(), s.MaxStatuses(), s.MaxVerifications(), s.HasValues(), s.HasDates(), tt)
			}
			for i, l := range s.Lists {
				// a position below Arity^Depth fits PosBits, and the last one needs all of them
				if l.PosBits() != tt.posBits[i] || (l.Leaves()-1)>>l.PosBits() != 0 || (l.Leaves()-1)>>(l.PosBits()-1) == 0 {
					t.Errorf("%s: PosBits %d for %d leaves, want %d", l.Name, l.PosBits(), l.Leaves(), tt.posBits[i])
				}
				if KeyBits(l) > MaxKeyBits {
					t.Errorf("%s: keys of %d bits", l.Name, KeyBits(l))
				}
			}
		})
	}
}

func TestTypeWidths(t *testing.T) {
	tests := []struct {
		typ     AttrType
		bits    int
		ordered bool
		name    string
	}{
		{Date, encode.DateBits, true, "date"},
		{Enum, EnumBits, true, "enum"},
		{Hashed, fieldhash.StringBits, false, "string"},
		{AttrType(0), 0, false, "AttrType(0)"},
	}
	for _, tt := range tests {
		if tt.typ.Bits() != tt.bits || tt.typ.Ordered() != tt.ordered || tt.typ.String() != tt.name {
			t.Errorf("%d: Bits %d Ordered %v String %q; want %+v", int(tt.typ), tt.typ.Bits(), tt.typ.Ordered(), tt.typ.String(), tt)
		}
	}
	codes := []struct {
		cs   CodeSystem
		bits int
		name string
	}{
		{ICD10CM, encode.ICD10Bits, "ICD-10-CM"},
		{LOINC, encode.LOINCBits, "LOINC"},
		{RxNorm, encode.RxNormBits, "RxNorm"},
		{X12, encode.X12Bits, "X12 service type"},
		{CodeSystem(0), 0, "CodeSystem(0)"},
	}
	for _, tt := range codes {
		if tt.cs.Bits() != tt.bits || tt.cs.String() != tt.name {
			t.Errorf("%d: Bits %d String %q; want %+v", int(tt.cs), tt.cs.Bits(), tt.cs.String(), tt)
		}
		if tt.bits > 64 {
			t.Errorf("%s codes are %d bits, above the 64 Validate allows", tt.name, tt.bits)
		}
	}
}

func TestValidate(t *testing.T) {
	enumValues := func(n int) []string {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprint("v", i)
		}
		return v
	}
	attrs := func(n int) []Attribute {
		a := make([]Attribute, n)
		for i := range a {
			a[i] = Attribute{Name: fmt.Sprint("a", i), Type: Date}
		}
		return a
	}
	tests := []struct {
		name    string
		mutate  func(s *Schema)
		wantErr string // "" for valid
	}{
		{"Shipped", func(s *Schema) {}, ""},
		{"SixteenAttributes", func(s *Schema) { s.Attributes = attrs(1 << TargetBits) }, ""},
		{"SeventeenAttributes", func(s *Schema) { s.Attributes = attrs(1<<TargetBits + 1) }, "more than 16"},
		{"DepthZero", func(s *Schema) { s.Lists[0].Depth, s.Lists[0].Capacity = 0, -1 }, "capacity -1 is not 6^0 − 2"},
		{"CapacityNotTree", func(s *Schema) { s.Lists[0].Capacity = 200 }, "list conditions: capacity 200 is not 6^3 − 2"},
		{"DepthFive", func(s *Schema) { s.Lists[1].Depth, s.Lists[1].Capacity = 5, 7774 }, "latest-key of 30 bits is too wide"},
		{"CapacityAboveLength", func(s *Schema) { s.Lists[1].Depth, s.Lists[1].Capacity = 7, 279934 }, "does not fit 16 bits"},
		{"NoCodeSystem", func(s *Schema) { s.Lists[0].Code = 0 }, "unsupported code system"},
		{"UnknownCodeSystem", func(s *Schema) { s.Lists[0].Code = 99 }, "unsupported code system"},
		{"EndWithoutDate", func(s *Schema) { s.Lists[2].DateField = "" }, "period entry needs a start date"},
		{"StatusNoValues", func(s *Schema) { s.Lists[2].Status = &EntryEnum{Field: "status"} }, "status needs 1..15 values"},
		{"StatusTooManyValues", func(s *Schema) { s.Lists[2].Status = &EntryEnum{Field: "status", Values: enumValues(16)} }, "status needs 1..15 values"},
		{"EnumNoValues", func(s *Schema) { s.Attributes[1].Values = nil }, "enum sex"},
		{"EnumMaxValues", func(s *Schema) { s.Attributes[1].Values = enumValues(1<<EnumBits - 1) }, ""},
		{"EnumTooManyValues", func(s *Schema) { s.Attributes[1].Values = enumValues(1 << EnumBits) }, "enum sex"},
		{"NoCircuit", func(s *Schema) { s.Circuits = nil }, "no circuit"},
		{"CircuitOtherSchema", func(s *Schema) { s.Circuits[0].Schema = "coverage" }, "declared for schema coverage"},
		{"NoScalarSlot", func(s *Schema) { s.Circuits[1].Scalars = 0 }, "circuit clinical-v2-m: needs at least one scalar slot"},
		{"NoSetValues", func(s *Schema) { s.Circuits[0].SetValues = 0 }, "one set value"},
		{"ListSlotsMissing", func(s *Schema) { s.Circuits[0].Lists = s.Circuits[0].Lists[:2] }, "2 list slot declarations for 3 lists"},
		{"PickWithoutFamily", func(s *Schema) { s.Circuits[0].Lists[2] = ListSlots{Picks: 1} }, "list medications: bad slot counts"},
		{"NegativeBlocks", func(s *Schema) { s.Circuits[0].Lists[2] = ListSlots{Blocks: -1} }, "bad slot counts"},
		{"LatestWithoutBlock", func(s *Schema) { s.Circuits[0].Lists[1] = ListSlots{Latest: 1} }, "a latest slot needs dated entries and a block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Clinical()
			tt.mutate(s)
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				// A valid declaration yields layouts that satisfy the packing invariants.
				checkLayout(t, s.CredentialLayout())
				for _, c := range s.Circuits {
					checkLayout(t, c.PolicyLayout(s))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestGet(t *testing.T) {
	for _, s := range All() {
		got, err := Get(s.ID)
		if err != nil || got.ID != s.ID {
			t.Errorf("Get(%q) = %v, %v", s.ID, got, err)
		}
		for _, c := range s.Circuits {
			gs, gc, err := ByCircuit(c.ID)
			if err != nil || gs.ID != s.ID || gc.ID != c.ID {
				t.Errorf("ByCircuit(%q) = %v, %v, %v", c.ID, gs, gc, err)
			}
		}
	}
	for _, id := range []string{"", "Coverage", "clinical ", "coverage-v1", "fhir"} {
		if got, err := Get(id); !errors.Is(err, ErrUnknownSchema) || got != nil {
			t.Errorf("Get(%q) = %v, %v; want ErrUnknownSchema", id, got, err)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
			t.Errorf("Get(%q) error %q does not name the id", id, err)
		}
	}
	// v1 circuits are gone: their credentials signed a filtered extract (DESIGN.md, Records)
	for _, c := range []string{"", "coverage", "clinical-v2", "clinical-v1", "coverage-v1", "Clinical-v2-s"} {
		if gs, gc, err := ByCircuit(c); err == nil || gs != nil || gc != nil {
			t.Errorf("ByCircuit(%q) = %v, %v, %v; want an error", c, gs, gc, err)
		}
	}
}

func TestAll(t *testing.T) {
	all := All()
	if len(all) != 2 || all[0].ID != "clinical" || all[1].ID != "coverage" {
		t.Fatalf("All() = %v, want clinical, coverage", all)
	}
	ids, circuits := map[string]bool{}, map[string]bool{}
	for _, s := range all {
		if ids[s.ID] {
			t.Errorf("duplicate schema %s", s.ID)
		}
		ids[s.ID] = true
		for _, c := range s.Circuits {
			if circuits[c.ID] {
				t.Errorf("duplicate circuit %s", c.ID)
			}
			circuits[c.ID] = true
		}
	}
	if got := strings.Join(CircuitIDs(), ","); got != "clinical-v2-s,clinical-v2-m,clinical-v2-l,coverage-v2-s,coverage-v2-l" {
		t.Errorf("CircuitIDs() = %s", got)
	}
	// Each call returns a fresh declaration: a caller mutating one cannot change another's.
	a := Clinical()
	a.Lists[0].Capacity = 1
	a.Attributes[1].Values[0] = "changed"
	a.Circuits[0].Scalars = 99
	if b := Clinical(); b.Lists[0].Capacity != 214 || b.Attributes[1].Values[0] != "female" || b.Circuits[0].Scalars != 4 {
		t.Errorf("Clinical() shares state between calls")
	}
}
