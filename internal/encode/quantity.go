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

// unitAliases maps spellings that mean one UCUM unit whatever the LOINC code (display forms such as
// "mg/dl", "mmHg" or "10^3/uL", micro signs) to that UCUM spelling. UCUM spellings the table uses
// are accepted as themselves and are not listed; spellings that mean a unit only for some codes
// (such as "mL/min" for eGFR) are per-code aliases in loinc_units.csv. parseLOINCTable checks that
// no spelling is both and that every alias names a unit the table uses. Built once, never mutated.
var unitAliases = map[string]string{
	"mg/dl":              "mg/dL",
	"mmol/l":             "mmol/L",
	"umol/l":             "umol/L",
	"\u00b5mol/L":        "umol/L", // micro sign
	"\u00b5mol/l":        "umol/L",
	"\u03bcmol/L":        "umol/L", // Greek small letter mu
	"\u03bcmol/l":        "umol/L",
	"kg/m^2":             "kg/m2",
	"kg/m\u00b2":         "kg/m2",
	"mmHg":               "mm[Hg]",
	"mm Hg":              "mm[Hg]",
	"lb":                 "[lb_av]",
	"lbs":                "[lb_av]",
	"in":                 "[in_i]",
	"g/dl":               "g/dL",
	"g/l":                "g/L",
	"mL/min/1.73m2":      "mL/min/{1.73_m2}",
	"mL/min/1.73 m2":     "mL/min/{1.73_m2}",
	"ml/min/1.73m2":      "mL/min/{1.73_m2}",
	"mL/min/1.73m\u00b2": "mL/min/{1.73_m2}",
	// cell counts
	"10^3/uL":    "10*3/uL",
	"K/uL":       "10*3/uL",
	"x10E3/uL":   "10*3/uL",
	"10^6/uL":    "10*6/uL",
	"M/uL":       "10*6/uL",
	"x10E6/uL":   "10*6/uL",
	"10^9/L":     "10*9/L",
	"10^12/L":    "10*12/L",
	"cells/uL":   "/uL",
	"{cells}/uL": "/uL",
	"fl":         "fL",
	// mass and substance concentrations
	"\u00b5g/L":  "ug/L",
	"\u03bcg/L":  "ug/L",
	"mcg/L":      "ug/L",
	"\u00b5g/dL": "ug/dL",
	"\u03bcg/dL": "ug/dL",
	"mcg/dL":     "ug/dL",
	"\u00b5g/mL": "ug/mL",
	"\u03bcg/mL": "ug/mL",
	"mcg/mL":     "ug/mL",
	"mg/l":       "mg/L",
	"ng/dl":      "ng/dL",
	"ng/ml":      "ng/mL",
	"ng/l":       "ng/L",
	"pg/ml":      "pg/mL",
	"pmol/l":     "pmol/L",
	"mEq/L":      "meq/L",
	"mEq/l":      "meq/L",
	"copies/mL":  "{copies}/mL",
	// enzyme and hormone units
	"IU/L":        "[IU]/L",
	"[iU]/L":      "[IU]/L",
	"mIU/L":       "m[IU]/L",
	"m[iU]/L":     "m[IU]/L",
	"uIU/mL":      "u[IU]/mL",
	"u[iU]/mL":    "u[IU]/mL",
	"\u00b5IU/mL": "u[IU]/mL",
	"\u03bcIU/mL": "u[IU]/mL",
	"\u00b5kat/L": "ukat/L",
	"\u03bckat/L": "ukat/L",
	// rates, temperatures, times, dimensionless
	"{beats}/min":   "/min",
	"beats/min":     "/min",
	"bpm":           "/min",
	"{breaths}/min": "/min",
	"breaths/min":   "/min",
	"\u00b0C":       "Cel",
	"degC":          "Cel",
	"\u00b0F":       "[degF]",
	"degF":          "[degF]",
	"sec":           "s",
	"/HPF":          "/[HPF]",
	"/hpf":          "/[HPF]",
	"pH":            "[pH]",
	"INR":           "{INR}",
	"{logMAR}":      "{logmar}",
	"#":             "{#}",
	"(score)":       "{score}",
}

// CanonicalUnit returns the canonical unit and scale of a LOINC code, and
// false if the code (written exactly as "NNNN-N") is not in the table. The
// table is loinc_units.csv, embedded at build time and checked at init: every
// code in it is a valid LOINC code, its Scale is in [0, 9], and the value it
// is sized for fits ValueBits at that scale. A row's unit and scale never
// change once published (that would change what signed values mean).
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
// The canonical unit (in UCUM, an accepted display spelling such as "mg/dl"
// or "mmHg", or a spelling accepted for that code only such as "mL/min" for
// eGFR; surrounding spaces are ignored) needs no conversion; a unit with a
// known conversion for that code (e.g. "mmol/L" for glucose, "[lb_av]"/"lb"
// for body weight, "[degF]" for body temperature) is converted first, by an
// affine, strictly increasing map; any other unit is an error wrapping
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
	if u, ok := e.ucum(strings.TrimSpace(unit)); ok {
		if u == e.Unit {
			return value, nil
		}
		return e.from[u].apply(value), nil
	}
	return 0, fmt.Errorf("encode: LOINC %s: unit %s: %w (want %s)", loinc, quote(unit), ErrUnknownUnit, e.units())
}

// ucum resolves a spelling of a unit for the entry's code: the canonical unit or a conversion
// source as written, a per-code alias of the canonical unit, or a global alias of either. ok is
// false for any other spelling.
func (e loincEntry) ucum(spelling string) (unit string, ok bool) {
	switch {
	case e.aliases[spelling]:
		return e.Unit, true
	case unitAliases[spelling] != "":
		spelling = unitAliases[spelling]
	}
	if _, conv := e.from[spelling]; conv || spelling == e.Unit {
		return spelling, true
	}
	return "", false
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
