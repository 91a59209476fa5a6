package credential_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

func keyFile(t *testing.T, k *credential.IssuerKey) credential.IssuerKeyFile {
	t.Helper()
	data, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var f credential.IssuerKeyFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestIssuerKeyFileRoundTrip(t *testing.T) {
	rnd := seeded(t)
	k := mustIssuerKey(t, rnd)
	data, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	f := keyFile(t, k)
	if f.PublicKey != k.PublicHex() || len(f.PublicKey) != 64 || strings.ToLower(f.PublicKey) != f.PublicKey {
		t.Errorf("public_key %q, want %q (64 lower-case hex digits)", f.PublicKey, k.PublicHex())
	}
	back, err := credential.ParseIssuerKey(data)
	if err != nil {
		t.Fatalf("ParseIssuerKey: %v", err)
	}
	if back.PublicHex() != k.PublicHex() {
		t.Errorf("public key changed in the round trip")
	}
	// The re-read key signs credentials that verify under the original public key.
	c, err := credential.Issue(back, schema.Coverage(), fr.Element{1}, []byte(testfixture.CoverageAttrs), issuedOn, expiresOn, rnd)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != k.PublicHex() {
		t.Errorf("credential issuer %s, want %s", c.Issuer, k.PublicHex())
	}
	if _, err := decodeVerify(marshal(t, c)); err != nil {
		t.Errorf("credential signed by the re-read key: %v", err)
	}
	// With 0x prefixes.
	f.PrivateKey, f.PublicKey = "0x"+f.PrivateKey, "0x"+f.PublicKey
	prefixed, _ := json.Marshal(f)
	if back, err := credential.ParseIssuerKey(prefixed); err != nil || back.PublicHex() != k.PublicHex() {
		t.Errorf("ParseIssuerKey with 0x = %v", err)
	}
}

func TestIssuerKeyFileRefusals(t *testing.T) {
	rnd := seeded(t)
	k, other := mustIssuerKey(t, rnd), mustIssuerKey(t, rnd)
	f, of := keyFile(t, k), keyFile(t, other)
	priv, _ := hex.DecodeString(f.PrivateKey)
	otherPriv, _ := hex.DecodeString(of.PrivateKey)
	// A private key whose embedded public key is another key's: the scalar does not match.
	spliced := append(append([]byte(nil), otherPriv[:32]...), priv[32:]...)
	tests := []struct {
		name  string
		file  any
		field string
	}{
		{"OtherPublicKey", credential.IssuerKeyFile{PrivateKey: f.PrivateKey, PublicKey: of.PublicKey}, "public_key"},
		{"MissingPublicKey", credential.IssuerKeyFile{PrivateKey: f.PrivateKey}, "public_key"},
		{"UpperCasePublicKey", credential.IssuerKeyFile{PrivateKey: f.PrivateKey, PublicKey: strings.ToUpper(f.PublicKey)}, "public_key"},
		{"SplicedPrivateKey", credential.IssuerKeyFile{PrivateKey: hex.EncodeToString(spliced), PublicKey: of.PublicKey}, "private_key"},
		{"ShortPrivateKey", credential.IssuerKeyFile{PrivateKey: f.PrivateKey[:len(f.PrivateKey)-2], PublicKey: f.PublicKey}, "private_key"},
		{"LongPrivateKey", credential.IssuerKeyFile{PrivateKey: f.PrivateKey + "00", PublicKey: f.PublicKey}, "private_key"},
		{"NotHex", credential.IssuerKeyFile{PrivateKey: "zz" + f.PrivateKey[2:], PublicKey: f.PublicKey}, "private_key"},
		{"MissingPrivateKey", credential.IssuerKeyFile{PublicKey: f.PublicKey}, "private_key"},
		{"UnknownField", map[string]string{"private_key": f.PrivateKey, "public_key": f.PublicKey, "note": "x"}, "note"},
		{"NotJSON", "not a key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := json.Marshal(tt.file)
			if s, ok := tt.file.(string); ok {
				data = []byte(s)
			}
			k, err := credential.ParseIssuerKey(data)
			var fe *credential.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("ParseIssuerKey = %v, %v; want a FieldError on %s", k, err, tt.field)
			}
			if strings.Contains(err.Error(), f.PrivateKey[64:]) {
				t.Errorf("error %q shows the private scalar", err)
			}
		})
	}
}

func TestWriteKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ISSUER.key")
	if err := credential.WriteKeyFile(path, []byte(`{"k": 1}`)); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	got, _ := os.ReadFile(path)
	if string(got) != "{\"k\": 1}\n" {
		t.Errorf("contents %q", got)
	}
	// Never replaces an existing key.
	err = credential.WriteKeyFile(path, []byte("other"))
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("second WriteKeyFile = %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); string(again) != string(got) {
		t.Errorf("existing key file changed to %q", again)
	}
	// Nor writes through a symlink to another file.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := credential.WriteKeyFile(link, []byte("x")); err == nil {
		t.Errorf("WriteKeyFile wrote through a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("symlink target changed")
	}
	// A missing directory is an error.
	if err := credential.WriteKeyFile(filepath.Join(dir, "no", "such", "k"), nil); err == nil {
		t.Errorf("WriteKeyFile into a missing directory succeeded")
	}
}

// compressed encodes a point as ParsePublicKey reads it.
func compressed(p twistededwards.PointAffine) string {
	b := p.Bytes()
	return hex.EncodeToString(b[:])
}

// withY returns a compressed encoding whose y (little-endian, sign bit kept) is y.
func withY(enc string, y *big.Int) string {
	b, _ := hex.DecodeString(enc)
	sign := b[31] & 0x80
	be := y.FillBytes(make([]byte, 32))
	for i := range 32 {
		b[i] = be[31-i]
	}
	b[31] |= sign
	return hex.EncodeToString(b)
}

func TestParsePublicKey(t *testing.T) {
	k := mustIssuerKey(t, seeded(t))
	good := k.PublicHex()
	pub := k.Public()

	// Points that are not keys: the identity, the point of order 2, and a y with no x.
	var identity, order2 twistededwards.PointAffine
	identity.X.SetZero()
	identity.Y.SetOne()
	order2.X.SetZero()
	order2.Y.SetOne()
	order2.Y.Neg(&order2.Y)
	offCurve := ""
	for i := uint64(2); offCurve == ""; i++ {
		var p twistededwards.PointAffine
		p.Y.SetUint64(i)
		enc := compressed(p)
		b, _ := hex.DecodeString(enc)
		var q twistededwards.PointAffine
		if _, err := q.SetBytes(b); err == nil && !q.IsOnCurve() {
			offCurve = enc
		}
	}
	// The same key with y + p: a second spelling of one key.
	var y big.Int
	pub.A.Y.BigInt(&y)
	nonCanonical := withY(good, y.Add(&y, fr.Modulus()))

	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"OK", good, true},
		{"Prefixed", "0x" + good, true},
		{"Empty", "", false},
		{"Short", good[:62], false},
		{"Long", good + "00", false},
		{"OddDigits", good[:63], false},
		{"NotHex", "zz" + good[2:], false},
		{"Identity", compressed(identity), false},
		{"Order2", compressed(order2), false},
		{"OffCurve", offCurve, false},
		{"NonCanonicalY", nonCanonical, false},
		{"AllZero", strings.Repeat("00", 32), false},
		{"AllOnes", strings.Repeat("ff", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk, err := credential.ParsePublicKey(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("ParsePublicKey(%s) accepted %s", tt.in, credential.PublicKeyHex(pk))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !pk.Equal(&pub) || credential.PublicKeyHex(pk) != good {
				t.Errorf("ParsePublicKey read another key")
			}
		})
	}
}

// TestOtherIssuer checks that a credential names the key that signed it: claiming another issuer
// fails Verify, both for a credential re-attributed to another key and for one another key signed.
func TestOtherIssuer(t *testing.T) {
	rnd := seeded(t)
	a := issue(t, rnd, schema.Clinical(), testfixture.ClinicalAttrs)
	b := mustIssuerKey(t, rnd)

	c := *a.cred
	c.Issuer = b.PublicHex()
	if _, err := decodeVerify(marshal(t, &c)); !errors.Is(err, credential.ErrBadSignature) {
		t.Errorf("credential re-attributed to another issuer: %v, want ErrBadSignature", err)
	}

	byB, err := credential.Issue(b, schema.Clinical(), a.holder.Commitment(), []byte(testfixture.ClinicalAttrs), issuedOn, expiresOn, rnd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeVerify(marshal(t, byB)); err != nil {
		t.Fatalf("credential signed by b: %v", err)
	}
	byB.Issuer = a.issuer.PublicHex()
	if _, err := decodeVerify(marshal(t, byB)); !errors.Is(err, credential.ErrBadSignature) {
		t.Errorf("b's credential claiming a as issuer: %v, want ErrBadSignature", err)
	}
	// a's signature pasted onto b's credential (same attributes, other id) fails too.
	byB.Issuer, byB.Signature = b.PublicHex(), a.cred.Signature
	if _, err := decodeVerify(marshal(t, byB)); !errors.Is(err, credential.ErrBadSignature) {
		t.Errorf("a's signature on b's credential: %v, want ErrBadSignature", err)
	}
}
