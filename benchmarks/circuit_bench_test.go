// Package benchmarks measures zkhealth's performance with testing.B: per circuit and backend,
// compile, witness building, prove and verify, with constraint counts and proof and key sizes
// reported as metrics. `make bench` runs it. Nothing here asserts a time.
package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/keys"
	"github.com/zkhealth/zkhealth/proof"
	"github.com/zkhealth/zkhealth/prover"
	"github.com/zkhealth/zkhealth/schema"
	"github.com/zkhealth/zkhealth/verifier"
)

type useCase struct {
	s             *schema.Schema
	attrs, policy string
}

func useCases() []useCase {
	return []useCase{
		{schema.Coverage(), testfixture.CoverageAttrs, testfixture.CoveragePolicy},
		{schema.Clinical(), testfixture.ClinicalAttrs, testfixture.ClinicalPolicy},
	}
}

func backends() []keys.Backend {
	if os.Getenv("ZKHEALTH_BENCH_PLONK") == "0" {
		return []keys.Backend{keys.Groth16}
	}
	return []keys.Backend{keys.Groth16, keys.PLONK}
}

// fixture is one use case ready to prove: keys loaded, credential issued, request prepared.
type fixture struct {
	pr   *prover.Prover
	v    *verifier.Verifier
	req  prover.Request
	prep *prover.Prepared
	is   *testfixture.Issued
}

func newFixture(b *testing.B, uc useCase, be keys.Backend) *fixture {
	b.Helper()
	testfixture.Quiet()
	dir := testfixture.KeysDir(b, be, uc.s)
	pr, err := prover.New(dir, be, []string{uc.s.Circuit}, 1)
	if err != nil {
		b.Fatal(err)
	}
	v, err := verifier.New(dir, []string{uc.s.Circuit}, be)
	if err != nil {
		b.Fatal(err)
	}
	is := testfixture.Issue(b, uc.s, uc.attrs, "2026-11-01", "2027-11-01")
	var ch fr.Element
	ch.SetRandom()
	req := prover.Request{Credential: is.Credential, Holder: is.Holder, Policy: testfixture.Policy(b, uc.policy), AsOf: testfixture.AsOf, Challenge: ch}
	prep, err := pr.Prepare(req)
	if err != nil {
		b.Fatal(err)
	}
	return &fixture{pr: pr, v: v, req: req, prep: prep, is: is}
}

func size(w io.WriterTo) float64 {
	var buf bytes.Buffer
	w.WriteTo(&buf)
	return float64(buf.Len())
}

// BenchmarkCompile compiles each circuit (R1CS for Groth16, SCS for PLONK).
func BenchmarkCompile(b *testing.B) {
	testfixture.Quiet()
	for _, uc := range useCases() {
		for _, be := range backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.s.Circuit, be), func(b *testing.B) {
				var n int
				for b.Loop() {
					ccs, err := keys.Compile(uc.s, be)
					if err != nil {
						b.Fatal(err)
					}
					n = ccs.GetNbConstraints()
				}
				b.ReportMetric(float64(n), "constraints")
			})
		}
	}
}

// BenchmarkWitness is the native part of proving: decode and check the credential, compile the
// policy, evaluate it and build the full witness.
func BenchmarkWitness(b *testing.B) {
	for _, uc := range useCases() {
		b.Run(uc.s.Circuit, func(b *testing.B) {
			f := newFixture(b, uc, keys.Groth16)
			for b.Loop() {
				prep, err := f.pr.Prepare(f.req)
				if err != nil {
					b.Fatal(err)
				}
				a, err := circuits.Assign(uc.s, prep.Witness)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := frontend.NewWitness(a, ecc.BN254.ScalarField()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProve is one proof of a prepared request, with proof and key sizes.
func BenchmarkProve(b *testing.B) {
	for _, uc := range useCases() {
		for _, be := range backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.s.Circuit, be), func(b *testing.B) {
				f := newFixture(b, uc, be)
				var last *proof.File
				cpu := cpuTime()
				for b.Loop() {
					pf, err := f.pr.ProvePrepared(context.Background(), f.prep)
					if err != nil {
						b.Fatal(err)
					}
					last = pf
				}
				b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
				raw, _ := last.Bytes()
				k := f.pr.Keys(uc.s.Circuit)
				b.ReportMetric(float64(k.Info.Constraints), "constraints")
				b.ReportMetric(float64(len(raw)), "proof_bytes")
				b.ReportMetric(size(k.VK.(io.WriterTo)), "vk_bytes")
			})
		}
	}
}

// BenchmarkVerify is one verification by the Verifier: policy compile, public witness, checked
// proof read and the pairing check.
func BenchmarkVerify(b *testing.B) {
	for _, uc := range useCases() {
		for _, be := range backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.s.Circuit, be), func(b *testing.B) {
				f := newFixture(b, uc, be)
				pf, err := f.pr.ProvePrepared(context.Background(), f.prep)
				if err != nil {
					b.Fatal(err)
				}
				vr := verifier.Request{Proof: pf, Policy: f.req.Policy, AsOf: f.req.AsOf, Issuer: f.is.Issuer.Public(), Challenge: f.req.Challenge}
				cpu := cpuTime()
				for b.Loop() {
					res, err := f.v.Verify(context.Background(), vr)
					if err != nil || !res.Valid {
						b.Fatalf("%+v %v", res, err)
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-us/op")
			})
		}
	}
}

// BenchmarkSetup is the development setup of each circuit (Groth16 only: PLONK's is dominated by
// the SRS). Slow: one iteration is enough.
func BenchmarkSetup(b *testing.B) {
	testfixture.Quiet()
	for _, uc := range useCases() {
		b.Run(uc.s.Circuit+"/groth16", func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				if _, _, err := keys.Setup(context.Background(), dir, uc.s, keys.Groth16, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cpuTime is the CPU time (user + system) this process has used: with other work on the machine,
// CPU time per operation is steadier than wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
