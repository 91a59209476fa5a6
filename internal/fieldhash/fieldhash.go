// Package fieldhash is zkhealth's native (out-of-circuit) hashing: Poseidon2 over BN254 scalars in
// gnark-crypto's Merkle–Damgård mode, always behind a leading domain tag, and the hash of free
// strings to field elements.
//
// Every hash use has its own tag (holder, nullifier, policy, credential, challenge binding), so no
// hash can be rewritten as another: Merkle–Damgård without padding gives
// H(a, b) = compress(H(a), b), and distinct first blocks keep the chains apart. The circuit hashes
// with gnark's std/hash/poseidon2, which is the same function; tests check the two agree.
package fieldhash

import (
	"crypto/sha256"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// Tag is a domain-separation tag: a field element derived from a label.
type Tag struct{ label string }

// Domain tags. A credential's and a policy's tag also name the schema (CredentialTag, PolicyTag).
var (
	// TagHolder prefixes the holder commitment H(TagHolder, secret).
	TagHolder = Tag{"zkhealth/v1/holder"}
	// TagNullifier prefixes the nullifier H(TagNullifier, secret, scope).
	TagNullifier = Tag{"zkhealth/v1/nullifier"}
	// TagString prefixes the hash of a free string to a field element.
	TagString = Tag{"zkhealth/v1/string"}
)

// CredentialTag is the leading tag of a credential commitment of the given schema.
func CredentialTag(schemaID string) Tag { return Tag{"zkhealth/v1/credential/" + schemaID} }

// PolicyTag is the leading tag of a policy hash of the given schema.
func PolicyTag(schemaID string) Tag { return Tag{"zkhealth/v1/policy/" + schemaID} }

// Label returns the tag's label.
func (t Tag) Label() string { return t.label }

// Element is the tag as a field element: sha256(label) reduced modulo the BN254 scalar field.
func (t Tag) Element() fr.Element {
	sum := sha256.Sum256([]byte(t.label))
	var e fr.Element
	e.SetBytes(sum[:])
	return e
}

// BigInt is the tag as an integer below the modulus.
func (t Tag) BigInt() *big.Int {
	e := t.Element()
	return e.BigInt(new(big.Int))
}

// Hash returns Poseidon2(tag, elems...) in Merkle–Damgård mode with a zero IV, exactly as
// gnark's std/hash/poseidon2 computes it in circuit.
func Hash(tag Tag, elems ...fr.Element) fr.Element {
	h := poseidon2.NewMerkleDamgardHasher()
	te := tag.Element()
	b := te.Bytes()
	h.Write(b[:])
	for i := range elems {
		b := elems[i].Bytes()
		h.Write(b[:])
	}
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out
}

// HashBig is Hash over integers; each must be a canonical scalar (below the modulus).
func HashBig(tag Tag, elems ...*big.Int) (fr.Element, error) {
	es := make([]fr.Element, len(elems))
	for i, v := range elems {
		var err error
		if es[i], err = Canonical(v); err != nil {
			return fr.Element{}, fmt.Errorf("hash input %d: %w", i, err)
		}
	}
	return Hash(tag, es...), nil
}

// Canonical converts v to a field element, refusing negative values and values at or above the
// modulus (so no two integers are silently identified).
func Canonical(v *big.Int) (fr.Element, error) {
	var e fr.Element
	if v == nil || v.Sign() < 0 || v.Cmp(fr.Modulus()) >= 0 {
		return e, fmt.Errorf("not a canonical field element")
	}
	e.SetBigInt(v)
	return e, nil
}

// StringBits is the width of a hashed string. Two hashed strings fit one packed field element, so
// a policy's pool of set values and a credential's string attributes cost half the hashing they
// would as whole field elements; 124 bits keep second preimages (2^124) and collisions (2^62
// work, and only an issuer could sign a colliding string) out of reach.
const StringBits = 124

// String hashes a free string (payer, plan, member id, scope) to a StringBits-bit integer: the
// first 124 bits of sha256(TagString label ‖ 0x00 ‖ s). Only equality of strings is provable
// through it.
func String(s string) fr.Element {
	h := sha256.New()
	h.Write([]byte(TagString.label))
	h.Write([]byte{0})
	h.Write([]byte(s))
	sum := h.Sum(nil)
	v := new(big.Int).Rsh(new(big.Int).SetBytes(sum), 256-StringBits)
	var e fr.Element
	e.SetBigInt(v)
	return e
}

// SecretElement maps a 32-byte holder secret to the field by reduction modulo the scalar field.
func SecretElement(secret []byte) (fr.Element, error) {
	if len(secret) != 32 {
		return fr.Element{}, fmt.Errorf("holder secret must be 32 bytes, got %d", len(secret))
	}
	var e fr.Element
	e.SetBytes(secret)
	return e, nil
}

// HolderCommitment is H(TagHolder, secret).
func HolderCommitment(secret fr.Element) fr.Element { return Hash(TagHolder, secret) }

// Nullifier is H(TagNullifier, secret, scope): equal for one holder within one scope, unlinkable
// across scopes, and not computable without the secret.
func Nullifier(secret, scope fr.Element) fr.Element { return Hash(TagNullifier, secret, scope) }

// Hex renders a field element as 0x-prefixed lower-case hex of its 32-byte big-endian form.
func Hex(e fr.Element) string {
	b := e.Bytes()
	return fmt.Sprintf("0x%x", b[:])
}

// ParseHex reads a field element written by Hex (with or without 0x); it must be canonical.
func ParseHex(s string) (fr.Element, error) {
	v, err := parseHexInt(s)
	if err != nil {
		return fr.Element{}, err
	}
	return Canonical(v)
}

// ReduceHex reads up to 32 bytes of hex (with or without 0x) and reduces it modulo the scalar
// field. Challenges use it: a verifier may pick any 32 random bytes.
func ReduceHex(s string) (fr.Element, error) {
	v, err := parseHexInt(s)
	if err != nil {
		return fr.Element{}, err
	}
	if v.BitLen() > 256 {
		return fr.Element{}, fmt.Errorf("more than 32 bytes")
	}
	var e fr.Element
	e.SetBigInt(v)
	return e, nil
}

func parseHexInt(s string) (*big.Int, error) {
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if s == "" || len(s) > 64 {
		return nil, fmt.Errorf("want 1 to 64 hex digits")
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, fmt.Errorf("not lower-case hex")
		}
	}
	v, _ := new(big.Int).SetString(s, 16)
	return v, nil
}
