package circuits

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
)

// GetHints returns the hints the policy circuit uses. A prover that loads a serialized constraint
// system must have them registered; this package registers them in init. The gnark std packages
// the circuit uses (rangecheck, twistededwards, math/bits, math/cmp) register their own on import;
// importing gnark/std as a whole would register them twice, and gnark logs every duplicate to
// stdout.
func GetHints() []solver.Hint {
	return []solver.Hint{GreaterOrEqualHint}
}

func init() {
	solver.RegisterHint(GetHints()...)
}

// GreaterOrEqualHint outputs 1 when in[0] ≥ in[1] as integers, else 0. The comparator constrains
// the answer; the hint only computes it.
func GreaterOrEqualHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 2 || len(out) != 1 {
		return errors.New("GreaterOrEqualHint: want 2 inputs, 1 output")
	}
	if in[0].Cmp(in[1]) >= 0 {
		out[0].SetInt64(1)
	} else {
		out[0].SetInt64(0)
	}
	return nil
}
