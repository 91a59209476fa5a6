package benchmarks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/zkhealth/zkhealth"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/testfixture"
)

func newFixture(b *testing.B, uc UseCase, be keys.Backend) *Fixture {
	b.Helper()
	return newFixtureT(b, uc, be)
}

func newFixtureT(tb testing.TB, uc UseCase, be keys.Backend) *Fixture {
	tb.Helper()
	testfixture.Quiet()
	f, err := NewFixture(testfixture.KeysDir(tb, be, uc.Schema), uc, be)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func size(w io.WriterTo) float64 {
	var buf bytes.Buffer
	w.WriteTo(&buf)
	return float64(buf.Len())
}

// BenchmarkCompile compiles each circuit (R1CS for Groth16, SCS for PLONK).
func BenchmarkCompile(b *testing.B) {
	testfixture.Quiet()
	for _, uc := range UseCases() {
		for _, be := range Backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.Circuit.ID, be), func(b *testing.B) {
				var n int
				for b.Loop() {
					ccs, err := keys.Compile(uc.Schema, uc.Circuit, be)
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
	for _, uc := range UseCases() {
		b.Run(uc.Circuit.ID, func(b *testing.B) {
			f := newFixture(b, uc, keys.Groth16)
			for b.Loop() {
				if err := f.Witness(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProve is one proof of a prepared request, with proof and key sizes.
func BenchmarkProve(b *testing.B) {
	for _, uc := range UseCases() {
		for _, be := range Backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.Circuit.ID, be), func(b *testing.B) {
				f := newFixture(b, uc, be)
				var last *zkhealth.ProofFile
				cpu := CPUTime()
				for b.Loop() {
					pf, err := f.Prove(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					last = pf
				}
				b.ReportMetric(float64((CPUTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
				raw, _ := last.Bytes()
				k := f.Prover.Keys(uc.Circuit.ID)
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
	for _, uc := range UseCases() {
		for _, be := range Backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.Circuit.ID, be), func(b *testing.B) {
				f := newFixture(b, uc, be)
				pf, err := f.Prove(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				cpu := CPUTime()
				for b.Loop() {
					if err := f.Verify(context.Background(), pf); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((CPUTime()-cpu).Microseconds())/float64(b.N), "cpu-us/op")
			})
		}
	}
}

// BenchmarkSetup is the development setup of each circuit and backend (compile, keys, and their
// serialisation to a fresh directory); PLONK's includes making the SRS. Slow: one iteration is
// enough.
func BenchmarkSetup(b *testing.B) {
	testfixture.Quiet()
	for _, uc := range UseCases() {
		for _, be := range Backends() {
			b.Run(fmt.Sprintf("%s/%s", uc.Circuit.ID, be), func(b *testing.B) {
				for b.Loop() {
					dir := b.TempDir()
					if _, _, err := keys.Setup(context.Background(), dir, uc.Schema, uc.Circuit, be, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
