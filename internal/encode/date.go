package encode

import (
	"fmt"
	"time"
)

// DateBits is the width in bits of an encoded date: every value Date returns
// is < 2^DateBits (MaxDate = 73048 < 131072).
const DateBits = 17

// MaxDate is the encoding of 2099-12-31, the largest date Date accepts.
// The smallest, 1900-01-01, encodes as 0.
const MaxDate = 73048

// dateLayout is the only accepted date format.
const dateLayout = "2006-01-02"

// epoch is day 0 of the date encoding.
var epoch = time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)

// Date encodes a calendar date written strictly as "YYYY-MM-DD" (four-digit
// year, two-digit month and day, a real Gregorian date) as the number of days
// since 1900-01-01. The result is in [0, MaxDate] and preserves order:
// an earlier date gives a smaller number. Dates before 1900-01-01 or after
// 2099-12-31 are errors wrapping ErrRange; anything else malformed wraps ErrSyntax.
func Date(s string) (uint64, error) {
	if !dateShape(s) {
		return 0, fmt.Errorf("encode: date %s: %w: want YYYY-MM-DD", quote(s), ErrSyntax)
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return 0, fmt.Errorf("encode: date %s: %w: not a calendar date", quote(s), ErrSyntax)
	}
	d, err := days(t)
	if err != nil {
		return 0, fmt.Errorf("encode: date %s: %w", quote(s), err)
	}
	return d, nil
}

// DateOf encodes the UTC calendar date of t exactly as Date encodes its
// "YYYY-MM-DD" form; the time of day is ignored. Dates outside
// 1900-01-01..2099-12-31 are errors wrapping ErrRange.
func DateOf(t time.Time) (uint64, error) {
	y, m, dd := t.UTC().Date()
	day := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
	d, err := days(day)
	if err != nil {
		return 0, fmt.Errorf("encode: date %s: %w", day.Format(dateLayout), err)
	}
	return d, nil
}

// DateString is the inverse of Date: for every d in [0, MaxDate] it returns
// the "YYYY-MM-DD" string s with Date(s) == d. It never panics: a d above
// MaxDate but below 2^DateBits is rendered as the (proleptic Gregorian) date
// it would denote, which Date rejects, and a larger d as "invalid-date(d)".
func DateString(d uint64) string {
	if d >= 1<<DateBits {
		return fmt.Sprintf("invalid-date(%d)", d)
	}
	return epoch.AddDate(0, 0, int(d)).Format(dateLayout)
}

// days returns the number of days from epoch to the UTC midnight t.
func days(t time.Time) (uint64, error) {
	n := (t.Unix() - epoch.Unix()) / 86400
	if t.Before(epoch) || n > MaxDate {
		return 0, fmt.Errorf("%w: want 1900-01-01..2099-12-31", ErrRange)
	}
	return uint64(n), nil
}

// dateShape reports whether s is exactly ten bytes of the form DDDD-DD-DD.
func dateShape(s string) bool {
	if len(s) != len(dateLayout) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 4 || i == 7 {
			if s[i] != '-' {
				return false
			}
		} else if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
