package benchmarks

import (
	"context"
	"testing"

	"github.com/zkhealth/zkhealth/internal/keys"
)

// Re-randomised proofs verify, differ from the original and from one another, and carry the
// original's public values; a re-randomised proof of one request is still rejected for another.
func TestRerandomised(t *testing.T) {
	uc := UseCases()[0]
	f := newFixtureT(t, uc, keys.Groth16)
	pf, err := f.Prove(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := Rerandomised(pf, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{pf.Proof: true}
	for i, r := range out {
		if seen[r.Proof] {
			t.Fatalf("proof %d repeats earlier bytes", i)
		}
		seen[r.Proof] = true
		if r.Public != pf.Public || r.VKFingerprint != pf.VKFingerprint {
			t.Fatalf("proof %d: public values changed", i)
		}
		if err := f.Verify(context.Background(), r); err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
	}
	other := newFixtureT(t, uc, keys.Groth16) // another holder, issuer and challenge
	if other.Verify(context.Background(), out[0]) == nil {
		t.Fatal("a re-randomised proof verified for another request")
	}
	t.Run("ErrPLONK", func(t *testing.T) {
		p := *pf
		p.Backend = string(keys.PLONK)
		if _, err := Rerandomised(&p, 1); err == nil {
			t.Fatal("re-randomised a PLONK proof")
		}
	})
}
