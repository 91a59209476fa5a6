// Package benchmarks measures zkhealth's performance: the testing.B benchmarks in this package
// (per circuit and backend: compile, setup, witness building, prove and verify, with constraint
// counts and proof and key sizes as metrics) and the helpers they share with the report program
// cmd/benchreport, which `make bench` runs after them (HTTP load, scaling sweeps, peak memory,
// latest.json, summary and plots). Nothing here asserts a time: budgets are reported, never
// enforced.
package benchmarks

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier"
)

// UseCase is one of CLI.md's two examples: a schema with its example attributes and policy, and
// the circuit that proves it (the smallest of the schema's ladder that holds the policy).
type UseCase struct {
	Schema        *schema.Schema
	Circuit       *schema.Circuit
	Attrs, Policy string
}

// UseCases are the insurer's (coverage) and the trial sponsor's (clinical) examples.
func UseCases() []UseCase {
	cov, cli := schema.Coverage(), schema.Clinical()
	return []UseCase{
		{cov, cov.Circuits[0], testfixture.CoverageAttrs, testfixture.CoveragePolicy},
		{cli, cli.Circuits[0], testfixture.ClinicalAttrs, testfixture.ClinicalPolicy},
	}
}

// Backends are the proving systems measured: Groth16 and PLONK, or Groth16 only when
// ZKHEALTH_BENCH_PLONK=0.
func Backends() []keys.Backend {
	if os.Getenv("ZKHEALTH_BENCH_PLONK") == "0" {
		return []keys.Backend{keys.Groth16}
	}
	return []keys.Backend{keys.Groth16, keys.PLONK}
}

// KeysDir is the key directory the test binaries share (testfixture.SharedKeysDir), with keys of
// the use case's circuit and backend set up (once; later runs reuse them).
func KeysDir(uc UseCase, be keys.Backend) (string, error) {
	dir := testfixture.SharedKeysDir()
	return dir, testfixture.SetupKeys(dir, be, uc.Schema)
}

// Fixture is one use case ready to prove: keys loaded, a credential issued, the request prepared.
type Fixture struct {
	UseCase  UseCase
	Prover   *prover.Prover
	Verifier *verifier.Verifier
	Request  prover.Request
	Prepared *prover.Prepared
	Issued   *testfixture.Issued
}

// NewFixture loads the keys of the use case's circuit and backend from dir, issues the example
// credential to a fresh holder and prepares the example request with a random challenge.
func NewFixture(dir string, uc UseCase, be keys.Backend) (*Fixture, error) {
	testfixture.Quiet()
	pr, err := prover.New(dir, be, circuitIDs(uc.Schema), 1)
	if err != nil {
		return nil, err
	}
	v, err := verifier.New(dir, circuitIDs(uc.Schema), be)
	if err != nil {
		return nil, err
	}
	is, err := testfixture.NewIssued(uc.Schema, uc.Attrs, "2026-11-01", "2027-11-01")
	if err != nil {
		return nil, err
	}
	pol, err := policy.Parse([]byte(uc.Policy))
	if err != nil {
		return nil, err
	}
	var ch fr.Element
	if _, err := ch.SetRandom(); err != nil {
		return nil, err
	}
	req := prover.Request{Credential: is.Credential, Holder: is.Holder, Policy: pol, AsOf: testfixture.AsOf, Challenge: ch}
	prep, err := pr.Prepare(req)
	if err != nil {
		return nil, err
	}
	return &Fixture{UseCase: uc, Prover: pr, Verifier: v, Request: req, Prepared: prep, Issued: is}, nil
}

// Witness is the native part of proving: decode and check the credential, compile the policy,
// evaluate it and build the full witness.
func (f *Fixture) Witness() error {
	prep, err := f.Prover.Prepare(f.Request)
	if err != nil {
		return err
	}
	a, err := circuits.Assign(f.UseCase.Schema, prep.Keys.Circuit, prep.Witness)
	if err != nil {
		return err
	}
	_, err = frontend.NewWitness(a, ecc.BN254.ScalarField())
	return err
}

// Prove proves the prepared request.
func (f *Fixture) Prove(ctx context.Context) (*zkhealth.ProofFile, error) {
	return f.Prover.ProvePrepared(ctx, f.Prepared)
}

// VerifyRequest is what the verifier checks pf against: the fixture's own policy, as-of date,
// issuer and challenge.
func (f *Fixture) VerifyRequest(pf *zkhealth.ProofFile) verifier.Request {
	return verifier.Request{Proof: pf, Policy: f.Request.Policy, AsOf: f.Request.AsOf,
		Issuer: f.Issued.Issuer.Public(), Challenge: f.Request.Challenge}
}

// Verify verifies pf and fails unless it is valid.
func (f *Fixture) Verify(ctx context.Context, pf *zkhealth.ProofFile) error {
	res, err := f.Verifier.Verify(ctx, f.VerifyRequest(pf))
	if err != nil {
		return err
	}
	if !res.Valid {
		return fmt.Errorf("proof rejected: %s", res.Reason)
	}
	return nil
}

// CPUTime is the CPU time (user + system) this process has used: with other work on the machine,
// CPU time per operation is steadier than wall-clock time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS is the largest resident set size this process has had, in bytes (getrusage maxrss).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

// circuitIDs are the ids of the circuits of a schema's ladder.
func circuitIDs(s *schema.Schema) []string {
	var ids []string
	for _, c := range s.Circuits {
		ids = append(ids, c.ID)
	}
	return ids
}
