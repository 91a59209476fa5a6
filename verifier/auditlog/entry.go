package auditlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// ResultValid is the Result of an entry whose proof verified; any other Result is the
// verifier's reason code (verifier.Reason…).
const ResultValid = "valid"

// Bounds of an entry.
const (
	// MaxScope bounds an entry's scope in bytes (policy.MaxScopeLen).
	MaxScope = 256
	// MaxResult bounds an entry's result code in bytes.
	MaxResult = 64
	// MaxEntrySize is the largest canonical encoding of an entry.
	MaxEntrySize = 1 + 8 + fr.Bytes + 1 + fr.Bytes + 1 + MaxResult + 2 + MaxScope
)

// entryVersion is the first byte of an entry's canonical encoding.
const entryVersion = 1

// ErrMalformedEntry is wrapped by every error of UnmarshalEntry.
var ErrMalformedEntry = errors.New("malformed log entry")

// Entry is one verification as the log records it: what was asked (the request binding and the
// scope), of whom (the nullifier: one holder's pseudonym within the scope), what came of it and
// when. It holds no attribute value, credential, holder secret, request id or proof.
type Entry struct {
	// Time is when the service verified, UTC, in whole seconds.
	Time time.Time
	// Binding is the request binding (policy hash) the proof was checked against: for a valid
	// proof the one it proves; otherwise the request's binding for the smallest circuit that
	// holds its policy.
	Binding fr.Element
	// Scope is the request's scope.
	Scope string
	// Nullifier is the nullifier the proof names, nil when it named none that parses. It is
	// proven only when Result is ResultValid: an invalid proof may name anyone's nullifier (a
	// proof replayed against another request names its holder's).
	Nullifier *fr.Element
	// Result is ResultValid or the verifier's reason code (lower-case letters, digits and _).
	Result string
}

// Validate reports whether the entry can be encoded: a time from 1970 on, a scope of 1 to
// MaxScope bytes of UTF-8, a result code of 1 to MaxResult bytes of [a-z0-9_].
func (e Entry) Validate() error {
	switch {
	case e.Time.Unix() < 0:
		return fmt.Errorf("%w: time before 1970", ErrMalformedEntry)
	case len(e.Scope) == 0 || len(e.Scope) > MaxScope || !utf8.ValidString(e.Scope):
		return fmt.Errorf("%w: scope: want 1 to %d bytes of UTF-8", ErrMalformedEntry, MaxScope)
	case !validResult(e.Result):
		return fmt.Errorf("%w: result: want 1 to %d of a-z, 0-9 and _", ErrMalformedEntry, MaxResult)
	}
	return nil
}

func validResult(r string) bool {
	if len(r) == 0 || len(r) > MaxResult {
		return false
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// MarshalBinary returns the entry's canonical encoding, the leaf the log hashes (RFC 6962: the
// leaf hash is SHA-256(0x00 ‖ encoding)). All integers are big-endian:
//
//	1 byte     version, 1
//	8 bytes    time, Unix seconds
//	32 bytes   binding, a canonical BN254 scalar field element
//	1 byte     0: no nullifier; 1: a nullifier follows
//	32 bytes   nullifier, a canonical field element (only after a 1)
//	1 byte     length of the result code (1…64), then the code in ASCII
//	2 bytes    length of the scope (1…256), then the scope in UTF-8
//
// Nothing follows. UnmarshalEntry accepts exactly these encodings, so an entry has one encoding
// and an encoding one entry. An entry is at most MaxEntrySize (397) bytes.
func (e Entry) MarshalBinary() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, MaxEntrySize)
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.Unix()))
	bind := e.Binding.Bytes()
	b = append(b, bind[:]...)
	if e.Nullifier == nil {
		b = append(b, 0)
	} else {
		n := e.Nullifier.Bytes()
		b = append(append(b, 1), n[:]...)
	}
	b = append(append(b, byte(len(e.Result))), e.Result...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Scope)))
	return append(b, e.Scope...), nil
}

// UnmarshalEntry decodes a canonical encoding (MarshalBinary); anything else (another version,
// a non-canonical field element, a bad length, a result or scope out of bounds, trailing bytes)
// is an error wrapping ErrMalformedEntry that names what is wrong, never a value.
func UnmarshalEntry(b []byte) (Entry, error) {
	var e Entry
	bad := func(what string) (Entry, error) { return Entry{}, fmt.Errorf("%w: %s", ErrMalformedEntry, what) }
	if len(b) > MaxEntrySize {
		return bad("longer than an entry can be")
	}
	r := reader{b: b}
	if v, ok := r.next(1); !ok || v[0] != entryVersion {
		return bad("unknown version")
	}
	ts, ok := r.next(8)
	if !ok || binary.BigEndian.Uint64(ts) > 1<<62 {
		return bad("time")
	}
	e.Time = time.Unix(int64(binary.BigEndian.Uint64(ts)), 0).UTC()
	bind, ok := r.next(fr.Bytes)
	if !ok || e.Binding.SetBytesCanonical(bind) != nil {
		return bad("binding: want a canonical field element")
	}
	flag, ok := r.next(1)
	switch {
	case !ok || flag[0] > 1:
		return bad("nullifier flag")
	case flag[0] == 1:
		n, ok := r.next(fr.Bytes)
		e.Nullifier = new(fr.Element)
		if !ok || e.Nullifier.SetBytesCanonical(n) != nil {
			return bad("nullifier: want a canonical field element")
		}
	}
	rl, ok := r.next(1)
	if !ok {
		return bad("result")
	}
	res, ok := r.next(int(rl[0]))
	if !ok {
		return bad("result")
	}
	e.Result = string(res)
	sl, ok := r.next(2)
	if !ok {
		return bad("scope")
	}
	scope, ok := r.next(int(binary.BigEndian.Uint16(sl)))
	if !ok {
		return bad("scope")
	}
	e.Scope = string(scope)
	if len(r.b) != 0 {
		return bad("trailing bytes")
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// reader takes bytes off the front of b.
type reader struct{ b []byte }

func (r *reader) next(n int) ([]byte, bool) {
	if n > len(r.b) {
		return nil, false
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, true
}
