package onchain

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"golang.org/x/crypto/sha3"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
)

// The functions whose calls this package encodes, as the contracts declare them.
const (
	SigVerifyProof = "verifyProof(bytes,uint256[5])"
	SigClaim       = "claim(address,uint256,uint256,uint256,uint256,uint256,address,bytes)"
	SigSetIssuer   = "setIssuer(uint256,uint256,bool)"
	SigAnchor      = "anchor(uint64,bytes32)"
)

// Selector is the 4-byte ABI function selector of a signature: keccak256(sig)[:4].
func Selector(sig string) [4]byte {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(sig))
	var s [4]byte
	copy(s[:], h.Sum(nil))
	return s
}

// Address is an EVM account or contract address.
type Address [20]byte

// ParseAddress reads 40 hex digits, with or without 0x, in any case (a mixed-case EIP-55
// checksum is not checked).
func ParseAddress(s string) (Address, error) {
	var a Address
	b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if err != nil || len(b) != len(a) {
		return a, errors.New("want an address: 40 hex digits")
	}
	copy(a[:], b)
	return a, nil
}

// String is the address as 0x and 40 lower-case hex digits.
func (a Address) String() string { return "0x" + hex.EncodeToString(a[:]) }

// Calldata is a proof as the contracts take it.
type Calldata struct {
	Circuit string               // the circuit id the proof file names
	Proof   []byte               // ProofSize bytes, the layout of MarshalSolidity
	Input   [NbPublic]fr.Element // binding, issuer X, issuer Y, challenge, nullifier
}

// FromProofFile turns a Groth16 PROOF.json into calldata. The proof bytes go through the checked
// decoder (every point on its curve and in its prime-order subgroup, one commitment); the public
// values are the file's own, so this is for submitting a proof, never for trusting one: the
// contracts check them.
func FromProofFile(pf *zkhealth.ProofFile) (*Calldata, error) {
	if pf.Backend != string(keys.Groth16) {
		return nil, fmt.Errorf("%w: backend %q: only groth16 proofs verify on chain", zkhealth.ErrMalformedProof, pf.Backend)
	}
	raw, err := pf.Bytes()
	if err != nil {
		return nil, err
	}
	p, err := checked.Groth16Proof(raw, 1)
	if err != nil {
		return nil, fmt.Errorf("%w: proof: %v", zkhealth.ErrMalformedProof, err)
	}
	bp, ok := p.(*groth16bn254.Proof)
	if !ok || len(bp.Commitments) != 1 {
		return nil, fmt.Errorf("%w: proof: want a BN254 Groth16 proof with one commitment", zkhealth.ErrMalformedProof)
	}
	var pub circuits.Public
	fields := []struct {
		name string
		hex  string
		dst  *fr.Element
	}{
		{"policy_hash", pf.Public.PolicyHash, &pub.PolicyHash},
		{"challenge", pf.Public.Challenge, &pub.Challenge},
		{"nullifier", pf.Public.Nullifier, &pub.Nullifier},
	}
	for _, f := range fields {
		if *f.dst, err = fieldhash.ParseHex(f.hex); err != nil {
			return nil, fmt.Errorf("%w: public.%s: %v", zkhealth.ErrMalformedProof, f.name, err)
		}
	}
	if pub.Issuer, err = credential.ParsePublicKey(pf.Public.Issuer); err != nil {
		return nil, fmt.Errorf("%w: public.issuer: %v", zkhealth.ErrMalformedProof, err)
	}
	c := &Calldata{Circuit: pf.Circuit, Proof: bp.MarshalSolidity()}
	v := pub.Vector()
	if len(v) != NbPublic || len(c.Proof) != ProofSize {
		return nil, fmt.Errorf("%d public inputs and %d proof bytes, want %d and %d", len(v), len(c.Proof), NbPublic, ProofSize)
	}
	copy(c.Input[:], v)
	return c, nil
}

// InputHex is the public inputs as 0x-hex uint256 values.
func (c *Calldata) InputHex() []string {
	out := make([]string, len(c.Input))
	for i := range c.Input {
		out[i] = fieldhash.Hex(c.Input[i])
	}
	return out
}

// VerifyProof is the ABI-encoded call verifyProof(proof, input) of the Verifier.
func (c *Calldata) VerifyProof() []byte {
	var e encoder
	e.selector(SigVerifyProof)
	e.uint(big.NewInt(32 * (1 + NbPublic))) // offset of the bytes: after the head
	for i := range c.Input {
		e.field(c.Input[i])
	}
	e.bytes(c.Proof)
	return e.buf.Bytes()
}

// Claim is the ABI-encoded call claim(verifier, binding, issuerX, issuerY, challenge, nullifier,
// payee, proof) of the ClaimsRegistry: verifier is the account that registered the binding.
func (c *Calldata) Claim(verifier, payee Address) []byte {
	var e encoder
	e.selector(SigClaim)
	e.address(verifier)
	for i := range c.Input {
		e.field(c.Input[i])
	}
	e.address(payee)
	e.uint(big.NewInt(32 * 8)) // offset of the bytes: after the eight head words
	e.bytes(c.Proof)
	return e.buf.Bytes()
}

// IssuerKey is an issuer public key's coordinates (X, Y), as setIssuer and claim take them.
func IssuerKey(pub eddsa.PublicKey) (x, y fr.Element) { return pub.A.X, pub.A.Y }

// SetIssuer is the ABI-encoded call setIssuer(x, y, trusted) of the ClaimsRegistry.
func SetIssuer(pub eddsa.PublicKey, trusted bool) []byte {
	var e encoder
	e.selector(SigSetIssuer)
	x, y := IssuerKey(pub)
	e.field(x)
	e.field(y)
	var b int64
	if trusted {
		b = 1
	}
	e.uint(big.NewInt(b))
	return e.buf.Bytes()
}

// Challenge is the ClaimsRegistry's expectedChallenge(verifier, binding, payee) computed off
// chain: keccak256(abi.encode(chainID, registry, verifier, binding, payee)) mod r. The holder
// proves with it (`zkhealth prove --challenge`).
func Challenge(chainID *big.Int, registry, verifier Address, binding fr.Element, payee Address) fr.Element {
	var e encoder
	e.uint(chainID)
	e.address(registry)
	e.address(verifier)
	e.field(binding)
	e.address(payee)
	h := sha3.NewLegacyKeccak256()
	h.Write(e.buf.Bytes())
	var c fr.Element
	c.SetBytes(h.Sum(nil)) // reduces mod r, as % R does on chain
	return c
}

// Checkpoint is what the ClaimsRegistry anchors of a verification-log checkpoint: its tree size
// and RFC 6962 root hash.
type Checkpoint struct {
	Origin   string   // the log's name, the note's first line
	TreeSize uint64   // entries in the log
	RootHash [32]byte // RFC 6962 Merkle tree hash of those entries
}

// ParseCheckpoint reads the body of a checkpoint in the C2SP tlog-checkpoint format (the origin
// line, the tree size in decimal, the base64 root hash; extension lines, a blank line and the
// signatures may follow and are not checked here: verify the checkpoint's signature first).
func ParseCheckpoint(note []byte) (Checkpoint, error) {
	var cp Checkpoint
	sc := bufio.NewScanner(bytes.NewReader(note))
	var lines []string
	for len(lines) < 3 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 3 || lines[0] == "" {
		return cp, errors.New("checkpoint: want an origin line, a tree size and a root hash")
	}
	cp.Origin = lines[0]
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return cp, errors.New("checkpoint: line 2: want the tree size in decimal")
	}
	cp.TreeSize = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != len(cp.RootHash) {
		return cp, errors.New("checkpoint: line 3: want a base64 SHA-256 root hash")
	}
	copy(cp.RootHash[:], root)
	return cp, nil
}

// Anchor is the ABI-encoded call anchor(treeSize, rootHash) of the ClaimsRegistry.
func (cp Checkpoint) Anchor() []byte {
	var e encoder
	e.selector(SigAnchor)
	e.uint(new(big.Int).SetUint64(cp.TreeSize))
	e.buf.Write(cp.RootHash[:])
	return e.buf.Bytes()
}

// encoder writes the static ABI words and the one trailing dynamic bytes argument the calls above
// need.
type encoder struct{ buf bytes.Buffer }

func (e *encoder) selector(sig string) {
	s := Selector(sig)
	e.buf.Write(s[:])
}

func (e *encoder) uint(v *big.Int) {
	var w [32]byte
	v.FillBytes(w[:])
	e.buf.Write(w[:])
}

func (e *encoder) field(v fr.Element) {
	w := v.Bytes() // canonical, big-endian
	e.buf.Write(w[:])
}

func (e *encoder) address(a Address) {
	var w [32]byte
	copy(w[12:], a[:])
	e.buf.Write(w[:])
}

// bytes writes a dynamic bytes argument's tail: its length, then the data padded to 32 bytes.
func (e *encoder) bytes(b []byte) {
	var n [32]byte
	binary.BigEndian.PutUint64(n[24:], uint64(len(b)))
	e.buf.Write(n[:])
	e.buf.Write(b)
	e.buf.Write(make([]byte, (32-len(b)%32)%32))
}
