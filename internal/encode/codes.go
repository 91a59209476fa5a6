package encode

import (
	"fmt"
	"strings"
)

// Base-37 alphabet shared by ICD-10-CM and X12: pad = 0 < '0'..'9' = 1..10 <
// 'A'..'Z' = 11..36. Codes are padded on the right with pad (for an encoding
// or a family's lower bound) or with 'Z' (a family's upper bound) to a fixed
// width and read as a base-37 number, most significant character first, so
// integer order equals lexicographic order of the unpadded codes.
const (
	base37  = 37
	padZ    = 36 // digit of 'Z', the largest character
	icdLen  = 7  // ICD-10-CM characters, without the dot
	x12Len  = 2  // X12 service type characters
	icdSpan = base37 * base37 * base37 * base37 * base37 * base37 * base37
	x12Span = base37 * base37
)

// ICD10Bits is the width in bits of an encoded ICD-10-CM code: every value
// ICD10 or ICD10Family returns is < 37^7 < 2^ICD10Bits.
const ICD10Bits = 40

// X12Bits is the width in bits of an encoded X12 service type code: every
// value X12 or X12Family returns is < 37^2 < 2^X12Bits.
const X12Bits = 11

// digit37 maps an upper-case ASCII letter or digit to its base-37 digit.
func digit37(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c-'0') + 1, true
	case c >= 'A' && c <= 'Z':
		return uint64(c-'A') + 11, true
	}
	return 0, false
}

// char37 is the inverse of digit37 for d in 1..36.
func char37(d uint64) byte {
	if d <= 10 {
		return byte('0' + d - 1)
	}
	return byte('A' + d - 11)
}

// pack37 reads s (validated upper-case alphanumerics, len(s) <= width),
// right-padded to width with the digit pad, as a base-37 number.
func pack37(s string, width int, pad uint64) uint64 {
	var v uint64
	for i := 0; i < width; i++ {
		d := pad
		if i < len(s) {
			d, _ = digit37(s[i])
		}
		v = v*base37 + d
	}
	return v
}

// unpack37 is the inverse of pack37 with pad 0 for v < 37^width: it returns
// the characters before the first pad, or false if a non-pad digit follows a pad.
func unpack37(v uint64, width int) (string, bool) {
	ds := make([]uint64, width)
	for i := width - 1; i >= 0; i-- {
		ds[i] = v % base37
		v /= base37
	}
	var b strings.Builder
	ended := false
	for _, d := range ds {
		if d == 0 {
			ended = true
			continue
		}
		if ended {
			return "", false
		}
		b.WriteByte(char37(d))
	}
	return b.String(), true
}

// upperAlnum upper-cases ASCII letters in s and reports whether every byte is
// an ASCII letter or digit. Non-ASCII input is rejected, never case-folded.
func upperAlnum(s string) (string, bool) {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	return string(b), true
}

// icdNormal validates an ICD-10-CM code and returns it upper-cased without the dot.
func icdNormal(code string) (string, error) {
	s := code
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if i != 3 {
			return "", fmt.Errorf("ICD-10 code %s: %w: a dot may only follow the 3rd character", quote(code), ErrSyntax)
		}
		if i == len(s)-1 {
			return "", fmt.Errorf("ICD-10 code %s: %w: nothing after the dot", quote(code), ErrSyntax)
		}
		s = s[:3] + s[4:]
	}
	if len(s) < 3 || len(s) > icdLen {
		return "", fmt.Errorf("ICD-10 code %s: %w: want 3 to 7 characters besides the dot", quote(code), ErrSyntax)
	}
	u, ok := upperAlnum(s)
	if !ok {
		return "", fmt.Errorf("ICD-10 code %s: %w: only letters, digits and one dot allowed", quote(code), ErrSyntax)
	}
	if u[0] < 'A' || u[0] > 'Z' {
		return "", fmt.Errorf("ICD-10 code %s: %w: first character must be a letter", quote(code), ErrSyntax)
	}
	if u[1] < '0' || u[1] > '9' {
		return "", fmt.Errorf("ICD-10 code %s: %w: second character must be a digit", quote(code), ErrSyntax)
	}
	return u, nil
}

// icdDotted renders a normalised (dot-less) ICD-10-CM code with its dot.
func icdDotted(s string) string {
	if len(s) > 3 {
		return s[:3] + "." + s[3:]
	}
	return s
}

// ICD10 encodes an ICD-10-CM code as an order-preserving integer < 2^ICD10Bits.
// Accepted: a letter, a digit, a letter or digit, then up to four letters or
// digits, with at most one dot, only directly after the 3rd character
// ("E11.9", "E119", "s72.001a"); lower case is upper-cased, nothing else is
// normalised. Codes that differ only in the dot or in case encode equally;
// for other codes a < b as integers exactly when the dot-less upper-case
// strings compare a < b. Malformed codes are errors wrapping ErrSyntax.
func ICD10(code string) (uint64, error) {
	s, err := icdNormal(code)
	if err != nil {
		return 0, fmt.Errorf("encode: %w", err)
	}
	return pack37(s, icdLen, 0), nil
}

// ICD10String is the inverse of ICD10: for v = ICD10(c) it returns the
// canonical form of c (upper case, with the dot after the 3rd character when
// longer than 3, e.g. "E11.9"), and ICD10 of the result is v again. Any v that
// no valid code encodes to is an error wrapping ErrRange.
func ICD10String(v uint64) (string, error) {
	if v >= icdSpan {
		return "", fmt.Errorf("encode: ICD-10 value %d: %w: not below 37^7", v, ErrRange)
	}
	s, ok := unpack37(v, icdLen)
	if !ok {
		return "", fmt.Errorf("encode: ICD-10 value %d: %w: padding inside the code", v, ErrRange)
	}
	if _, err := icdNormal(s); err != nil {
		return "", fmt.Errorf("encode: ICD-10 value %d: %w: decodes to %s, not a valid code", v, ErrRange, quote(s))
	}
	return icdDotted(s), nil
}

// ICD10Family returns the closed interval [lo, hi] of encodings that make up
// an ICD-10-CM code family, so that for every valid code c, c is in the
// family exactly when lo <= ICD10(c) <= hi. A family is either one code
// ("E11", "E11.9"), meaning the code and every longer code it prefixes
// (lo pads it with pad, hi with 'Z'), or a block range "A-B" of two codes
// ("E08-E13"), meaning every code from A through B and everything B prefixes
// (lo from A, hi from B). An en dash is accepted in place of the hyphen.
// Malformed codes wrap ErrSyntax; a range with lo > hi wraps ErrRange.
func ICD10Family(family string) (lo, hi uint64, err error) {
	a, b, isRange := cutRange(family)
	sa, err := icdNormal(a)
	if err != nil {
		return 0, 0, fmt.Errorf("encode: ICD-10 family %s: %w", quote(family), err)
	}
	sb := sa
	if isRange {
		if sb, err = icdNormal(b); err != nil {
			return 0, 0, fmt.Errorf("encode: ICD-10 family %s: %w", quote(family), err)
		}
	}
	lo, hi = pack37(sa, icdLen, 0), pack37(sb, icdLen, padZ)
	if lo > hi {
		return 0, 0, fmt.Errorf("encode: ICD-10 family %s: %w: range start after its end", quote(family), ErrRange)
	}
	return lo, hi, nil
}

// cutRange splits "A-B" (or "A–B" with an en dash) into A and B.
func cutRange(s string) (a, b string, ok bool) {
	if a, b, ok = strings.Cut(s, "-"); ok {
		return a, b, true
	}
	return strings.Cut(s, "\u2013")
}

// x12Normal validates an X12 service type code and returns it upper-cased.
func x12Normal(code string) (string, error) {
	if len(code) < 1 || len(code) > x12Len {
		return "", fmt.Errorf("X12 service type %s: %w: want 1 or 2 characters", quote(code), ErrSyntax)
	}
	u, ok := upperAlnum(code)
	if !ok {
		return "", fmt.Errorf("X12 service type %s: %w: only letters and digits allowed", quote(code), ErrSyntax)
	}
	return u, nil
}

// X12 encodes an X12 service type code (one or two letters or digits, e.g.
// "1", "30", "AL", "MH"; lower case is upper-cased) as an order-preserving
// integer < 2^X12Bits: a < b as integers exactly when the upper-case codes
// compare a < b as strings (so "1" < "10" < "2" < "A"). Malformed codes wrap ErrSyntax.
func X12(code string) (uint64, error) {
	s, err := x12Normal(code)
	if err != nil {
		return 0, fmt.Errorf("encode: %w", err)
	}
	return pack37(s, x12Len, 0), nil
}

// X12String is the inverse of X12: for v = X12(c) it returns c upper-cased,
// and X12 of the result is v again. Any v that no code encodes to is an error
// wrapping ErrRange.
func X12String(v uint64) (string, error) {
	if v >= x12Span {
		return "", fmt.Errorf("encode: X12 value %d: %w: not below 37^2", v, ErrRange)
	}
	s, ok := unpack37(v, x12Len)
	if !ok || s == "" {
		return "", fmt.Errorf("encode: X12 value %d: %w: not a service type code", v, ErrRange)
	}
	return s, nil
}

// X12Family returns the closed interval [lo, hi] of encodings of an X12
// service type family: an exact code ("30") gives [X12("30"), X12("30")]; a
// range "A-B" ("A0-A9") gives [X12(A), X12(B)], which contains exactly the
// codes that sort from A through B as strings (codes, not prefixes: "1-3"
// contains "1", "10".."19", "2", "20".."29" and "3" but not "30").
// Malformed codes wrap ErrSyntax; a range with lo > hi wraps ErrRange.
func X12Family(family string) (lo, hi uint64, err error) {
	a, b, isRange := cutRange(family)
	if !isRange {
		b = a
	}
	sa, err := x12Normal(a)
	if err != nil {
		return 0, 0, fmt.Errorf("encode: X12 family %s: %w", quote(family), err)
	}
	sb, err := x12Normal(b)
	if err != nil {
		return 0, 0, fmt.Errorf("encode: X12 family %s: %w", quote(family), err)
	}
	lo, hi = pack37(sa, x12Len, 0), pack37(sb, x12Len, 0)
	if lo > hi {
		return 0, 0, fmt.Errorf("encode: X12 family %s: %w: range start after its end", quote(family), ErrRange)
	}
	return lo, hi, nil
}
