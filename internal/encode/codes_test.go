package encode

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

// stripDot returns an ICD-10 code upper-cased and without its dot, the string
// whose lexicographic order the encoding must preserve.
func stripDot(s string) string { return strings.ToUpper(strings.Replace(s, ".", "", 1)) }

func TestICD10RoundTrip(t *testing.T) {
	tests := []struct {
		in, canon string
		want      uint64
	}{
		{"A00", "A00", 11*37*37*37*37*37*37 + 1*37*37*37*37*37 + 1*37*37*37*37},
		{"E11.9", "E11.9", pack37("E119", 7, 0)},
		{"E119", "E11.9", pack37("E119", 7, 0)},
		{"e11.9", "E11.9", pack37("E119", 7, 0)},
		{"I10", "I10", pack37("I10", 7, 0)},
		{"C4A.0", "C4A.0", pack37("C4A0", 7, 0)},
		{"M1A.0710", "M1A.0710", pack37("M1A0710", 7, 0)},
		{"S72.001A", "S72.001A", pack37("S72001A", 7, 0)},
		{"T36.0X1a", "T36.0X1A", pack37("T360X1A", 7, 0)},
		{"Z99.89", "Z99.89", pack37("Z9989", 7, 0)},
		{"Z9ZZZZZ", "Z9Z.ZZZZ", 37*37*37*37*37*37*37 - 37*37*37*37*37*37 + 10*37*37*37*37*37 + 36*37*37*37*37 + 36*37*37*37 + 36*37*37 + 36*37 + 36},
	}
	for _, tt := range tests {
		got, err := ICD10(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ICD10(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if got >= 1<<ICD10Bits {
			t.Errorf("ICD10(%q) = %d does not fit in %d bits", tt.in, got, ICD10Bits)
		}
		back, err := ICD10String(got)
		if err != nil || back != tt.canon {
			t.Errorf("ICD10String(%d) = %q, %v; want %q", got, back, err, tt.canon)
		}
	}
}

func TestICD10Rejects(t *testing.T) {
	for _, in := range []string{
		"", "E", "E1", "E1.1", "E.119", "E11.", "E11..9", "E11.9.1", "E1.19", "E119.", "E11.9ABCD",
		"E1191234", "111", "EE1", "E11-9", "E11 9", " E11", "E11 ", "É11", "E1ſ", "E11.9\x00",
	} {
		if got, err := ICD10(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("ICD10(%q) = %d, %v; want ErrSyntax", in, got, err)
		} else if !strings.Contains(err.Error(), quote(in)) {
			t.Errorf("ICD10(%q) error %q does not name the input", in, err)
		}
	}
}

func TestICD10StringRejects(t *testing.T) {
	for _, v := range []uint64{
		0,                                // empty
		pack37("E1", 7, 0),               // too short
		pack37("E11", 7, 0) + 1,          // pad then '0': "E11" _ _ _ "0"
		pack37("1E1", 7, 0),              // first not a letter
		pack37("EE1", 7, 0),              // second not a digit
		37 * 37 * 37 * 37 * 37 * 37 * 37, // 37^7
		^uint64(0),
	} {
		if s, err := ICD10String(v); !errors.Is(err, ErrRange) {
			t.Errorf("ICD10String(%d) = %q, %v; want ErrRange", v, s, err)
		}
	}
}

func TestICD10Order(t *testing.T) {
	codes := []string{
		"A00", "A00.0", "A09", "B20", "C34.90", "C4A.9", "D3A.00", "E08.9", "E09.65", "E10", "E10.9",
		"E11", "E11.0", "E11.65", "E11.9", "E11.A", "E12", "E13.9", "E14", "E66.01", "I10", "I21.4",
		"I63.9", "J45.909", "M1A.071", "O24.410", "S72.001A", "T36.0X1A", "Z00.00", "Z3A.01", "Z99.89",
	}
	for i, a := range codes {
		va, err := ICD10(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range codes[i:] {
			vb, _ := ICD10(b)
			want := strings.Compare(stripDot(a), stripDot(b))
			got := 0
			if va < vb {
				got = -1
			} else if va > vb {
				got = 1
			}
			if got != want {
				t.Errorf("order(%s, %s) = %d; strings.Compare = %d", a, b, got, want)
			}
		}
	}
}

func TestICD10Family(t *testing.T) {
	tests := []struct {
		family string
		in     []string
		out    []string
	}{
		{"E11", []string{"E11", "E11.0", "E11.9", "E11.65", "E11.A", "E11.ZZZZ", "e11.9"}, []string{"E10", "E10.9", "E12", "E1Z", "E12.0", "E109"}},
		{"E11.9", []string{"E11.9", "E11.90", "E11.9ZZZ"}, []string{"E11", "E11.8", "E11.A", "E11.65"}},
		{"E08-E13", []string{"E08", "E08.9", "E09.65", "E10", "E11.9", "E13", "E13.9", "E13.ZZZZ"}, []string{"E07", "E07.9", "E14", "E14.0", "D08"}},
		{"E08\u2013E13", []string{"E09.9"}, []string{"E14"}},
		{"I21-I22", []string{"I21", "I21.4", "I22.9"}, []string{"I20.9", "I23"}},
		{"E11.0-E11.1", []string{"E11.0", "E11.01", "E11.1", "E11.19"}, []string{"E11", "E11.2"}},
		{"A00-Z99", []string{"A00", "E11.9", "Z99.89"}, []string{"Z9A"}},
	}
	for _, tt := range tests {
		lo, hi, err := ICD10Family(tt.family)
		if err != nil {
			t.Errorf("ICD10Family(%q): %v", tt.family, err)
			continue
		}
		for _, c := range tt.in {
			if v, _ := ICD10(c); v < lo || v > hi {
				t.Errorf("%s not in family %s [%d, %d]", c, tt.family, lo, hi)
			}
		}
		for _, c := range tt.out {
			if v, _ := ICD10(c); v >= lo && v <= hi {
				t.Errorf("%s in family %s [%d, %d]", c, tt.family, lo, hi)
			}
		}
	}
	// Bounds are exactly the padded codes.
	lo, hi, _ := ICD10Family("E11")
	if lo != pack37("E11", 7, 0) || hi != pack37("E11ZZZZ", 7, 0) {
		t.Errorf("ICD10Family(E11) = [%d, %d]", lo, hi)
	}
	if lo2, _ := ICD10("E11"); lo2 != lo {
		t.Errorf("ICD10Family(E11) lo %d != ICD10(E11) %d", lo, lo2)
	}
}

func TestICD10FamilyRejects(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"E13-E08", ErrRange},
		{"E11.9-E11.8", ErrRange},
		{"", ErrSyntax},
		{"E1", ErrSyntax},
		{"E08-", ErrSyntax},
		{"-E13", ErrSyntax},
		{"E08-E1", ErrSyntax},
		{"E08-E13-E14", ErrSyntax},
		{"E08 - E13", ErrSyntax},
		{"E08--E13", ErrSyntax},
	}
	for _, tt := range tests {
		lo, hi, err := ICD10Family(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("ICD10Family(%q) = %d, %d, %v; want %v", tt.in, lo, hi, err, tt.want)
		}
	}
	// A single-code range is the code's prefix family.
	lo, hi, err := ICD10Family("E11-E11")
	flo, fhi, _ := ICD10Family("E11")
	if err != nil || lo != flo || hi != fhi {
		t.Errorf("ICD10Family(E11-E11) = %d, %d, %v; want %d, %d", lo, hi, err, flo, fhi)
	}
}

func TestX12(t *testing.T) {
	tests := []struct {
		in, canon string
		want      uint64
	}{
		{"0", "0", 1 * 37},
		{"1", "1", 2 * 37},
		{"10", "10", 2*37 + 1},
		{"30", "30", 4*37 + 1},
		{"9", "9", 10 * 37},
		{"A", "A", 11 * 37},
		{"AL", "AL", 11*37 + 22},
		{"mh", "MH", 23*37 + 18},
		{"UC", "UC", 31*37 + 13},
		{"ZZ", "ZZ", 37*37 - 1},
	}
	for _, tt := range tests {
		got, err := X12(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("X12(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			continue
		}
		if got >= 1<<X12Bits {
			t.Errorf("X12(%q) = %d does not fit in %d bits", tt.in, got, X12Bits)
		}
		if back, err := X12String(got); err != nil || back != tt.canon {
			t.Errorf("X12String(%d) = %q, %v; want %q", got, back, err, tt.canon)
		}
	}
	for _, in := range []string{"", "ABC", "1-", "A ", "-", "Ä", "\x00"} {
		if v, err := X12(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("X12(%q) = %d, %v; want ErrSyntax", in, v, err)
		}
	}
	for _, v := range []uint64{0, 5, 37*37 + 0, 1 << 20} {
		if s, err := X12String(v); !errors.Is(err, ErrRange) {
			t.Errorf("X12String(%d) = %q, %v; want ErrRange", v, s, err)
		}
	}
}

func TestX12OrderExhaustive(t *testing.T) {
	// Every code of one or two characters, in string order, encodes increasingly,
	// and every value in [0, 37^2) that decodes re-encodes to itself.
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var codes []string
	for _, a := range alnum {
		codes = append(codes, string(a))
		for _, b := range alnum {
			codes = append(codes, string(a)+string(b))
		}
	}
	sort.Strings(codes)
	prev := int64(-1)
	for _, c := range codes {
		v, err := X12(c)
		if err != nil || int64(v) <= prev {
			t.Fatalf("X12(%q) = %d, %v after %d", c, v, err, prev)
		}
		prev = int64(v)
	}
	n := 0
	for v := uint64(0); v < 37*37; v++ {
		s, err := X12String(v)
		if err != nil {
			continue
		}
		n++
		if back, err := X12(s); err != nil || back != v {
			t.Fatalf("X12(X12String(%d) = %q) = %d, %v", v, s, back, err)
		}
	}
	if n != len(codes) {
		t.Fatalf("%d decodable values, %d codes", n, len(codes))
	}
}

func TestX12Family(t *testing.T) {
	tests := []struct {
		family string
		in     []string
		out    []string
	}{
		{"30", []string{"30"}, []string{"3", "31", "2Z"}},
		{"A0-A9", []string{"A0", "A5", "A9"}, []string{"A", "AA", "9Z", "B0"}},
		{"1-3", []string{"1", "10", "19", "2", "29", "3"}, []string{"0", "0Z", "30", "4"}},
		{"al-mh", []string{"AL", "B", "MH"}, []string{"AK", "MI"}},
	}
	for _, tt := range tests {
		lo, hi, err := X12Family(tt.family)
		if err != nil {
			t.Errorf("X12Family(%q): %v", tt.family, err)
			continue
		}
		for _, c := range tt.in {
			if v, _ := X12(c); v < lo || v > hi {
				t.Errorf("%s not in X12 family %s [%d, %d]", c, tt.family, lo, hi)
			}
		}
		for _, c := range tt.out {
			if v, err := X12(c); err == nil && v >= lo && v <= hi {
				t.Errorf("%s in X12 family %s [%d, %d]", c, tt.family, lo, hi)
			}
		}
	}
	if lo, hi, err := X12Family("30"); err != nil || lo != hi || lo != 4*37+1 {
		t.Errorf("X12Family(30) = %d, %d, %v", lo, hi, err)
	}
	for _, tt := range []struct {
		in   string
		want error
	}{{"A9-A0", ErrRange}, {"2-10", ErrRange}, {"", ErrSyntax}, {"A0-", ErrSyntax}, {"ABC", ErrSyntax}, {"1-2-3", ErrSyntax}} {
		if lo, hi, err := X12Family(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("X12Family(%q) = %d, %d, %v; want %v", tt.in, lo, hi, err, tt.want)
		}
	}
}

func TestICD10FamilyTail(t *testing.T) {
	// "E11.9-E11" runs from E11.9 to the end of the E11 family.
	lo, hi, err := ICD10Family("E11.9-E11")
	if err != nil {
		t.Fatal(err)
	}
	for c, want := range map[string]bool{"E11.9": true, "E11.A": true, "E11.ZZ": true, "E11.8": false, "E11": false, "E12": false} {
		v, _ := ICD10(c)
		if got := v >= lo && v <= hi; got != want {
			t.Errorf("%s in E11.9-E11 = %v; want %v", c, got, want)
		}
	}
}
