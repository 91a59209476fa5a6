// Package strictjson reads untrusted JSON documents strictly: exactly one value, nothing after it
// but whitespace, no unknown fields, and no object that repeats a key (compared case-insensitively,
// as encoding/json matches field names). encoding/json alone keeps the last of two repeated keys
// while another reader may show the first, and its More() does not see a stray ']' or '}' after
// the value; a signed or hashed document must have one meaning only.
//
// Every refusal is an *Error that says what is wrong and where (line and column, or the field),
// and never quotes the document: the CLI and the HTTP API show it as it is.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The kinds of refusal, for errors.Is; each *Error wraps exactly one.
var (
	// ErrSyntax: the text is not JSON.
	ErrSyntax = errors.New("malformed JSON")
	// ErrDuplicateKey: an object repeats a key.
	ErrDuplicateKey = errors.New("an object repeats a key")
	// ErrTrailingData: something follows the JSON value.
	ErrTrailingData = errors.New("trailing data after the JSON value")
	// ErrUnknownField: an object has a member the destination has no field for.
	ErrUnknownField = errors.New("unknown field")
	// ErrType: a value has the wrong JSON type for its field.
	ErrType = errors.New("wrong JSON type")
)

// Error is a document Unmarshal or Check refuses. Its text is built from Kind, the position, the
// field's name and the JSON type wanted only: it never quotes a value of the document.
type Error struct {
	// Kind is ErrSyntax, ErrDuplicateKey, ErrTrailingData, ErrUnknownField or ErrType.
	Kind error
	// Line and Column (1-based; the column counts bytes) locate a syntax error, a repeated key
	// or trailing data; both are 0 for field errors.
	Line, Column int
	// Field names the member of an ErrUnknownField or ErrType error, as a dotted path
	// ("predicates.value"); "" for the document itself.
	Field string
	// Want is the JSON type an ErrType error wanted ("an array"), Detail what a syntax error
	// expected where it was found ("want ':' after an object key").
	Want, Detail string
}

// Error renders the refusal as one sentence fragment, value-free.
func (e *Error) Error() string {
	switch e.Kind {
	case ErrSyntax:
		return fmt.Sprintf("malformed JSON at line %d, column %d: %s", e.Line, e.Column, e.Detail)
	case ErrUnknownField:
		return e.Field + ": unknown field"
	case ErrType:
		if e.Field == "" {
			return "want " + e.Want
		}
		return e.Field + ": want " + e.Want
	}
	return fmt.Sprintf("%v at line %d, column %d", e.Kind, e.Line, e.Column)
}

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

// at is an *Error of kind at byte offset off of data.
func at(kind error, data []byte, off int, detail string) *Error {
	off = min(max(off, 0), len(data))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return &Error{Kind: kind, Line: line, Column: col, Detail: detail}
}

// Unmarshal decodes data into v with the package's rules. Errors are *Error, except those of a
// destination type's own UnmarshalJSON, which pass through as that method returned them.
func Unmarshal(data []byte, v any) error {
	if err := Check(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(data, err)
	}
	rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")
	if len(rest) != 0 {
		return at(ErrTrailingData, data, len(data)-len(rest), "")
	}
	return nil
}

// Check reports the first syntax error or repeated key of the JSON text data (nil when there is
// none), comparing keys as HasDuplicateKeys does. Values one after another are not an error here
// (Unmarshal refuses them as trailing data).
func Check(data []byte) error {
	sc := scanner{data: data}
	for {
		sc.skipSpace()
		if sc.i == len(data) {
			return nil
		}
		if !sc.value() {
			return sc.err
		}
	}
}

// decodeError turns an encoding/json error into an *Error without the value it may quote.
func decodeError(data []byte, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return at(ErrSyntax, data, len(data), "empty document; want a JSON value")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return at(ErrSyntax, data, len(data), "unexpected end of input")
	case errors.As(err, &se):
		return at(ErrSyntax, data, int(se.Offset)-1, "malformed value")
	case errors.As(err, &te):
		return &Error{Kind: ErrType, Field: te.Field, Want: jsonType(te.Type)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if uq, uerr := strconv.Unquote(name); uerr == nil {
			name = uq
		}
		return &Error{Kind: ErrUnknownField, Field: name}
	}
	return err
}

// jsonType names the JSON type that decodes into t.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value"
}

// maxDepth is encoding/json's nesting limit; deeper documents are malformed to it.
const maxDepth = 10000

// HasDuplicateKeys reports whether an object in the JSON text data repeats a key, comparing keys
// case-insensitively (as strings.ToLower of the unescaped key). Malformed JSON counts as true (the
// caller's decoder refuses it anyway); whitespace-separated values one after another are read
// like one another, as json.Decoder.Token reads them. Check says which of the two it is, and where.
//
// It is a single pass over the bytes with no allocation but the key sets: json.Decoder.Token,
// which it replaces, allocated for every token and was most of the cost of reading a PROOF.json
// in the verify path.
func HasDuplicateKeys(data []byte) bool { return Check(data) != nil }

// scanner walks one JSON text; each method returns false on malformed input, with err saying why
// and where.
type scanner struct {
	data  []byte
	i     int
	stack []map[string]struct{} // per open container: the keys of an object, nil for an array
	err   *Error
}

// fail records a syntax error at the current position and returns false.
func (s *scanner) fail(detail string) bool {
	if detail == "" {
		detail = "unexpected end of input"
		if len(s.stack) > 0 {
			detail += " (an object or array is not closed)"
		}
	}
	s.err = at(ErrSyntax, s.data, s.i, detail)
	return false
}

func (s *scanner) skipSpace() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// value reads one complete value, with everything nested in it.
func (s *scanner) value() bool {
	base := len(s.stack)
	for {
		s.skipSpace()
		if s.i >= len(s.data) {
			return s.fail("")
		}
		switch c := s.data[s.i]; {
		case c == '{' || c == '[':
			if len(s.stack) >= maxDepth {
				return s.fail("nested too deeply")
			}
			s.i++
			var keys map[string]struct{}
			if c == '{' {
				keys = map[string]struct{}{}
			}
			s.stack = append(s.stack, keys)
			s.skipSpace()
			if s.i < len(s.data) && s.data[s.i] == c+2 { // '}' or ']': empty
				s.i++
				s.stack = s.stack[:len(s.stack)-1]
				break
			}
			if c == '{' && !s.key() {
				return false
			}
			continue
		case c == '"':
			if _, ok := s.str(); !ok {
				return false
			}
		case c == '-' || c >= '0' && c <= '9':
			if !s.number() {
				return false
			}
		default:
			if !s.literal() {
				return s.fail("want a value (an object, array, string, number, true, false or null)")
			}
		}
		// a value ended: close the containers it ends, or go on to the next member or element
		for {
			if len(s.stack) == base {
				return true
			}
			s.skipSpace()
			if s.i >= len(s.data) {
				return s.fail("")
			}
			obj := s.stack[len(s.stack)-1] != nil
			switch c := s.data[s.i]; {
			case c == ',':
				s.i++
				if obj && !s.key() {
					return false
				}
			case obj && c == '}', !obj && c == ']':
				s.i++
				s.stack = s.stack[:len(s.stack)-1]
				continue
			case obj:
				return s.fail("want ',' or '}' after an object member")
			default:
				return s.fail("want ',' or ']' after an array element")
			}
			break
		}
	}
}

// key reads an object member's key and its colon, and records the key in the innermost object.
func (s *scanner) key() bool {
	s.skipSpace()
	if s.i >= len(s.data) {
		return s.fail("")
	}
	if s.data[s.i] != '"' {
		return s.fail("want an object key (a string in double quotes)")
	}
	start := s.i
	raw, ok := s.str()
	if !ok {
		return false
	}
	keys := s.stack[len(s.stack)-1]
	k, ok := foldKey(raw)
	if !ok {
		s.i = start
		return s.fail("malformed object key")
	}
	if _, dup := keys[k]; dup {
		s.err = at(ErrDuplicateKey, s.data, start, "")
		return false
	}
	keys[k] = struct{}{}
	s.skipSpace()
	if s.i >= len(s.data) {
		return s.fail("")
	}
	if s.data[s.i] != ':' {
		return s.fail("want ':' after an object key")
	}
	s.i++
	return true
}

// foldKey is the lower-cased, unescaped key of a quoted JSON string: directly for plain ASCII,
// through encoding/json otherwise (escapes, and invalid UTF-8, which it replaces as Token did).
func foldKey(quoted []byte) (string, bool) {
	inner := quoted[1 : len(quoted)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		b := []byte(nil)
		for i, c := range inner {
			if c >= 'A' && c <= 'Z' {
				if b == nil {
					b = bytes.Clone(inner)
				}
				b[i] = c + 'a' - 'A'
			}
		}
		if b == nil {
			return string(inner), true
		}
		return string(b), true
	}
	var k string
	if json.Unmarshal(quoted, &k) != nil {
		return "", false
	}
	return strings.ToLower(k), true
}

// str reads a string and returns it with its quotes.
func (s *scanner) str() ([]byte, bool) {
	start := s.i
	s.i++ // the opening quote
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			s.i++
			return s.data[start:s.i], true
		case c < 0x20:
			return nil, s.fail("control character in a string (escape it)")
		case c == '\\':
			if s.i+1 >= len(s.data) {
				s.i = len(s.data)
				return nil, s.fail("")
			}
			switch s.data[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.data) {
					s.i = len(s.data)
					return nil, s.fail("")
				}
				for _, h := range s.data[s.i+2 : s.i+6] {
					if !isHex(h) {
						return nil, s.fail("malformed \\u escape in a string")
					}
				}
				s.i += 6
			default:
				return nil, s.fail("unknown escape in a string")
			}
		default:
			s.i++
		}
	}
	return nil, s.fail("unexpected end of input in a string (a closing '\"' is missing)")
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.data) && s.data[s.i] >= '0' && s.data[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.data[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.data) && s.data[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return s.fail("malformed number")
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return s.fail("malformed number")
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return s.fail("malformed number")
		}
	}
	return true
}

func (s *scanner) literal() bool {
	for _, lit := range []string{"true", "false", "null"} {
		if len(s.data)-s.i >= len(lit) && string(s.data[s.i:s.i+len(lit)]) == lit {
			s.i += len(lit)
			return true
		}
	}
	return false
}
