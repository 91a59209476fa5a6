// Package verifier checks a PROOF.json against the verifier's own policy, as-of date, scope,
// issuer key and challenge.
//
// Guarantees: the public witness is rebuilt here, never taken from the proof file: the policy
// hash is recomputed from the policy, as-of date and scope; the issuer and challenge come from the
// caller. Only the nullifier, which the verifier cannot know in advance, is read from the file.
// Proof bytes go through the checked readers. An invalid proof is a Result with Valid false and a
// reason; an error means the verifier itself could not decide (a broken policy, missing keys).
package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/checked"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/policy"
)

// Reasons a proof is invalid.
const (
	ReasonMalformed       = "malformed_proof"
	ReasonCircuitMismatch = "circuit_mismatch"
	ReasonUnknownKey      = "unknown_verifying_key"
	ReasonPolicyMismatch  = "policy_mismatch"
	ReasonAsOfMismatch    = "as_of_mismatch"
	ReasonScopeMismatch   = "scope_mismatch"
	ReasonIssuerMismatch  = "issuer_mismatch"
	ReasonChallenge       = "challenge_mismatch"
	ReasonUntrustedIssuer = "untrusted_issuer"
	ReasonRejected        = "proof_rejected"
)

// Request is what a verifier checks a proof against; every value is the verifier's own.
type Request struct {
	Proof     *zkhealth.ProofFile
	Policy    *policy.Policy
	AsOf      string
	Issuer    eddsa.PublicKey
	Challenge fr.Element
	// Compiled is optional: Policy compiled for AsOf, for a caller that compiled it once and
	// keeps it. Nil: Verify compiles (memoised).
	Compiled *policy.Compiled
}

// Result is the outcome of a verification.
type Result struct {
	Valid     bool   `json:"valid"`
	Reason    string `json:"reason,omitempty"`
	Nullifier string `json:"nullifier"`
}

// maxCommitments bounds the commitments a Groth16 proof may carry (zkhealth's circuits use one).
const maxCommitments = 4

// Verifier holds the verifying keys it accepts, by circuit and backend.
type Verifier struct {
	keys     map[string]*keys.Keys
	groth16  map[string]*groth16Key // precomputed, by circuit/backend
	compiled *compiledCache
}

func newVerifier() *Verifier {
	return &Verifier{keys: map[string]*keys.Keys{}, groth16: map[string]*groth16Key{}, compiled: &compiledCache{}}
}

// compiledCache memoises policy compilation: a verifier checks many proofs against one policy
// and as-of date, and Compile is a pure function of them. Bounded; cleared when full.
type compiledCache struct {
	mu sync.Mutex
	m  map[string]*policy.Compiled
}

const maxCompiled = 1024

func (c *compiledCache) compile(p *policy.Policy, asOf string) (*policy.Compiled, error) {
	canonical, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	key := asOf + "\x00" + string(canonical)
	c.mu.Lock()
	hit := c.m[key]
	c.mu.Unlock()
	if hit != nil {
		return hit, nil
	}
	compiled, err := p.Compile(asOf)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCompiled {
		c.m = map[string]*policy.Compiled{}
	}
	c.m[key] = compiled
	c.mu.Unlock()
	return compiled, nil
}

// add registers a key set, precomputing what Groth16 verification needs.
func (v *Verifier) add(k *keys.Keys) error {
	id := k.Info.Circuit + "/" + string(k.Info.Backend)
	if k.Info.Backend == keys.Groth16 {
		vk, ok := k.VK.(*groth16bn254.VerifyingKey)
		if !ok {
			return fmt.Errorf("verifying key %s is not a BN254 Groth16 key", id)
		}
		gk, err := newGroth16Key(vk)
		if err != nil {
			return fmt.Errorf("verifying key %s: %w", id, err)
		}
		v.groth16[id] = gk
	}
	v.keys[id] = k
	return nil
}

// New loads the verifying keys (checked reader, fingerprint-matched) for every shipped circuit
// and backend found in dir. It fails when it finds none.
func New(dir string, circuitIDs []string, backends ...keys.Backend) (*Verifier, error) {
	v := newVerifier()
	for _, id := range circuitIDs {
		for _, b := range backends {
			k, err := keys.Load(dir, id, b, false)
			if errors.Is(err, keys.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, zkhealth.Wrap(zkhealth.EUnavailable, err)
			}
			if err := v.add(k); err != nil {
				return nil, zkhealth.Wrap(zkhealth.EUnavailable, err)
			}
		}
	}
	if len(v.keys) == 0 {
		return nil, zkhealth.Errorf(zkhealth.EUnavailable, "no verifying keys in %s (run `zkhealth setup --keys %s`)", dir, dir)
	}
	return v, nil
}

// FromKeys builds a verifier over already loaded key sets.
func FromKeys(sets ...*keys.Keys) (*Verifier, error) {
	v := newVerifier()
	for _, k := range sets {
		if err := v.add(k); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func invalid(reason string, nullifier string) Result {
	return Result{Valid: false, Reason: reason, Nullifier: nullifier}
}

// Verify decides whether req.Proof proves req.Policy for the caller's as-of date, issuer and
// challenge.
func (v *Verifier) Verify(ctx context.Context, req Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	f := req.Proof
	compiled := req.Compiled
	if compiled == nil {
		var err error
		if compiled, err = v.compiled.compile(req.Policy, req.AsOf); err != nil {
			return Result{}, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("policy: %w", err))
		}
	} else if compiled.Policy != req.Policy || encode.DateString(compiled.AsOf) != req.AsOf {
		return Result{}, fmt.Errorf("verifier: the compiled policy is not the request's policy as of %s", req.AsOf)
	}
	nullifier, err := fieldhash.ParseHex(f.Public.Nullifier)
	if err != nil {
		return invalid(ReasonMalformed, ""), nil
	}
	res := func(reason string) (Result, error) { return invalid(reason, fieldhash.Hex(nullifier)), nil }
	if f.Check() != nil {
		return res(ReasonMalformed)
	}
	circuit, ok := compiled.Schema.Circuit(f.Circuit)
	if !ok {
		return res(ReasonCircuitMismatch)
	}
	assigned := compiled.Assigned
	if assigned.Circuit != circuit {
		// a larger circuit of the ladder than the policy needs: sound, if the policy fits it
		if assigned, err = compiled.For(circuit); err != nil {
			return res(ReasonCircuitMismatch)
		}
	}
	k := v.keys[f.Circuit+"/"+f.Backend]
	if k == nil || k.Info.VKFingerprint != f.VKFingerprint {
		return res(ReasonUnknownKey)
	}
	issuerHex := credential.PublicKeyHex(req.Issuer)
	if !req.Policy.AcceptsIssuer(issuerHex) {
		return res(ReasonUntrustedIssuer)
	}
	// The claimed public values only tell which of the verifier's own values differs.
	switch {
	case f.AsOf != req.AsOf:
		return res(ReasonAsOfMismatch)
	case f.Scope != req.Policy.Scope:
		return res(ReasonScopeMismatch)
	case f.Public.PolicyHash != fieldhash.Hex(assigned.Hash):
		return res(ReasonPolicyMismatch)
	case f.Public.Issuer != issuerHex:
		return res(ReasonIssuerMismatch)
	case f.Public.Challenge != fieldhash.Hex(req.Challenge):
		return res(ReasonChallenge)
	}
	public := circuits.Public{PolicyHash: assigned.Hash, Issuer: req.Issuer, Challenge: req.Challenge, Nullifier: nullifier}
	raw, err := f.Bytes()
	if err != nil {
		return res(ReasonMalformed)
	}
	switch keys.Backend(f.Backend) {
	case keys.Groth16:
		prf, err := checked.Groth16Proof(raw, maxCommitments)
		if err != nil {
			return res(ReasonMalformed)
		}
		if v.groth16[f.Circuit+"/"+f.Backend].verify(prf.(*groth16bn254.Proof), public.Vector()) != nil {
			return res(ReasonRejected)
		}
	case keys.PLONK:
		prf, err := checked.PlonkProof(raw)
		if err != nil {
			return res(ReasonMalformed)
		}
		wit, err := frontend.NewWitness(circuits.PublicAssignment(k.Schema, k.Circuit, &public), ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err != nil {
			return Result{}, fmt.Errorf("public witness: %w", err)
		}
		if plonk.Verify(prf, k.VK.(plonk.VerifyingKey), wit) != nil {
			return res(ReasonRejected)
		}
	default:
		return res(ReasonUnknownKey)
	}
	return Result{Valid: true, Nullifier: fieldhash.Hex(nullifier)}, nil
}
