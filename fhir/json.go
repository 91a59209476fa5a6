package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// ErrMalformed marks every error about the FHIR input (wrong JSON types, missing fields this
// package needs, unknown code systems, values that cannot be encoded). It wraps
// credential.ErrMalformed, so the CLI exits 2 and the service answers 400 for it.
var ErrMalformed = fmt.Errorf("malformed FHIR: %w", credential.ErrMalformed)

// ErrNoCoverage is wrapped by CoverageAttributes' error when the bundle holds no insurance
// coverage (only self-pay / no_insurance pseudo-coverages, or none at all).
var ErrNoCoverage = errors.New("no insurance coverage in the bundle")

// Error is malformed FHIR input. Path names the resource by type and index among the bundle's
// resources of that type, then the element ("Observation[12].valueQuantity.unit"). The message
// (Path and Reason) never carries a value from the input; Err, when set, is the underlying
// cause (for errors.Is) and may quote the input, so it is not part of Error().
type Error struct {
	Path   string
	ID     string // the resource's id when it has one; not part of the message
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Path + ": " + e.Reason }

// Unwrap returns ErrMalformed and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrMalformed, e.Err}
	}
	return []error{ErrMalformed}
}

// maxDepth bounds the nesting of a FHIR JSON document.
const maxDepth = 64

// object is a JSON object with its keys in document order.
type object struct {
	keys []string
	m    map[string]any
}

// parseJSON decodes exactly one JSON value strictly: numbers stay json.Number, a repeated key in
// an object is an error (a reader that keeps the first and one that keeps the last would see
// different records), nesting is bounded and nothing may follow the value.
func parseJSON(data []byte, what string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err != nil {
		var se *json.SyntaxError
		reason := "not valid JSON"
		switch {
		case errors.As(err, &se):
			reason = fmt.Sprintf("not valid JSON (syntax error at byte %d)", se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			reason = "not valid JSON (unexpected end)"
		case errors.Is(err, errDuplicateKey), errors.Is(err, errTooDeep):
			reason = "not valid JSON (" + err.Error() + ")"
		case strings.HasPrefix(err.Error(), "trailing"):
			reason = err.Error()
		}
		// a syntax error says what and where, in the words every other JSON input uses
		if cerr := strictjson.Check(data); errors.Is(cerr, strictjson.ErrSyntax) {
			reason = cerr.Error()
		}
		return nil, &Error{Path: what, Reason: reason}
	}
	return v, nil
}

var (
	errDuplicateKey = errors.New("an object repeats a key")
	errTooDeep      = fmt.Errorf("nested deeper than %d levels", maxDepth)
)

func parseValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{m: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				if _, dup := o.m[k]; dup {
					return nil, errDuplicateKey
				}
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, errors.New("unexpected delimiter")
	}
	return tok, nil // string, json.Number, bool or nil
}

// node is one element of a FHIR resource: its JSON value, its path for messages, whether it is
// present at all, and the id of the resource it belongs to.
type node struct {
	v    any
	path string
	ok   bool
	id   string
}

// fail is an *Error about n.
func (n node) fail(format string, args ...any) error {
	return &Error{Path: n.path, ID: n.id, Reason: fmt.Sprintf(format, args...)}
}

// failErr is an *Error about n with an underlying cause (not shown in the message).
func (n node) failErr(cause error, format string, args ...any) error {
	return &Error{Path: n.path, ID: n.id, Reason: fmt.Sprintf(format, args...), Err: cause}
}

func jsonKind(v any) string {
	switch v.(type) {
	case *object:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an unknown JSON value"
}

// wrongType is the error for n holding something other than want.
func (n node) wrongType(want string) error {
	if n.v == nil {
		return n.fail("null is not allowed in FHIR JSON; want %s", want)
	}
	return n.fail("want %s, got %s", want, jsonKind(n.v))
}

// get returns the member name of object n (absent when n is not an object or lacks it).
func (n node) get(name string) node {
	c := node{path: n.path + "." + name, id: n.id}
	if o, ok := n.v.(*object); ok && n.ok {
		c.v, c.ok = o.m[name]
	}
	return c
}

// has reports whether object n has member name.
func (n node) has(name string) bool { return n.get(name).ok }

// isObject checks that n is a JSON object.
func (n node) isObject() error {
	if _, ok := n.v.(*object); !ok {
		return n.wrongType("an object")
	}
	return nil
}

// object returns the required object member name.
func (n node) object(name string) (node, error) {
	c := n.get(name)
	if !c.ok {
		return c, c.fail("required element missing")
	}
	return c, c.isObject()
}

// optObject returns the optional object member name (ok false when absent).
func (n node) optObject(name string) (node, bool, error) {
	c := n.get(name)
	if !c.ok {
		return c, false, nil
	}
	return c, true, c.isObject()
}

// str returns the required string member name; FHIR forbids empty strings.
func (n node) str(name string) (string, error) {
	c := n.get(name)
	if !c.ok {
		return "", c.fail("required element missing")
	}
	return c.asString()
}

// optStr returns the optional string member name ("" when absent).
func (n node) optStr(name string) (string, bool, error) {
	c := n.get(name)
	if !c.ok {
		return "", false, nil
	}
	s, err := c.asString()
	return s, err == nil, err
}

func (n node) asString() (string, error) {
	s, ok := n.v.(string)
	if !ok {
		return "", n.wrongType("a string")
	}
	if strings.TrimSpace(s) == "" {
		return "", n.fail("empty string (FHIR forbids empty values)")
	}
	return s, nil
}

// optBool returns the optional boolean member name.
func (n node) optBool(name string) (bool, bool, error) {
	c := n.get(name)
	if !c.ok {
		return false, false, nil
	}
	b, ok := c.v.(bool)
	if !ok {
		return false, false, c.wrongType("a boolean")
	}
	return b, true, nil
}

// number returns the required decimal member name as a float64.
func (n node) number(name string) (float64, error) {
	c := n.get(name)
	if !c.ok {
		return 0, c.fail("required element missing")
	}
	num, ok := c.v.(json.Number)
	if !ok {
		return 0, c.wrongType("a number")
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, c.fail("number out of range")
	}
	return f, nil
}

// array returns the elements of the optional array member name (nil when absent). FHIR forbids
// empty arrays.
func (n node) array(name string) ([]node, error) {
	c := n.get(name)
	if !c.ok {
		return nil, nil
	}
	arr, ok := c.v.([]any)
	if !ok {
		return nil, c.wrongType("an array")
	}
	if len(arr) == 0 {
		return nil, c.fail("empty array (FHIR forbids empty values)")
	}
	out := make([]node, len(arr))
	for i, v := range arr {
		out[i] = node{v: v, path: fmt.Sprintf("%s[%d]", c.path, i), ok: true, id: n.id}
	}
	return out, nil
}

// objects is array whose elements must all be objects.
func (n node) objects(name string) ([]node, error) {
	arr, err := n.array(name)
	if err != nil {
		return nil, err
	}
	for _, e := range arr {
		if err := e.isObject(); err != nil {
			return nil, err
		}
	}
	return arr, nil
}

// requiredObjects is objects for a member of cardinality 1..*.
func (n node) requiredObjects(name string) ([]node, error) {
	arr, err := n.objects(name)
	if err == nil && arr == nil {
		return nil, n.get(name).fail("required element missing")
	}
	return arr, err
}
