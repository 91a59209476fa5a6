package credential_test

import (
	"encoding/hex"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// TestCredentialIDIsRandom: DESIGN.md, Credential, "a random credential id (used by revocation)".
// The same attributes issued again by the same issuer to the same holder on the same day get a
// fresh 16-byte id each time, from the system's randomness when no source is given, so an id
// links to no one; the id is signed (TestTamper changes it and the signature fails).
func TestCredentialIDIsRandom(t *testing.T) {
	rnd := seeded(t)
	ik := mustIssuerKey(t, rnd)
	hk, err := credential.GenerateHolderKey(rnd)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	zero := hex.EncodeToString(make([]byte, 16))
	for i := range 16 {
		c, err := credential.Issue(ik, schema.Clinical(), hk.Commitment(), []byte(testfixture.ClinicalAttrs), issuedOn, expiresOn, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := hex.DecodeString(c.ID)
		if err != nil || len(id) != 16 {
			t.Fatalf("id %q: %d bytes, %v", c.ID, len(id), err)
		}
		if seen[c.ID] || c.ID == zero {
			t.Fatalf("issue %d repeats id %s", i, c.ID)
		}
		seen[c.ID] = true
	}
}
