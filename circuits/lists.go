package circuits

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"

	"github.com/zkhealth/zkhealth/schema"
)

// ListWitness is the openings of one list the policy needs: one per exists slot, two per family
// block (the leaves just outside the family's entries, or for a latest block the latest entry and
// the leaf after it), and each block's mode.
type ListWitness struct {
	Picks  []PickOpening
	Blocks []BlockWitness
}

// BlockWitness is a family block's two openings and its mode: 0 when Low lies below the family
// (a gap block), 1 when Low is the family's latest entry (a latest block on an exact code).
type BlockWitness struct {
	Low, High BlockOpening
	Mode      frontend.Variable
}

// leaf is an opened entry's fields, each range-checked to its width. An entry's end is read two
// ways: endNone (ongoing and unknown ends lie after every date: such an entry may be present
// still) for none, endExists (an unknown end counts as the start) for exists and latest.
type leaf struct {
	code, date, value, status, verification frontend.Variable
	endNone, endExists                      frontend.Variable
	key                                     frontend.Variable // (date + 1)·2^PosBits + position
}

// readLeaf range-checks an opened leaf's fields and packs them into the leaf value (the packing
// is unique, so the leaf binds them), and computes its latest-key from its date and position.
func readLeaf(api frontend.API, rc frontend.Rangechecker, l schema.List, fields []frontend.Variable, pos frontend.Variable) (leaf, frontend.Variable) {
	layout := l.LeafLayout()
	v, err := unpackVector(api, rc, layout, fields)
	if err != nil {
		panic(err) // the witness shape is fixed by newPickOpening and newBlockOpening
	}
	get := func(name string) frontend.Variable {
		if !layout.Has(name) {
			return 0
		}
		return v.get(name)
	}
	e := leaf{code: get(schema.LeafCode), date: get(schema.LeafDate), value: get(schema.LeafValue),
		status: get(schema.LeafStatus), verification: get(schema.LeafVerification)}
	e.endNone, e.endExists = e.date, e.date
	if l.HasEnd() {
		e.endNone = get(schema.LeafEnd)
		e.endExists = api.Select(api.IsZero(api.Sub(e.endNone, schema.UnknownEnd)), e.date, e.endNone)
	}
	e.key = api.Add(api.Mul(api.Add(e.date, 1), new(big.Int).Lsh(big.NewInt(1), uint(l.PosBits()))), pos)
	return e, v.packed[0]
}

// completeness is a list's signed completeness.
type completeness struct{ incomplete, since frontend.Variable }

// coversFrom is the completeness rule (DESIGN.md): the signed part of the list covers every entry
// from day on when the list is not incomplete and complete_since ≤ day.
func coversFrom(api frontend.API, cmp *comparator, c completeness, day frontend.Variable) frontend.Variable {
	return api.Mul(api.Sub(1, c.incomplete), cmp.IsGE(day, c.since, schema.WithinBits))
}

// window is a slot's window: its start and whether it is a state window.
type window struct{ start, state frontend.Variable }

// inWindow is the window rule: an event is in the window when its date is on or after the start;
// a period entry, for a state window, when it had not ended before the start (end read as exists
// reads it).
func inWindow(api frontend.API, cmp *comparator, w window, e leaf) frontend.Variable {
	seen := api.Select(w.state, e.endExists, e.date)
	return cmp.IsGE(seen, w.start, schema.WithinBits)
}

// familyBounds checks a slot's family bounds, shifted as leaf codes are: when the slot is on,
// 1 ≤ lo ≤ hi ≤ 2^bits, so the low sentinel (leaf code 0) and the padding (2^bits + 1) lie in no
// family.
func familyBounds(api frontend.API, rc frontend.Rangechecker, on, lo, hi frontend.Variable, bits int) {
	rc.Check(api.Mul(on, api.Sub(lo, 1)), bits)
	rc.Check(api.Mul(on, api.Sub(hi, lo)), bits+1)
	rc.Check(api.Mul(on, api.Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), hi)), bits+1)
}

// assertExists is an exists slot: when it is on, its opened entry (an entry of the signed list,
// since the sentinel and padding lie in no family) lies in one of the slot's families, has its
// value in the slot's range (if it names one), lies in the slot's window and has a status the slot
// counts.
func assertExists(api frontend.API, cmp *comparator, l schema.List, slots schema.ListSlots, field func(string) frontend.Variable, e leaf) {
	on := field("on")
	var hits frontend.Variable = 0
	for k := range slots.PickFamilies {
		f := func(part string) frontend.Variable { return field(fmt.Sprintf("fam/%d/%s", k, part)) }
		familyBounds(api, cmp.rc, f("on"), f("lo"), f("hi"), l.Code.Bits())
		hits = api.Add(hits, api.Mul(f("on"), cmp.IsBetween(e.code, f("lo"), f("hi"), l.LeafCodeBits())))
	}
	holds := api.Sub(1, api.IsZero(hits))
	if l.Value {
		holds = api.Mul(holds, valueInRange(api, cmp, field, e))
	}
	if l.HasDate() {
		holds = api.Mul(holds, inWindow(api, cmp, slotWindow(l, field), e))
	}
	if l.Status != nil {
		holds = api.Mul(holds, counted(api, field, "status", len(l.Status.Values), e.status))
	}
	if l.Verification != nil {
		holds = api.Mul(holds, counted(api, field, "verification", len(l.Verification.Values), e.verification))
	}
	api.AssertIsEqual(api.Mul(on, api.Sub(1, holds)), 0)
}

// slotWindow reads a pick's or latest slot's window.
func slotWindow(l schema.List, field func(string) frontend.Variable) window {
	w := window{start: field("start"), state: 0}
	if l.HasEnd() {
		w.state = field("state")
	}
	return w
}

// valueInRange is 1 when the slot names no value range or the entry's value lies in it.
func valueInRange(api frontend.API, cmp *comparator, field func(string) frontend.Variable, e leaf) frontend.Variable {
	in := cmp.IsBetween(e.value, field("lo"), field("hi"), schema.ScalarCmpBits)
	return api.Select(field("range"), in, 1)
}

// counted is Σ_k mask_k·[status = k+1]: whether the entry's status is among those the slot counts.
func counted(api frontend.API, field func(string) frontend.Variable, name string, n int, status frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for k := range n {
		acc = api.Add(acc, api.Mul(field(fmt.Sprintf("%s/%d", name, k)), api.IsZero(api.Sub(status, k+1))))
	}
	return acc
}

// blockGeometry is what a block's two openings prove about the leaves between them: the positions
// are ordered (low < high), and for each height and child, whether that child's subtree lies
// strictly between the two leaves (included). The included subtrees are exactly the leaves
// strictly between the two positions: below their last common ancestor, the right siblings of the
// low path and the left siblings of the high path; at it, the children strictly between the two
// paths.
type blockGeometry struct {
	lowIncluded, highIncluded [][]frontend.Variable // [Depth][Arity]
}

func geometry(api frontend.API, low, high BlockOpening) blockGeometry {
	depth := len(low.Digits)
	// eq[t] = 1 when the two leaves share their ancestor at height t (eq[depth]: the root)
	eq := make([]frontend.Variable, depth+1)
	eq[depth] = 1
	for t := depth - 1; t >= 0; t-- {
		var same frontend.Variable = 0
		for j := range schema.Arity {
			same = api.Add(same, api.Mul(low.Digits[t][j], high.Digits[t][j]))
		}
		eq[t] = api.Mul(eq[t+1], same)
	}
	api.AssertIsEqual(eq[0], 0) // two distinct leaves
	g := blockGeometry{lowIncluded: grid(depth, schema.Arity), highIncluded: grid(depth, schema.Arity)}
	for t := range depth {
		below := api.Sub(1, eq[t+1])        // the two ancestors at height t have different parents
		atLCA := api.Sub(eq[t+1], eq[t])    // same parent, different children: the common ancestor
		var lowBefore frontend.Variable = 0 // [digit_low < digit_high] at this height
		for j := range schema.Arity {
			var gtLow, ltHigh frontend.Variable = 0, 0 // [j > digit_low], [j < digit_high]
			for i := 0; i < j; i++ {
				gtLow = api.Add(gtLow, low.Digits[t][i])
			}
			for i := j + 1; i < schema.Arity; i++ {
				ltHigh = api.Add(ltHigh, high.Digits[t][i])
			}
			lowBefore = api.Add(lowBefore, api.Mul(low.Digits[t][j], ltHigh))
			g.lowIncluded[t][j] = api.Mul(gtLow, api.Add(below, api.Mul(atLCA, ltHigh)))
			g.highIncluded[t][j] = api.Mul(ltHigh, below)
		}
		api.AssertIsEqual(api.Mul(atLCA, api.Sub(1, lowBefore)), 0) // low lies left of high
	}
	return g
}

// assertBelow checks that every included subtree's aggregate v (its greatest key, or for a
// state-window none block its greatest presence times 2^PosBits) is below threshold, when on.
func assertBelow(api frontend.API, rc frontend.Rangechecker, l schema.List, on, isState, threshold frontend.Variable, o BlockOpening, included [][]frontend.Variable) {
	scale := new(big.Int).Lsh(big.NewInt(1), uint(l.PosBits()))
	for t := range o.Keys {
		for j := range schema.Arity {
			v := api.Select(isState, api.Mul(o.Pres[t][j], scale), o.Keys[t][j])
			inc := api.Mul(on, included[t][j])
			rc.Check(api.Mul(inc, api.Sub(api.Sub(threshold, 1), v)), schema.ScalarCmpBits)
		}
	}
}

// openedBlock is a family block's two opened leaves with their geometry.
type openedBlock struct {
	w         BlockWitness
	low, high leaf
	g         blockGeometry
}

// assertBlock is a family block (DESIGN.md: "absence opens the two leaves around the family's
// block; the latest entry is the block's maximum"). When the block is on:
//   - its family bounds are valid (so the sentinel and the padding lie outside it);
//   - in gap mode the low leaf lies below the family, in latest mode it is the family's entry
//     (and the family is one exact code, so every entry of it before the low leaf is older);
//   - the high leaf lies above the family;
//   - every subtree strictly between the two leaves (which hold every entry of the family, the
//     list being signed in code order) has its aggregate below the block's threshold: for none,
//     no entry dated (event) or present (state) on or after the window's start, which without a
//     window means no entry at all; for latest, no entry newer than the latest slot's entry;
//   - a none block needs the list's completeness to cover its window.
func assertBlock(api frontend.API, cmp *comparator, l schema.List, field func(string) frontend.Variable, b openedBlock, comp completeness, latestKey frontend.Variable) {
	on, lo, hi, kind := field("on"), field("lo"), field("hi"), field("kind")
	familyBounds(api, cmp.rc, on, lo, hi, l.Code.Bits())
	bits := l.LeafCodeBits()
	mode := b.w.Mode
	api.AssertIsBoolean(mode)
	isLatest := api.IsZero(api.Sub(kind, schema.BlockLatest))
	isState := api.IsZero(api.Sub(kind, schema.BlockNoneState))
	lowBelow := cmp.IsGE(lo, api.Add(b.low.code, 1), bits) // low.code < lo
	lowIs := api.IsZero(api.Sub(b.low.code, lo))
	api.AssertIsEqual(api.Mul(on, api.Sub(1, api.Select(mode, lowIs, lowBelow))), 0)
	api.AssertIsEqual(api.Mul(api.Mul(on, mode), api.Sub(lo, hi)), 0)
	api.AssertIsEqual(api.Mul(api.Mul(on, mode), api.Sub(1, isLatest)), 0)
	highAbove := cmp.IsGE(b.high.code, api.Add(hi, 1), bits) // high.code > hi
	api.AssertIsEqual(api.Mul(on, api.Sub(1, highAbove)), 0)

	var start frontend.Variable = 0
	if l.HasDate() {
		start = field("start")
	}
	noneThreshold := api.Mul(api.Add(start, 1), new(big.Int).Lsh(big.NewInt(1), uint(l.PosBits())))
	threshold := api.Select(isLatest, latestKey, noneThreshold)
	assertBelow(api, cmp.rc, l, on, isState, threshold, b.w.Low, b.g.lowIncluded)
	assertBelow(api, cmp.rc, l, on, isState, threshold, b.w.High, b.g.highIncluded)
	isNone := api.Sub(1, isLatest)
	api.AssertIsEqual(api.Mul(api.Mul(on, isNone), api.Sub(1, coversFrom(api, cmp, comp, start))), 0)
}

// assertLatest is a latest slot: when it is on, exactly one of its blocks is in latest mode, and
// that block's low leaf (the latest entry of the slot's families, every other entry of them being
// older by the blocks' thresholds) has its value in the slot's range, lies in the slot's window,
// and the list's completeness covers it (nothing left out is newer). It returns the latest entry's
// key, the threshold of the slot's blocks.
func assertLatest(api frontend.API, cmp *comparator, l schema.List, g int, field func(string) frontend.Variable,
	blockField func(b int, part string) frontend.Variable, blocks []openedBlock, comp completeness) frontend.Variable {
	var nb, key frontend.Variable = 0, 0
	var pick leaf
	pick.value, pick.date, pick.endExists = frontend.Variable(0), frontend.Variable(0), frontend.Variable(0)
	for b, ob := range blocks {
		w := api.Mul(api.Mul(blockField(b, "on"), blockField(b, fmt.Sprintf("latest/%d", g))), ob.w.Mode)
		nb = api.Add(nb, w)
		key = api.Add(key, api.Mul(w, ob.low.key))
		pick.value = api.Add(pick.value, api.Mul(w, ob.low.value))
		pick.date = api.Add(pick.date, api.Mul(w, ob.low.date))
		pick.endExists = api.Add(pick.endExists, api.Mul(w, ob.low.endExists))
	}
	on := field("on")
	api.AssertIsEqual(nb, on)
	holds := api.Mul(inWindow(api, cmp, slotWindow(l, field), pick), coversFrom(api, cmp, comp, pick.date))
	if l.Value {
		holds = api.Mul(holds, valueInRange(api, cmp, field, pick))
	}
	api.AssertIsEqual(api.Mul(on, api.Sub(1, holds)), 0)
	return key
}
