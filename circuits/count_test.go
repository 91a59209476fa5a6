package circuits

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/zkhealth/zkhealth/schema"
)

func TestConstraintCount(t *testing.T) {
	for _, s := range schema.All() {
		cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(s))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d constraints, %d public", s.Circuit, cs.GetNbConstraints(), cs.GetNbPublicVariables())
	}
}
