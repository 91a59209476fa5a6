package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// keyBits is the width of a latest-key: date·2^IndexBits + (MaxListCapacity − 1 − index).
const keyBits = schema.WithinBits + schema.IndexBits

// listEntries is one list of the credential as the predicates see it: per entry, its date (0 where
// the list has none) and which of the list's family and value-range slots it falls in.
type listEntries struct {
	decl      schema.List
	truncated frontend.Variable
	date      []frontend.Variable
	// inFamily[j][k] = visible_j ∧ lo_k ≤ code_j ≤ hi_k, where visible_j = the entry is within the
	// list's length and (dated lists) dated on or before as_of
	inFamily [][]frontend.Variable
	// inRange[j][v] = lo_v ≤ value_j ≤ hi_v for value-range slot v (lists with values)
	inRange [][]frontend.Variable
}

// assertPredicatesHold is rule 4's predicate half: every active predicate slot of the compiled
// policy holds on the credential. A slot is a scalar predicate (attribute in an interval, or in a
// set of values, possibly negated) or a list predicate (exists / none / latest entry whose code is
// in the slot's families, value in [lo, hi] and date within the window).
func assertPredicatesHold(api frontend.API, cmp *comparator, s *schema.Schema, cred, pol *vector) {
	asOf := pol.get(schema.FieldAsOf)
	lists := make([]*listEntries, len(s.Lists))
	for li, l := range s.Lists {
		lists[li] = readList(api, cmp, l, cred, pol, asOf)
	}
	scalars := make([]frontend.Variable, len(s.Attributes))
	for a, attr := range s.Attributes {
		scalars[a] = cred.get(schema.AttrField(attr.Name))
	}
	pool := make([]frontend.Variable, s.SetValues)
	for k := range pool {
		pool[k] = pol.get(schema.SetValueField(k))
	}
	for i := range s.Predicates {
		field := func(part string) frontend.Variable { return pol.get(schema.PredField(i, part)) }
		on, isList := field("on"), field("list")
		isScalar := api.Mul(on, api.Sub(1, isList))
		scalarOK := scalarHolds(api, cmp, i, pol, scalars, pool, isScalar)
		listOK := listHolds(api, cmp, i, pol, lists, asOf)
		holds := api.Select(isList, listOK, scalarOK)
		// on ⇒ holds
		api.AssertIsEqual(api.Mul(on, api.Sub(1, holds)), 0)
	}
}

// readList reads list l of the credential: the length prefix, visibility, and the bits of each
// entry against each family slot and each value-range slot of the policy's pools for l. Checking
// entries against the pools once here, rather than per predicate, is what keeps the circuit small.
func readList(api frontend.API, cmp *comparator, l schema.List, cred, pol *vector, asOf frontend.Variable) *listEntries {
	e := &listEntries{decl: l, truncated: cred.get(schema.TruncatedField(l.Name))}
	inLength := prefixMask(api, cred.get(schema.LengthField(l.Name)), l.Capacity)
	for j := range l.Capacity {
		code := cred.get(schema.EntryField(l.Name, j, "code"))
		var value, date frontend.Variable = 0, 0
		if l.Value {
			value = cred.get(schema.EntryField(l.Name, j, "value"))
		}
		visible := inLength[j]
		if l.HasDate() {
			date = cred.get(schema.EntryField(l.Name, j, "date"))
			visible = api.Mul(visible, cmp.IsGE(asOf, date, schema.WithinBits))
		}
		fam := make([]frontend.Variable, l.Families)
		for k := range l.Families {
			lo := pol.get(schema.FamilyField(l.Name, k, "lo"))
			hi := pol.get(schema.FamilyField(l.Name, k, "hi"))
			fam[k] = api.Mul(visible, cmp.IsBetween(code, lo, hi, l.Code.Bits()))
		}
		ranges := make([]frontend.Variable, l.ValueRanges)
		for v := range l.ValueRanges {
			lo := pol.get(schema.RangeField(l.Name, v, "lo"))
			hi := pol.get(schema.RangeField(l.Name, v, "hi"))
			ranges[v] = cmp.IsBetween(value, lo, hi, schema.ScalarCmpBits)
		}
		e.inRange = append(e.inRange, ranges)
		e.date = append(e.date, date)
		e.inFamily = append(e.inFamily, fam)
	}
	return e
}

// prefixMask returns n booleans, the first length of them 1 and the rest 0. Constraints: each is
// boolean, the sequence never rises (b_{j+1} ≤ b_j) and sums to length; so it is unique, and a
// length above n is unsatisfiable.
func prefixMask(api frontend.API, length frontend.Variable, n int) []frontend.Variable {
	bits, err := api.Compiler().NewHint(PrefixMaskHint, n, length)
	if err != nil {
		panic(err)
	}
	var sum frontend.Variable = 0
	for j, b := range bits {
		api.AssertIsBoolean(b)
		if j > 0 {
			api.AssertIsEqual(api.Mul(b, api.Sub(1, bits[j-1])), 0)
		}
		sum = api.Add(sum, b)
	}
	api.AssertIsEqual(sum, length)
	return bits
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

// scalarHolds evaluates predicate slot i as a scalar predicate: the target attribute x lies in
// [lo, hi] (interval mode) or equals one of the slot's set values (set mode), XOR negate.
// The interval comparison runs on x only when the slot is an active interval predicate, and on lo
// otherwise, so a hashed attribute (fieldhash.StringBits wide, more than the comparator's width)
// never reaches the comparator.
func scalarHolds(api frontend.API, cmp *comparator, i int, pol *vector, scalars, pool []frontend.Variable, isScalar frontend.Variable) frontend.Variable {
	field := func(part string) frontend.Variable { return pol.get(schema.PredField(i, part)) }
	sel := selectors(api, field("target"), len(scalars))
	api.AssertIsEqual(api.Mul(isScalar, api.Sub(1, sum(api, sel))), 0) // an active slot names an attribute
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
	compareX := api.Mul(isScalar, api.Sub(1, isSet))
	xi := api.Add(lo, api.Mul(compareX, api.Sub(x, lo)))
	inInterval := cmp.IsBetween(xi, lo, hi, schema.ScalarCmpBits)

	in := api.Select(isSet, inSet, inInterval)
	return api.Xor(in, field("negate"))
}

func sum(api frontend.API, xs []frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for _, x := range xs {
		acc = api.Add(acc, x)
	}
	return acc
}

// listHolds evaluates predicate slot i as a list predicate over its target list.
//
// For each entry j: matches_j = the entry is visible and its code lies in one of the slot's
// families; satisfies_j = matches_j ∧ value_j in the slot's value range (if it names one) ∧
// date_j + within ≥ as_of.
// exists = ∃j satisfies_j. none = ¬∃j satisfies_j ∧ ¬truncated (absence is provable only on a
// complete list). latest = satisfies_k for the matching entry k with the greatest latest-key,
// where k is a one-hot witness and every matching j must have key_j ≤ key_k.
func listHolds(api frontend.API, cmp *comparator, i int, pol *vector, lists []*listEntries, asOf frontend.Variable) frontend.Variable {
	field := func(part string) frontend.Variable { return pol.get(schema.PredField(i, part)) }
	isList := api.Mul(field("on"), field("list"))
	sel := selectors(api, field("target"), len(lists))
	api.AssertIsEqual(api.Mul(isList, api.Sub(1, sum(api, sel))), 0) // an active slot names a list

	capacity, hasDates := 0, false
	for _, l := range lists {
		capacity = max(capacity, l.decl.Capacity)
		hasDates = hasDates || l.decl.HasDate()
	}
	// weight[l][k] = [target = l] ∧ family bit k of the slot
	weight := make([][]frontend.Variable, len(lists))
	for li, l := range lists {
		weight[li] = make([]frontend.Variable, l.decl.Families)
		for k := range l.decl.Families {
			weight[li][k] = api.Mul(sel[li], field(fmt.Sprintf("family/%d", k)))
		}
	}
	// rangeWeight[l][v] = [target = l] ∧ range bit v of the slot; at most one range bit is set
	rangeWeight := make([][]frontend.Variable, len(lists))
	var nbRanges frontend.Variable = 0
	maxRanges := 0
	for _, l := range lists {
		maxRanges = max(maxRanges, l.decl.ValueRanges)
	}
	for v := range maxRanges {
		nbRanges = api.Add(nbRanges, field(fmt.Sprintf("range/%d", v)))
	}
	api.AssertIsEqual(api.Mul(nbRanges, api.Sub(nbRanges, 1)), 0)
	var anyRange frontend.Variable = 0
	for li, l := range lists {
		rangeWeight[li] = make([]frontend.Variable, l.decl.ValueRanges)
		for v := range l.decl.ValueRanges {
			rangeWeight[li][v] = api.Mul(sel[li], field(fmt.Sprintf("range/%d", v)))
			anyRange = api.Add(anyRange, rangeWeight[li][v])
		}
	}
	within := field("within")
	truncated := dot(api, sel, truncatedOf(lists))

	matches := make([]frontend.Variable, capacity)
	satisfies := make([]frontend.Variable, capacity)
	keys := make([]frontend.Variable, capacity)
	var nbSatisfying frontend.Variable = 0
	for j := range capacity {
		// valueOK = 1 when the slot names no range, else the entry's bit for that range
		var hits, date, valueOK frontend.Variable = 0, 0, api.Sub(1, anyRange)
		for li, l := range lists {
			if j >= l.decl.Capacity {
				continue
			}
			for k := range l.decl.Families {
				hits = api.Add(hits, api.Mul(weight[li][k], l.inFamily[j][k]))
			}
			for v := range l.decl.ValueRanges {
				valueOK = api.Add(valueOK, api.Mul(rangeWeight[li][v], l.inRange[j][v]))
			}
			if l.decl.HasDate() {
				date = api.Add(date, api.Mul(sel[li], l.date[j]))
			}
		}
		matches[j] = api.Sub(1, api.IsZero(hits))
		// A schema whose lists carry no dates has no window to check: the compiler refuses one,
		// and the circuit spends nothing on it.
		var dateOK frontend.Variable = 1
		if hasDates {
			dateOK = cmp.IsGE(api.Add(date, within), asOf, schema.WithinBits+1)
		}
		satisfies[j] = api.Mul(matches[j], api.Mul(valueOK, dateOK))
		nbSatisfying = api.Add(nbSatisfying, satisfies[j])
		keys[j] = api.Add(api.Mul(date, 1<<schema.IndexBits), schema.MaxListCapacity-1-j)
	}
	noneSatisfies := api.IsZero(nbSatisfying)
	exists := api.Sub(1, noneSatisfies)
	none := api.Mul(noneSatisfies, api.Sub(1, truncated))
	var latest frontend.Variable = 0 // latest needs dated entries; the compiler refuses it otherwise
	if hasDates {
		latest = latestSatisfies(api, cmp, matches, satisfies, keys)
	}

	match := field("match")
	isExists := api.IsZero(match)
	isNone := api.IsZero(api.Sub(match, schema.MatchNone))
	isLatest := api.IsZero(api.Sub(match, schema.MatchLatest))
	return api.Add(api.Mul(isExists, exists), api.Mul(isNone, none), api.Mul(isLatest, latest))
}

func truncatedOf(lists []*listEntries) []frontend.Variable {
	out := make([]frontend.Variable, len(lists))
	for li, l := range lists {
		out[li] = l.truncated
	}
	return out
}

// latestSatisfies returns satisfies_k for the matching entry k with the greatest key. k comes from
// a hint as a one-hot vector; the constraints make any other choice fail: every matching j must
// have key_j ≤ key_k (a range check of matches_j·(key_k − key_j)), and keys are distinct, so k is
// the unique maximum. When nothing matches, the result is 0.
func latestSatisfies(api frontend.API, cmp *comparator, matches, satisfies, keys []frontend.Variable) frontend.Variable {
	n := len(matches)
	in := append(append([]frontend.Variable{}, matches...), keys...)
	pick, err := api.Compiler().NewHint(ArgmaxHint, n, in...)
	if err != nil {
		panic(err)
	}
	var nbPicked, keyPicked, result frontend.Variable = 0, 0, 0
	for j := range n {
		api.AssertIsBoolean(pick[j])
		nbPicked = api.Add(nbPicked, pick[j])
		keyPicked = api.Add(keyPicked, api.Mul(pick[j], keys[j]))
		result = api.Add(result, api.Mul(pick[j], satisfies[j]))
	}
	api.AssertIsEqual(nbPicked, 1)
	for j := range n {
		cmp.rc.Check(api.Mul(matches[j], api.Sub(keyPicked, keys[j])), keyBits)
	}
	return result
}
