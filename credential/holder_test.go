package credential_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

func mustGenerate(t testing.TB, rnd *rand.ChaCha8) *credential.HolderKey {
	t.Helper()
	k, err := credential.GenerateHolderKey(rnd)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerate(t *testing.T) {
	rnd := seeded(t)
	seen := map[string]bool{}
	for range 8 {
		k := mustGenerate(t, rnd)
		if seen[k.SecretHex()] {
			t.Fatalf("Generate repeated a secret")
		}
		seen[k.SecretHex()] = true
	}
	k, err := credential.GenerateHolderKey(nil) // crypto/rand
	if err != nil || seen[k.SecretHex()] {
		t.Fatalf("Generate(nil) = %v, %v", k, err)
	}
	// The same randomness gives the same key.
	var seed [32]byte
	a, _ := credential.GenerateHolderKey(rand.NewChaCha8(seed))
	b, _ := credential.GenerateHolderKey(rand.NewChaCha8(seed))
	if a.SecretHex() != b.SecretHex() {
		t.Errorf("Generate is not a function of its randomness")
	}
	// A short source is an error, not a weak key.
	if k, err := credential.GenerateHolderKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Errorf("Generate from 31 bytes = %v", k.SecretHex())
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	rnd := seeded(t)
	for range 4 {
		k := mustGenerate(t, rnd)
		data, err := k.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var f credential.HolderKeyFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Secret) != 64 || strings.ToLower(f.Secret) != f.Secret {
			t.Errorf("secret %q is not 64 lower-case hex digits", f.Secret)
		}
		if want := fieldhash.Hex(k.Commitment()); f.Commitment != want {
			t.Errorf("file commitment %q, want %q", f.Commitment, want)
		}
		got, err := credential.ParseHolderKey(data)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if got.SecretHex() != k.SecretHex() {
			t.Errorf("secret changed in the round trip")
		}
		if a, b := got.Commitment(), k.Commitment(); !a.Equal(&b) {
			t.Errorf("commitment changed in the round trip")
		}
	}
}

func TestParse(t *testing.T) {
	k := mustGenerate(t, seeded(t))
	other := mustGenerate(t, seeded(t))
	secret, commit := k.SecretHex(), fieldhash.Hex(k.Commitment())
	tests := []struct {
		name string
		data string
		ok   bool
	}{
		{"OK", fmt.Sprintf(`{"secret": %q, "commitment": %q}`, secret, commit), true},
		{"Prefixed", fmt.Sprintf(`{"secret": "0x%s", "commitment": %q}`, secret, strings.TrimPrefix(commit, "0x")), true},
		// HOLDER.key's commitment is informative: a file with the secret alone is a key.
		{"NoCommitment", fmt.Sprintf(`{"secret": %q}`, secret), true},
		{"OtherCommitment", fmt.Sprintf(`{"secret": %q, "commitment": %q}`, secret, fieldhash.Hex(other.Commitment())), false},
		{"CommitmentOfNullifier", fmt.Sprintf(`{"secret": %q, "commitment": %q}`, secret, fieldhash.Hex(k.Nullifier(fieldhash.String("x")))), false},
		{"CommitmentNotCanonical", fmt.Sprintf(`{"secret": %q, "commitment": "0x%x"}`, secret, fr.Modulus()), false},
		{"CommitmentUpperCase", fmt.Sprintf(`{"secret": %q, "commitment": %q}`, secret, strings.ToUpper(commit)), false},
		{"NoSecret", fmt.Sprintf(`{"commitment": %q}`, commit), false},
		{"ShortSecret", fmt.Sprintf(`{"secret": %q}`, secret[:62]), false},
		{"LongSecret", fmt.Sprintf(`{"secret": %q}`, secret+"00"), false},
		{"UnknownField", fmt.Sprintf(`{"secret": %q, "commitment": %q, "note": 1}`, secret, commit), false},
		{"SecretNumber", `{"secret": 1}`, false},
		{"NotJSON", `secret=` + secret, false},
		{"Empty", ``, false},
		{"Null", `null`, false},
		{"Array", `[]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := credential.ParseHolderKey([]byte(tt.data))
			if !tt.ok {
				if err == nil {
					t.Fatalf("Parse accepted %s", tt.data)
				}
				if !errors.Is(err, credential.ErrMalformedHolderKey) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.SecretHex() != secret {
				t.Errorf("Parse read another secret")
			}
		})
	}
}

func TestFromSecretHex(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{strings.Repeat("ab", 32), true},
		{"0x" + strings.Repeat("ab", 32), true},
		{strings.Repeat("00", 32), true},
		{"", false},
		{"0x", false},
		{strings.Repeat("ab", 31), false},
		{strings.Repeat("ab", 33), false},
		{strings.Repeat("ab", 31) + "a", false}, // odd digit count
		{strings.Repeat("zz", 32), false},
		{" " + strings.Repeat("ab", 32), false},
		{"0x0x" + strings.Repeat("ab", 31), false},
	}
	for _, tt := range tests {
		k, err := credential.HolderKeyFromHex(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("FromSecretHex(%q) = %v, %v; want ok = %v", tt.in, k, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, credential.ErrMalformedHolderKey) {
				t.Errorf("FromSecretHex(%q): %v does not wrap ErrMalformed", tt.in, err)
			}
			continue
		}
		if want := strings.TrimPrefix(tt.in, "0x"); k.SecretHex() != want {
			t.Errorf("FromSecretHex(%q).SecretHex() = %q", tt.in, k.SecretHex())
		}
	}
}

// TestCommitmentAndNullifierDefinitions checks the key's hashes are exactly the ones the circuit
// recomputes (fieldhash.HolderCommitment and fieldhash.Nullifier of the reduced secret).
func TestCommitmentAndNullifierDefinitions(t *testing.T) {
	k := mustGenerate(t, seeded(t))
	b, _ := hex.DecodeString(k.SecretHex())
	e, err := fieldhash.SecretElement(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Element(); !got.Equal(&e) {
		t.Fatalf("Element is not SecretElement(secret)")
	}
	if got, want := k.Commitment(), fieldhash.Hash(fieldhash.TagHolder, e); !got.Equal(&want) {
		t.Errorf("Commitment is not H(TagHolder, secret)")
	}
	scope := fieldhash.String("trial:NCT04556851")
	if got, want := k.Nullifier(scope), fieldhash.Hash(fieldhash.TagNullifier, e, scope); !got.Equal(&want) {
		t.Errorf("Nullifier is not H(TagNullifier, secret, scope)")
	}
}

// TestSecretReduction documents that the secret enters the circuit reduced modulo the scalar
// field: two 32-byte secrets that differ by the modulus are one holder (same commitment, same
// nullifiers), so a holder cannot get two nullifiers for one scope by re-encoding the secret.
func TestSecretReduction(t *testing.T) {
	five := new(big.Int).Add(fr.Modulus(), big.NewInt(5))
	a, err := credential.HolderKeyFromHex(fmt.Sprintf("%064x", five))
	if err != nil {
		t.Fatal(err)
	}
	b, err := credential.HolderKeyFromHex(fmt.Sprintf("%064x", 5))
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := a.Commitment(), b.Commitment()
	scope := fieldhash.String("s")
	na, nb := a.Nullifier(scope), b.Nullifier(scope)
	if !ca.Equal(&cb) || !na.Equal(&nb) {
		t.Errorf("secrets r+5 and 5 give different commitments or nullifiers")
	}
}

// TestNullifiers checks DESIGN.md rule 5: one holder gives one nullifier per scope, different
// nullifiers to different scopes, and different holders differ within a scope.
func TestNullifiers(t *testing.T) {
	rnd := seeded(t)
	holders := make([]*credential.HolderKey, 4)
	for i := range holders {
		holders[i] = mustGenerate(t, rnd)
	}
	scopes := []fr.Element{
		fieldhash.String("trial:NCT04556851"),
		fieldhash.String("trial:NCT04556852"),
		fieldhash.String("payer:acme:eligibility"),
		fieldhash.String(""),
		{}, // zero
	}
	seen := map[fr.Element]string{}
	for i, h := range holders {
		for j, s := range scopes {
			n := h.Nullifier(s)
			// Same holder, same scope: same nullifier, also from a key re-read from its file.
			data, _ := h.MarshalJSON()
			again, err := credential.ParseHolderKey(data)
			if err != nil {
				t.Fatal(err)
			}
			if n2 := again.Nullifier(s); !n2.Equal(&n) {
				t.Errorf("holder %d scope %d: nullifier not stable", i, j)
			}
			name := fmt.Sprintf("holder %d scope %d", i, j)
			if other, dup := seen[n]; dup {
				t.Errorf("%s has the nullifier of %s", name, other)
			}
			seen[n] = name
		}
	}
}

// TestNullifierNotIssuerComputable is a property test of the privacy rule behind nullifiers: the
// issuer knows the holder commitment and the verifier knows the scope, and nothing either can
// compute from those with zkhealth's hashes gives the nullifier. (It cannot prove one-wayness of
// Poseidon2; it guards against a nullifier accidentally defined over the commitment, the wrong tag
// or a swapped argument order.)
func TestNullifierNotIssuerComputable(t *testing.T) {
	rnd := seeded(t)
	tags := []fieldhash.Tag{
		fieldhash.TagHolder, fieldhash.TagNullifier, fieldhash.TagString,
		fieldhash.CredentialTag("clinical"), fieldhash.CredentialTag("coverage"),
		fieldhash.PolicyTag("clinical"), fieldhash.PolicyTag("coverage"),
	}
	for i := range 4 {
		k := mustGenerate(t, rnd)
		c := k.Commitment()
		scope := fieldhash.String(fmt.Sprint("trial:", i))
		n := k.Nullifier(scope)
		known := map[string]fr.Element{"commitment": c, "scope": scope}
		for _, tag := range tags {
			l := tag.Label()
			known["H("+l+", commitment, scope)"] = fieldhash.Hash(tag, c, scope)
			known["H("+l+", scope, commitment)"] = fieldhash.Hash(tag, scope, c)
			known["H("+l+", commitment)"] = fieldhash.Hash(tag, c)
			known["H("+l+", scope)"] = fieldhash.Hash(tag, scope)
			known["H("+l+", H(commitment), scope)"] = fieldhash.Hash(tag, fieldhash.Hash(tag, c), scope)
			known["H("+l+", commitment, scope, 0)"] = fieldhash.Hash(tag, c, scope, fr.Element{})
		}
		for name, v := range known {
			if v.Equal(&n) {
				t.Errorf("holder %d: nullifier = %s", i, name)
			}
		}
		// Nor are the secret's own other hashes the nullifier or the commitment.
		e := k.Element()
		if h := fieldhash.Hash(fieldhash.TagHolder, e, scope); h.Equal(&n) {
			t.Errorf("nullifier = H(TagHolder, secret, scope)")
		}
		if h := fieldhash.Hash(fieldhash.TagNullifier, e); h.Equal(&c) {
			t.Errorf("commitment = H(TagNullifier, secret): the nullifier chain starts at the commitment")
		}
		if h := fieldhash.Hash(fieldhash.TagNullifier, scope, e); h.Equal(&n) {
			t.Errorf("nullifier is symmetric in secret and scope")
		}
	}
}
