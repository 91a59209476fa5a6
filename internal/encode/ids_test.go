package encode

import (
	"errors"
	"strings"
	"testing"
)

func TestLOINC(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"4548-4", 45484}, {"39156-5", 391565}, {"2345-7", 23457}, {"2339-0", 23390},
		{"33914-3", 339143}, {"62238-1", 622381}, {"2160-0", 21600}, {"8480-6", 84806},
		{"8462-4", 84624}, {"29463-7", 294637}, {"2093-3", 20933}, {"18262-6", 182626},
		{"2085-9", 20859}, {"2571-8", 25718}, {"718-7", 7187}, {"8302-2", 83022},
		{"17856-6", 178566}, {"48643-1", 486431}, {"48642-3", 486423}, {"98979-8", 989798},
		{"2089-1", 20891},
		{"1-8", 18},             // shortest: one digit
		{"9999999-7", 99999997}, // longest: seven digits
	}
	for _, tt := range tests {
		got, err := LOINC(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("LOINC(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if got >= 1<<LOINCBits {
			t.Errorf("LOINC(%q) = %d does not fit in %d bits", tt.in, got, LOINCBits)
		}
		if back := LOINCString(got); back != tt.in {
			t.Errorf("LOINCString(%d) = %q; want %q", got, back, tt.in)
		}
	}
	// Every table code is a valid LOINC code.
	for _, c := range KnownLOINC() {
		if _, err := LOINC(c.LOINC); err != nil {
			t.Errorf("table code: %v", err)
		}
	}
}

func TestLOINCRejects(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"4548-5", ErrCheckDigit},
		{"4548-0", ErrCheckDigit},
		{"39156-4", ErrCheckDigit},
		{"5448-4", ErrCheckDigit}, // transposition
		{"45484", ErrSyntax},
		{"4548", ErrSyntax},
		{"-4", ErrSyntax},
		{"4548-", ErrSyntax},
		{"4548-44", ErrSyntax},
		{"04548-4", ErrSyntax},
		{"0-0", ErrSyntax},
		{"12345678-2", ErrSyntax},
		{"4548_4", ErrSyntax},
		{"45a8-4", ErrSyntax},
		{" 4548-4", ErrSyntax},
		{"LP4548-4", ErrSyntax},
		{"", ErrSyntax},
	}
	for _, tt := range tests {
		got, err := LOINC(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("LOINC(%q) = %d, %v; want %v", tt.in, got, err, tt.want)
		} else if !strings.Contains(err.Error(), quote(tt.in)) {
			t.Errorf("LOINC(%q) error %q does not name the input", tt.in, err)
		}
	}
}

func TestLOINCCheckDigitSingleErrors(t *testing.T) {
	// Mod 10 detects every single-digit substitution in the body.
	body := "39156"
	for i := range body {
		for d := byte('0'); d <= '9'; d++ {
			if d == body[i] || (i == 0 && d == '0') {
				continue
			}
			mut := body[:i] + string(d) + body[i+1:]
			if _, err := LOINC(mut + "-5"); !errors.Is(err, ErrCheckDigit) {
				t.Errorf("LOINC(%s-5) = %v; want ErrCheckDigit", mut, err)
			}
		}
	}
}

func TestRxNormSNOMED(t *testing.T) {
	rx := []struct {
		in   string
		want uint64
		err  error
	}{
		{"860975", 860975, nil},
		{"1", 1, nil},
		{"4294967295", 1<<32 - 1, nil},
		{"4294967296", 0, ErrRange},
		{"99999999999", 0, ErrRange},
		{"0", 0, ErrSyntax},
		{"0860975", 0, ErrSyntax},
		{"-1", 0, ErrSyntax},
		{"+1", 0, ErrSyntax},
		{"86 975", 0, ErrSyntax},
		{"", 0, ErrSyntax},
	}
	for _, tt := range rx {
		got, err := RxNorm(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("RxNorm(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	sn := []struct {
		in   string
		want uint64
		err  error
	}{
		{"44054006", 44054006, nil},
		{"73211009", 73211009, nil},
		{"999999999999999999", 999999999999999999, nil},
		{"1000000000000000000", 0, ErrRange},
		{"0", 0, ErrSyntax},
		{"044054006", 0, ErrSyntax},
		{"4405400x", 0, ErrSyntax},
		{"", 0, ErrSyntax},
	}
	for _, tt := range sn {
		got, err := SNOMED(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("SNOMED(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestQuoteTruncates(t *testing.T) {
	long := strings.Repeat("X", 1000)
	_, err := ICD10(long)
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error for long input not bounded: %v", err)
	}
}
