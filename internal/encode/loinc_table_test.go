package encode

import (
	"encoding/csv"
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestLOINCTableData parses the shipped table as init does, and checks every row: the scale and
// max fit ValueBits, max encodes, the fixed-point ends round-trip, and every spelling the row
// accepts resolves to its canonical unit or a conversion source.
func TestLOINCTableData(t *testing.T) {
	m, err := parseLOINCTable(loincCSV, unitAliases)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(loincTable) || len(m) != 218 {
		t.Fatalf("%d rows parsed, %d at init; want 218", len(m), len(loincTable))
	}
	for code, e := range m {
		t.Run(code, func(t *testing.T) {
			if e.Scale < 0 || e.Scale > maxScale || math.Pow10(e.Scale) > maxFixed {
				t.Fatalf("scale %d", e.Scale)
			}
			mx, err := strconv.ParseFloat(e.max, 64)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Fixed(code, mx)
			if err != nil || f > maxFixed || float64(f) != math.Round(mx*math.Pow10(e.Scale)) {
				t.Fatalf("Fixed(max %s) = %d, %v: max × 10^%d must fit %d bits", e.max, f, err, e.Scale, ValueBits)
			}
			for _, f := range []uint64{0, 1, f, maxFixed} {
				v, err := Float(code, f)
				if err != nil {
					t.Fatal(err)
				}
				if back, err := Fixed(code, v); err != nil || back != f {
					t.Errorf("Fixed(Float(%d) = %v) = %d, %v", f, v, back, err)
				}
			}
			if u, ok := e.ucum(e.Unit); !ok || u != e.Unit {
				t.Errorf("canonical unit %q not accepted", e.Unit)
			}
			for a := range e.aliases {
				if u, ok := e.ucum(a); !ok || u != e.Unit {
					t.Errorf("alias %q resolves to %q, %v", a, u, ok)
				}
			}
			for src := range e.from {
				if u, ok := e.ucum(src); !ok || u != src {
					t.Errorf("conversion source %q resolves to %q, %v", src, u, ok)
				}
			}
		})
	}
}

// inverse undoes a conversion: the value in the source unit whose conversion is v.
func (c conversion) inverse(v float64) float64 {
	v -= c.post
	if c.divide {
		v *= c.factor
	} else {
		v /= c.factor
	}
	return v - c.pre
}

// TestConversionsRoundTrip: for every conversion of every row, at the ends of the row's range (the
// source value converting to 0 when that is non-negative, and to max) and in between, converting,
// decoding and converting back lands within half a unit of the last kept digit, scaled back to the
// source unit.
func TestConversionsRoundTrip(t *testing.T) {
	n := 0
	for code, e := range loincTable {
		mx, _ := strconv.ParseFloat(e.max, 64)
		step := 1 / math.Pow10(e.Scale)
		for src, c := range e.from {
			var xs []float64
			for _, v := range []float64{0, step, 1, mx / 3, mx - step, mx} {
				if x := c.inverse(v); x >= 0 && v >= 0 {
					xs = append(xs, x)
				}
			}
			for _, x := range xs {
				n++
				f, err := Quantity(code, x, src)
				if err != nil {
					t.Errorf("%s: Quantity(%v %s): %v", code, x, src, err)
					continue
				}
				v, err := Float(code, f)
				if err != nil {
					t.Fatal(err)
				}
				back := c.inverse(v)
				tol := math.Abs(c.inverse(v+step/2)-back) * (1 + 1e-9)
				if d := math.Abs(back - x); d > tol+1e-12*math.Abs(x) {
					t.Errorf("%s: %v %s -> %d -> %v %s -> %v %s (off by %g, tolerance %g)", code, x, src, f, v, e.Unit, back, src, d, tol)
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d conversions checked", n)
	}
}

// TestConversionValues checks conversions of the table against values computed by hand, so a
// wrong factor in the CSV fails here and not only in review.
func TestConversionValues(t *testing.T) {
	for _, tc := range []struct {
		loinc string
		value float64
		unit  string
		want  uint64
	}{
		{"4548-4", 53, "mmol/mol", 700}, // 53 × 0.09148 + 2.152 = 7.00044 %
		{"2345-7", 5.5, "mmol/L", 991},  // 99.0858 mg/dL
		{"2160-0", 88.42, "umol/L", 100},
		{"2093-3", 5.2, "mmol/L", 2011},
		{"2571-8", 1.7, "mmol/L", 1506},
		{"29463-7", 100, "lb", 4536},
		{"8302-2", 70, "in", 1778},
		{"718-7", 135, "g/L", 135},
		{"8480-6", 16, "kPa", 120},        // 120.00992 mm[Hg]
		{"8310-5", 98.6, "[degF]", 37000}, // (98.6 - 32) / 1.8 = 37.000 °C at scale 3
		{"8310-5", 212, "degF", 100000},
		{"8331-1", 37.2, "°C", 37200},
		{"8331-1", 32, "[degF]", 0},
		{"1742-6", 1, "ukat/L", 600000}, // 60 U/L at scale 4
		{"1742-6", 35, "IU/L", 350000},
		{"6768-6", 35, "[iU]/L", 350000},
		{"1975-2", 17.1, "umol/L", 100000}, // 1 mg/dL at scale 5
		{"1988-5", 1, "mg/dL", 100000},     // 10 mg/L at scale 4
		{"2019-8", 5.3, "kPa", 39753},      // 39.753286 mm[Hg]
		{"6690-2", 7.5, "10*9/L", 75000},
		{"6690-2", 7.5, "K/uL", 75000},
		{"789-8", 4.5, "10^12/L", 45000},
		{"4544-3", 0.45, "L/L", 45000},
		{"14959-1", 3, "mg/mmol", 265200}, // 26.52 mg/g at scale 4
		{"17861-6", 2.5, "mmol/L", 100200},
		{"17861-6", 5, "mEq/L", 100200},
		{"19123-9", 1, "mmol/L", 24310},
		{"3094-0", 5, "mmol/L", 140050},
		{"3024-7", 12.87, "pmol/L", 100000},
		{"3016-3", 2.5, "uIU/mL", 250000},
		{"2777-1", 1, "mmol/L", 30970},
		{"2498-4", 20, "umol/L", 111700},
		{"32693-4", 9.008, "mg/dL", 100000},
		{"48065-7", 500, "ng/mL", 50000}, // 0.5 ug/mL at scale 5
		{"89579-7", 0.04, "ng/mL", 400000},
		{"89579-7", 14, "pg/mL", 140000},
		{"29463-7", 3500, "g", 350},
		{"33756-8", 1.2, "cm", 120000},
		{"33728-7", 12, "mm", 120000},
		{"10834-0", 25, "g/L", 25000},
		{"24467-3", 0.5, "10*6/L", 1}, // half away from zero
		// spellings of the canonical unit for one code
		{"33914-3", 60, "mL/min", 600},
		{"33914-3", 60, " mL/min ", 600},
		{"98979-8", 60, "ml/min", 600},
		{"5811-5", 1.015, "{nominal}", 10150},
		{"75443-2", 1, "{nominal}", 1},
		{"71956-7", 12.5, "units", 125000},
		{"6206-7", 0.35, "kU_A/L", 350},
		{"63586-2", 52000, "{USD}/a", 52000},
		{"72106-8", 24, "(score)", 240000},
		{"8867-4", 72, "bpm", 72000},
		{"85343-2", 4, "#", 40000},
		{"5803-2", 6.5, "pH", 65000},
		{"3173-2", 30, "sec", 30000},
		{"98498-9", 0.3, "{logMAR}", 30000},
		{"2276-4", 150, "µg/L", 150000},
	} {
		got, err := Quantity(tc.loinc, tc.value, tc.unit)
		if err != nil || got != tc.want {
			t.Errorf("Quantity(%s, %v, %q) = %d, %v; want %d", tc.loinc, tc.value, tc.unit, got, err, tc.want)
		}
	}
}

// TestPerCodeSpellings: a spelling that means the canonical unit for one code is refused for
// every other code.
func TestPerCodeSpellings(t *testing.T) {
	for _, tc := range []struct{ loinc, unit string }{
		{"8867-4", "mL/min"}, // eGFR's spelling, not a heart rate's
		{"4548-4", "units"},  // a functional-status score's spelling
		{"8867-4", "{nominal}"},
		{"2157-6", "kU_A/L"}, // allergen units are not enzyme units
		{"20447-9", "{USD}/a"},
		{"8480-6", "mL/min"},
		{"2160-0", "ml/min"},
	} {
		if _, err := Quantity(tc.loinc, 1, tc.unit); !errors.Is(err, ErrUnknownUnit) {
			t.Errorf("Quantity(%s, 1, %q): %v; want ErrUnknownUnit", tc.loinc, tc.unit, err)
		}
	}
}

// TestSyntheaUnits: every unit with which Synthea writes a numeric value of a code in the table
// converts, and the values its module states give (low and high) encode.
func TestSyntheaUnits(t *testing.T) {
	f, err := os.Open("testdata/synthea_units.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, rec := range recs[1:] {
		code, unit := rec[0], rec[1]
		codes[code] = true
		e, ok := loincTable[code]
		if !ok {
			t.Errorf("Synthea's %s is not in the table", code)
			continue
		}
		if _, ok := e.ucum(unit); !ok {
			t.Errorf("Synthea's %s in %q (%s): the unit does not convert", code, unit, rec[4])
		}
		var vals []float64
		for _, s := range rec[2:4] {
			if s != "" {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatal(err)
				}
				vals = append(vals, v)
			}
		}
		for _, v := range vals {
			if _, err := Quantity(code, v, unit); err != nil {
				t.Errorf("Synthea's %s %v %q (%s): %v", code, v, unit, rec[4], err)
			}
		}
	}
	if len(codes) != 212 {
		t.Errorf("%d Synthea codes; want 212", len(codes))
	}
}

// TestLOINCTableRejects: a malformed table is refused with a message naming the fault (so a bad
// edit of the shipped CSV panics at init, not at signing time).
func TestLOINCTableRejects(t *testing.T) {
	const head = "# comment\n" + loincHeader + "\n"
	// row is a valid row with the given columns (index, value, index, value ...) replaced.
	row := func(set ...any) string {
		f := []string{"4548-4", "HbA1c", "%", "2", "30", "", "mmol/mol=x*0.09148+2.152", "test"}
		for i := 0; i < len(set); i += 2 {
			f[set[i].(int)] = set[i+1].(string)
		}
		return strings.Join(f, ",") + "\n"
	}
	const loinc, name, unit, scale, max, aliases, conversions, source = 0, 1, 2, 3, 4, 5, 6, 7
	for _, tc := range []struct {
		name   string
		data   string
		global map[string]string
		want   string
	}{
		{"no header", "", nil, "header"},
		{"wrong header", "loinc,name,unit,scale\n", nil, "header"},
		{"no rows", head, nil, "no rows"},
		{"too few fields", head + "4548-4,HbA1c,%,2\n", nil, "wrong number of fields"},
		{"check digit", head + row(loinc, "4548-5"), nil, "check digit"},
		{"not a code", head + row(loinc, "4548"), nil, "malformed"},
		{"code not canonical", head + row(loinc, "04548-4"), nil, "leading zero"},
		{"repeated", head + row() + row(), nil, "listed twice"},
		{"no name", head + row(name, ""), nil, "required"},
		{"no unit", head + row(unit, ""), nil, "required"},
		{"no source", head + row(source, ""), nil, "required"},
		{"spaces", head + row(unit, " %"), nil, "surrounding spaces"},
		{"scale too large", head + row(scale, "10"), nil, "scale"},
		{"scale negative", head + row(scale, "-1"), nil, "scale"},
		{"scale not canonical", head + row(scale, "02"), nil, "scale"},
		{"max overflows", head + row(max, "42949673"), nil, "max"},
		{"max zero", head + row(max, "0"), nil, "max"},
		{"max negative", head + row(max, "-1"), nil, "max"},
		{"max not a number", head + row(max, "lots"), nil, "max"},
		{"alias is the unit", head + row(aliases, "%"), nil, "alias"},
		{"alias repeated", head + row(aliases, "pct;pct"), nil, "alias"},
		{"empty alias", head + row(aliases, "pct;"), nil, "alias"},
		{"conversion without =", head + row(conversions, "mmol/mol"), nil, "unit=expression"},
		{"conversion from the unit", head + row(conversions, "%=x*1"), nil, "unit=expression"},
		{"conversion from an alias", head + row(aliases, "pct", conversions, "pct=x*1"), nil, "unit=expression"},
		{"valid", head + row(aliases, "pct", conversions, "g=(x-1)/2"), nil, ""},
		{"conversion repeated", head + row(conversions, "g=x*1;g=x*2"), nil, "repeated"},
		{"conversion syntax", head + row(conversions, "g=2*x"), nil, "want x*F"},
		{"conversion exponent", head + row(conversions, "g=x*1e3"), nil, "want x*F"},
		{"conversion negative factor", head + row(conversions, "g=x*-1"), nil, "want x*F"},
		{"conversion factor 0", head + row(conversions, "g=x*0"), nil, "factor 0"},
		{"conversion two offsets", head + row(conversions, "g=(x-1)*2+3"), nil, "not both"},
		{"global alias is a table unit", head + row(), map[string]string{"%": "mmol/mol"}, "is a unit of the table"},
		{"global alias is a per-code alias", head + row(aliases, "pct"), map[string]string{"pct": "%"}, "also an alias"},
		{"global alias names no unit", head + row(), map[string]string{"mmol/l": "mmol/L"}, "no row uses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLOINCTable(tc.data, tc.global)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, errTable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if !panics(func() { mustParseLOINCTable(head, nil) }) {
		t.Error("mustParseLOINCTable accepted a table without rows")
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}

// TestConversionGrammar: each form of the grammar computes what it says.
func TestConversionGrammar(t *testing.T) {
	for _, tc := range []struct {
		expr string
		x    float64
		want float64
	}{
		{"x*2", 3, 6},
		{"x/4", 3, 0.75},
		{"x*2+1", 3, 7},
		{"x*2-1", 3, 5},
		{"x/2+1", 3, 2.5},
		{"x/2-1", 3, 0.5},
		{"(x+1)*2", 3, 8},
		{"(x-1)*2", 3, 4},
		{"(x+1)/2", 3, 2},
		{"(x-32)/1.8", 212, 100},
		{"x*0.09148+2.152", 53, 53*0.09148 + 2.152},
	} {
		c, err := parseConversion(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := c.apply(tc.x); got != tc.want {
			t.Errorf("%s at %v = %v, want %v", tc.expr, tc.x, got, tc.want)
		}
		if back := c.inverse(c.apply(tc.x)); math.Abs(back-tc.x) > 1e-12 {
			t.Errorf("%s: inverse(%v) = %v", tc.expr, c.apply(tc.x), back)
		}
	}
}
