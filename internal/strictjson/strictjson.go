// Package strictjson reads untrusted JSON documents strictly: exactly one value, nothing after it
// but whitespace, no unknown fields, and no object that repeats a key (compared case-insensitively,
// as encoding/json matches field names). encoding/json alone keeps the last of two repeated keys
// while another reader may show the first, and its More() does not see a stray ']' or '}' after
// the value; a signed or hashed document must have one meaning only.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

// ErrDuplicateKey and ErrTrailingData name the two refusals encoding/json does not make itself.
var (
	ErrDuplicateKey = errors.New("an object repeats a key")
	ErrTrailingData = errors.New("trailing data after the JSON value")
)

// Unmarshal decodes data into v with the package's rules.
func Unmarshal(data []byte, v any) error {
	if HasDuplicateKeys(data) {
		return ErrDuplicateKey
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) != 0 {
		return ErrTrailingData
	}
	return nil
}

// maxDepth is encoding/json's nesting limit; deeper documents are malformed to it.
const maxDepth = 10000

// HasDuplicateKeys reports whether an object in the JSON text data repeats a key, comparing keys
// case-insensitively (as strings.ToLower of the unescaped key). Malformed JSON counts as true (the
// caller's decoder refuses it anyway); whitespace-separated values one after another are read
// like one another, as json.Decoder.Token reads them.
//
// It is a single pass over the bytes with no allocation but the key sets: json.Decoder.Token,
// which it replaces, allocated for every token and was most of the cost of reading a PROOF.json
// in the verify path.
func HasDuplicateKeys(data []byte) bool {
	sc := scanner{data: data}
	for {
		sc.skipSpace()
		if sc.i == len(data) {
			return false
		}
		if !sc.value() {
			return true
		}
	}
}

// scanner walks one JSON text; each method returns false on malformed input.
type scanner struct {
	data  []byte
	i     int
	stack []map[string]struct{} // per open container: the keys of an object, nil for an array
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
			return false
		}
		switch c := s.data[s.i]; {
		case c == '{' || c == '[':
			if len(s.stack) >= maxDepth {
				return false
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
				return false
			}
		}
		// a value ended: close the containers it ends, or go on to the next member or element
		for {
			if len(s.stack) == base {
				return true
			}
			s.skipSpace()
			if s.i >= len(s.data) {
				return false
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
			default:
				return false
			}
			break
		}
	}
}

// key reads an object member's key and its colon, and records the key in the innermost object.
func (s *scanner) key() bool {
	s.skipSpace()
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		return false
	}
	raw, ok := s.str()
	if !ok {
		return false
	}
	keys := s.stack[len(s.stack)-1]
	k, ok := foldKey(raw)
	if !ok {
		return false
	}
	if _, dup := keys[k]; dup {
		return false // reported as a duplicate: HasDuplicateKeys answers true either way
	}
	keys[k] = struct{}{}
	s.skipSpace()
	if s.i >= len(s.data) || s.data[s.i] != ':' {
		return false
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
			return nil, false
		case c == '\\':
			if s.i+1 >= len(s.data) {
				return nil, false
			}
			switch s.data[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.data) {
					return nil, false
				}
				for _, h := range s.data[s.i+2 : s.i+6] {
					if !isHex(h) {
						return nil, false
					}
				}
				s.i += 6
			default:
				return nil, false
			}
		default:
			s.i++
		}
	}
	return nil, false
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
		return false
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
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
