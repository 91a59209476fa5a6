// Package credential is what an issuer signs: a schema's attributes, normalised and encoded into the
// schema's credential layout, committed to with Poseidon2 and signed with EdDSA on BN254's twisted
// Edwards curve. It also reads and writes CREDENTIAL.json, issuer key files and holder key files
// (the patient's 32-byte secret, its commitment and per-scope nullifiers).
//
// Guarantees: a Credential that Verify accepts has a signature by its issuer over exactly the
// commitment of its attributes as written, so changing any attribute after issuance makes Verify
// (and any proof over it) fail.
package credential

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"

	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"

	"github.com/zkhealth/zkhealth/internal/strictjson"
)

// Version is the CREDENTIAL.json format version this package writes and reads. Version 2 signs
// each list's completeness and every entry faithfully (statuses, ends); a version-1 credential is
// refused with a message that says to re-issue it.
const Version = 2

// MaxSize bounds a CREDENTIAL.json read from anywhere.
const MaxSize = 256 << 10

// ErrBadSignature is returned when a credential's signature does not verify under its issuer key
// over the commitment of its attributes.
var ErrBadSignature = errors.New("credential signature does not verify (the credential was altered or signed by another key)")

// Header is the part of a credential that is not an attribute.
type Header struct {
	HolderCommitment fr.Element
	IssuedOn         string // YYYY-MM-DD
	ExpiresOn        string // YYYY-MM-DD
	ID               [16]byte
}

// Credential is CREDENTIAL.json.
type Credential struct {
	Version          int             `json:"version"`
	Schema           string          `json:"schema"`
	ID               string          `json:"id"`
	Issuer           string          `json:"issuer"`
	HolderCommitment string          `json:"holder_commitment"`
	IssuedOn         string          `json:"issued_on"`
	ExpiresOn        string          `json:"expires_on"`
	Attributes       json.RawMessage `json:"attributes"`
	// Completeness says, for each list, what its signed entries cover (signed with them).
	Completeness map[string]WireCompleteness `json:"completeness"`
	Signature    string                      `json:"signature"`
}

// WireCompleteness is a list's completeness as CREDENTIAL.json writes it: complete_since a date
// or null (nothing left out), incomplete a boolean.
type WireCompleteness struct {
	CompleteSince *string `json:"complete_since"`
	Incomplete    bool    `json:"incomplete"`
}

// Wire returns the completeness as CREDENTIAL.json writes it.
func (c Completeness) Wire() WireCompleteness {
	w := WireCompleteness{Incomplete: c.Incomplete}
	if c.CompleteSince != "" {
		d := c.CompleteSince
		w.CompleteSince = &d
	}
	return w
}

// Decoded is a parsed, checked credential: its schema, attributes, layout values and commitment,
// the issuer key and signature. Only Verify says whether the signature holds.
type Decoded struct {
	Schema     *schema.Schema
	Attributes *Attributes
	Header     Header
	Values     []*big.Int
	Commitment fr.Element
	Issuer     eddsa.PublicKey
	Signature  eddsa.Signature
}

// Issue normalises attrs (ATTRS.json) for schema s, encodes and commits to them, and signs the
// commitment with key. The credential id is random (from rnd, crypto/rand when nil).
func Issue(key *IssuerKey, s *schema.Schema, holderCommitment fr.Element, attrs []byte, issuedOn, expiresOn string, rnd io.Reader) (*Credential, error) {
	a, err := ParseAttributes(s, attrs)
	if err != nil {
		return nil, err
	}
	return IssueAttributes(key, a, holderCommitment, issuedOn, expiresOn, rnd)
}

// IssueAttributes is Issue for attributes already parsed (e.g. built from FHIR).
func IssueAttributes(key *IssuerKey, a *Attributes, holderCommitment fr.Element, issuedOn, expiresOn string, rnd io.Reader) (*Credential, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	issued, err := encode.Date(issuedOn)
	if err != nil {
		return nil, at("issued_on", encodeError(err, wantDate))
	}
	expires, err := encode.Date(expiresOn)
	if err != nil {
		return nil, at("expires_on", encodeError(err, wantDate))
	}
	if expires < issued {
		return nil, fieldErr("expires_on", ReasonBeforeIssued, "")
	}
	if err := a.datedOnOrBefore(issuedOn); err != nil {
		return nil, err
	}
	h := Header{HolderCommitment: holderCommitment, IssuedOn: issuedOn, ExpiresOn: expiresOn}
	if _, err := io.ReadFull(rnd, h.ID[:]); err != nil {
		return nil, fmt.Errorf("credential id: %w", err)
	}
	vals, err := a.Values(h)
	if err != nil {
		return nil, err
	}
	c, err := Commitment(a.Schema, vals)
	if err != nil {
		return nil, err
	}
	cb := c.Bytes()
	sig, err := key.priv.Sign(cb[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil {
		return nil, fmt.Errorf("sign credential: %w", err)
	}
	attrJSON, err := a.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode attributes: %w", err)
	}
	cred := &Credential{
		Version:          Version,
		Schema:           a.Schema.ID,
		ID:               hex.EncodeToString(h.ID[:]),
		Issuer:           key.PublicHex(),
		HolderCommitment: fieldhash.Hex(holderCommitment),
		IssuedOn:         issuedOn,
		ExpiresOn:        expiresOn,
		Attributes:       attrJSON,
		Completeness:     map[string]WireCompleteness{},
		Signature:        hex.EncodeToString(sig),
	}
	for i, l := range a.Schema.Lists {
		cred.Completeness[l.Name] = a.Completeness[i].Wire()
	}
	return cred, nil
}

// Commitment is C = Poseidon2(credential tag of the schema, packed layout values).
func Commitment(s *schema.Schema, values []*big.Int) (fr.Element, error) {
	packed, err := s.CredentialLayout().Pack(values)
	if err != nil {
		return fr.Element{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return fieldhash.HashBig(fieldhash.CredentialTag(s.ID), packed...)
}

// Parse reads CREDENTIAL.json strictly (size-limited, unknown fields refused).
func Parse(data []byte) (*Credential, error) {
	if len(data) > MaxSize {
		return nil, fieldErr("", ReasonTooLarge, fmt.Sprintf("at most %d bytes", MaxSize))
	}
	var c Credential
	if err := strictUnmarshal(data, &c); err != nil {
		return nil, jsonFieldErr("", err)
	}
	return &c, nil
}

// Decode checks every field of the credential and re-derives its layout values and commitment from
// the attributes as written. It does not check the signature: call Verify.
func (c *Credential) Decode() (*Decoded, error) {
	switch {
	case c.Version == 1:
		return nil, fieldErr("version", ReasonReissue, "")
	case c.Version != Version:
		return nil, fieldErr("version", ReasonUnsupported, fmt.Sprintf("%d", Version))
	}
	s, err := schema.Get(c.Schema)
	if err != nil {
		return nil, &FieldError{Field: "schema", Reason: ReasonNotInSet, Want: "one of " + strings.Join(schemaIDs(), ", "), Err: err}
	}
	a, err := ParseAttributes(s, c.Attributes)
	if err != nil {
		return nil, err
	}
	if !isNormal(c.Attributes, a) {
		return nil, fieldErr("attributes", ReasonNotAsIssued, "")
	}
	if len(c.Completeness) != len(s.Lists) {
		return nil, fieldErr("completeness", ReasonMismatch, "one entry per list of schema "+s.ID+": "+listNames(s))
	}
	for i, l := range s.Lists {
		w, ok := c.Completeness[l.Name]
		if !ok {
			return nil, fieldErr("completeness."+l.Name, ReasonMissing, "")
		}
		if !a.Completeness[i].Complete() {
			return nil, fieldErr("attributes."+l.Name, ReasonTooLarge, fmt.Sprintf("at most %d entries", l.Capacity))
		}
		a.Completeness[i] = Completeness{Incomplete: w.Incomplete}
		if w.CompleteSince != nil {
			field := "completeness." + l.Name + ".complete_since"
			d, err := encode.Date(*w.CompleteSince)
			if err != nil {
				return nil, at(field, encodeError(err, wantDate))
			}
			if encode.DateString(d) != *w.CompleteSince {
				return nil, fieldErr(field, ReasonNotAsIssued, "")
			}
			a.Completeness[i].CompleteSince = *w.CompleteSince
		}
	}
	var h Header
	if h.HolderCommitment, err = fieldhash.ParseHex(c.HolderCommitment); err != nil {
		return nil, &FieldError{Field: "holder_commitment", Reason: ReasonMalformed, Want: "a field element in hex", Err: err}
	}
	h.IssuedOn, h.ExpiresOn = c.IssuedOn, c.ExpiresOn
	id, err := hex.DecodeString(c.ID)
	if err != nil || len(id) != len(h.ID) {
		return nil, fieldErr("id", ReasonMalformed, fmt.Sprintf("%d bytes of hex", len(h.ID)))
	}
	copy(h.ID[:], id)
	vals, err := a.Values(h)
	if err != nil {
		return nil, err
	}
	commit, err := Commitment(s, vals)
	if err != nil {
		return nil, err
	}
	d := &Decoded{Schema: s, Attributes: a, Header: h, Values: vals, Commitment: commit}
	if d.Issuer, err = ParsePublicKey(c.Issuer); err != nil {
		return nil, &FieldError{Field: "issuer", Reason: ReasonMalformed, Want: "an issuer public key in hex", Err: err}
	}
	sig, err := hex.DecodeString(c.Signature)
	if err != nil {
		return nil, fieldErr("signature", ReasonMalformed, "an EdDSA signature in hex")
	}
	if n, err := d.Signature.SetBytes(sig); err != nil || n != len(sig) {
		return nil, fieldErr("signature", ReasonMalformed, "an EdDSA signature in hex")
	}
	return d, nil
}

// isNormal reports whether raw is the normal form of a (as MarshalJSON writes it, up to whitespace
// and key order). An issuer writes attributes in normal form, so any other spelling was changed
// after issuance; refusing it keeps "the credential shows what was signed": without it a value
// changed below the encoding's precision (7.5 → 7.504 %), a re-spelt code or reordered dated
// entries would encode to the signed vector and verify while showing something else.
func isNormal(raw json.RawMessage, a *Attributes) bool {
	norm, err := a.MarshalJSON()
	if err != nil {
		return false
	}
	var written, want any
	if json.Unmarshal(raw, &written) != nil || json.Unmarshal(norm, &want) != nil {
		return false
	}
	return reflect.DeepEqual(written, want) && !strictjson.HasDuplicateKeys(raw)
}

// Verify checks the issuer's signature over the commitment; it returns ErrBadSignature when the
// credential was altered after issuance or signed by another key.
func (d *Decoded) Verify() error {
	cb := d.Commitment.Bytes()
	ok, err := d.Issuer.Verify(d.Signature.Bytes(), cb[:], poseidon2.NewMerkleDamgardHasher())
	if err != nil || !ok {
		return ErrBadSignature
	}
	return nil
}

// Marshal renders the credential as indented JSON.
func (c *Credential) Marshal() ([]byte, error) {
	return json.MarshalIndent(c, "", "  ")
}
