package encode

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ValueBits is the width in bits of a fixed-point lab value: Quantity and
// Fixed return values in [0, 2^ValueBits - 1].
const ValueBits = 32

// maxFixed is the largest fixed-point value, 2^ValueBits - 1.
const maxFixed = 1<<ValueBits - 1

// Canonical describes how values of one LOINC code are encoded: as fixed
// point in the canonical UCUM unit, times 10^Scale.
type Canonical struct {
	// LOINC is the code, e.g. "4548-4".
	LOINC string
	// Name is the LOINC long common name (for documentation only).
	Name string
	// Unit is the canonical unit in UCUM syntax, e.g. "%" or "mL/min/{1.73_m2}".
	Unit string
	// Scale is the number of decimal places kept: encoded = round(value × 10^Scale).
	Scale int
}

// conversion maps a value in some unit to the canonical unit of a code.
type conversion func(float64) float64

// loincEntry is one row of the canonical unit table.
type loincEntry struct {
	Canonical
	from map[string]conversion // keyed by the UCUM spelling of the source unit
}

// Conversions. The factors are the documented ones of this package.
func hba1cFromIFCC(x float64) float64        { return x*0.09148 + 2.152 } // IFCC mmol/mol -> NGSP %
func glucoseFromMmol(x float64) float64      { return x * 18.0156 }
func creatinineFromUmol(x float64) float64   { return x / 88.42 }
func cholesterolFromMmol(x float64) float64  { return x * 38.67 }
func triglycerideFromMmol(x float64) float64 { return x * 88.57 }
func poundsToKg(x float64) float64           { return x * 0.45359237 }
func inchesToCm(x float64) float64           { return x * 2.54 }
func gPerLToGPerDL(x float64) float64        { return x / 10 }

// loincTable is the canonical unit table, keyed by LOINC code. Built once, never mutated.
var loincTable = func() map[string]loincEntry {
	const (
		pct     = "%"
		mgdl    = "mg/dL"
		mmolL   = "mmol/L"
		egfr    = "mL/min/{1.73_m2}"
		eGFRstr = "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula "
	)
	rows := []loincEntry{
		{Canonical{"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", pct, 2}, map[string]conversion{"mmol/mol": hba1cFromIFCC}},
		{Canonical{"17856-6", "Hemoglobin A1c/Hemoglobin.total in Blood by HPLC", pct, 2}, map[string]conversion{"mmol/mol": hba1cFromIFCC}},
		{Canonical{"2339-0", "Glucose [Mass/volume] in Blood", mgdl, 1}, map[string]conversion{mmolL: glucoseFromMmol}},
		{Canonical{"2345-7", "Glucose [Mass/volume] in Serum or Plasma", mgdl, 1}, map[string]conversion{mmolL: glucoseFromMmol}},
		{Canonical{"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", mgdl, 2}, map[string]conversion{"umol/L": creatinineFromUmol}},
		{Canonical{"33914-3", eGFRstr + "(MDRD)", egfr, 1}, nil},
		{Canonical{"48643-1", "Glomerular filtration rate/1.73 sq M.predicted among black population [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)", egfr, 1}, nil},
		{Canonical{"48642-3", "Glomerular filtration rate/1.73 sq M.predicted among non-black population [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)", egfr, 1}, nil},
		{Canonical{"62238-1", eGFRstr + "(CKD-EPI)", egfr, 1}, nil},
		{Canonical{"98979-8", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)", egfr, 1}, nil},
		{Canonical{"39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", 2}, nil},
		{Canonical{"29463-7", "Body weight", "kg", 2}, map[string]conversion{"[lb_av]": poundsToKg}},
		{Canonical{"8302-2", "Body height", "cm", 1}, map[string]conversion{"[in_i]": inchesToCm}},
		{Canonical{"8480-6", "Systolic blood pressure", "mm[Hg]", 0}, nil},
		{Canonical{"8462-4", "Diastolic blood pressure", "mm[Hg]", 0}, nil},
		{Canonical{"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", mgdl, 1}, map[string]conversion{mmolL: cholesterolFromMmol}},
		{Canonical{"18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", mgdl, 1}, map[string]conversion{mmolL: cholesterolFromMmol}},
		{Canonical{"2089-1", "Cholesterol in LDL [Mass/volume] in Serum or Plasma", mgdl, 1}, map[string]conversion{mmolL: cholesterolFromMmol}},
		{Canonical{"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", mgdl, 1}, map[string]conversion{mmolL: cholesterolFromMmol}},
		{Canonical{"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", mgdl, 1}, map[string]conversion{mmolL: triglycerideFromMmol}},
		{Canonical{"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 1}, map[string]conversion{"g/L": gPerLToGPerDL}},
	}
	m := make(map[string]loincEntry, len(rows))
	for _, r := range rows {
		m[r.LOINC] = r
	}
	return m
}()

// unitAliases maps every accepted spelling of a unit to its UCUM spelling.
// UCUM spellings map to themselves. Built once, never mutated.
var unitAliases = map[string]string{
	"%":                  "%",
	"mmol/mol":           "mmol/mol",
	"mg/dL":              "mg/dL",
	"mg/dl":              "mg/dL",
	"mmol/L":             "mmol/L",
	"mmol/l":             "mmol/L",
	"umol/L":             "umol/L",
	"umol/l":             "umol/L",
	"\u00b5mol/L":        "umol/L", // micro sign
	"\u00b5mol/l":        "umol/L",
	"\u03bcmol/L":        "umol/L", // Greek small letter mu
	"\u03bcmol/l":        "umol/L",
	"kg/m2":              "kg/m2",
	"kg/m^2":             "kg/m2",
	"kg/m\u00b2":         "kg/m2",
	"mm[Hg]":             "mm[Hg]",
	"mmHg":               "mm[Hg]",
	"mm Hg":              "mm[Hg]",
	"kg":                 "kg",
	"[lb_av]":            "[lb_av]",
	"lb":                 "[lb_av]",
	"lbs":                "[lb_av]",
	"cm":                 "cm",
	"[in_i]":             "[in_i]",
	"in":                 "[in_i]",
	"g/dL":               "g/dL",
	"g/dl":               "g/dL",
	"g/L":                "g/L",
	"g/l":                "g/L",
	"mL/min/{1.73_m2}":   "mL/min/{1.73_m2}",
	"mL/min/1.73m2":      "mL/min/{1.73_m2}",
	"mL/min/1.73 m2":     "mL/min/{1.73_m2}",
	"ml/min/1.73m2":      "mL/min/{1.73_m2}",
	"mL/min/1.73m\u00b2": "mL/min/{1.73_m2}",
	// eGFR is by definition normalised to 1.73 m² body surface; labs often
	// display it as plain "mL/min", which is accepted as the same unit.
	"mL/min": "mL/min/{1.73_m2}",
	"ml/min": "mL/min/{1.73_m2}",
}

// CanonicalUnit returns the canonical unit and scale of a LOINC code, and
// false if the code (written exactly as "NNNN-N") is not in the table.
func CanonicalUnit(loinc string) (Canonical, bool) {
	e, ok := loincTable[loinc]
	return e.Canonical, ok
}

// KnownLOINC returns every row of the canonical unit table, sorted by LOINC
// code as a string. The slice is a fresh copy the caller may modify.
func KnownLOINC() []Canonical {
	out := make([]Canonical, 0, len(loincTable))
	for _, e := range loincTable {
		out = append(out, e.Canonical)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LOINC < out[j].LOINC })
	return out
}

// units lists the canonical unit of e and the units it converts from, for error messages.
func (e loincEntry) units() string {
	from := make([]string, 0, len(e.from))
	for u := range e.from {
		from = append(from, strconv.Quote(u))
	}
	sort.Strings(from)
	return strings.Join(append([]string{strconv.Quote(e.Unit)}, from...), " or ")
}

// lookup returns the table entry of loinc or an error wrapping ErrUnknownLOINC.
func lookup(loinc string) (loincEntry, error) {
	e, ok := loincTable[loinc]
	if !ok {
		return loincEntry{}, fmt.Errorf("encode: LOINC code %s: %w", quote(loinc), ErrUnknownLOINC)
	}
	return e, nil
}

// Quantity converts value, measured in unit, to the fixed-point encoding of
// loinc: round(v × 10^Scale) where v is value in the code's canonical unit.
// The canonical unit (in UCUM or an accepted display spelling such as "mg/dl"
// or "mmHg"; surrounding spaces are ignored) needs no conversion; a unit with
// a known conversion for that code (e.g. "mmol/L" for glucose, "[lb_av]"/"lb"
// for body weight) is converted first; any other unit is an error wrapping
// ErrUnknownUnit that names the unit and the code. An unknown code wraps
// ErrUnknownLOINC. Negative, NaN or infinite values, and results above
// 2^ValueBits - 1, wrap ErrRange. Rounding is half away from zero on the
// shortest decimal form of v (so 7.005 % encodes as 701, not 700).
func Quantity(loinc string, value float64, unit string) (uint64, error) {
	e, err := lookup(loinc)
	if err != nil {
		return 0, err
	}
	if err := checkValue(value); err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %v %s: %w", loinc, value, quote(unit), err)
	}
	v, err := e.convert(loinc, value, unit)
	if err != nil {
		return 0, err
	}
	f, err := fixed(v, e.Scale)
	if err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %v %s: %w", loinc, value, quote(unit), err)
	}
	return f, nil
}

// Fixed encodes a value already in the canonical unit of loinc (as policy
// bounds are written) exactly as Quantity does with the canonical unit:
// round half away from zero of value × 10^Scale. Errors are as for Quantity.
// For every f in [0, 2^ValueBits-1], Fixed(loinc, Float(loinc, f)) == f.
func Fixed(loinc string, value float64) (uint64, error) {
	e, err := lookup(loinc)
	if err != nil {
		return 0, err
	}
	if err := checkValue(value); err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %v: %w", loinc, value, err)
	}
	f, err := fixed(value, e.Scale)
	if err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %v: %w", loinc, value, err)
	}
	return f, nil
}

// Float is the inverse of Fixed: it returns the float64 nearest to
// fixed / 10^Scale in the canonical unit of loinc. An unknown code wraps
// ErrUnknownLOINC; fixed above 2^ValueBits - 1 wraps ErrRange.
func Float(loinc string, fixed uint64) (float64, error) {
	e, err := lookup(loinc)
	if err != nil {
		return 0, err
	}
	if fixed > maxFixed {
		return 0, fmt.Errorf("encode: LOINC %s fixed value %d: %w: above 2^%d-1", loinc, fixed, ErrRange, ValueBits)
	}
	// Both operands are exact in float64, so the quotient is correctly rounded.
	return float64(fixed) / math.Pow10(e.Scale), nil
}

// Rounding says how a value with more decimals than a code's scale becomes fixed point.
type Rounding int

const (
	// RoundNearest rounds half away from zero: how an issuer encodes a measured value.
	RoundNearest Rounding = iota
	// RoundUp rounds towards +∞: how a policy's low bound is encoded, so it never admits a value
	// below the bound as written.
	RoundUp
	// RoundDown rounds towards 0: how a policy's high bound is encoded, so it never admits a
	// value above the bound as written.
	RoundDown
)

// FixedDecimal encodes a decimal number written in the canonical unit of loinc (as a policy's
// bound is written in JSON, e.g. "7.494" or "1.1e1") with the given rounding: RoundUp for a low
// bound and RoundDown for a high bound never widen the range ([7.494, 11.005] becomes [7.50,
// 11.00] at scale 2, so neither 7.49 nor 11.01 is admitted). The arithmetic is exact (no binary
// floating point). Negative values, values that are not decimal numbers and results above
// 2^ValueBits-1 wrap ErrRange or ErrSyntax.
func FixedDecimal(loinc, decimal string, round Rounding) (uint64, error) {
	e, err := lookup(loinc)
	if err != nil {
		return 0, err
	}
	f, err := fixedRat(decimal, e.Scale, round)
	if err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %s: %w", loinc, quote(decimal), err)
	}
	return f, nil
}

// QuantityBound is Quantity for a bound of a range: the value is converted to the canonical unit
// (as Quantity does) and then rounded as round says, on the shortest decimal form of the
// converted value. A criterion's "HbA1c ≥ 53 mmol/mol" becomes lo = ⌈6.99… %⌉ = 7.00 %.
func QuantityBound(loinc string, value float64, unit string, round Rounding) (uint64, error) {
	e, err := lookup(loinc)
	if err != nil {
		return 0, err
	}
	if err := checkValue(value); err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %v %s: %w", loinc, value, quote(unit), err)
	}
	v, err := e.convert(loinc, value, unit)
	if err != nil {
		return 0, err
	}
	f, err := fixedRat(strconv.FormatFloat(v, 'g', -1, 64), e.Scale, round)
	if err != nil {
		return 0, fmt.Errorf("encode: LOINC %s value %v %s: %w", loinc, value, quote(unit), err)
	}
	return f, nil
}

// convert converts value in unit to the canonical unit of the entry's code.
func (e loincEntry) convert(loinc string, value float64, unit string) (float64, error) {
	ucum, known := unitAliases[strings.TrimSpace(unit)]
	switch {
	case known && ucum == e.Unit:
		return value, nil
	case known && e.from[ucum] != nil:
		return e.from[ucum](value), nil
	}
	return 0, fmt.Errorf("encode: LOINC %s: unit %s: %w (want %s)", loinc, quote(unit), ErrUnknownUnit, e.units())
}

// decimalSyntax is a JSON number; group 1 is its exponent.
var decimalSyntax = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE]([+-]?[0-9]+))?$`)

// fixedRat returns decimal × 10^scale rounded as round says, exactly.
func fixedRat(decimal string, scale int, round Rounding) (uint64, error) {
	// JSON number syntax only, with a bounded exponent (big.Rat would accept fractions, and
	// would compute 10^exponent for any exponent it is given).
	m := decimalSyntax.FindStringSubmatch(decimal)
	if m == nil || len(decimal) > 64 {
		return 0, fmt.Errorf("%w: not a decimal number", ErrSyntax)
	}
	if m[1] != "" {
		if exp, err := strconv.Atoi(m[1]); err != nil || exp < -40 || exp > 40 {
			return 0, fmt.Errorf("%w: exponent out of range", ErrRange)
		}
	}
	r, ok := new(big.Rat).SetString(decimal)
	if !ok {
		return 0, fmt.Errorf("%w: not a decimal number", ErrSyntax)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("%w: negative", ErrRange)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		switch round {
		case RoundUp:
			q.Add(q, big.NewInt(1))
		case RoundNearest:
			if new(big.Int).Lsh(rem, 1).Cmp(r.Denom()) >= 0 {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	if !q.IsUint64() || q.Uint64() > maxFixed {
		return 0, fmt.Errorf("%w: above 2^%d-1 at scale %d", ErrRange, ValueBits, scale)
	}
	return q.Uint64(), nil
}

// checkValue rejects NaN, infinities and negative values (-0 is allowed).
func checkValue(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("%w: not a finite number", ErrRange)
	case v < 0:
		return fmt.Errorf("%w: negative", ErrRange)
	}
	return nil
}

// fixed rounds v >= 0 half away from zero to scale decimal places, working
// on the shortest decimal representation of v, and returns v × 10^scale.
func fixed(v float64, scale int) (uint64, error) {
	if err := checkValue(v); err != nil {
		return 0, err
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', -1, 64)
	ip, fp, _ := strings.Cut(s, ".")
	fp += strings.Repeat("0", scale+1)
	digits := strings.TrimLeft(ip+fp[:scale], "0")
	overflow := fmt.Errorf("%w: above 2^%d-1 at scale %d", ErrRange, ValueBits, scale)
	if len(digits) > 10 { // 2^32-1 has 10 digits
		return 0, overflow
	}
	var n uint64
	if digits != "" {
		n, _ = strconv.ParseUint(digits, 10, 64)
	}
	if fp[scale] >= '5' {
		n++
	}
	if n > maxFixed {
		return 0, overflow
	}
	return n, nil
}
