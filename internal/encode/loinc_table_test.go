package encode

import (
	"errors"
	"math"
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
	if len(m) != len(loincTable) || len(m) != 21 {
		t.Fatalf("%d rows parsed, %d at init; want 21", len(m), len(loincTable))
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
	if n < 10 {
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
		// spellings of the canonical unit for one code
		{"33914-3", 60, "mL/min", 600},
		{"33914-3", 60, " mL/min ", 600},
		{"98979-8", 60, "ml/min", 600},
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
		{"8480-6", "mL/min"}, // eGFR's spelling, not a blood pressure's
		{"2160-0", "ml/min"},
	} {
		if _, err := Quantity(tc.loinc, 1, tc.unit); !errors.Is(err, ErrUnknownUnit) {
			t.Errorf("Quantity(%s, 1, %q): %v; want ErrUnknownUnit", tc.loinc, tc.unit, err)
		}
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
