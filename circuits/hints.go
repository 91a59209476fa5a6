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
	return []solver.Hint{GreaterOrEqualHint, PrefixMaskHint, ArgmaxHint}
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

// PrefixMaskHint outputs len(out) bits, the first in[0] of them 1 and the rest 0.
func PrefixMaskHint(_ *big.Int, in, out []*big.Int) error {
	if len(in) != 1 {
		return errors.New("PrefixMaskHint: want 1 input")
	}
	for j := range out {
		if in[0].Cmp(big.NewInt(int64(j))) > 0 {
			out[j].SetInt64(1)
		} else {
			out[j].SetInt64(0)
		}
	}
	return nil
}

// ArgmaxHint takes n flags then n keys and outputs a one-hot vector of length n selecting the
// flagged entry with the greatest key (entry 0 when none is flagged).
func ArgmaxHint(_ *big.Int, in, out []*big.Int) error {
	n := len(out)
	if len(in) != 2*n || n == 0 {
		return errors.New("ArgmaxHint: want 2n inputs for n outputs")
	}
	best := -1
	for j := range n {
		if in[j].Sign() != 0 && (best < 0 || in[n+j].Cmp(in[n+best]) > 0) {
			best = j
		}
	}
	if best < 0 {
		best = 0
	}
	for j := range out {
		out[j].SetInt64(0)
	}
	out[best].SetInt64(1)
	return nil
}
