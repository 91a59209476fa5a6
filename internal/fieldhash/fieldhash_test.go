package fieldhash_test

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/logger"
	"github.com/consensys/gnark/std/hash/poseidon2"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
)

// hashCircuit computes Poseidon2(tag, In...) with gnark's std/hash/poseidon2 exactly as the
// zkhealth circuit does (tag.BigInt() first, then the inputs) and asserts it equals Out.
type hashCircuit struct {
	In  []frontend.Variable
	Out frontend.Variable `gnark:",public"`

	tag fieldhash.Tag
}

func (c *hashCircuit) Define(api frontend.API) error {
	h, err := poseidon2.New(api)
	if err != nil {
		return err
	}
	h.Write(c.tag.BigInt())
	h.Write(c.In...)
	api.AssertIsEqual(h.Sum(), c.Out)
	return nil
}

// newRand returns a seeded generator and logs the seed so a failure can be replayed.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randomElements returns n field elements: a few edge values, then random ones.
func randomElements(r *rand.Rand, n int) []fr.Element {
	out := make([]fr.Element, n)
	for i := range out {
		switch i {
		case 0:
			out[i].SetZero()
		case 1:
			out[i].SetOne()
			out[i].Neg(&out[i]) // modulus - 1
		default:
			var b [32]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			out[i].SetBytes(b[:])
		}
	}
	if n == 1 { // a single input: make it random rather than zero
		out[0].SetUint64(r.Uint64())
	}
	return out
}

// assignment assigns inputs in and expected hash out.
func assignment(tag fieldhash.Tag, in []fr.Element, out fr.Element) *hashCircuit {
	w := &hashCircuit{In: make([]frontend.Variable, len(in)), Out: out, tag: tag}
	for i := range in {
		w.In[i] = in[i]
	}
	return w
}

// compile compiles the hash circuit of n inputs under tag to R1CS.
//
// These tests compile and solve directly rather than through github.com/consensys/gnark/test
// (test.IsSolved, CheckCircuit): that package pulls github.com/stretchr/testify, which go.mod does
// not require. IsSolved on the compiled system is the same check, and Groth16 below is the real
// prover and verifier.
func compile(t *testing.T, tag fieldhash.Tag, n int) constraint.ConstraintSystem {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &hashCircuit{In: make([]frontend.Variable, n), tag: tag})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return ccs
}

// isSolved reports whether the assignment satisfies the compiled circuit.
func isSolved(t *testing.T, ccs constraint.ConstraintSystem, w *hashCircuit) error {
	t.Helper()
	wit, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatalf("witness: %v", err)
	}
	return ccs.IsSolved(wit)
}

// TestHashMatchesCircuit checks that the native Hash equals the in-circuit hash for several input
// lengths and tags, and that a wrong expected value, or the hash under another tag, is refused.
func TestHashMatchesCircuit(t *testing.T) {
	logger.Disable()
	r := newRand(t)
	tags := []fieldhash.Tag{fieldhash.TagHolder, fieldhash.TagNullifier, fieldhash.CredentialTag("clinical"), fieldhash.PolicyTag("coverage")}
	for _, n := range []int{1, 2, 5, 30} {
		for _, tag := range tags {
			t.Run(fmt.Sprintf("%s/%d", tag.Label(), n), func(t *testing.T) {
				ccs := compile(t, tag, n)
				in := randomElements(r, n)
				want := fieldhash.Hash(tag, in...)
				if err := isSolved(t, ccs, assignment(tag, in, want)); err != nil {
					t.Fatalf("native hash not accepted in circuit: %v", err)
				}

				var wrong fr.Element
				wrong.SetOne()
				wrong.Add(&wrong, &want)
				if err := isSolved(t, ccs, assignment(tag, in, wrong)); err == nil {
					t.Fatalf("circuit accepted hash + 1")
				}

				// The same inputs hashed natively under another tag are not this circuit's hash.
				other := fieldhash.Hash(fieldhash.TagString, in...)
				if err := isSolved(t, ccs, assignment(tag, in, other)); err == nil {
					t.Fatalf("circuit with tag %s accepted the hash under tag %s", tag.Label(), fieldhash.TagString.Label())
				}

				// Dropping the last input (the Merkle–Damgård prefix) is not the hash either.
				prefix := fieldhash.Hash(tag, in[:n-1]...)
				if err := isSolved(t, ccs, assignment(tag, in, prefix)); err == nil {
					t.Fatalf("circuit accepted the hash of a prefix")
				}
			})
		}
	}
}

// TestHashMatchesCircuitGroth16 runs one length through the Groth16 prover and verifier: the valid
// assignment proves and verifies, an attack (the nullifier of a neighbouring scope) does not prove,
// and a valid proof does not verify against another public value.
func TestHashMatchesCircuitGroth16(t *testing.T) {
	if testing.Short() {
		t.Skip("proves with Groth16")
	}
	logger.Disable()
	r := newRand(t)
	tag := fieldhash.TagNullifier
	ccs := compile(t, tag, 5)
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	in := randomElements(r, 5)
	want := fieldhash.Hash(tag, in...)
	ok, err := frontend.NewWitness(assignment(tag, in, want), ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := groth16.Prove(ccs, pk, ok)
	if err != nil {
		t.Fatalf("prove: %v", err)
	}
	pub, err := ok.Public()
	if err != nil {
		t.Fatal(err)
	}
	if err := groth16.Verify(proof, vk, pub); err != nil {
		t.Fatalf("verify: %v", err)
	}

	in2 := append([]fr.Element(nil), in...)
	in2[4].SetUint64(in2[4].Uint64() + 1)
	other := fieldhash.Hash(tag, in2...)
	bad, err := frontend.NewWitness(assignment(tag, in, other), ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groth16.Prove(ccs, pk, bad); err == nil {
		t.Fatalf("proved a wrong hash")
	}
	badPub, err := bad.Public()
	if err != nil {
		t.Fatal(err)
	}
	if err := groth16.Verify(proof, vk, badPub); err == nil {
		t.Fatalf("a proof for one hash verified against another")
	}
}

// TestTagElement checks tags are sha256(label) reduced modulo the scalar field, and distinct.
func TestTagElement(t *testing.T) {
	tags := []fieldhash.Tag{
		fieldhash.TagHolder, fieldhash.TagNullifier, fieldhash.TagString,
		fieldhash.CredentialTag("coverage"), fieldhash.CredentialTag("clinical"),
		fieldhash.PolicyTag("coverage"), fieldhash.PolicyTag("clinical"),
	}
	seen := map[fr.Element]string{}
	for _, tag := range tags {
		sum := sha256.Sum256([]byte(tag.Label()))
		want := new(big.Int).Mod(new(big.Int).SetBytes(sum[:]), fr.Modulus())
		if got := tag.BigInt(); got.Cmp(want) != 0 {
			t.Errorf("%s: BigInt = %v, want %v", tag.Label(), got, want)
		}
		e := tag.Element()
		if other, dup := seen[e]; dup {
			t.Errorf("tags %s and %s have the same element", other, tag.Label())
		}
		seen[e] = tag.Label()
		if !strings.HasPrefix(tag.Label(), "zkhealth/v1/") {
			t.Errorf("tag %q is not versioned", tag.Label())
		}
	}
	if fieldhash.CredentialTag("clinical").Label() == fieldhash.PolicyTag("clinical").Label() {
		t.Errorf("credential and policy tags coincide")
	}
}

// TestHashDomainSeparation checks that a hash under one tag is not a hash under another, and that
// the inputs' number and order matter.
func TestHashDomainSeparation(t *testing.T) {
	r := newRand(t)
	x := randomElements(r, 3)
	tags := []fieldhash.Tag{
		fieldhash.TagHolder, fieldhash.TagNullifier, fieldhash.TagString,
		fieldhash.CredentialTag("coverage"), fieldhash.CredentialTag("clinical"),
		fieldhash.PolicyTag("coverage"), fieldhash.PolicyTag("clinical"),
	}
	var zero fr.Element
	seen := map[fr.Element]string{}
	add := func(name string, h fr.Element) {
		t.Helper()
		if other, dup := seen[h]; dup {
			t.Errorf("%s = %s", name, other)
		}
		seen[h] = name
	}
	for _, tag := range tags {
		add("H("+tag.Label()+")", fieldhash.Hash(tag))
		add("H("+tag.Label()+", x0)", fieldhash.Hash(tag, x[0]))
		add("H("+tag.Label()+", x0, x1)", fieldhash.Hash(tag, x[0], x[1]))
		add("H("+tag.Label()+", x1, x0)", fieldhash.Hash(tag, x[1], x[0]))
		add("H("+tag.Label()+", x0, x1, 0)", fieldhash.Hash(tag, x[0], x[1], zero))
		add("H("+tag.Label()+", x2)", fieldhash.Hash(tag, x[2]))
	}
	// Deterministic.
	a, b := fieldhash.Hash(fieldhash.TagHolder, x...), fieldhash.Hash(fieldhash.TagHolder, x...)
	if !a.Equal(&b) {
		t.Errorf("Hash is not deterministic")
	}
	// Named helpers are the tagged hashes.
	if got, want := fieldhash.HolderCommitment(x[0]), fieldhash.Hash(fieldhash.TagHolder, x[0]); !got.Equal(&want) {
		t.Errorf("HolderCommitment is not H(TagHolder, secret)")
	}
	if got, want := fieldhash.Nullifier(x[0], x[1]), fieldhash.Hash(fieldhash.TagNullifier, x[0], x[1]); !got.Equal(&want) {
		t.Errorf("Nullifier is not H(TagNullifier, secret, scope)")
	}
}

func TestHashBig(t *testing.T) {
	m := fr.Modulus()
	tests := []struct {
		name string
		in   []*big.Int
		ok   bool
	}{
		{"Empty", nil, true},
		{"Small", []*big.Int{big.NewInt(0), big.NewInt(7)}, true},
		{"ModulusMinus1", []*big.Int{new(big.Int).Sub(m, big.NewInt(1))}, true},
		{"Modulus", []*big.Int{big.NewInt(1), m}, false},
		{"Above", []*big.Int{new(big.Int).Add(m, big.NewInt(7))}, false},
		{"Negative", []*big.Int{big.NewInt(-1)}, false},
		{"Nil", []*big.Int{nil}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fieldhash.HashBig(fieldhash.TagString, tt.in...)
			if !tt.ok {
				if err == nil {
					t.Fatalf("HashBig accepted %v", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			es := make([]fr.Element, len(tt.in))
			for i, v := range tt.in {
				es[i].SetBigInt(v)
			}
			if want := fieldhash.Hash(fieldhash.TagString, es...); !got.Equal(&want) {
				t.Errorf("HashBig != Hash")
			}
		})
	}
	// A non-canonical input is never silently identified with its reduction.
	if _, err := fieldhash.HashBig(fieldhash.TagString, new(big.Int).Add(m, big.NewInt(7))); err == nil {
		t.Errorf("HashBig(m+7) accepted")
	}
}

func TestCanonical(t *testing.T) {
	m := fr.Modulus()
	tests := []struct {
		in *big.Int
		ok bool
	}{
		{big.NewInt(0), true},
		{big.NewInt(1), true},
		{new(big.Int).Sub(m, big.NewInt(1)), true},
		{m, false},
		{new(big.Int).Add(m, big.NewInt(1)), false},
		{new(big.Int).Lsh(big.NewInt(1), 300), false},
		{big.NewInt(-1), false},
		{nil, false},
	}
	for _, tt := range tests {
		e, err := fieldhash.Canonical(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Canonical(%v) = %v, %v; want ok = %v", tt.in, e.String(), err, tt.ok)
			continue
		}
		if tt.ok {
			if got := e.BigInt(new(big.Int)); got.Cmp(tt.in) != 0 {
				t.Errorf("Canonical(%v) = %v", tt.in, got)
			}
		}
	}
}

func TestString(t *testing.T) {
	inputs := []string{"", "\x00", "a", "A", "a ", " a", "ACME-HEALTH", "ACME-HEALTH\x00", "acme-health",
		"trial:NCT04556851", "trial:NCT04556852", "payer:acme:eligibility", "zkhealth/v1/string", "é", "e\u0301"}
	seen := map[fr.Element]string{}
	for _, s := range inputs {
		e := fieldhash.String(s)
		if again := fieldhash.String(s); !again.Equal(&e) {
			t.Errorf("String(%q) is not deterministic", s)
		}
		if other, dup := seen[e]; dup {
			t.Errorf("String(%q) = String(%q)", s, other)
		}
		seen[e] = s
		sum := sha256.Sum256([]byte(fieldhash.TagString.Label() + "\x00" + s))
		want := new(big.Int).Rsh(new(big.Int).SetBytes(sum[:]), 256-fieldhash.StringBits)
		if got := e.BigInt(new(big.Int)); got.Cmp(want) != 0 || got.BitLen() > fieldhash.StringBits {
			t.Errorf("String(%q) = %v, want the first %d bits of sha256(label‖0‖s) = %v", s, got, fieldhash.StringBits, want)
		}
	}
	// String is separated from tags: a string equal to a tag's label is not the tag.
	lbl := fieldhash.TagHolder.Label()
	if e, tag := fieldhash.String(lbl), fieldhash.TagHolder.Element(); e.Equal(&tag) {
		t.Errorf("String(%q) equals the tag element", lbl)
	}
}

func TestSecretElement(t *testing.T) {
	for _, n := range []int{0, 1, 31, 33, 64} {
		if _, err := fieldhash.SecretElement(make([]byte, n)); err == nil {
			t.Errorf("SecretElement accepted %d bytes", n)
		}
	}
	b := make([]byte, 32)
	b[31] = 5
	if e, err := fieldhash.SecretElement(b); err != nil || e.Uint64() != 5 {
		t.Errorf("SecretElement(5) = %v, %v", e.String(), err)
	}
	// A 32-byte secret at or above the modulus is reduced.
	m := fr.Modulus()
	m.Add(m, big.NewInt(5)).FillBytes(b)
	if e, err := fieldhash.SecretElement(b); err != nil || e.Uint64() != 5 {
		t.Errorf("SecretElement(r+5) = %v, %v; want 5", e.String(), err)
	}
}

func hex64(v *big.Int) string { return fmt.Sprintf("%064x", v) }

func TestHexRoundTrip(t *testing.T) {
	r := newRand(t)
	for _, e := range randomElements(r, 10) {
		s := fieldhash.Hex(e)
		if len(s) != 66 || !strings.HasPrefix(s, "0x") || strings.ToLower(s) != s {
			t.Errorf("Hex = %q, want 0x + 64 lower-case digits", s)
		}
		for _, in := range []string{s, strings.TrimPrefix(s, "0x")} {
			got, err := fieldhash.ParseHex(in)
			if err != nil || !got.Equal(&e) {
				t.Errorf("ParseHex(%q) = %v, %v", in, got.String(), err)
			}
			got, err = fieldhash.ReduceHex(in)
			if err != nil || !got.Equal(&e) {
				t.Errorf("ReduceHex(%q) = %v, %v", in, got.String(), err)
			}
		}
	}
}

func TestParseReduceHex(t *testing.T) {
	m := fr.Modulus()
	mMinus1 := new(big.Int).Sub(m, big.NewInt(1))
	max256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	mod := func(v *big.Int) *big.Int { return new(big.Int).Mod(v, m) }
	tests := []struct {
		name   string
		in     string
		parse  *big.Int // nil: ParseHex refuses
		reduce *big.Int // nil: ReduceHex refuses
	}{
		{"One", "1", big.NewInt(1), big.NewInt(1)},
		{"PrefixedOne", "0x01", big.NewInt(1), big.NewInt(1)},
		{"Zero", "0x" + strings.Repeat("0", 64), big.NewInt(0), big.NewInt(0)},
		{"ModulusMinus1", "0x" + hex64(mMinus1), mMinus1, mMinus1},
		{"Modulus", "0x" + hex64(m), nil, big.NewInt(0)},
		{"ModulusPlus1", hex64(new(big.Int).Add(m, big.NewInt(1))), nil, big.NewInt(1)},
		{"All32Bytes", strings.Repeat("f", 64), nil, mod(max256)},
		{"TooLong", strings.Repeat("0", 65), nil, nil},
		{"TooLong33Bytes", "0x01" + strings.Repeat("0", 64), nil, nil},
		{"Empty", "", nil, nil},
		{"OnlyPrefix", "0x", nil, nil},
		{"UpperCase", "0xAB", nil, nil},
		{"UpperCaseLong", "0x" + strings.ToUpper(hex64(mMinus1)), nil, nil},
		{"NotHex", "0xg1", nil, nil},
		{"Sign", "-1", nil, nil},
		{"Plus", "+1", nil, nil},
		{"Space", " 1", nil, nil},
		{"TrailingSpace", "1 ", nil, nil},
		{"DoublePrefix", "0x0x1", nil, nil},
		{"Underscore", "1_0", nil, nil},
		{"NonASCII", "1\u0661", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := fieldhash.ParseHex(tt.in)
			switch {
			case tt.parse == nil && err == nil:
				t.Errorf("ParseHex(%q) = %v, want an error", tt.in, e.String())
			case tt.parse != nil && (err != nil || e.BigInt(new(big.Int)).Cmp(tt.parse) != 0):
				t.Errorf("ParseHex(%q) = %v, %v; want %v", tt.in, e.String(), err, tt.parse)
			}
			e, err = fieldhash.ReduceHex(tt.in)
			switch {
			case tt.reduce == nil && err == nil:
				t.Errorf("ReduceHex(%q) = %v, want an error", tt.in, e.String())
			case tt.reduce != nil && (err != nil || e.BigInt(new(big.Int)).Cmp(tt.reduce) != 0):
				t.Errorf("ReduceHex(%q) = %v, %v; want %v", tt.in, e.String(), err, tt.reduce)
			}
		})
	}
}
