package schema

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// TestCapacities pins the capacities DESIGN.md promises.
func TestCapacities(t *testing.T) {
	tests := []struct {
		schema   *Schema
		list     string
		capacity int
	}{
		{Coverage(), "service_categories", 16},
		{Clinical(), "conditions", 16},
		{Clinical(), "observations", 16},
		{Clinical(), "medications", 8},
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
			if l.Capacity > MaxListCapacity {
				t.Errorf("capacity %d above MaxListCapacity", l.Capacity)
			}
		})
	}
	if p := Clinical().Predicates; p < 16 {
		t.Errorf("clinical has %d predicate slots, DESIGN.md wants at least 16", p)
	}
	if p := Coverage().Predicates; p < 8 {
		t.Errorf("coverage has %d predicate slots, DESIGN.md wants at least 8", p)
	}
	// "in" / "not_in" take a set of up to 16 values per DESIGN.md, but the pool is shared: at
	// least one value must fit.
	for _, s := range All() {
		if s.SetValues < 1 {
			t.Errorf("%s has no set values", s.ID)
		}
	}
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
		schema  *Schema
		id      string
		circuit string
		attrs   []attr
		lists   []list
	}{
		{Coverage(), "coverage", "coverage-v1",
			[]attr{
				{"payer", Hashed, ""}, {"plan", Hashed, ""}, {"member_id", Hashed, ""},
				{"status", Enum, "active,cancelled,draft,entered-in-error"},
				{"period_start", Date, ""}, {"period_end", Date, ""}, {"insurance_type", Hashed, ""},
			},
			[]list{{"service_categories", X12, false, ""}}},
		{Clinical(), "clinical", "clinical-v1",
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
			if s.ID != tt.id || s.Circuit != tt.circuit {
				t.Errorf("ID, Circuit = %q, %q", s.ID, s.Circuit)
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
		schema                             *Schema
		codeBits, maxFamilies, maxCapacity int
		hasValues, hasDates                bool
	}{
		{Coverage(), encode.X12Bits, 4, 16, false, false},
		{Clinical(), encode.ICD10Bits, 8, 16, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.schema.ID, func(t *testing.T) {
			s := tt.schema
			if s.CodeBits() != tt.codeBits || s.MaxFamilies() != tt.maxFamilies || s.MaxCapacity() != tt.maxCapacity ||
				s.HasValues() != tt.hasValues || s.HasDates() != tt.hasDates {
				t.Errorf("CodeBits %d MaxFamilies %d MaxCapacity %d HasValues %v HasDates %v; want %+v",
					s.CodeBits(), s.MaxFamilies(), s.MaxCapacity(), s.HasValues(), s.HasDates(), tt)
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
	lists := func(n int) []List {
		l := make([]List, n)
		for i := range l {
			l[i] = List{Name: fmt.Sprint("l", i), Capacity: 1, Code: RxNorm, Families: 1}
		}
		return l
	}
	tests := []struct {
		name    string
		mutate  func(s *Schema)
		wantErr string // "" for valid
	}{
		{"Shipped", func(s *Schema) {}, ""},
		{"SixteenAttributes", func(s *Schema) { s.Attributes = attrs(1 << TargetBits) }, ""},
		{"SeventeenAttributes", func(s *Schema) { s.Attributes = attrs(1<<TargetBits + 1) }, "more than 16"},
		{"SixteenLists", func(s *Schema) { s.Lists = lists(1 << TargetBits) }, ""},
		{"SeventeenLists", func(s *Schema) { s.Lists = lists(1<<TargetBits + 1) }, "more than 16"},
		{"NoPredicates", func(s *Schema) { s.Predicates = 0 }, "at least one predicate"},
		{"NegativePredicates", func(s *Schema) { s.Predicates = -1 }, "at least one predicate"},
		{"NoSetValues", func(s *Schema) { s.SetValues = 0 }, "one set value"},
		{"CapacityZero", func(s *Schema) { s.Lists[0].Capacity = 0 }, "capacity 0"},
		{"CapacityMax", func(s *Schema) { s.Lists[0].Capacity = MaxListCapacity }, ""},
		{"CapacityAboveMax", func(s *Schema) { s.Lists[1].Capacity = MaxListCapacity + 1 }, "list observations capacity 33"},
		{"NoFamilies", func(s *Schema) { s.Lists[2].Families = 0 }, "list medications needs at least one family"},
		{"NoCodeSystem", func(s *Schema) { s.Lists[0].Code = 0 }, "unsupported code system"},
		{"UnknownCodeSystem", func(s *Schema) { s.Lists[0].Code = 99 }, "unsupported code system"},
		{"EnumNoValues", func(s *Schema) { s.Attributes[1].Values = nil }, "enum sex"},
		{"EnumMaxValues", func(s *Schema) { s.Attributes[1].Values = enumValues(1<<EnumBits - 1) }, ""},
		{"EnumTooManyValues", func(s *Schema) { s.Attributes[1].Values = enumValues(1 << EnumBits) }, "enum sex"},
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
				checkLayout(t, s.PolicyLayout())
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
		if err != nil || got.ID != s.ID || got.Circuit != s.Circuit {
			t.Errorf("Get(%q) = %v, %v", s.ID, got, err)
		}
		got, err = ByCircuit(s.Circuit)
		if err != nil || got.ID != s.ID {
			t.Errorf("ByCircuit(%q) = %v, %v", s.Circuit, got, err)
		}
	}
	for _, id := range []string{"", "Coverage", "clinical ", "coverage-v1", "fhir"} {
		if got, err := Get(id); !errors.Is(err, ErrUnknownSchema) || got != nil {
			t.Errorf("Get(%q) = %v, %v; want ErrUnknownSchema", id, got, err)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", id)) {
			t.Errorf("Get(%q) error %q does not name the id", id, err)
		}
	}
	for _, c := range []string{"", "coverage", "clinical-v2", "Clinical-v1"} {
		if got, err := ByCircuit(c); err == nil || got != nil {
			t.Errorf("ByCircuit(%q) = %v, %v; want an error", c, got, err)
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
		if ids[s.ID] || circuits[s.Circuit] {
			t.Errorf("duplicate schema %s / circuit %s", s.ID, s.Circuit)
		}
		ids[s.ID], circuits[s.Circuit] = true, true
	}
	// Each call returns a fresh declaration: a caller mutating one cannot change another's.
	a := Clinical()
	a.Lists[0].Capacity = 1
	a.Attributes[1].Values[0] = "changed"
	if b := Clinical(); b.Lists[0].Capacity != 16 || b.Attributes[1].Values[0] != "female" {
		t.Errorf("Clinical() shares state between calls")
	}
}
