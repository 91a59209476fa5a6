package onchain_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier/onchain"
)

// proof is a coverage proof made by package prover, as zkhealth prove makes it.
func proof(t *testing.T) (*zkhealth.ProofFile, *prover.Prover) {
	t.Helper()
	testfixture.Quiet()
	s := schema.Coverage()
	dir := testfixture.KeysDir(t, keys.Groth16, s)
	pr, err := prover.New(dir, keys.Groth16, testfixture.CircuitIDs(s), 1)
	if err != nil {
		t.Fatal(err)
	}
	is := testfixture.Issue(t, s, testfixture.CoverageAttrs, "2026-11-01", "2027-11-01")
	var ch fr.Element
	ch.SetRandom()
	pf, err := pr.Prove(context.Background(), prover.Request{Credential: is.Credential, Holder: is.Holder,
		Policy: testfixture.Policy(t, testfixture.CoveragePolicy), AsOf: testfixture.AsOf, Challenge: ch})
	if err != nil {
		t.Fatal(err)
	}
	return pf, pr
}

func TestWriteContracts(t *testing.T) {
	pf, pr := proof(t)
	k := pr.Keys(pf.Circuit)
	var ver, reg bytes.Buffer
	if err := onchain.WriteVerifier(&ver, k.VK.(groth16.VerifyingKey)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pragma solidity " + onchain.Pragma + ";", "contract Verifier", "uint256[5] calldata input",
		"uint256(keccak256(hashInput)) % R", "require(proof.length == 384"} {
		if !strings.Contains(ver.String(), want) {
			t.Errorf("verifier lacks %q", want)
		}
	}
	if err := onchain.WriteClaimsRegistry(&reg, onchain.Circuit{ID: pf.Circuit, VKFingerprint: k.Info.VKFingerprint}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"contract ClaimsRegistry", `CIRCUIT = "coverage-v2-s";`, "VK_FINGERPRINT = 0x" + k.Info.VKFingerprint + ";"} {
		if !strings.Contains(reg.String(), want) {
			t.Errorf("claims contract lacks %q", want)
		}
	}

	fp := k.Info.VKFingerprint
	for _, tc := range []struct {
		name string
		c    onchain.Circuit
	}{
		{"quote in id", onchain.Circuit{ID: `coverage-v1"; x`, VKFingerprint: fp}},
		{"upper case id", onchain.Circuit{ID: "Coverage-v1", VKFingerprint: fp}},
		{"empty id", onchain.Circuit{ID: "", VKFingerprint: fp}},
		{"short fingerprint", onchain.Circuit{ID: "coverage-v1", VKFingerprint: fp[:62]}},
		{"fingerprint not hex", onchain.Circuit{ID: "coverage-v1", VKFingerprint: strings.Repeat("zz", 32)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := onchain.WriteClaimsRegistry(&bytes.Buffer{}, tc.c); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// word is the i-th 32-byte ABI word after the selector.
func word(data []byte, i int) []byte { return data[4+32*i : 4+32*(i+1)] }

func uintWord(n uint64) []byte {
	var w [32]byte
	binary.BigEndian.PutUint64(w[24:], n)
	return w[:]
}

func TestCalldata(t *testing.T) {
	pf, _ := proof(t)
	c, err := onchain.FromProofFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := pf.Bytes()
	p, err := checked.Groth16Proof(raw, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Proof, p.(*groth16bn254.Proof).MarshalSolidity()) || len(c.Proof) != onchain.ProofSize {
		t.Fatalf("proof: %d bytes, not MarshalSolidity's", len(c.Proof))
	}
	issuer, err := credential.ParsePublicKey(pf.Public.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	x, y := onchain.IssuerKey(issuer)
	for i, want := range []string{pf.Public.PolicyHash, fieldhash.Hex(x), fieldhash.Hex(y), pf.Public.Challenge, pf.Public.Nullifier} {
		if c.InputHex()[i] != want {
			t.Errorf("input %d: %s, want %s", i, c.InputHex()[i], want)
		}
	}

	vp := c.VerifyProof()
	if sel := onchain.Selector(onchain.SigVerifyProof); !bytes.Equal(vp[:4], sel[:]) || len(vp) != 4+32*7+onchain.ProofSize {
		t.Fatalf("verifyProof calldata: %d bytes", len(vp))
	}
	if !bytes.Equal(word(vp, 0), uintWord(32*6)) || !bytes.Equal(word(vp, 6), uintWord(onchain.ProofSize)) || !bytes.Equal(vp[4+32*7:], c.Proof) {
		t.Error("verifyProof calldata: wrong offset, length or data")
	}
	for i := range c.Input {
		if b := c.Input[i].Bytes(); !bytes.Equal(word(vp, 1+i), b[:]) {
			t.Errorf("verifyProof calldata: input %d", i)
		}
	}

	verifier, _ := onchain.ParseAddress("0x" + strings.Repeat("a1", 20))
	payee, _ := onchain.ParseAddress(strings.Repeat("EE", 20))
	cl := c.Claim(verifier, payee)
	if sel := onchain.Selector(onchain.SigClaim); !bytes.Equal(cl[:4], sel[:]) || len(cl) != 4+32*9+onchain.ProofSize {
		t.Fatalf("claim calldata: %d bytes", len(cl))
	}
	if !bytes.Equal(word(cl, 0)[12:], verifier[:]) || !bytes.Equal(word(cl, 6)[12:], payee[:]) ||
		!bytes.Equal(word(cl, 7), uintWord(32*8)) || !bytes.Equal(word(cl, 8), uintWord(onchain.ProofSize)) {
		t.Error("claim calldata: wrong addresses, offset or length")
	}
	if payee.String() != "0x"+strings.Repeat("ee", 20) {
		t.Errorf("address %s", payee)
	}
}

func TestSelector(t *testing.T) {
	// ERC-20's transfer: the best-known selector.
	if s := onchain.Selector("transfer(address,uint256)"); hex.EncodeToString(s[:]) != "a9059cbb" {
		t.Errorf("selector %x", s)
	}
}

func TestFromProofFileRefuses(t *testing.T) {
	pf, _ := proof(t)
	raw, _ := pf.Bytes()
	for _, tc := range []struct {
		name string
		edit func(f *zkhealth.ProofFile)
	}{
		{"plonk", func(f *zkhealth.ProofFile) { f.Backend = "plonk" }},
		{"proof truncated", func(f *zkhealth.ProofFile) { f.Proof = base64.StdEncoding.EncodeToString(raw[:len(raw)-1]) }},
		{"proof not base64", func(f *zkhealth.ProofFile) { f.Proof = "!" }},
		{"policy hash not canonical", func(f *zkhealth.ProofFile) { f.Public.PolicyHash = "0x" + strings.Repeat("ff", 32) }},
		{"challenge not hex", func(f *zkhealth.ProofFile) { f.Public.Challenge = "0xzz" }},
		{"nullifier missing", func(f *zkhealth.ProofFile) { f.Public.Nullifier = "" }},
		{"issuer not a key", func(f *zkhealth.ProofFile) { f.Public.Issuer = strings.Repeat("00", 32) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := *pf
			tc.edit(&f)
			if _, err := onchain.FromProofFile(&f); !errors.Is(err, zkhealth.ErrMalformedProof) {
				t.Errorf("got %v, want ErrMalformedProof", err)
			}
		})
	}
}

func TestParseCheckpoint(t *testing.T) {
	root := bytes.Repeat([]byte{7}, 32)
	b64 := base64.StdEncoding.EncodeToString(root)
	for _, tc := range []struct {
		name, note string
		size       uint64
		ok         bool
	}{
		{"signed note", "example.com/log\n42\n" + b64 + "\n\n— example.com/log AAAA\n", 42, true},
		{"extension line", "example.com/log\n1\n" + b64 + "\nextension\n\n— sig\n", 1, true},
		{"no origin", "\n42\n" + b64 + "\n", 0, false},
		{"size with sign", "example.com/log\n+42\n" + b64 + "\n", 0, false},
		{"size with leading zero", "example.com/log\n042\n" + b64 + "\n", 0, false},
		{"short root", "example.com/log\n42\n" + base64.StdEncoding.EncodeToString(root[:31]) + "\n", 0, false},
		{"two lines", "example.com/log\n42\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := onchain.ParseCheckpoint([]byte(tc.note))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if cp.TreeSize != tc.size || !bytes.Equal(cp.RootHash[:], root) || cp.Origin != "example.com/log" {
				t.Errorf("checkpoint %+v", cp)
			}
			a := cp.Anchor()
			if sel := onchain.Selector(onchain.SigAnchor); !bytes.Equal(a[:4], sel[:]) || !bytes.Equal(word(a, 0), uintWord(tc.size)) || !bytes.Equal(word(a, 1), root) {
				t.Errorf("anchor calldata %x", a)
			}
		})
	}
}
