package circuits

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// TestPublicInputsOrder: exactly five public inputs, in DESIGN.md's order (policy hash, issuer X,
// issuer Y, challenge, nullifier), the order Public.Vector gives the verifier.
func TestPublicInputsOrder(t *testing.T) {
	for _, s := range schema.All() {
		c := s.Circuits[0]
		var p Public
		p.PolicyHash.SetUint64(11)
		p.Issuer.A.X.SetUint64(22)
		p.Issuer.A.Y.SetUint64(33)
		p.Challenge.SetUint64(44)
		p.Nullifier.SetUint64(55)
		w, err := frontend.NewWitness(PublicAssignment(s, c, &p), ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err != nil {
			t.Fatal(err)
		}
		got, ok := w.Vector().(fr.Vector)
		if !ok || len(got) != NbPublic {
			t.Fatalf("%s: public witness %v, want %d values", c.ID, w.Vector(), NbPublic)
		}
		for i, want := range p.Vector() {
			if !got[i].Equal(&want) {
				t.Errorf("%s: public input %d is %s, want %s", c.ID, i, got[i].String(), want.String())
			}
		}
	}
}
