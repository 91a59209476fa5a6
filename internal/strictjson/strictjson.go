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
	"io"
	"strings"
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

// HasDuplicateKeys reports whether an object in the JSON text data repeats a key, comparing keys
// case-insensitively. Malformed JSON counts as true (the caller's decoder refuses it anyway).
func HasDuplicateKeys(data []byte) bool {
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(data))
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
			stack = stack[:len(stack)-1] // the closed container is a value of its parent
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
