package benchmarks

import (
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/schema"
)

// The sweep's witnesses satisfy their variant circuits at several list capacities.
func TestVariantWitness(t *testing.T) {
	uc := UseCases()[1]
	for _, depth := range []int{2, 3} {
		t.Run(fmt.Sprintf("depth%d", depth), func(t *testing.T) {
			s := ClinicalWithCapacity(depth)
			full, _, err := VariantWitness(s, uc)
			if err != nil {
				t.Fatal(err)
			}
			ccs, err := keys.Compile(s, s.Circuits[0], keys.Groth16)
			if err != nil {
				t.Fatal(err)
			}
			if err := ccs.IsSolved(full); err != nil {
				t.Fatal(err)
			}
			// The policy hash (the first public input) binds: another one does not solve.
			vec := full.Vector().(fr.Vector)
			vec[0].SetOne()
			if ccs.IsSolved(full) == nil {
				t.Fatal("a witness with another policy hash solves the variant circuit")
			}
		})
	}
	t.Run("ErrOtherSchema", func(t *testing.T) {
		if _, _, err := VariantWitness(ClinicalWithCapacity(2), UseCase{Schema: schema.Coverage()}); err == nil {
			t.Fatal("a coverage use case gave a clinical variant's witness")
		}
	})
}
