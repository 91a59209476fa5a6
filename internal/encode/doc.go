// Package encode holds the fixed, documented encodings of health data into
// unsigned integers that the circuits compare.
//
// Every encoding is deterministic, total on its documented domain, and has an
// inverse that is tested both ways:
//
//   - dates: days since 1900-01-01 (Date, DateString), DateBits wide;
//   - ICD-10-CM and X12 service type codes: order-preserving base-37 integers
//     (ICD10, X12), so lexicographic code order equals integer order and a
//     code family (a prefix such as "E11" or a block such as "E08-E13") is one
//     closed integer interval (ICD10Family, X12Family);
//   - LOINC: the code's digits without the hyphen, check digit included (LOINC);
//   - RxNorm and SNOMED CT: their integer concept ids (RxNorm, SNOMED);
//   - lab values: fixed point in the canonical UCUM unit of the LOINC code,
//     times 10^Scale (Quantity, Fixed, Float, CanonicalUnit); the canonical
//     units, scales, unit spellings and conversions are the embedded table
//     loinc_units.csv, whose header comments give its sources.
//
// Errors wrap one of the sentinel errors below (test with errors.Is), start
// with "encode:", and quote the offending input (truncated if very long).
// The package has no mutable state and is safe for concurrent use.
package encode

import (
	"errors"
	"strconv"
)

// Sentinel errors wrapped by every error this package returns.
var (
	// ErrSyntax reports an input that does not have the documented format.
	ErrSyntax = errors.New("malformed")
	// ErrRange reports a well-formed input outside the encodable range.
	ErrRange = errors.New("out of range")
	// ErrCheckDigit reports a LOINC code whose Mod 10 check digit is wrong.
	ErrCheckDigit = errors.New("wrong check digit")
	// ErrUnknownLOINC reports a LOINC code with no entry in the canonical unit table.
	ErrUnknownLOINC = errors.New("no canonical unit known for LOINC code")
	// ErrUnknownUnit reports a unit that is neither the canonical unit of a
	// LOINC code nor a unit with a known conversion to it.
	ErrUnknownUnit = errors.New("unknown unit")
)

// maxQuote bounds how much of an input is echoed in an error message.
const maxQuote = 32

// quote returns s quoted for an error message, truncated to maxQuote bytes.
func quote(s string) string {
	if len(s) > maxQuote {
		return strconv.Quote(s[:maxQuote]) + "..."
	}
	return strconv.Quote(s)
}
