package zkhealth_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth"
)

// example is CLI.md's PROOF.json with real-looking values.
func example() *zkhealth.ProofFile {
	return &zkhealth.ProofFile{
		Version:       zkhealth.ProofVersion,
		Circuit:       "clinical-v2-s",
		Backend:       "groth16",
		VKFingerprint: strings.Repeat("ab", 32),
		Proof:         base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xc1, 0x02}, 98)),
		Public: zkhealth.ProofPublic{
			PolicyHash: "0x" + strings.Repeat("11", 32),
			Issuer:     strings.Repeat("22", 32),
			Challenge:  "0x" + strings.Repeat("33", 32),
			Nullifier:  "0x" + strings.Repeat("44", 32),
		},
		AsOf:  "2026-11-22",
		Scope: "trial:NCT04556851",
	}
}

func marshal(t *testing.T, f *zkhealth.ProofFile) []byte {
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
		f    func(*zkhealth.ProofFile)
	}{
		{"Example", func(*zkhealth.ProofFile) {}},
		{"PLONK", func(f *zkhealth.ProofFile) { f.Backend = "plonk"; f.Circuit = "coverage-v2-s" }},
		{"EmptyProofBytes", func(f *zkhealth.ProofFile) { f.Proof = "" }},
		{"UnicodeScope", func(f *zkhealth.ProofFile) { f.Scope = "trial:Ünïcode <&> \"q\"" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := example()
			tc.f(want)
			data := marshal(t, want)
			got, err := zkhealth.ParseProof(data)
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
		{"Oversize", good + strings.Repeat(" ", zkhealth.MaxProofSize)},
		{"OversizeScope", replace(`"scope": "`, `"scope": "`+strings.Repeat("s", zkhealth.MaxProofSize))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := zkhealth.ParseProof([]byte(tc.data))
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			if !errors.Is(err, zkhealth.ErrMalformedProof) {
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
		{"AtSizeLimit", good + strings.Repeat(" ", zkhealth.MaxProofSize-len(good))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := zkhealth.ParseProof([]byte(tc.data)); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*zkhealth.ProofFile)
		ok   bool
	}{
		{"OK", func(*zkhealth.ProofFile) {}, true},
		{"Version", func(f *zkhealth.ProofFile) { f.Version = 2 }, false},
		{"Base64", func(f *zkhealth.ProofFile) { f.Proof = "%%%" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := example()
			tc.f(f)
			err := f.Check()
			if (err == nil) != tc.ok {
				t.Fatalf("Check() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, zkhealth.ErrMalformedProof) {
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
		p, err := zkhealth.ParseProof(data)
		if err != nil {
			if !errors.Is(err, zkhealth.ErrMalformedProof) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(data) > zkhealth.MaxProofSize {
			t.Fatalf("accepted %d bytes", len(data))
		}
		if p.Version != zkhealth.ProofVersion {
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
		if len(out) > zkhealth.MaxProofSize {
			return
		}
		q, err := zkhealth.ParseProof(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the file: %+v vs %+v", p, q)
		}
	})
}
