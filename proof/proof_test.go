package proof_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/proof"
)

// example is CLI.md's PROOF.json with real-looking values.
func example() *proof.File {
	return &proof.File{
		Version:       proof.Version,
		Circuit:       "clinical-v1",
		Backend:       "groth16",
		VKFingerprint: strings.Repeat("ab", 32),
		Proof:         base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xc1, 0x02}, 98)),
		Public: proof.Public{
			PolicyHash: "0x" + strings.Repeat("11", 32),
			Issuer:     strings.Repeat("22", 32),
			Challenge:  "0x" + strings.Repeat("33", 32),
			Nullifier:  "0x" + strings.Repeat("44", 32),
		},
		AsOf:  "2026-11-22",
		Scope: "trial:NCT04556851",
	}
}

func marshal(t *testing.T, f *proof.File) []byte {
	t.Helper()
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*proof.File)
	}{
		{"Example", func(*proof.File) {}},
		{"PLONK", func(f *proof.File) { f.Backend = "plonk"; f.Circuit = "coverage-v1" }},
		{"EmptyProofBytes", func(f *proof.File) { f.Proof = "" }},
		{"UnicodeScope", func(f *proof.File) { f.Scope = "trial:Ünïcode <&> \"q\"" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := example()
			tc.f(want)
			data := marshal(t, want)
			got, err := proof.Parse(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if again := marshal(t, got); !bytes.Equal(again, data) {
				t.Fatalf("second marshal differs:\n%s\n%s", again, data)
			}
			raw, err := got.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := base64.StdEncoding.DecodeString(want.Proof); !bytes.Equal(raw, want) {
				t.Fatalf("Bytes = %x, want %x", raw, want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	good := string(marshal(t, example()))
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("example has no %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	for _, tc := range []struct {
		name, data string
	}{
		{"Empty", ""},
		{"NotJSON", "proof"},
		{"Array", "[]"},
		{"Null", "null"},
		{"UnknownField", replace(`"version": 1,`, `"version": 1, "extra": true,`)},
		{"UnknownPublicField", replace(`"nullifier":`, `"nullifier2": "0x1", "nullifier":`)},
		{"TrailingObject", good + `{}`},
		{"TrailingGarbage", good + ` x`},
		{"TrailingNumber", good + ` 1`},
		{"TrailingBracket", good + ` ]`},
		{"TrailingBrace", good + `}`},
		{"TrailingBraceAfterNewline", good + "\n}\n"},
		{"TruncatedObject", good[:len(good)-2]},
		{"VersionZero", replace(`"version": 1`, `"version": 0`)},
		{"VersionTwo", replace(`"version": 1`, `"version": 2`)},
		{"VersionMissing", replace(`"version": 1,`, ``)},
		{"VersionString", replace(`"version": 1`, `"version": "1"`)},
		{"ProofNotBase64", replace(`"proof": "`, `"proof": "!!`)},
		{"ProofURLBase64", replace(`"proof": "`, `"proof": "-_`)},
		{"ProofUnpadded", replace(`"proof": "`, `"proof": "AAA`)},
		{"ProofNumber", replace(`"proof": "`, `"proof": 5, "x": "`)},
		{"Oversize", good + strings.Repeat(" ", proof.MaxSize)},
		{"OversizeScope", replace(`"scope": "`, `"scope": "`+strings.Repeat("s", proof.MaxSize))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := proof.Parse([]byte(tc.data))
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			if !errors.Is(err, proof.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	good := string(marshal(t, example()))
	for _, tc := range []struct {
		name, data string
	}{
		{"Indented", good},
		{"TrailingWhitespace", good + " \n\t "},
		{"LeadingWhitespace", "\n  " + good},
		{"Compact", strings.Join(strings.Fields(good), "")},
		{"AtSizeLimit", good + strings.Repeat(" ", proof.MaxSize-len(good))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := proof.Parse([]byte(tc.data)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*proof.File)
		ok   bool
	}{
		{"OK", func(*proof.File) {}, true},
		{"Version", func(f *proof.File) { f.Version = 2 }, false},
		{"Base64", func(f *proof.File) { f.Proof = "%%%" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := example()
			tc.f(f)
			err := f.Check()
			if (err == nil) != tc.ok {
				t.Fatalf("Check() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, proof.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func FuzzProofFile(f *testing.F) {
	good := example()
	data, err := good.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"version":1,"proof":""}`))
	f.Add([]byte(`{"version":1,"proof":"AA=="}{}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"x":1}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := proof.Parse(data)
		if err != nil {
			if !errors.Is(err, proof.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(data) > proof.MaxSize {
			t.Fatalf("accepted %d bytes", len(data))
		}
		if p.Version != proof.Version {
			t.Fatalf("accepted version %d", p.Version)
		}
		if _, err := p.Bytes(); err != nil {
			t.Fatalf("accepted undecodable proof bytes: %v", err)
		}
		// What Parse accepts, Marshal renders and Parse accepts again, unchanged (unless marshalling
		// grows it past the size limit through escaping).
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if len(out) > proof.MaxSize {
			return
		}
		q, err := proof.Parse(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the file: %+v vs %+v", p, q)
		}
	})
}
