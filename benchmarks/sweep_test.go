package benchmarks

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/schema"
)

// The sweep's witnesses satisfy their variant circuits, with fewer slots than the example policy
// has predicates (trimmed) and with more than the shipped schema (extra slots off).
func TestVariantWitness(t *testing.T) {
	uc := UseCases()[1]
	for _, p := range []int{4, 20} {
		t.Run(fmt.Sprintf("P%d", p), func(t *testing.T) {
			s := ClinicalWithPredicates(p)
			full, _, err := VariantWitness(s, uc)
			if err != nil {
				t.Fatal(err)
			}
			ccs, err := keys.Compile(s, keys.Groth16)
			if err != nil {
				t.Fatal(err)
			}
			if err := ccs.IsSolved(full); err != nil {
				t.Fatal(err)
			}
			// The policy hash (the first public input) is the one the variant's layout gives: the
			// shipped schema's hash would not do.
			vec := full.Vector().(fr.Vector)
			vec[0].SetOne()
			if ccs.IsSolved(full) == nil {
				t.Fatal("a witness with another policy hash solves the variant circuit")
			}
		})
	}
	t.Run("ErrOtherSchema", func(t *testing.T) {
		if _, _, err := VariantWitness(ClinicalWithPredicates(4), UseCase{Schema: schema.Coverage()}); err == nil {
			t.Fatal("a coverage use case gave a clinical variant's witness")
		}
	})
}
