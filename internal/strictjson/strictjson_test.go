package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestUnmarshal(t *testing.T) {
	type doc struct {
		A string         `json:"a"`
		B map[string]int `json:"b"`
	}
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"OK", `{"a":"x","b":{"k":1}}`, true},
		{"OKTrailingWhitespace", "{\"a\":\"x\"} \n\t", true},
		{"ErrUnknownField", `{"a":"x","c":1}`, false},
		{"ErrDuplicateKey", `{"a":"x","a":"y"}`, false},
		{"ErrDuplicateKeyOtherCase", `{"a":"x","A":"y"}`, false},
		{"ErrNestedDuplicate", `{"b":{"k":1,"k":2}}`, false},
		{"ErrStrayBracket", `{"a":"x"}]`, false},
		{"ErrStrayBrace", `{"a":"x"}}`, false},
		{"ErrSecondValue", `{"a":"x"} {"a":"y"}`, false},
		{"ErrNotJSON", `{"a":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Unmarshal([]byte(tc.in), &d)
			if (err == nil) != tc.ok {
				t.Fatalf("Unmarshal(%s) = %v, want ok=%v", tc.in, err, tc.ok)
			}
		})
	}
	var d doc
	if err := Unmarshal([]byte(`{"a":"x","a":"y"}`), &d); !errors.Is(err, ErrDuplicateKey) {
		t.Errorf("duplicate key: %v", err)
	}
}

// TestErrors: every refusal says what is wrong and where, and quotes nothing from the document
// (each input below carries SECRET where a value would be).
func TestErrors(t *testing.T) {
	type entry struct {
		Code  string  `json:"code"`
		Value float64 `json:"value"`
		Count uint8   `json:"count"`
	}
	type doc struct {
		Name    string  `json:"name"`
		Entries []entry `json:"entries"`
		When    *int    `json:"when"`
	}
	for _, tc := range []struct {
		name, in string
		kind     error
		want     string
	}{
		{"TrailingComma", "{\"name\": \"SECRET\",\n}", ErrSyntax, "malformed JSON at line 2, column 1: want an object key (a string in double quotes)"},
		{"MissingColon", `{"name" "SECRET"}`, ErrSyntax, "malformed JSON at line 1, column 9: want ':' after an object key"},
		{"MissingComma", `{"name": "SECRET" "when": 1}`, ErrSyntax, "malformed JSON at line 1, column 19: want ',' or '}' after an object member"},
		{"ArrayMissingComma", `{"entries": [{} {}]}`, ErrSyntax, "malformed JSON at line 1, column 17: want ',' or ']' after an array element"},
		{"BareWord", `{"name": SECRET}`, ErrSyntax, "malformed JSON at line 1, column 10: want a value (an object, array, string, number, true, false or null)"},
		{"Truncated", "{\"name\": \"SECRET\"", ErrSyntax, "malformed JSON at line 1, column 18: unexpected end of input (an object or array is not closed)"},
		{"UnterminatedString", `{"name": "SECRET`, ErrSyntax, "malformed JSON at line 1, column 17: unexpected end of input in a string (a closing '\"' is missing)"},
		{"ControlCharacter", "{\"name\": \"SEC\tRET\"}", ErrSyntax, "malformed JSON at line 1, column 14: control character in a string (escape it)"},
		{"BadEscape", `{"name": "SEC\qRET"}`, ErrSyntax, "malformed JSON at line 1, column 14: unknown escape in a string"},
		{"BadNumber", `{"when": -SECRET}`, ErrSyntax, "malformed JSON at line 1, column 11: malformed number"},
		{"Empty", " ", ErrSyntax, "malformed JSON at line 1, column 2: empty document; want a JSON value"},
		{"DuplicateKey", "{\"name\": \"SECRET\",\n \"Name\": \"SECRET\"}", ErrDuplicateKey, "an object repeats a key at line 2, column 2"},
		{"TrailingData", "{\"name\": \"SECRET\"}\n{}", ErrTrailingData, "trailing data after the JSON value at line 2, column 1"},
		{"UnknownField", `{"name": "SECRET", "SECRET-FREE": 1}`, ErrUnknownField, "SECRET-FREE: unknown field"},
		{"UnknownNestedField", `{"entries": [{"cod": "SECRET"}]}`, ErrUnknownField, "cod: unknown field"},
		{"WrongType", `{"name": 1234}`, ErrType, "name: want a string"},
		{"WrongNestedType", `{"entries": [{"value": "SECRET"}]}`, ErrType, "entries.value: want a number"},
		{"Overflow", `{"entries": [{"count": 300}]}`, ErrType, "entries.count: want a non-negative integer"},
		{"NotAnObject", `["SECRET"]`, ErrType, "want an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d doc
			err := Unmarshal([]byte(tc.in), &d)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.kind) {
				t.Fatalf("Unmarshal(%q) = %v, want an *Error of kind %v", tc.in, err, tc.kind)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("message\n got %q\nwant %q", got, tc.want)
			}
			if strings.Contains(strings.ReplaceAll(err.Error(), "SECRET-FREE", ""), "SECRET") || strings.Contains(err.Error(), "300") {
				t.Errorf("message quotes the document: %q", err)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"a":"x","b":{"k":1}}`))
	f.Add([]byte(`{"a":"x","a":"y"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v map[string]any
		if Unmarshal(data, &v) == nil && HasDuplicateKeys(data) {
			t.Fatal("accepted a document with a repeated key")
		}
	})
}

func TestHasDuplicateKeys(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	for _, tc := range []struct {
		name, in string
		want     bool
	}{
		{"OK", `{"a":1,"b":{"a":[{"a":1},{"a":2}]},"c":"\"a\":"}`, false},
		{"OKEmpty", `{"a":{},"b":[],"c":[{}]}`, false},
		{"OKScalars", `[true,false,null,-0.5e+3,0,"x"]`, false},
		{"OKValuesInSequence", `{"a":1} {"a":1}`, false},
		{"Duplicate", `{"a":1,"a":2}`, true},
		{"DuplicateOtherCase", `{"ab":1,"aB":2}`, true},
		{"DuplicateEscaped", `{"a":1,"\u0041":2}`, true},
		{"DuplicateNonASCII", `{"É":1,"é":2}`, true},
		{"DuplicateNested", `[{"k":{"x":1,"x":2}}]`, true},
		{"DuplicateAfterNested", `{"a":{"b":1},"a":2}`, true},
		{"MalformedTruncated", `{"a":`, true},
		{"MalformedStrayBrace", `{"a":1}}`, true},
		{"MalformedTrailingComma", `[1,]`, true},
		{"MalformedNumber", `[01]`, true},
		{"MalformedLiteral", `[tru]`, true},
		{"MalformedControlCharacter", "[\"a\x01\"]", true},
		{"MalformedEscape", `["\x"]`, true},
		{"TooDeep", deep, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasDuplicateKeys([]byte(tc.in)); got != tc.want {
				t.Fatalf("HasDuplicateKeys(%.60s) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// The single-pass scanner answers as the json.Decoder.Token walk it replaced did on every JSON
// document, and refuses at least what that walk refused otherwise (the walk let a truncated
// document or one nested deeper than encoding/json allows pass: the scanner refuses them).
func FuzzHasDuplicateKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":{"a":[{"a":1},{"a":2}]}}`, `{"a":1,"\u0041":2}`, `{"É":1,"é":2}`,
		`[1,]`, `{"a":1} {"a":1}`, `[-0.5e+3,true,null]`, "[\"\xff\",{\"\xfe\":1,\"\xfd\":2}]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ref := HasDuplicateKeys(data), hasDuplicateKeysToken(data)
		if json.Valid(data) && got != ref || ref && !got {
			t.Fatalf("HasDuplicateKeys(%q) = %v, the Token walk says %v", data, got, ref)
		}
		// Check tells the two refusals apart: a syntax error is one encoding/json sees too.
		if err := Check(data); errors.Is(err, ErrSyntax) && json.Valid(data) {
			t.Fatalf("Check(%q) = %v for valid JSON", data, err)
		} else if errors.Is(err, ErrDuplicateKey) && !ref {
			t.Fatalf("Check(%q) = %v, the Token walk sees no repeated key", data, err)
		}
	})
}

// hasDuplicateKeysToken is the former implementation, on json.Decoder.Token: the reference. It
// reads numbers as json.Number: the former walk, reading float64, also refused a number too large
// for one, which is the decoder's business, not a question of keys.
func hasDuplicateKeysToken(data []byte) bool {
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
				continue
			case '[':
				stack = append(stack, frame{})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
				k := strings.ToLower(v)
				if stack[n-1].keys[k] {
					return true
				}
				stack[n-1].keys[k], stack[n-1].wantKey = true, false
				continue
			}
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
}

func BenchmarkHasDuplicateKeys(b *testing.B) {
	doc := []byte(`{"version":1,"circuit":"coverage-v2-s","backend":"groth16","vk_fingerprint":"8f0a6a3a2f0e5b1e1f4f3c1d2b9a8e7f6d5c4b3a29181716151413121110f0e0","proof":"` +
		strings.Repeat("kL7gq3bF0mWJ8y4eY3s1", 13) + `==","public":{"policy_hash":"0x1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809","issuer":"9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081","challenge":"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20","nullifier":"0x2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"},"as_of":"2026-11-22","scope":"payer:acme:eligibility"}`)
	for _, impl := range []struct {
		name string
		f    func([]byte) bool
	}{{"Scanner", HasDuplicateKeys}, {"TokenWalk", hasDuplicateKeysToken}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if impl.f(doc) {
					b.Fatal("duplicate reported in PROOF.json")
				}
			}
		})
	}
}
