package encode

import (
	"math"
	"strings"
	"testing"
)

// cmp3 returns -1, 0 or 1 as a <, ==, > b.
func cmp3(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FuzzDate checks that Date never panics, round-trips through DateString,
// stays within [0, MaxDate], preserves order, and that every d <= MaxDate
// round-trips the other way.
func FuzzDate(f *testing.F) {
	f.Add("1900-01-01", "2099-12-31", uint64(0))
	f.Add("2024-02-29", "2023-02-29", uint64(MaxDate))
	f.Add("1899-12-31", "2100-01-01", uint64(25567))
	f.Add("1970-01-01", "+970-01-01", uint64(1<<DateBits))
	f.Fuzz(func(t *testing.T, a, b string, d uint64) {
		va, erra := Date(a)
		vb, errb := Date(b)
		if erra == nil {
			if va > MaxDate || DateString(va) != a {
				t.Fatalf("Date(%q) = %d, DateString = %q", a, va, DateString(va))
			}
		}
		if erra == nil && errb == nil && cmp3(va, vb) != strings.Compare(a, b) {
			t.Fatalf("order: Date(%q) = %d, Date(%q) = %d", a, va, b, vb)
		}
		s := DateString(d)
		if d <= MaxDate {
			if v, err := Date(s); err != nil || v != d {
				t.Fatalf("Date(DateString(%d) = %q) = %d, %v", d, s, v, err)
			}
		} else if _, err := Date(s); err == nil {
			t.Fatalf("Date(DateString(%d) = %q) accepted", d, s)
		}
	})
}

// FuzzICD10 checks that ICD10, ICD10String and ICD10Family never panic, that
// valid codes round-trip to their canonical form, that integer order equals
// the string order of the dot-less upper-case codes, that a code lies in the
// family of its 3-character category, and that every decodable value re-encodes to itself.
func FuzzICD10(f *testing.F) {
	f.Add("E11.9", "E11", uint64(0))
	f.Add("e119", "E08-E13", uint64(38628838901))
	f.Add("S72.001A", "T36.0X1A", uint64(1<<40))
	f.Add("E11.", "E13-E08", uint64(94931877132))
	f.Fuzz(func(t *testing.T, a, b string, v uint64) {
		va, erra := ICD10(a)
		vb, errb := ICD10(b)
		if erra == nil {
			if va >= 1<<ICD10Bits {
				t.Fatalf("ICD10(%q) = %d too wide", a, va)
			}
			s, err := ICD10String(va)
			if err != nil || stripDot(s) != stripDot(a) {
				t.Fatalf("ICD10String(ICD10(%q) = %d) = %q, %v", a, va, s, err)
			}
			if again, err := ICD10(s); err != nil || again != va {
				t.Fatalf("ICD10(%q) = %d, %v; want %d", s, again, err, va)
			}
			lo, hi, err := ICD10Family(s[:3])
			if err != nil || va < lo || va > hi {
				t.Fatalf("%q not in family %q: [%d, %d], %v", a, s[:3], lo, hi, err)
			}
		}
		if erra == nil && errb == nil && cmp3(va, vb) != strings.Compare(stripDot(a), stripDot(b)) {
			t.Fatalf("order: ICD10(%q) = %d, ICD10(%q) = %d", a, va, b, vb)
		}
		if lo, hi, err := ICD10Family(b); err == nil {
			if lo > hi || hi >= 1<<ICD10Bits {
				t.Fatalf("ICD10Family(%q) = [%d, %d]", b, lo, hi)
			}
			// A code is in a single-code family exactly when the family is its prefix.
			if erra == nil && !strings.ContainsAny(b, "-\u2013") {
				in := va >= lo && va <= hi
				if want := strings.HasPrefix(stripDot(a), stripDot(b)); in != want {
					t.Fatalf("%q in family %q = %v; want %v", a, b, in, want)
				}
			}
		}
		if s, err := ICD10String(v); err == nil {
			if back, err := ICD10(s); err != nil || back != v {
				t.Fatalf("ICD10(ICD10String(%d) = %q) = %d, %v", v, s, back, err)
			}
		}
	})
}

// FuzzX12 checks that X12, X12String and X12Family never panic, that codes
// round-trip, that integer order equals string order, and that a range
// family holds exactly the codes between its ends.
func FuzzX12(f *testing.F) {
	f.Add("30", "A0-A9", uint64(0))
	f.Add("al", "1-3", uint64(76))
	f.Add("MH", "A9-A0", uint64(1369))
	f.Add("b", "al\u2013mh", uint64(75))
	f.Fuzz(func(t *testing.T, a, b string, v uint64) {
		va, erra := X12(a)
		vb, errb := X12(b)
		if erra == nil {
			if va >= 1<<X12Bits {
				t.Fatalf("X12(%q) = %d too wide", a, va)
			}
			if s, err := X12String(va); err != nil || s != strings.ToUpper(a) {
				t.Fatalf("X12String(X12(%q) = %d) = %q, %v", a, va, s, err)
			}
		}
		if erra == nil && errb == nil && cmp3(va, vb) != strings.Compare(strings.ToUpper(a), strings.ToUpper(b)) {
			t.Fatalf("order: X12(%q) = %d, X12(%q) = %d", a, va, b, vb)
		}
		if lo, hi, err := X12Family(b); err == nil && erra == nil {
			from, to, isRange := cutRange(strings.ToUpper(b))
			if !isRange {
				to = from
			}
			ua := strings.ToUpper(a)
			if in, want := va >= lo && va <= hi, ua >= from && ua <= to; in != want {
				t.Fatalf("%q in X12 family %q = %v; want %v", a, b, in, want)
			}
		}
		if s, err := X12String(v); err == nil {
			if back, err := X12(s); err != nil || back != v {
				t.Fatalf("X12(X12String(%d) = %q) = %d, %v", v, s, back, err)
			}
		}
	})
}

// FuzzQuantity checks that Quantity, Fixed and Float never panic, that Fixed
// is monotonic, that Fixed(Float(f)) == f, that the canonical unit through
// Quantity equals Fixed, and that LOINC round-trips.
func FuzzQuantity(f *testing.F) {
	f.Add(uint8(0), 7.5, 7.005, "%", uint64(750))
	f.Add(uint8(3), 5.5, 99.05, "mmol/L", uint64(1<<32-1))
	f.Add(uint8(7), 88.42, -1.0, "µmol/L", uint64(1<<32))
	f.Add(uint8(20), 42949672.95, 4294967295.0, "lb", uint64(0))
	known := KnownLOINC()
	f.Fuzz(func(t *testing.T, idx uint8, x, y float64, unit string, fx uint64) {
		c := known[int(idx)%len(known)]
		_, _ = Quantity(c.LOINC, x, unit)
		_, _ = Quantity(unit, x, c.Unit)
		_, _ = LOINC(unit)
		fxv, errx := Fixed(c.LOINC, x)
		fyv, erry := Fixed(c.LOINC, y)
		if errx == nil {
			if fxv > math.MaxUint32 {
				t.Fatalf("Fixed(%s, %v) = %d too wide", c.LOINC, x, fxv)
			}
			if q, err := Quantity(c.LOINC, x, c.Unit); err != nil || q != fxv {
				t.Fatalf("Quantity(%s, %v, %q) = %d, %v; Fixed = %d", c.LOINC, x, c.Unit, q, err, fxv)
			}
		}
		if errx == nil && erry == nil && x <= y && fxv > fyv {
			t.Fatalf("not monotonic: Fixed(%v) = %d > Fixed(%v) = %d", x, fxv, y, fyv)
		}
		if errx == nil && erry != nil && x >= y && !math.IsNaN(y) && y >= 0 {
			t.Fatalf("Fixed(%v) = %d accepted but smaller Fixed(%v) refused", x, fxv, y)
		}
		if v, err := Float(c.LOINC, fx); err == nil {
			if back, err := Fixed(c.LOINC, v); err != nil || back != fx {
				t.Fatalf("Fixed(%s, Float(%d) = %v) = %d, %v", c.LOINC, fx, v, back, err)
			}
		} else if fx <= math.MaxUint32 {
			t.Fatalf("Float(%s, %d): %v", c.LOINC, fx, err)
		}
		if v, err := LOINC(unit); err == nil && LOINCString(v) != unit {
			t.Fatalf("LOINCString(LOINC(%q) = %d) = %q", unit, v, LOINCString(v))
		}
	})
}
