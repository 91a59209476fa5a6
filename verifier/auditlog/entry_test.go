package auditlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func elem(v uint64) *fr.Element {
	var e fr.Element
	e.SetUint64(v)
	return &e
}

func sampleEntry(i int) Entry {
	return Entry{
		Time:      time.Date(2026, 11, 22, 10, 0, i%60, 0, time.UTC),
		Binding:   *elem(uint64(1000 + i)),
		Scope:     "trial:NCT04556851",
		Nullifier: elem(uint64(7 + i%5)),
		Result:    ResultValid,
	}
}

func TestEntryRoundTrip(t *testing.T) {
	var big fr.Element
	big.SetOne()
	big.Neg(&big) // r − 1: the largest canonical element
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"Valid", sampleEntry(1)},
		{"NoNullifier", Entry{Time: time.Unix(0, 0).UTC(), Binding: *elem(1), Scope: "s", Result: "malformed_proof"}},
		{"LargestElements", Entry{Time: time.Unix(4102444800, 0).UTC(), Binding: big, Scope: "payer:acme", Nullifier: &big, Result: "proof_rejected"}},
		{"LongestScopeAndResult", Entry{Time: time.Unix(1, 0).UTC(), Scope: strings.Repeat("é", MaxScope/2), Nullifier: elem(0), Result: strings.Repeat("a_9", MaxResult/3) + "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxEntrySize {
				t.Fatalf("%d bytes, more than MaxEntrySize %d", len(b), MaxEntrySize)
			}
			got, err := UnmarshalEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.e) {
				t.Fatalf("round trip: %+v, want %+v", got, tc.e)
			}
		})
	}
	if MaxEntrySize != 397 {
		t.Errorf("MaxEntrySize = %d; the documentation says 397", MaxEntrySize)
	}
}

// TestEntryEncoding pins the layout MarshalBinary documents.
func TestEntryEncoding(t *testing.T) {
	e := Entry{Time: time.Unix(0x0102030405, 0), Binding: *elem(0xaa), Scope: "ab", Nullifier: elem(0xbb), Result: "valid"}
	b, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{1, 0, 0, 0, 1, 2, 3, 4, 5}
	want = append(want, make([]byte, 31)...)
	want = append(want, 0xaa, 1)
	want = append(want, make([]byte, 31)...)
	want = append(want, 0xbb, 5, 'v', 'a', 'l', 'i', 'd', 0, 2, 'a', 'b')
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding\n%x, want\n%x", b, want)
	}
}

func TestEntryRefused(t *testing.T) {
	good, err := sampleEntry(3).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	modulus := fr.Modulus().FillBytes(make([]byte, 32))
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"Empty", nil},
		{"OtherVersion", edit(func(b []byte) []byte { b[0] = 2; return b })},
		{"BindingNotCanonical", edit(func(b []byte) []byte { copy(b[9:41], modulus); return b })},
		{"NullifierFlag2", edit(func(b []byte) []byte { b[41] = 2; return b })},
		{"NullifierNotCanonical", edit(func(b []byte) []byte { copy(b[42:74], modulus); return b })},
		{"ResultEmpty", edit(func(b []byte) []byte { b[74] = 0; return b })},
		{"ResultUpperCase", edit(func(b []byte) []byte { b[75] = 'V'; return b })},
		{"ScopeLengthPastEnd", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[80:], 300); return b })},
		{"ScopeShorterThanSaid", good[:len(good)-1]},
		{"ScopeNotUTF8", edit(func(b []byte) []byte { b[len(b)-1] = 0xff; return b })},
		{"Trailing", append(bytes.Clone(good), 0)},
		{"TooLong", make([]byte, MaxEntrySize+1)},
		{"Truncated", good[:30]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := UnmarshalEntry(tc.b); !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("UnmarshalEntry = %v, want ErrMalformedEntry", err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"NoScope", Entry{Result: "valid"}},
		{"ScopeTooLong", Entry{Scope: strings.Repeat("s", MaxScope+1), Result: "valid"}},
		{"NoResult", Entry{Scope: "s"}},
		{"ResultWithSpace", Entry{Scope: "s", Result: "not valid"}},
		{"Before1970", Entry{Time: time.Unix(-1, 0), Scope: "s", Result: "valid"}},
	} {
		t.Run("Marshal"+tc.name, func(t *testing.T) {
			if _, err := tc.e.MarshalBinary(); !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("MarshalBinary = %v, want ErrMalformedEntry", err)
			}
		})
	}
}

// FuzzUnmarshalEntry: whatever decodes encodes back to the same bytes (one encoding per entry),
// and nothing panics.
func FuzzUnmarshalEntry(f *testing.F) {
	for i := range 3 {
		b, _ := sampleEntry(i).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEntry(b)
		if err != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v re-encodes to %x, %v; was %x", e, again, err, b)
		}
	})
}
