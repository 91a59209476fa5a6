package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	nativeeddsa "github.com/consensys/gnark-crypto/ecc/bn254/twistededwards/eddsa"
	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// Public is the public input of a proof, in DESIGN.md order.
type Public struct {
	PolicyHash fr.Element
	Issuer     nativeeddsa.PublicKey
	Challenge  fr.Element
	Nullifier  fr.Element
}

// Vector is the public witness in circuit order (policy hash, issuer X, issuer Y, challenge,
// nullifier), without the constant one wire.
func (p *Public) Vector() fr.Vector {
	return fr.Vector{p.PolicyHash, p.Issuer.A.X, p.Issuer.A.Y, p.Challenge, p.Nullifier}
}

// Witness is everything the prover knows.
type Witness struct {
	Public
	Credential   []*big.Int // credential layout values
	Signature    nativeeddsa.Signature
	HolderSecret fr.Element
	Policy       []*big.Int // compiled policy layout values
}

// Assign returns the full assignment of schema s's circuit.
func Assign(s *schema.Schema, w *Witness) (*Circuit, error) {
	c := PublicAssignment(s, &w.Public)
	if len(w.Credential) != len(c.Credential) || len(w.Policy) != len(c.Policy) {
		return nil, fmt.Errorf("witness sized for another schema than %s", s.ID)
	}
	for i, v := range w.Credential {
		c.Credential[i] = v
	}
	for i, v := range w.Policy {
		c.Policy[i] = v
	}
	c.Signature.R.X = w.Signature.R.X
	c.Signature.R.Y = w.Signature.R.Y
	c.Signature.S = new(big.Int).SetBytes(w.Signature.S[:])
	c.HolderSecret = w.HolderSecret
	return c, nil
}

// PublicAssignment returns an assignment holding only the public inputs (private ones are zero),
// from which a verifier builds the public witness itself.
func PublicAssignment(s *schema.Schema, p *Public) *Circuit {
	c := New(s)
	c.PolicyHash = p.PolicyHash
	c.Issuer.A.X = p.Issuer.A.X
	c.Issuer.A.Y = p.Issuer.A.Y
	c.Challenge = p.Challenge
	c.Nullifier = p.Nullifier
	for i := range c.Credential {
		c.Credential[i] = 0
	}
	for i := range c.Policy {
		c.Policy[i] = 0
	}
	c.Signature.R.X, c.Signature.R.Y, c.Signature.S = 0, 0, 0
	c.HolderSecret = 0
	return c
}

// NbPublic is the number of public inputs of every zkhealth circuit.
const NbPublic = 5

var _ frontend.Circuit = (*Circuit)(nil)
