package encode

import (
	"fmt"
	"strconv"
)

// LOINCBits is the width in bits of an encoded LOINC code: at most eight
// digits (seven before the hyphen and the check digit), 99999999 < 2^LOINCBits.
const LOINCBits = 27

// RxNormBits is the width in bits of an encoded RxNorm concept id: RxNorm
// accepts ids in [1, 2^RxNormBits - 1].
const RxNormBits = 32

// maxSNOMEDDigits bounds a SNOMED CT identifier (SCTIDs are 6 to 18 digits).
const maxSNOMEDDigits = 18

// LOINC encodes a LOINC code "N-C" as the decimal integer of its digits with
// the hyphen removed ("4548-4" -> 45484), which is < 2^LOINCBits. N is 1 to 7
// digits without a leading zero, C the single LOINC Mod 10 check digit, which
// must be correct (errors wrap ErrCheckDigit); other malformed codes wrap ErrSyntax.
func LOINC(code string) (uint64, error) {
	n := len(code)
	if n < 3 || n > 9 || code[n-2] != '-' || !allDigits(code[:n-2]) || !allDigits(code[n-1:]) {
		return 0, fmt.Errorf("encode: LOINC code %s: %w: want 1 to 7 digits, '-', check digit", quote(code), ErrSyntax)
	}
	if code[0] == '0' {
		return 0, fmt.Errorf("encode: LOINC code %s: %w: leading zero", quote(code), ErrSyntax)
	}
	body, check := code[:n-2], code[n-1]-'0'
	if want := loincCheck(body); check != want {
		return 0, fmt.Errorf("encode: LOINC code %s: %w: want %d", quote(code), ErrCheckDigit, want)
	}
	v, _ := strconv.ParseUint(body, 10, 64) // at most 7 digits, cannot fail
	return v*10 + uint64(check), nil
}

// LOINCString is the inverse of LOINC: for v = LOINC(c) it returns c.
// For any other v it renders v/10 "-" v%10 without validating the check digit.
func LOINCString(v uint64) string {
	return strconv.FormatUint(v/10, 10) + "-" + strconv.FormatUint(v%10, 10)
}

// loincCheck computes the LOINC Mod 10 check digit of a digit string: from
// the right, every digit in an odd position is doubled and its decimal
// digits summed, the rest are added as they are; the check digit brings the
// total to a multiple of ten. (This equals the published algorithm, which
// doubles the number formed by the odd-position digits and sums its digits.)
func loincCheck(body string) byte {
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte((10 - sum%10) % 10)
}

// RxNorm encodes an RxNorm concept id (RXCUI), a decimal string without sign
// or leading zeros, as its integer value, which must be in [1, 2^RxNormBits-1].
// Malformed ids wrap ErrSyntax, ids that are too large wrap ErrRange.
func RxNorm(code string) (uint64, error) {
	v, err := positiveID(code, 10)
	if err != nil {
		return 0, fmt.Errorf("encode: RxNorm id %s: %w", quote(code), err)
	}
	if v >= 1<<RxNormBits {
		return 0, fmt.Errorf("encode: RxNorm id %s: %w: not below 2^%d", quote(code), ErrRange, RxNormBits)
	}
	return v, nil
}

// SNOMED encodes a SNOMED CT identifier (SCTID), a decimal string of at most
// 18 digits without sign or leading zeros, as its integer value (> 0 and
// < 10^18 < 2^60). The Verhoeff check digit is not verified. Malformed ids
// wrap ErrSyntax, ids longer than 18 digits wrap ErrRange.
func SNOMED(code string) (uint64, error) {
	v, err := positiveID(code, maxSNOMEDDigits)
	if err != nil {
		return 0, fmt.Errorf("encode: SNOMED CT id %s: %w", quote(code), err)
	}
	return v, nil
}

// positiveID parses a canonical positive decimal of at most maxDigits digits.
func positiveID(code string, maxDigits int) (uint64, error) {
	if code == "" || !allDigits(code) {
		return 0, fmt.Errorf("%w: want decimal digits only", ErrSyntax)
	}
	if code[0] == '0' {
		return 0, fmt.Errorf("%w: zero or leading zero", ErrSyntax)
	}
	if len(code) > maxDigits {
		return 0, fmt.Errorf("%w: more than %d digits", ErrRange, maxDigits)
	}
	return strconv.ParseUint(code, 10, 64) // <= 18 digits, cannot fail
}

// allDigits reports whether s consists of ASCII digits only (true for "").
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
