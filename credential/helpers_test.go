package credential_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/schema"
)

const (
	issuedOn  = "2026-11-01"
	expiresOn = "2027-11-01"
)

// seeded returns a deterministic random source and logs its seed.
func seeded(tb testing.TB) *rand.ChaCha8 {
	tb.Helper()
	s := uint64(time.Now().UnixNano())
	tb.Logf("seed %d", s)
	var seed [32]byte
	for i := range 8 {
		seed[i] = byte(s >> (8 * i))
	}
	return rand.NewChaCha8(seed)
}

// issued is one credential with the keys it was issued with.
type issued struct {
	schema *schema.Schema
	issuer *credential.IssuerKey
	holder *credential.HolderKey
	cred   *credential.Credential
}

func mustIssuerKey(tb testing.TB, rnd *rand.ChaCha8) *credential.IssuerKey {
	tb.Helper()
	k, err := credential.GenerateIssuerKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// issue issues attrs of schema s to a fresh holder under a fresh issuer key.
func issue(tb testing.TB, rnd *rand.ChaCha8, s *schema.Schema, attrs string) *issued {
	tb.Helper()
	ik := mustIssuerKey(tb, rnd)
	hk, err := credential.GenerateHolderKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := credential.Issue(ik, s, hk.Commitment(), []byte(attrs), issuedOn, expiresOn, rnd)
	if err != nil {
		tb.Fatalf("issue: %v", err)
	}
	return &issued{schema: s, issuer: ik, holder: hk, cred: c}
}

// decodeVerify runs CREDENTIAL.json through Parse, Decode and Verify, returning the first error.
func decodeVerify(data []byte) (*credential.Decoded, error) {
	c, err := credential.Parse(data)
	if err != nil {
		return nil, err
	}
	d, err := c.Decode()
	if err != nil {
		return nil, err
	}
	return d, d.Verify()
}

// marshal renders a credential, failing the test on error.
func marshal(tb testing.TB, c *credential.Credential) []byte {
	tb.Helper()
	data, err := c.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// toMap decodes JSON into generic maps, keeping numbers as written.
func toMap(tb testing.TB, data []byte) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// refused reports whether err is one of the two ways a bad credential must fail: malformed input
// or a signature that does not verify.
func refused(err error) bool {
	return errors.Is(err, credential.ErrMalformed) || errors.Is(err, credential.ErrBadSignature)
}

// valueOf returns the credential layout value of the named field.
func valueOf(d *credential.Decoded, field string) *big.Int {
	return d.Values[d.Schema.CredentialLayout().Index(field)]
}
