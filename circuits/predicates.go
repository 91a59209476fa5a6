package circuits

import (
	"fmt"

	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// keyBits is the width of a latest-key: date·2^IndexBits + index.
const keyBits = schema.WithinBits + schema.IndexBits

// listEntries is one list of the credential as the predicates see it: per entry, its date (0 where
// the list has none), its ends (for `none` and for `exists`/`latest`, see entryWindow), its status
// one-hot vectors, and which of the list's family and value-range slots it falls in.
type listEntries struct {
	decl schema.List
	// incomplete and completeSince are the list's signed completeness
	incomplete, completeSince frontend.Variable
	date                      []frontend.Variable
	// endNone is the entry's end as `none` reads it (ongoing and unknown ends lie after every
	// date); endExists as `exists` and `latest` read it (an unknown end counts as the start).
	endNone, endExists []frontend.Variable
	// status[j][k] = [status_j = k+1], verification likewise (lists with the fields)
	status, verification [][]frontend.Variable
	// inFamily[j][k] = visible_j ∧ lo_k ≤ code_j ≤ hi_k, where visible_j = the entry is within the
	// list's length and (dated lists) dated on or before as_of
	inFamily [][]frontend.Variable
	// inRange[j][v] = lo_v ≤ value_j ≤ hi_v for value-range slot v (lists with values)
	inRange [][]frontend.Variable
}

// assertPredicatesHold is rule 4's predicate half: every active predicate slot of the compiled
// policy holds on the credential. A slot is a scalar predicate (attribute in an interval, or in a
// set of values, possibly negated) or a list predicate (exists / none / latest entry whose code is
// in the slot's families, value in [lo, hi], in the window, and for exists with a counted status).
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
		listOK := listHolds(api, cmp, i, pol, lists)
		holds := api.Select(isList, listOK, scalarOK)
		// on ⇒ holds
		api.AssertIsEqual(api.Mul(on, api.Sub(1, holds)), 0)
	}
}

// readList reads list l of the credential: the length prefix, visibility, ends, statuses, and the
// bits of each entry against each family slot and each value-range slot of the policy's pools for
// l. Checking entries against the pools once here, rather than per predicate, is what keeps the
// circuit small.
func readList(api frontend.API, cmp *comparator, l schema.List, cred, pol *vector, asOf frontend.Variable) *listEntries {
	e := &listEntries{decl: l, incomplete: cred.get(schema.IncompleteField(l.Name)), completeSince: cred.get(schema.CompleteSinceField(l.Name))}
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
		endNone, endExists := date, date
		if l.HasEnd() {
			endNone = cred.get(schema.EntryField(l.Name, j, "end"))
			endExists = api.Select(api.IsZero(api.Sub(endNone, schema.UnknownEnd)), date, endNone)
		}
		e.endNone = append(e.endNone, endNone)
		e.endExists = append(e.endExists, endExists)
		e.status = append(e.status, oneHot(api, l.Status, cred, schema.EntryField(l.Name, j, "status")))
		e.verification = append(e.verification, oneHot(api, l.Verification, cred, schema.EntryField(l.Name, j, "verification")))
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

// oneHot returns [v = k+1] for each value k of the enum field (nil when the list has no such field).
func oneHot(api frontend.API, enum *schema.EntryEnum, cred *vector, name string) []frontend.Variable {
	if enum == nil {
		return nil
	}
	v := cred.get(name)
	out := make([]frontend.Variable, len(enum.Values))
	for k := range out {
		out[k] = api.IsZero(api.Sub(v, k+1))
	}
	return out
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
// families; inWindow_j = date_j ≥ start (event window; no window is start 0) or end_j ≥ start
// (state window, with the end as the match kind reads it); counted_j = its statuses are in the
// slot's masks; satisfies_j = matches_j ∧ value_j in the slot's value range (if it names one) ∧
// inWindow_j ∧ (for exists) counted_j.
// exists = ∃j satisfies_j. none = ¬∃j satisfies_j ∧ covers(start) (absence is provable only where
// the signed part covers the window). latest = satisfies_k ∧ covers(date_k) for the matching entry
// k with the greatest latest-key (date, then index: the entry the issuer lists last), where k is a
// one-hot witness and every matching j must have key_j ≤ key_k. covers(d) = ¬incomplete ∧
// complete_since ≤ d.
func listHolds(api frontend.API, cmp *comparator, i int, pol *vector, lists []*listEntries) frontend.Variable {
	field := func(part string) frontend.Variable { return pol.get(schema.PredField(i, part)) }
	isList := api.Mul(field("on"), field("list"))
	sel := selectors(api, field("target"), len(lists))
	api.AssertIsEqual(api.Mul(isList, api.Sub(1, sum(api, sel))), 0) // an active slot names a list

	match := field("match")
	isExists := api.IsZero(match)
	isNone := api.IsZero(api.Sub(match, schema.MatchNone))
	isLatest := api.IsZero(api.Sub(match, schema.MatchLatest))
	start, isState := field("win_start"), field("win_state")

	// at most one range bit is set
	var nbRanges frontend.Variable = 0
	maxRanges := 0
	for _, l := range lists {
		maxRanges = max(maxRanges, l.decl.ValueRanges)
	}
	for v := range maxRanges {
		nbRanges = api.Add(nbRanges, field(fmt.Sprintf("range/%d", v)))
	}
	api.AssertIsEqual(api.Mul(nbRanges, api.Sub(nbRanges, 1)), 0)

	capacity, hasDates := 0, false
	for _, l := range lists {
		capacity = max(capacity, l.decl.Capacity)
		hasDates = hasDates || l.decl.HasDate()
	}
	incomplete := dot(api, sel, fieldOf(lists, func(l *listEntries) frontend.Variable { return l.incomplete }))
	completeSince := dot(api, sel, fieldOf(lists, func(l *listEntries) frontend.Variable { return l.completeSince }))
	matches := make([]frontend.Variable, capacity)
	satisfies := make([]frontend.Variable, capacity)
	keys := make([]frontend.Variable, capacity)
	dates := make([]frontend.Variable, capacity)
	var nbSatisfying frontend.Variable = 0
	for j := range capacity {
		var m, sat, date frontend.Variable = 0, 0, 0
		for li, l := range lists {
			if j >= l.decl.Capacity {
				continue
			}
			lm, lsat := entryHolds(api, cmp, i, field, l, j, start, isState, isNone, isExists, hasDates)
			m = api.Add(m, api.Mul(sel[li], lm))
			sat = api.Add(sat, api.Mul(sel[li], lsat))
			if l.decl.HasDate() {
				date = api.Add(date, api.Mul(sel[li], l.date[j]))
			}
		}
		matches[j], satisfies[j] = m, sat
		nbSatisfying = api.Add(nbSatisfying, sat)
		keys[j] = api.Add(api.Mul(date, 1<<schema.IndexBits), j)
		dates[j] = date
	}
	noneSatisfies := api.IsZero(nbSatisfying)
	exists := api.Sub(1, noneSatisfies)
	covers := func(day frontend.Variable) frontend.Variable {
		return api.Mul(api.Sub(1, incomplete), cmp.IsGE(day, completeSince, schema.WithinBits))
	}
	none := api.Mul(noneSatisfies, covers(start))
	var latest frontend.Variable = 0 // latest needs dated entries; the compiler refuses it otherwise
	if hasDates {
		ok, dateK := latestSatisfies(api, cmp, matches, satisfies, keys, dates)
		latest = api.Mul(ok, covers(dateK))
	}
	return api.Add(api.Mul(isExists, exists), api.Mul(isNone, none), api.Mul(isLatest, latest))
}

// entryHolds evaluates entry j of list l against predicate slot i: whether it matches the slot's
// families and whether it satisfies the slot (value range, window, and for exists the statuses).
func entryHolds(api frontend.API, cmp *comparator, i int, field func(string) frontend.Variable, l *listEntries, j int,
	start, isState, isNone, isExists frontend.Variable, hasDates bool) (matches, satisfies frontend.Variable) {
	var hits frontend.Variable = 0
	for k := range l.decl.Families {
		hits = api.Add(hits, api.Mul(field(fmt.Sprintf("family/%d", k)), l.inFamily[j][k]))
	}
	matches = api.Sub(1, api.IsZero(hits))
	// valueOK = 1 when the slot names no range, else the entry's bit for that range
	var valueOK frontend.Variable = 1
	for v := range l.decl.ValueRanges {
		bit := field(fmt.Sprintf("range/%d", v))
		valueOK = api.Add(valueOK, api.Mul(bit, api.Sub(l.inRange[j][v], 1)))
	}
	var windowOK frontend.Variable = 1
	if hasDates && l.decl.HasDate() {
		end := api.Select(isNone, l.endNone[j], l.endExists[j])
		seen := api.Select(isState, end, l.date[j])
		windowOK = cmp.IsGE(seen, start, schema.WithinBits)
	}
	counted := api.Mul(statusCounted(api, field, "status", l.status[j]), statusCounted(api, field, "verification", l.verification[j]))
	// none and latest count every status
	counted = api.Select(isExists, counted, 1)
	satisfies = api.Mul(matches, api.Mul(valueOK, api.Mul(windowOK, counted)))
	return matches, satisfies
}

// statusCounted returns Σ_k mask_k · oneHot_k: whether the entry's status is among those the slot
// counts (1 for lists without the field).
func statusCounted(api frontend.API, field func(string) frontend.Variable, name string, oneHot []frontend.Variable) frontend.Variable {
	if oneHot == nil {
		return 1
	}
	var acc frontend.Variable = 0
	for k, b := range oneHot {
		acc = api.Add(acc, api.Mul(field(fmt.Sprintf("%s/%d", name, k)), b))
	}
	return acc
}

func fieldOf(lists []*listEntries, f func(*listEntries) frontend.Variable) []frontend.Variable {
	out := make([]frontend.Variable, len(lists))
	for li, l := range lists {
		out[li] = f(l)
	}
	return out
}

// latestSatisfies returns satisfies_k for the matching entry k with the greatest key. k comes from
// a hint as a one-hot vector; the constraints make any other choice fail: every matching j must
// have key_j ≤ key_k (a range check of matches_j·(key_k − key_j)), and keys are distinct, so k is
// the unique maximum. When nothing matches, the result is 0.
func latestSatisfies(api frontend.API, cmp *comparator, matches, satisfies, keys, dates []frontend.Variable) (result, date frontend.Variable) {
	n := len(matches)
	in := append(append([]frontend.Variable{}, matches...), keys...)
	pick, err := api.Compiler().NewHint(ArgmaxHint, n, in...)
	if err != nil {
		panic(err)
	}
	var nbPicked, keyPicked frontend.Variable = 0, 0
	result, date = 0, 0
	for j := range n {
		api.AssertIsBoolean(pick[j])
		nbPicked = api.Add(nbPicked, pick[j])
		keyPicked = api.Add(keyPicked, api.Mul(pick[j], keys[j]))
		result = api.Add(result, api.Mul(pick[j], satisfies[j]))
		date = api.Add(date, api.Mul(pick[j], dates[j]))
	}
	api.AssertIsEqual(nbPicked, 1)
	for j := range n {
		cmp.rc.Check(api.Mul(matches[j], api.Sub(keyPicked, keys[j])), keyBits)
	}
	return result, date
}
