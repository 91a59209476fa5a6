package encode

import (
	"errors"
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"1900-01-01", 0},
		{"1900-01-02", 1},
		{"1900-03-01", 59}, // 1900 is not a leap year
		{"1970-01-01", 25567},
		{"1976-01-16", 27773},
		{"2000-02-29", 36583},
		{"2024-02-29", 45349},
		{"2026-11-22", 46346},
		{"2099-12-31", MaxDate},
	}
	for _, tt := range tests {
		got, err := Date(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Date(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if back := DateString(got); back != tt.in {
			t.Errorf("DateString(%d) = %q; want %q", got, back, tt.in)
		}
	}
	if MaxDate >= 1<<DateBits {
		t.Fatalf("MaxDate %d does not fit in %d bits", MaxDate, DateBits)
	}
}

func TestDateRejects(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"1899-12-31", ErrRange},
		{"2100-01-01", ErrRange},
		{"0000-01-01", ErrRange},
		{"9999-12-31", ErrRange},
		{"2023-02-29", ErrSyntax},
		{"1900-02-29", ErrSyntax},
		{"2024-13-01", ErrSyntax},
		{"2024-00-10", ErrSyntax},
		{"2024-04-31", ErrSyntax},
		{"2024-1-01", ErrSyntax},
		{"2024-01-1", ErrSyntax},
		{"24-01-01", ErrSyntax},
		{"2024/01/01", ErrSyntax},
		{"2024-01-01T00:00:00Z", ErrSyntax},
		{" 2024-01-01", ErrSyntax},
		{"2024-01-01 ", ErrSyntax},
		{"+024-01-01", ErrSyntax},
		{"", ErrSyntax},
	}
	for _, tt := range tests {
		got, err := Date(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("Date(%q) = %d, %v; want error %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDateOf(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	tests := []struct {
		in   time.Time
		want uint64
		err  error
	}{
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0, nil},
		{time.Date(1970, 1, 1, 23, 59, 59, 999999999, time.UTC), 25567, nil},
		{time.Date(1969, 12, 31, 20, 0, 0, 0, est), 25567, nil}, // 01:00 UTC on 1970-01-01
		{time.Date(2099, 12, 31, 23, 59, 59, 0, time.UTC), MaxDate, nil},
		{time.Date(2099, 12, 31, 20, 0, 0, 0, est), 0, ErrRange}, // 2100-01-01 UTC
		{time.Date(1899, 12, 31, 23, 59, 59, 0, time.UTC), 0, ErrRange},
		{time.Time{}, 0, ErrRange},
	}
	for _, tt := range tests {
		got, err := DateOf(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("DateOf(%v) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestDateStringAll(t *testing.T) {
	// Every encodable day round-trips and consecutive days are consecutive.
	prev := ""
	for d := uint64(0); d <= MaxDate; d++ {
		s := DateString(d)
		if s <= prev {
			t.Fatalf("DateString(%d) = %q not after %q", d, s, prev)
		}
		got, err := Date(s)
		if err != nil || got != d {
			t.Fatalf("Date(DateString(%d) = %q) = %d, %v", d, s, got, err)
		}
		prev = s
	}
}

func TestDateStringOutOfRange(t *testing.T) {
	tests := []struct {
		in   uint64
		want string
	}{
		{MaxDate + 1, "2100-01-01"},
		{1<<DateBits - 1, "2258-11-11"},
		{1 << DateBits, "invalid-date(131072)"},
		{^uint64(0), "invalid-date(18446744073709551615)"},
	}
	for _, tt := range tests {
		if got := DateString(tt.in); got != tt.want {
			t.Errorf("DateString(%d) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
