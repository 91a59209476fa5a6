package circuits

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
)

// comparator compares unsigned integers by the difference method on top of a range checker.
//
// Preconditions (the result is undefined otherwise): every operand passed with width bits has been
// range-checked to bits bits by the caller, and bits + 1 < 253. Under them, a − b lies in
// (−2^bits, 2^bits), so a range check of a − b (or of a − b + 2^bits) to bits bits decides a ≥ b.
type comparator struct {
	api frontend.API
	rc  frontend.Rangechecker
}

// IsGE returns 1 when a ≥ b and 0 otherwise. The bit comes from a hint and is constrained: with
// bit = 1, a − b ∈ [0, 2^bits) forces a ≥ b; with bit = 0, a − b + 2^bits ∈ [0, 2^bits) forces
// a < b. Cost: one boolean constraint and one range check of bits bits.
func (c *comparator) IsGE(a, b frontend.Variable, bits int) frontend.Variable {
	api := c.api
	out, err := api.Compiler().NewHint(GreaterOrEqualHint, 1, a, b)
	if err != nil {
		panic(err) // only on a misconfigured builder
	}
	bit := out[0]
	api.AssertIsBoolean(bit)
	shift := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	c.rc.Check(api.Add(api.Sub(a, b), api.Mul(api.Sub(1, bit), shift)), bits)
	return bit
}

// IsBetween returns 1 when lo ≤ x ≤ hi and 0 otherwise (same preconditions as IsGE).
func (c *comparator) IsBetween(x, lo, hi frontend.Variable, bits int) frontend.Variable {
	return c.api.Mul(c.IsGE(x, lo, bits), c.IsGE(hi, x, bits))
}

// AssertGE asserts a ≥ b (same preconditions as IsGE): a − b ∈ [0, 2^bits).
func (c *comparator) AssertGE(a, b frontend.Variable, bits int) {
	c.rc.Check(c.api.Sub(a, b), bits)
}
