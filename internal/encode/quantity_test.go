package encode

import (
	"errors"
	"math"
	"sort"
	"strings"
	"testing"
)

func TestKnownLOINC(t *testing.T) {
	known := KnownLOINC()
	if len(known) != 218 {
		t.Errorf("KnownLOINC has %d rows; want 218", len(known))
	}
	if !sort.SliceIsSorted(known, func(i, j int) bool { return known[i].LOINC < known[j].LOINC }) {
		t.Error("KnownLOINC not sorted by code")
	}
	for _, c := range known {
		got, ok := CanonicalUnit(c.LOINC)
		if !ok || got != c {
			t.Errorf("CanonicalUnit(%q) = %+v, %v; want %+v", c.LOINC, got, ok, c)
		}
		if c.Name == "" || c.Unit == "" || c.Scale < 0 || c.Scale > maxScale {
			t.Errorf("bad row %+v", c)
		}
		if u, ok := loincTable[c.LOINC].ucum(c.Unit); !ok || u != c.Unit {
			t.Errorf("canonical unit %q of %s not accepted as itself", c.Unit, c.LOINC)
		}
	}
	known[0].Name = "mutated"
	if KnownLOINC()[0].Name == "mutated" {
		t.Error("KnownLOINC shares state with the caller")
	}
	if _, ok := CanonicalUnit("4548-5"); ok {
		t.Error("CanonicalUnit(4548-5) found")
	}
	// The rows that predate the CSV table keep their unit and scale: changing either changes
	// what signed values mean.
	want := map[string]struct {
		unit  string
		scale int
	}{
		"4548-4": {"%", 2}, "17856-6": {"%", 2}, "2339-0": {"mg/dL", 1}, "2345-7": {"mg/dL", 1},
		"2160-0": {"mg/dL", 2}, "33914-3": {"mL/min/{1.73_m2}", 1}, "48643-1": {"mL/min/{1.73_m2}", 1},
		"48642-3": {"mL/min/{1.73_m2}", 1}, "62238-1": {"mL/min/{1.73_m2}", 1}, "98979-8": {"mL/min/{1.73_m2}", 1},
		"39156-5": {"kg/m2", 2}, "29463-7": {"kg", 2}, "8302-2": {"cm", 1}, "8480-6": {"mm[Hg]", 0},
		"8462-4": {"mm[Hg]", 0}, "2093-3": {"mg/dL", 1}, "18262-6": {"mg/dL", 1}, "2089-1": {"mg/dL", 1},
		"2085-9": {"mg/dL", 1}, "2571-8": {"mg/dL", 1}, "718-7": {"g/dL", 1},
	}
	for code, w := range want {
		c, ok := CanonicalUnit(code)
		if !ok || c.Unit != w.unit || c.Scale != w.scale {
			t.Errorf("CanonicalUnit(%s) = %+v, %v; want %s scale %d", code, c, ok, w.unit, w.scale)
		}
	}
}

func TestQuantity(t *testing.T) {
	tests := []struct {
		loinc string
		value float64
		unit  string
		want  uint64
	}{
		// canonical units and display spellings
		{"4548-4", 7.5, "%", 750},
		{"4548-4", 7.005, "%", 701}, // half away from zero on the decimal as written
		{"4548-4", 7.0049, "%", 700},
		{"4548-4", 0, "%", 0},
		{"4548-4", math.Copysign(0, -1), "%", 0},
		{"39156-5", 30.0, "kg/m2", 3000},
		{"39156-5", 30.0, "kg/m^2", 3000},
		{"39156-5", 24.999, " kg/m2 ", 2500},
		{"2345-7", 99.05, "mg/dl", 991},
		{"2345-7", 99.04, "mg/dL", 990},
		{"8480-6", 120, "mm[Hg]", 120},
		{"8462-4", 80.5, "mmHg", 81},
		{"8462-4", 80.49, "mmHg", 80},
		{"62238-1", 59.95, "mL/min/{1.73_m2}", 600},
		{"33914-3", 60, "mL/min/1.73m2", 600},
		{"98979-8", 45.2, "mL/min", 452},
		{"718-7", 13.5, "g/dL", 135},
		// conversions
		{"4548-4", 53, "mmol/mol", 700},  // 53 × 0.09148 + 2.152 = 7.00044
		{"17856-6", 48, "mmol/mol", 654}, // 6.54304
		{"4548-4", 0, "mmol/mol", 215},   // 2.152
		{"2345-7", 5.5, "mmol/L", 991},   // 99.0858
		{"2339-0", 7.0, "mmol/l", 1261},  // 126.1092
		{"2160-0", 88.42, "µmol/L", 100},
		{"2160-0", 88.42, "umol/L", 100},
		{"2160-0", 88.42, "μmol/L", 100}, // Greek mu
		{"2160-0", 176.84, "umol/L", 200},
		{"29463-7", 100, "[lb_av]", 4536}, // 45.359237
		{"29463-7", 100, "lb", 4536},
		{"29463-7", 80, "kg", 8000},
		{"8302-2", 70, "[in_i]", 1778}, // 177.8
		{"8302-2", 70, "in", 1778},
		{"8302-2", 177.8, "cm", 1778},
		{"2093-3", 5.2, "mmol/L", 2011},  // 201.084
		{"18262-6", 2.6, "mmol/L", 1005}, // 100.542
		{"2089-1", 2.6, "mmol/L", 1005},
		{"2085-9", 1.0, "mmol/L", 387},  // 38.67
		{"2571-8", 1.7, "mmol/L", 1506}, // 150.569
		{"718-7", 135, "g/L", 135},
		{"718-7", 135, "g/l", 135},
	}
	for _, tt := range tests {
		got, err := Quantity(tt.loinc, tt.value, tt.unit)
		if err != nil || got != tt.want {
			t.Errorf("Quantity(%s, %v, %q) = %d, %v; want %d", tt.loinc, tt.value, tt.unit, got, err, tt.want)
		}
	}
}

func TestQuantityBackToOriginalUnit(t *testing.T) {
	// Converting, decoding with Float and converting back lands within half a
	// unit of the last kept digit (scaled back to the original unit).
	tests := []struct {
		loinc string
		value float64
		unit  string
		back  func(float64) float64
	}{
		{"4548-4", 53, "mmol/mol", func(p float64) float64 { return (p - 2.152) / 0.09148 }},
		{"2345-7", 5.5, "mmol/L", func(x float64) float64 { return x / 18.0156 }},
		{"2160-0", 88.42, "umol/L", func(x float64) float64 { return x * 88.42 }},
		{"29463-7", 180, "lb", func(x float64) float64 { return x / 0.45359237 }},
		{"8302-2", 70, "in", func(x float64) float64 { return x / 2.54 }},
		{"718-7", 135, "g/L", func(x float64) float64 { return x * 10 }},
	}
	for _, tt := range tests {
		f, err := Quantity(tt.loinc, tt.value, tt.unit)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := CanonicalUnit(tt.loinc)
		x, err := Float(tt.loinc, f)
		if err != nil {
			t.Fatal(err)
		}
		half := 0.5 / math.Pow10(c.Scale)
		if tol := math.Abs(tt.back(x+half) - tt.back(x)); math.Abs(tt.back(x)-tt.value) > tol+1e-9 {
			t.Errorf("%s: %v %s -> %d -> %v %s -> %v %s", tt.loinc, tt.value, tt.unit, f, x, c.Unit, tt.back(x), tt.unit)
		}
	}
}

func TestQuantityRejects(t *testing.T) {
	tests := []struct {
		loinc string
		value float64
		unit  string
		want  error
		names []string // substrings the error must contain
	}{
		{"4548-4", 7, "mg", ErrUnknownUnit, []string{`"mg"`, "4548-4"}},
		{"4548-4", 7, "mmol/L", ErrUnknownUnit, []string{`"mmol/L"`, "4548-4"}},
		{"4548-4", 7, "", ErrUnknownUnit, []string{`""`, "4548-4"}},
		{"39156-5", 30, "kg", ErrUnknownUnit, []string{`"kg"`, "39156-5"}},
		{"8480-6", 120, "cm[H2O]", ErrUnknownUnit, []string{`"cm[H2O]"`, "8480-6"}},
		{"62238-1", 60, "mmol/L", ErrUnknownUnit, []string{`"mmol/L"`}},
		{"2345-7", 5.5, "MMOL/L", ErrUnknownUnit, []string{`"MMOL/L"`}},
		{"9999-9", 1, "%", ErrUnknownLOINC, []string{`"9999-9"`}},
		{"4548-5", 7, "%", ErrUnknownLOINC, []string{`"4548-5"`}},
		{"45484", 7, "%", ErrUnknownLOINC, []string{`"45484"`}},
		{"4548-4", -0.01, "%", ErrRange, []string{"4548-4", "negative"}},
		{"4548-4", -1, "mmol/mol", ErrRange, []string{"negative"}},
		{"4548-4", math.NaN(), "%", ErrRange, nil},
		{"4548-4", math.Inf(1), "%", ErrRange, nil},
		{"4548-4", math.Inf(-1), "%", ErrRange, nil},
		{"4548-4", 42949672.96, "%", ErrRange, []string{"4548-4"}},
		{"4548-4", 1e300, "%", ErrRange, nil},
		{"8480-6", 4294967295.5, "mm[Hg]", ErrRange, nil},
		{"2345-7", 300000000, "mmol/L", ErrRange, nil}, // overflows only after conversion
	}
	for _, tt := range tests {
		got, err := Quantity(tt.loinc, tt.value, tt.unit)
		if !errors.Is(err, tt.want) {
			t.Errorf("Quantity(%s, %v, %q) = %d, %v; want %v", tt.loinc, tt.value, tt.unit, got, err, tt.want)
			continue
		}
		for _, s := range tt.names {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Quantity(%s, %v, %q) error %q does not mention %s", tt.loinc, tt.value, tt.unit, err, s)
			}
		}
	}
}

func TestFixedBoundaries(t *testing.T) {
	tests := []struct {
		loinc string
		value float64
		want  uint64
		err   error
	}{
		{"4548-4", 42949672.95, 1<<32 - 1, nil}, // exactly the limit at scale 2
		{"4548-4", 42949672.954, 1<<32 - 1, nil},
		{"4548-4", 42949672.955, 0, ErrRange}, // rounds above the limit
		{"4548-4", 42949672.96, 0, ErrRange},
		{"2345-7", 429496729.5, 1<<32 - 1, nil}, // scale 1
		{"2345-7", 429496729.6, 0, ErrRange},
		{"8480-6", 4294967295, 1<<32 - 1, nil}, // scale 0
		{"8480-6", 4294967295.4, 1<<32 - 1, nil},
		{"8480-6", 4294967296, 0, ErrRange},
		{"8480-6", 0.5, 1, nil},
		{"8480-6", 0.49, 0, nil},
		{"4548-4", 5e-324, 0, nil},
		{"4548-4", 0.005, 1, nil},
		{"4548-4", 0.0049999, 0, nil},
		{"4548-4", 6.5, 650, nil},
		{"4548-4", -5e-324, 0, ErrRange},
		{"0000-0", 1, 0, ErrUnknownLOINC},
	}
	for _, tt := range tests {
		got, err := Fixed(tt.loinc, tt.value)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("Fixed(%s, %v) = %d, %v; want %d, %v", tt.loinc, tt.value, got, err, tt.want, tt.err)
		}
		if tt.err == nil {
			// The canonical unit through Quantity gives the same result.
			c, _ := CanonicalUnit(tt.loinc)
			if q, err := Quantity(tt.loinc, tt.value, c.Unit); err != nil || q != got {
				t.Errorf("Quantity(%s, %v, %q) = %d, %v; Fixed gave %d", tt.loinc, tt.value, c.Unit, q, err, got)
			}
		}
	}
}

func TestFloat(t *testing.T) {
	tests := []struct {
		loinc string
		fixed uint64
		want  float64
	}{
		{"4548-4", 750, 7.5},
		{"4548-4", 701, 7.01},
		{"4548-4", 0, 0},
		{"4548-4", 1<<32 - 1, 42949672.95},
		{"2345-7", 991, 99.1},
		{"8480-6", 120, 120},
		{"8480-6", 1<<32 - 1, 4294967295},
		{"2160-0", 100, 1},
	}
	for _, tt := range tests {
		got, err := Float(tt.loinc, tt.fixed)
		if err != nil || got != tt.want {
			t.Errorf("Float(%s, %d) = %v, %v; want %v", tt.loinc, tt.fixed, got, err, tt.want)
			continue
		}
		if back, err := Fixed(tt.loinc, got); err != nil || back != tt.fixed {
			t.Errorf("Fixed(%s, Float(%d) = %v) = %d, %v", tt.loinc, tt.fixed, got, back, err)
		}
	}
	if _, err := Float("4548-4", 1<<32); !errors.Is(err, ErrRange) {
		t.Errorf("Float above the limit: %v; want ErrRange", err)
	}
	if _, err := Float("1-8", 1); !errors.Is(err, ErrUnknownLOINC) {
		t.Errorf("Float unknown code: %v; want ErrUnknownLOINC", err)
	}
}

func TestFixedFloatRoundTripSample(t *testing.T) {
	// Fixed(Float(f)) == f on a spread of values at every scale, including the ends.
	for _, code := range []string{"8480-6", "2345-7", "4548-4"} {
		for f := uint64(0); f < 1<<32; f = f*3 + 1 {
			x, err := Float(code, f)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := Fixed(code, x); err != nil || back != f {
				t.Fatalf("Fixed(%s, Float(%d) = %v) = %d, %v", code, f, x, back, err)
			}
		}
		for f := uint64(1<<32 - 1000); f < 1<<32; f++ {
			x, _ := Float(code, f)
			if back, err := Fixed(code, x); err != nil || back != f {
				t.Fatalf("Fixed(%s, Float(%d) = %v) = %d, %v", code, f, x, back, err)
			}
		}
	}
}

// TestFixedDecimalNeverWidens is the records-v2 bounds rule: a low bound rounds up and a high bound
// down, so [7.494, 11.005] % never admits 7.49 or 11.01 (both bounds used to round half away from
// zero, widening the range).
func TestFixedDecimalNeverWidens(t *testing.T) {
	cases := []struct {
		name, decimal string
		round         Rounding
		want          uint64
	}{
		{"low rounds up", "7.494", RoundUp, 750},
		{"high rounds down", "11.005", RoundDown, 1100},
		{"exact low kept", "7.5", RoundUp, 750},
		{"exact high kept", "11.0", RoundDown, 1100},
		{"exponent", "1.1e1", RoundDown, 1100},
		{"tiny low", "0.0001", RoundUp, 1},
		{"tiny high", "0.0001", RoundDown, 0},
		{"nearest half up", "7.005", RoundNearest, 701},
		{"nearest below half", "7.0049", RoundNearest, 700},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FixedDecimal("4548-4", c.decimal, c.round)
			if err != nil || got != c.want {
				t.Fatalf("FixedDecimal(%s) = %d, %v; want %d", c.decimal, got, err, c.want)
			}
		})
	}
	for _, bad := range []string{"-1", "1/3", "0x10", "1e999999999", "7.", ".5", "NaN", "", "1e41"} {
		if _, err := FixedDecimal("4548-4", bad, RoundUp); err == nil {
			t.Errorf("FixedDecimal(%q) accepted", bad)
		}
	}
}

func TestQuantityBoundRoundsInward(t *testing.T) {
	// 53 mmol/mol is 6.998… % by the IFCC master equation: a low bound becomes 7.00 %, a high 6.99 %.
	lo, err := QuantityBound("4548-4", 53, "mmol/mol", RoundUp)
	if err != nil {
		t.Fatal(err)
	}
	hi, err := QuantityBound("4548-4", 53, "mmol/mol", RoundDown)
	if err != nil {
		t.Fatal(err)
	}
	if lo != hi+1 {
		t.Fatalf("53 mmol/mol: low bound %d, high bound %d; want consecutive fixed values around it", lo, hi)
	}
	if v, _ := QuantityBound("4548-4", 7.494, "%", RoundUp); v != 750 {
		t.Fatalf("7.494 %% as a low bound = %d, want 750", v)
	}
}
