// Package prover turns a holder's credential, holder key, a verifier's policy, an as-of date and a
// challenge into a proof (PROOF.json). The CLI and the service use it alike.
//
// Guarantees: Prove never returns a proof for a credential whose signature, holder binding,
// validity dates or issuer acceptance fail, or that does not satisfy the policy: it checks all of
// them natively first and answers with a *zkhealth.Error naming what failed (the first failing
// predicate by index and as written). Each circuit is compiled and its keys loaded once, in New;
// Prove is safe for concurrent use and runs at most the configured number of proofs at once.
//
// A Groth16 proof hashes its BSB22 commitment to a field element with legacy Keccak-256 (see
// groth16ProverOptions), so the same proof verifies off chain (package verifier) and in the
// Solidity verifier gnark exports (package verifier/onchain).
package prover

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/frontend"
	"golang.org/x/crypto/sha3"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/policy"
)

// Request is everything a proof is made from.
type Request struct {
	Credential *credential.Credential
	Holder     *credential.HolderKey
	Policy     *policy.Policy
	AsOf       string // YYYY-MM-DD
	Challenge  fr.Element
	// Compiled is optional: Policy compiled for AsOf, for a caller that compiled it once and keeps
	// it (a service proving many holders for one presentation request). Nil: Prepare compiles.
	Compiled *policy.Compiled
}

// Prover holds the loaded keys of every circuit for one backend.
type Prover struct {
	backend keys.Backend
	keys    map[string]*keys.Keys // by circuit id
	slots   chan struct{}
}

// New loads the constraint systems and proving keys of the given circuits from dir (trusted local
// storage) and bounds concurrent proofs to maxConcurrent (at least 1).
func New(dir string, backend keys.Backend, circuitIDs []string, maxConcurrent int) (*Prover, error) {
	p := &Prover{backend: backend, keys: map[string]*keys.Keys{}, slots: make(chan struct{}, max(1, maxConcurrent))}
	for _, id := range circuitIDs {
		k, err := keys.Load(dir, id, backend, true)
		if err != nil {
			return nil, zkhealth.Wrap(zkhealth.EUnavailable, fmt.Errorf("load keys: %w", err))
		}
		p.keys[id] = k
	}
	return p, nil
}

// Backend is the proving system this prover uses.
func (p *Prover) Backend() keys.Backend { return p.backend }

// Keys returns the loaded key set of a circuit, or nil.
func (p *Prover) Keys(circuit string) *keys.Keys { return p.keys[circuit] }

// Prepared is a request that passed every native check, with its witness built for the smallest
// loaded circuit of the schema's ladder that holds the policy.
type Prepared struct {
	Keys     *keys.Keys
	Compiled *policy.Compiled
	Assigned *policy.Assigned
	Witness  *circuits.Witness
	Issuer   string
}

// circuitFor returns the keys and layout of the smallest loaded circuit that holds the policy.
func (p *Prover) circuitFor(c *policy.Compiled) (*keys.Keys, *policy.Assigned, error) {
	var last error
	for _, circuit := range c.Schema.Circuits {
		k := p.keys[circuit.ID]
		if k == nil {
			continue
		}
		a, err := c.For(circuit)
		if err != nil {
			last = err
			continue
		}
		return k, a, nil
	}
	if last != nil {
		return nil, nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("policy: %w", last))
	}
	return nil, nil, zkhealth.Errorf(zkhealth.EUnavailable, "no %s keys loaded for a %s circuit", p.backend, c.Schema.ID)
}

// Prepare runs every native check of a request and builds its witness. Errors are *zkhealth.Error:
// EInvalid (malformed input), ECredential (signature, holder, dates, issuer), ENotSatisfied
// (Predicate set), EUnavailable (no keys for the circuit).
func (p *Prover) Prepare(req Request) (*Prepared, error) {
	d, err := req.Credential.Decode()
	if err != nil {
		return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("credential: %w", err))
	}
	if req.Policy.Schema != d.Schema.ID {
		return nil, zkhealth.Errorf(zkhealth.EInvalid, "policy is for schema %q but the credential is %q", req.Policy.Schema, d.Schema.ID)
	}
	if err := d.Verify(); err != nil {
		return nil, zkhealth.Wrap(zkhealth.ECredential, err)
	}
	if hc := req.Holder.Commitment(); !hc.Equal(&d.Header.HolderCommitment) {
		return nil, zkhealth.Errorf(zkhealth.ECredential, "the holder key does not match the credential's holder commitment")
	}
	if !req.Policy.AcceptsIssuer(req.Credential.Issuer) {
		return nil, zkhealth.Errorf(zkhealth.ECredential, "the policy does not accept the credential's issuer")
	}
	compiled := req.Compiled
	if compiled == nil {
		if compiled, err = req.Policy.Compile(req.AsOf); err != nil {
			return nil, zkhealth.Wrap(zkhealth.EInvalid, fmt.Errorf("policy: %w", err))
		}
	} else if compiled.Policy != req.Policy || encode.DateString(compiled.AsOf) != req.AsOf {
		return nil, fmt.Errorf("prover: the compiled policy is not the request's policy as of %s", req.AsOf)
	}
	asOf, _ := encode.Date(req.AsOf)
	issued, _ := encode.Date(d.Header.IssuedOn)
	expires, _ := encode.Date(d.Header.ExpiresOn)
	switch {
	case asOf < issued:
		return nil, zkhealth.Errorf(zkhealth.ECredential, "the credential was issued on %s, after the as-of date %s", d.Header.IssuedOn, req.AsOf)
	case asOf > expires:
		return nil, zkhealth.Errorf(zkhealth.ECredential, "the credential expired on %s, before the as-of date %s", d.Header.ExpiresOn, req.AsOf)
	case asOf-issued > compiled.MaxAge:
		return nil, zkhealth.Errorf(zkhealth.ENotSatisfied, "the credential was issued on %s, %d days before the as-of date; the policy accepts credentials at most %d days old (max_credential_age_days)", d.Header.IssuedOn, asOf-issued, compiled.MaxAge)
	}
	failing, err := compiled.Evaluate(d.Attributes)
	if err != nil {
		return nil, fmt.Errorf("evaluate policy: %w", err)
	}
	if failing >= 0 {
		e := zkhealth.Errorf(zkhealth.ENotSatisfied, "predicate %d (%s) does not hold", failing, req.Policy.Predicates[failing])
		e.Predicate = failing
		return nil, e
	}
	k, assigned, err := p.circuitFor(compiled)
	if err != nil {
		return nil, err
	}
	lists, err := circuits.BuildOpenings(d.Attributes, assigned)
	if err != nil {
		return nil, fmt.Errorf("open lists: %w", err)
	}
	secret := req.Holder.Element()
	w := &circuits.Witness{
		Public: circuits.Public{
			PolicyHash: assigned.Hash,
			Issuer:     d.Issuer,
			Challenge:  req.Challenge,
			Nullifier:  fieldhash.Nullifier(secret, compiled.Scope),
		},
		Credential:   d.Values,
		Signature:    d.Signature,
		HolderSecret: secret,
		Policy:       assigned.Values,
		Lists:        lists,
	}
	return &Prepared{Keys: k, Compiled: compiled, Assigned: assigned, Witness: w, Issuer: req.Credential.Issuer}, nil
}

// Prove checks the request (see Prepare) and proves it, waiting for a free proving slot or ctx.
func (p *Prover) Prove(ctx context.Context, req Request) (*zkhealth.ProofFile, error) {
	prep, err := p.Prepare(req)
	if err != nil {
		return nil, err
	}
	return p.ProvePrepared(ctx, prep)
}

// ProvePrepared proves a prepared request.
func (p *Prover) ProvePrepared(ctx context.Context, prep *Prepared) (*zkhealth.ProofFile, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()

	k := prep.Keys
	assignment, err := circuits.Assign(k.Schema, k.Circuit, prep.Witness)
	if err != nil {
		return nil, err
	}
	full, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("build witness: %w", err)
	}
	var buf bytes.Buffer
	switch p.backend {
	case keys.Groth16:
		prf, err := groth16.Prove(k.CCS, k.PK.(groth16.ProvingKey), full, groth16ProverOptions()...)
		if err != nil {
			return nil, proveError(err)
		}
		_, err = prf.WriteTo(&buf)
		if err != nil {
			return nil, fmt.Errorf("serialise proof: %w", err)
		}
	case keys.PLONK:
		prf, err := plonk.Prove(k.CCS, k.PK.(plonk.ProvingKey), full)
		if err != nil {
			return nil, proveError(err)
		}
		if _, err = prf.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("serialise proof: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown backend %q", p.backend)
	}
	pub := prep.Witness.Public
	return &zkhealth.ProofFile{
		Version:       zkhealth.ProofVersion,
		Circuit:       k.Info.Circuit,
		Backend:       string(p.backend),
		VKFingerprint: k.Info.VKFingerprint,
		Proof:         base64.StdEncoding.EncodeToString(buf.Bytes()),
		Public: zkhealth.ProofPublic{
			PolicyHash: fieldhash.Hex(pub.PolicyHash),
			Issuer:     prep.Issuer,
			Challenge:  fieldhash.Hex(pub.Challenge),
			Nullifier:  fieldhash.Hex(pub.Nullifier),
		},
		AsOf:  encode.DateString(prep.Compiled.AsOf),
		Scope: prep.Compiled.Policy.Scope,
	}, nil
}

// groth16ProverOptions are the options of every Groth16 proof: the commitment's hash to field is
// legacy Keccak-256, which is what gnark's solidity.WithProverTargetSolidityVerifier sets and what
// its exported Solidity verifier computes on chain; verifier/groth16.go computes the same. Built
// per proof: a hash.Hash is not safe for concurrent use.
func groth16ProverOptions() []backend.ProverOption {
	return []backend.ProverOption{backend.WithProverHashToFieldFunction(sha3.NewLegacyKeccak256())}
}

// proveError hides the solver's message, which can quote witness values, behind a fixed sentence.
func proveError(err error) error {
	return &zkhealth.Error{Code: zkhealth.EInternal, Message: "the constraint system rejected the witness", Predicate: -1, Err: errors.New("prover failed")}
}
