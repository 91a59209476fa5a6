package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// assertScalar is a scalar slot: when it is on, its target attribute x lies in [lo, hi] (interval
// mode) or equals one of the slot's set values (set mode), negated when the slot says so. The
// interval comparison runs on x only when the slot is an active interval slot, and on lo
// otherwise, so a hashed attribute (wider than the comparator) never reaches the comparator.
func assertScalar(api frontend.API, cmp *comparator, field func(string) frontend.Variable, scalars, pool []frontend.Variable) {
	on := field("on")
	sel := selectors(api, field("target"), len(scalars))
	api.AssertIsEqual(api.Mul(on, api.Sub(1, sum(api, sel))), 0) // an active slot names an attribute
	x := dot(api, sel, scalars)
	isSet := field("set")

	// set mode: ∏_{k in mask} (x − v_k) = 0
	var prod frontend.Variable = 1
	for k := range pool {
		m := field(fmt.Sprintf("value/%d", k))
		prod = api.Mul(prod, api.Add(1, api.Mul(m, api.Sub(api.Sub(x, pool[k]), 1))))
	}
	inSet := api.IsZero(prod)

	// interval mode
	lo, hi := field("lo"), field("hi")
	compareX := api.Mul(on, api.Sub(1, isSet))
	xi := api.Add(lo, api.Mul(compareX, api.Sub(x, lo)))
	inInterval := cmp.IsBetween(xi, lo, hi, schema.ScalarCmpBits)

	holds := api.Xor(api.Select(isSet, inSet, inInterval), field("negate"))
	api.AssertIsEqual(api.Mul(on, api.Sub(1, holds)), 0)
}

// selectors returns one-hot selectors s_t = [target = t] for t < n.
func selectors(api frontend.API, target frontend.Variable, n int) []frontend.Variable {
	sel := make([]frontend.Variable, n)
	for t := range n {
		sel[t] = api.IsZero(api.Sub(target, t))
	}
	return sel
}

// dot returns Σ sel_t · xs_t.
func dot(api frontend.API, sel, xs []frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for t := range sel {
		acc = api.Add(acc, api.Mul(sel[t], xs[t]))
	}
	return acc
}

func sum(api frontend.API, xs []frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for _, x := range xs {
		acc = api.Add(acc, x)
	}
	return acc
}
