package chaintest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/cli"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier/onchain"
)

const circuit = "coverage-v2-s"

// zk runs the zkhealth command line in process (cli.Main, the binary's code path) and returns its
// stdout, failing the test on a non-zero exit.
func zk(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Main(context.Background(), args, strings.NewReader(""), &out, &errOut); code != cli.ExitOK {
		t.Fatalf("zkhealth %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// world is the scenario's fixed cast: CLI-made keys and credentials, the contracts on a chain.
type world struct {
	t        *testing.T
	dir      string // working directory of CLI files
	keysDir  string
	c        *chain
	ver, reg *contract
	gnarkVer *contract // gnark's verifier unmodified (zkhealth export solidity --gnark-verifier)
	gas      []string
	// the payer (trusted later), a rogue issuer (never trusted), their credentials for one holder
	payerPub, roguePub     string
	payerCred, rogueCred   string
	policy                 string   // the insurer's POLICY.json
	binding, bindingNext   *big.Int // its request binding as of testfixture.AsOf, and a day later
	scopeLabel             [32]byte
	payee, otherPayee      common.Address
	insurer, sponsor, hold string // account names
	proofs                 int    // proofs made so far
}

func (w *world) file(name, content string) string {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) report(name string, gas uint64, note string) {
	w.gas = append(w.gas, fmt.Sprintf("gas: %-44s %9d  %s", name, gas, note))
}

// proved is one proof made by `zkhealth prove`, with what `zkhealth export calldata` printed.
type proved struct {
	path  string
	Proof string   `json:"proof"`
	Input []string `json:"input"`
	// ABI-encoded calls
	VerifyProof string `json:"verify_proof"`
	Claim       string `json:"claim"`
}

func (p *proved) proofBytes() []byte { return common.FromHex(p.Proof) }

func (p *proved) inputs() [onchain.NbPublic]*big.Int {
	var in [onchain.NbPublic]*big.Int
	for i, s := range p.Input {
		in[i] = common.HexToHash(s).Big()
	}
	return in
}

// prove has the holder prove cred for the binding verifier registered (as-of asOf), with the
// challenge the registry expects for payee, through the CLI; checks the proof off chain with
// `zkhealth verify`; and turns it into calldata with `zkhealth export calldata`.
func (w *world) prove(cred, pol, asOf, verifier string, binding *big.Int, payee common.Address) *proved {
	w.t.Helper()
	va := w.c.accounts[verifier].addr
	challenge := w.c.call(w.reg, "expectedChallenge", va, binding, payee)[0].(*big.Int)
	var b fr.Element
	b.SetBigInt(binding)
	if off := onchain.Challenge(w.c.chainID, onchain.Address(w.reg.addr), onchain.Address(va), b, onchain.Address(payee)); off.BigInt(new(big.Int)).Cmp(challenge) != 0 {
		w.t.Fatalf("onchain.Challenge %s, contract %s", fieldhash.Hex(off), challenge.Text(16))
	}
	challengeHex := fmt.Sprintf("%064x", challenge)
	w.proofs++
	out := filepath.Join(w.dir, fmt.Sprintf("proof-%d.json", w.proofs))
	zk(w.t, "prove", "--keys", w.keysDir, "--credential", cred, "--holder", filepath.Join(w.dir, "patient.key"),
		"--policy", pol, "--challenge", challengeHex, "--as-of", asOf, "--out", out)
	issuer := w.payerPub
	if cred == w.rogueCred {
		issuer = w.roguePub
	}
	// One proof serves both worlds: the off-chain verifier accepts it too.
	zk(w.t, "verify", "--keys", w.keysDir, "--proof", out, "--policy", pol, "--issuer-pub", issuer, "--challenge", challengeHex, "--as-of", asOf)
	p := &proved{path: out}
	js := zk(w.t, "export", "calldata", "--proof", out, "--verifier", va.Hex(), "--payee", payee.Hex())
	if err := json.Unmarshal([]byte(js), p); err != nil {
		w.t.Fatalf("export calldata: %v\n%s", err, js)
	}
	if len(p.proofBytes()) != onchain.ProofSize || len(p.Input) != onchain.NbPublic {
		w.t.Fatalf("export calldata: %d proof bytes, %d inputs", len(p.proofBytes()), len(p.Input))
	}
	// The CLI's ABI encoding is go-ethereum's.
	in := p.inputs()
	if want := w.ver.pack(w.t, "verifyProof", p.proofBytes(), in); !bytes.Equal(common.FromHex(p.VerifyProof), want) {
		w.t.Fatal("export calldata: verify_proof differs from go-ethereum's ABI encoding")
	}
	if want := w.claimData(claimArgs{va, in[0], in[1], in[2], in[3], in[4], payee, p.proofBytes()}); !bytes.Equal(common.FromHex(p.Claim), want) {
		w.t.Fatal("export calldata: claim differs from go-ethereum's ABI encoding")
	}
	return p
}

// claimArgs are ClaimsRegistry.claim's arguments.
type claimArgs struct {
	verifier                                     common.Address
	binding, issuerX, issuerY, challenge, nullif *big.Int
	payee                                        common.Address
	proof                                        []byte
}

func (w *world) claimData(a claimArgs) []byte {
	return w.reg.pack(w.t, "claim", a.verifier, a.binding, a.issuerX, a.issuerY, a.challenge, a.nullif, a.payee, a.proof)
}

func (w *world) args(p *proved, verifier string, payee common.Address) claimArgs {
	in := p.inputs()
	return claimArgs{w.c.accounts[verifier].addr, in[0], in[1], in[2], in[3], in[4], payee, p.proofBytes()}
}

// claim sends a claim from the holder's account and returns the receipt's Eligible and DoubleUse
// events.
func (w *world) claim(a claimArgs) (eligible, doubleUse []map[string]any, gas uint64, err error) {
	w.t.Helper()
	rc, err := w.c.send(w.hold, w.reg, w.claimData(a))
	if err != nil {
		return nil, nil, 0, err
	}
	return events(w.t, w.reg, rc, "Eligible"), events(w.t, w.reg, rc, "DoubleUse"), rc.GasUsed, nil
}

func plus(v *big.Int, d int64) *big.Int { return new(big.Int).Add(v, big.NewInt(d)) }

func setup(t *testing.T) *world {
	testfixture.Quiet()
	w := &world{t: t, dir: t.TempDir(), insurer: "insurer", sponsor: "sponsor", hold: "holder"}
	w.keysDir = testfixture.KeysDir(t, keys.Groth16, schema.Coverage())

	// The verifier and claims contract, as `zkhealth export solidity` writes them, compiled; and
	// gnark's verifier as it exports it, to compare.
	out, gnarkOut := filepath.Join(w.dir, "contracts"), filepath.Join(w.dir, "contracts-gnark")
	zk(t, "export", "solidity", "--keys", w.keysDir, "--circuit", circuit, "--out", out)
	zk(t, "export", "solidity", "--keys", w.keysDir, "--circuit", circuit, "--gnark-verifier", "--out", gnarkOut)
	cs := compile(t, []string{filepath.Join(out, circuit, onchain.VerifierFile), filepath.Join(out, circuit, onchain.ClaimsRegistryFile)}, "Verifier", "ClaimsRegistry")
	w.ver, w.reg = cs["Verifier"], cs["ClaimsRegistry"]
	w.gnarkVer = compile(t, []string{filepath.Join(gnarkOut, circuit, onchain.VerifierFile)}, "Verifier")["Verifier"]
	w.gnarkVer.name = "gnark's Verifier"

	w.c = newChain(t, "owner", w.insurer, w.sponsor, w.hold)
	w.report("deploy Verifier", w.c.deploy("owner", w.ver).GasUsed, "")
	w.report("deploy gnark's Verifier (unfolded)", w.c.deploy("owner", w.gnarkVer).GasUsed, "")
	w.report("deploy ClaimsRegistry", w.c.deploy("owner", w.reg, w.ver.addr).GasUsed, "")
	k, err := keys.Load(w.keysDir, circuit, keys.Groth16, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.c.call(w.reg, "VK_FINGERPRINT")[0].([32]byte); hex.EncodeToString(got[:]) != k.Info.VKFingerprint {
		t.Fatalf("registry's VK_FINGERPRINT %x, keys %s", got, k.Info.VKFingerprint)
	}

	// Issuers, holder, credentials and the insurer's policy, all through the CLI.
	w.payerPub = zk(t, "issuer", "keygen", "--out", filepath.Join(w.dir, "payer.key"))
	w.roguePub = zk(t, "issuer", "keygen", "--out", filepath.Join(w.dir, "rogue.key"))
	commitment := zk(t, "holder", "keygen", "--out", filepath.Join(w.dir, "patient.key"))
	attrs := w.file("coverage.json", testfixture.CoverageAttrs)
	for _, is := range []struct{ key, out string }{{"payer.key", "payer.cred.json"}, {"rogue.key", "rogue.cred.json"}} {
		zk(t, "issue", "--issuer", filepath.Join(w.dir, is.key), "--schema", "coverage", "--holder-commitment", commitment,
			"--attributes", attrs, "--issued-on", "2026-11-01", "--out", filepath.Join(w.dir, is.out))
	}
	w.payerCred, w.rogueCred = filepath.Join(w.dir, "payer.cred.json"), filepath.Join(w.dir, "rogue.cred.json")
	w.policy = w.file("eligibility.json", testfixture.CoveragePolicy)
	w.binding = common.HexToHash(zk(t, "policy", "hash", "--policy", w.policy, "--as-of", testfixture.AsOf)).Big()
	w.bindingNext = common.HexToHash(zk(t, "policy", "hash", "--policy", w.policy, "--as-of", nextDay)).Big()
	pol, err := policy.Parse([]byte(testfixture.CoveragePolicy))
	if err != nil {
		t.Fatal(err)
	}
	w.scopeLabel = crypto.Keccak256Hash([]byte(pol.Scope))
	w.payee = common.HexToAddress("0x00000000000000000000000000000000000000ee")
	w.otherPayee = common.HexToAddress("0x00000000000000000000000000000000000000ff")
	return w
}

const nextDay = "2026-11-23"

// TestClaimsOnChain is issue 13's contract test: real proofs from `zkhealth prove` claimed on the
// simulated chain against the contracts `zkhealth export solidity` writes.
func TestClaimsOnChain(t *testing.T) {
	w := setup(t)
	c, reg := w.c, w.reg

	// The insurer registers its request binding under its scope label.
	rc := c.mustSend(w.insurer, reg, reg.pack(t, "registerBinding", w.binding, w.scopeLabel))
	w.report("registerBinding", rc.GasUsed, "")
	if _, err := c.send(w.insurer, reg, reg.pack(t, "registerBinding", w.binding, w.scopeLabel)); !reverted(err, "AlreadyRegistered") {
		t.Errorf("second registration of a binding: %v", err)
	}

	good := w.prove(w.payerCred, w.policy, testfixture.AsOf, w.insurer, w.binding, w.payee)
	goodIn := good.inputs()

	t.Run("verifyProof", func(t *testing.T) {
		defaultHash := proveDefaultHash(t, w, goodIn)
		edited := func(edit func(b []byte)) []byte { b := bytes.Clone(good.proofBytes()); edit(b); return b }
		flip := func(off int) []byte { return edited(func(b []byte) { b[off] ^= 1 }) }
		double := func(off int) []byte { return edited(func(b []byte) { copy(b[off:off+64], doubled(b[off:off+64])) }) }
		const commitment, pok = 256, 320
		cases := []struct {
			name        string
			proof       []byte
			edit        func(in *[onchain.NbPublic]*big.Int)
			want, gnark string // revert of the folded verifier, of gnark's
		}{
			{"binding changed", nil, func(in *[onchain.NbPublic]*big.Int) { in[0] = plus(in[0], 1) }, "ProofInvalid", "ProofInvalid"},
			{"issuer X changed", nil, func(in *[onchain.NbPublic]*big.Int) { in[1] = plus(in[1], 1) }, "ProofInvalid", "ProofInvalid"},
			{"issuer Y changed", nil, func(in *[onchain.NbPublic]*big.Int) { in[2] = plus(in[2], 1) }, "ProofInvalid", "ProofInvalid"},
			{"challenge changed", nil, func(in *[onchain.NbPublic]*big.Int) { in[3] = plus(in[3], 1) }, "ProofInvalid", "ProofInvalid"},
			{"nullifier changed", nil, func(in *[onchain.NbPublic]*big.Int) { in[4] = plus(in[4], 1) }, "ProofInvalid", "ProofInvalid"},
			{"nullifier + r (unreduced)", nil, func(in *[onchain.NbPublic]*big.Int) { in[4] = new(big.Int).Add(in[4], fr.Modulus()) }, "PublicInputNotInField", "PublicInputNotInField"},
			{"A off its curve", flip(63), nil, "ProofInvalid", "ProofInvalid"},
			{"A doubled", double(0), nil, "ProofInvalid", "ProofInvalid"},
			{"C doubled", double(192), nil, "ProofInvalid", "ProofInvalid"},
			{"commitment off its curve", flip(commitment + 63), nil, "CommitmentInvalid", "CommitmentInvalid"},
			{"commitment doubled", double(commitment), nil, "ProofInvalid", "CommitmentInvalid"},
			{"proof of knowledge off its curve", flip(pok + 63), nil, "CommitmentInvalid", "CommitmentInvalid"},
			// Only the proof-of-knowledge check can refuse this one: the Groth16 equation does not
			// involve the PoK.
			{"proof of knowledge doubled", double(pok), nil, "ProofInvalid", "CommitmentInvalid"},
			{"proof of knowledge swapped with the commitment", edited(func(b []byte) {
				var d [64]byte
				copy(d[:], b[commitment:pok])
				copy(b[commitment:pok], b[pok:pok+64])
				copy(b[pok:pok+64], d[:])
			}), nil, "ProofInvalid", "CommitmentInvalid"},
			{"proof with gnark's default hash to field", defaultHash, nil, "ProofInvalid", "ProofInvalid"},
			{"short proof", good.proofBytes()[:onchain.ProofSize-32], nil, `"invalid proof length"`, `"invalid proof length"`},
		}
		for _, v := range []struct {
			k    *contract
			want func(i int) string
		}{
			{w.ver, func(i int) string { return cases[i].want }},
			{w.gnarkVer, func(i int) string { return cases[i].gnark }},
		} {
			t.Run(v.k.name, func(t *testing.T) {
				data := common.FromHex(good.VerifyProof)
				g, err := c.estimate(w.hold, v.k, data)
				if err != nil {
					t.Fatalf("verifyProof of a proof made by zkhealth prove: %v", err)
				}
				w.report(v.k.name+".verifyProof (whole tx)", g, fmt.Sprintf("calldata %d bytes = %d gas; execution ≈ %d", len(data), calldataGas(data), g-21000-calldataGas(data)))
				for i, tc := range cases {
					t.Run(tc.name, func(t *testing.T) {
						in, proof := goodIn, good.proofBytes()
						if tc.edit != nil {
							tc.edit(&in)
						}
						if tc.proof != nil {
							proof = tc.proof
						}
						_, err := c.estimate(w.hold, v.k, v.k.pack(t, "verifyProof", proof, in))
						if !reverted(err, v.want(i)) {
							t.Errorf("got %v, want revert %s", err, v.want(i))
						}
					})
				}
			})
		}
	})

	t.Run("issuer registry", func(t *testing.T) {
		if _, _, _, err := w.claim(w.args(good, w.insurer, w.payee)); !reverted(err, "UntrustedIssuer") {
			t.Fatalf("claim before the issuer is trusted: %v", err)
		}
		var iss struct{ X, Y, Trust, Revoke string }
		if err := json.Unmarshal([]byte(zk(t, "export", "issuer", "--issuer-pub", w.payerPub)), &iss); err != nil {
			t.Fatal(err)
		}
		if common.HexToHash(iss.X).Big().Cmp(goodIn[1]) != 0 || common.HexToHash(iss.Y).Big().Cmp(goodIn[2]) != 0 {
			t.Fatal("export issuer: coordinates differ from the proof's issuer inputs")
		}
		if _, err := c.send(w.insurer, reg, common.FromHex(iss.Trust)); !reverted(err, "NotOwner") {
			t.Errorf("setIssuer by a non-owner: %v", err)
		}
		w.report("setIssuer", c.mustSend("owner", reg, common.FromHex(iss.Trust)).GasUsed, "")
	})

	t.Run("refused claims", func(t *testing.T) {
		rogue := w.prove(w.rogueCred, w.policy, testfixture.AsOf, w.insurer, w.binding, w.payee)
		ok := w.args(good, w.insurer, w.payee)
		cases := []struct {
			name string
			edit func(a *claimArgs)
			want string
		}{
			{"issuer never trusted (a valid proof from a rogue issuer)", func(a *claimArgs) { *a = w.args(rogue, w.insurer, w.payee) }, "UntrustedIssuer"},
			{"binding not registered", func(a *claimArgs) { a.binding = plus(a.binding, 1) }, "UnknownBinding"},
			{"binding registered by another verifier", func(a *claimArgs) { a.verifier = c.accounts[w.sponsor].addr }, "UnknownBinding"},
			{"another payee (a proof copied from the mempool)", func(a *claimArgs) { a.payee = w.otherPayee }, "WrongChallenge"},
			{"challenge changed", func(a *claimArgs) { a.challenge = plus(a.challenge, 1) }, "WrongChallenge"},
			{"nullifier changed", func(a *claimArgs) { a.nullif = plus(a.nullif, 1) }, "ProofInvalid"},
			{"issuer changed", func(a *claimArgs) { a.issuerX = plus(a.issuerX, 1) }, "UntrustedIssuer"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				a := ok
				tc.edit(&a)
				if _, _, _, err := w.claim(a); !reverted(err, tc.want) {
					t.Errorf("got %v, want revert %s", err, tc.want)
				}
			})
		}
	})

	t.Run("first use, then double use", func(t *testing.T) {
		nullifier := goodIn[4]
		eligible, double, gas, err := w.claim(w.args(good, w.insurer, w.payee))
		if err != nil || len(eligible) != 1 || len(double) != 0 {
			t.Fatalf("first claim: %v, Eligible %d, DoubleUse %d", err, len(eligible), len(double))
		}
		if eligible[0]["nullifier"].(*big.Int).Cmp(nullifier) != 0 || eligible[0]["payee"].(common.Address) != w.payee {
			t.Errorf("Eligible %v", eligible[0])
		}
		w.report("claim, first use (Eligible)", gas, "")

		// The same calldata again: kept on chain as DoubleUse, not refused, not Eligible.
		eligible, double, gas, err = w.claim(w.args(good, w.insurer, w.payee))
		if err != nil || len(eligible) != 0 || len(double) != 1 {
			t.Fatalf("replayed claim: %v, Eligible %d, DoubleUse %d", err, len(eligible), len(double))
		}
		w.report("claim, replay (DoubleUse)", gas, "")

		// A fresh proof by the same holder for the same binding: the nullifier gives it away.
		again := w.prove(w.payerCred, w.policy, testfixture.AsOf, w.insurer, w.binding, w.payee)
		if again.Proof == good.Proof {
			t.Fatal("two proofs should differ")
		}
		if eligible, double, _, err = w.claim(w.args(again, w.insurer, w.payee)); err != nil || len(eligible) != 0 || len(double) != 1 {
			t.Errorf("fresh proof, same holder: %v, Eligible %d, DoubleUse %d", err, len(eligible), len(double))
		}

		// The next day's binding under the same scope label shares the nullifier set.
		c.mustSend(w.insurer, reg, reg.pack(t, "registerBinding", w.bindingNext, w.scopeLabel))
		next := w.prove(w.payerCred, w.policy, nextDay, w.insurer, w.bindingNext, w.payee)
		if eligible, double, _, err = w.claim(w.args(next, w.insurer, w.payee)); err != nil || len(eligible) != 0 || len(double) != 1 {
			t.Errorf("next day, same scope label: %v, Eligible %d, DoubleUse %d", err, len(eligible), len(double))
		}

		// Another verifier registering the same binding has its own nullifier set.
		c.mustSend(w.sponsor, reg, reg.pack(t, "registerBinding", w.binding, w.scopeLabel))
		other := w.prove(w.payerCred, w.policy, testfixture.AsOf, w.sponsor, w.binding, w.payee)
		if eligible, double, _, err = w.claim(w.args(other, w.sponsor, w.payee)); err != nil || len(eligible) != 1 || len(double) != 0 {
			t.Errorf("another verifier's binding: %v, Eligible %d, DoubleUse %d", err, len(eligible), len(double))
		}
	})

	t.Run("revocations", func(t *testing.T) {
		fresh := w.prove(w.payerCred, w.policy, testfixture.AsOf, w.insurer, w.binding, w.payee)
		var iss struct{ Trust, Revoke string }
		if err := json.Unmarshal([]byte(zk(t, "export", "issuer", "--issuer-pub", w.payerPub)), &iss); err != nil {
			t.Fatal(err)
		}
		c.mustSend("owner", reg, common.FromHex(iss.Revoke))
		if _, _, _, err := w.claim(w.args(fresh, w.insurer, w.payee)); !reverted(err, "UntrustedIssuer") {
			t.Errorf("claim after the issuer was revoked: %v", err)
		}
		c.mustSend(w.insurer, reg, reg.pack(t, "revokeBinding", w.binding))
		if _, err := c.send(w.insurer, reg, reg.pack(t, "registerBinding", w.binding, w.scopeLabel)); !reverted(err, "AlreadyRegistered") {
			t.Errorf("re-registering a revoked binding: %v", err)
		}
		c.mustSend("owner", reg, common.FromHex(iss.Trust))
		if _, _, _, err := w.claim(w.args(fresh, w.insurer, w.payee)); !reverted(err, "UnknownBinding") {
			t.Errorf("claim against a revoked binding (issuer trusted again): %v", err)
		}
	})

	t.Run("anchor", func(t *testing.T) {
		anchor := func(from string, size uint64, entries ...string) error {
			note := checkpointNote(size, entries)
			path := w.file(fmt.Sprintf("checkpoint-%d", size), note)
			var cp struct {
				TreeSize uint64 `json:"tree_size"`
				RootHash string `json:"root_hash"`
				Anchor   string `json:"anchor"`
			}
			if err := json.Unmarshal([]byte(zk(t, "export", "calldata", "--checkpoint", path)), &cp); err != nil {
				t.Fatal(err)
			}
			rc, err := c.send(from, reg, common.FromHex(cp.Anchor))
			if err != nil {
				return err
			}
			w.report(fmt.Sprintf("anchor (tree size %d)", size), rc.GasUsed, "")
			if got := c.call(reg, "checkpointSize")[0].(uint64); got != cp.TreeSize {
				t.Errorf("checkpointSize %d, want %d", got, cp.TreeSize)
			}
			if got := c.call(reg, "checkpointRoot")[0].([32]byte); common.Hash(got) != common.HexToHash(cp.RootHash) {
				t.Errorf("checkpointRoot %x, want %s", got, cp.RootHash)
			}
			return nil
		}
		entries := []string{"verification 1", "verification 2", "verification 3", "verification 4", "verification 5"}
		if err := anchor("owner", 3, entries[:3]...); err != nil {
			t.Fatal(err)
		}
		if err := anchor(w.insurer, 5, entries...); !reverted(err, "NotOwner") {
			t.Errorf("anchor by a non-owner: %v", err)
		}
		if err := anchor("owner", 3, "verification 1", "a forked entry", "verification 3"); !reverted(err, "StaleCheckpoint") {
			t.Errorf("anchor of another tree of the same size: %v", err)
		}
		if err := anchor("owner", 5, entries...); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("anchor a real log", func(t *testing.T) { anchorRealLog(t, w, good) })

	for _, line := range w.gas {
		t.Log(line)
	}
	t.Logf("sizes: PROOF.json proof %d bytes (gnark, compressed); on chain %d bytes; verifyProof calldata %d bytes; claim calldata %d bytes",
		len(mustBase64(t, good.path)), len(good.proofBytes()), len(common.FromHex(good.VerifyProof)), len(common.FromHex(good.Claim)))
}

// proveDefaultHash proves the statement of public with gnark's default hash to field (not the one
// zkhealth proves with), in MarshalSolidity's layout.
func proveDefaultHash(t *testing.T, w *world, public [onchain.NbPublic]*big.Int) []byte {
	t.Helper()
	pr, err := prover.New(w.keysDir, keys.Groth16, []string{circuit}, 1)
	if err != nil {
		t.Fatal(err)
	}
	readJSON := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cred, err := credential.Parse(readJSON(w.payerCred))
	if err != nil {
		t.Fatal(err)
	}
	hk, err := credential.ParseHolderKey(readJSON(filepath.Join(w.dir, "patient.key")))
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Parse(readJSON(w.policy))
	if err != nil {
		t.Fatal(err)
	}
	var ch fr.Element
	ch.SetBigInt(public[3])
	prep, err := pr.Prepare(prover.Request{Credential: cred, Holder: hk, Policy: pol, AsOf: testfixture.AsOf, Challenge: ch})
	if err != nil {
		t.Fatal(err)
	}
	assignment, err := circuits.Assign(prep.Keys.Schema, prep.Keys.Circuit, prep.Witness)
	if err != nil {
		t.Fatal(err)
	}
	full, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	prf, err := groth16.Prove(prep.Keys.CCS, prep.Keys.PK.(groth16.ProvingKey), full)
	if err != nil {
		t.Fatal(err)
	}
	return prf.(*groth16bn254.Proof).MarshalSolidity()
}

// doubled is 2·P for a G1 point in the EVM's encoding (X, Y big-endian, 32 bytes each).
func doubled(p []byte) []byte {
	var pt bn254.G1Affine
	pt.X.SetBytes(p[:32])
	pt.Y.SetBytes(p[32:64])
	pt.ScalarMultiplication(&pt, big.NewInt(2))
	return pt.Marshal()
}

func mustBase64(t *testing.T, proofPath string) []byte {
	t.Helper()
	data, err := os.ReadFile(proofPath)
	if err != nil {
		t.Fatal(err)
	}
	var pf struct{ Proof string }
	if err := json.Unmarshal(data, &pf); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(pf.Proof)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkpointNote is a checkpoint of a log holding entries, in the C2SP tlog-checkpoint format
// (with a placeholder signature line: the contract anchors what its owner has checked).
func checkpointNote(size uint64, entries []string) string {
	root := merkleRoot(entries)
	return fmt.Sprintf("zkhealth.test/verification-log\n%d\n%s\n\n— zkhealth.test/verification-log AAAA\n", size, base64.StdEncoding.EncodeToString(root[:]))
}

// merkleRoot is the RFC 6962 Merkle tree hash of entries.
func merkleRoot(entries []string) [32]byte {
	switch len(entries) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, entries[0]...))
	}
	k := 1
	for k*2 < len(entries) {
		k *= 2
	}
	l, r := merkleRoot(entries[:k]), merkleRoot(entries[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}
