package policy

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

// Assigned is a compiled policy laid out for one circuit of its schema's ladder: which slot holds
// which predicate, the circuit's policy-layout values (private input) and the policy hash (public
// input, the request binding).
type Assigned struct {
	Circuit *schema.Circuit
	// Values are in the order of Circuit.PolicyLayout(schema).Fields.
	Values []*big.Int
	Hash   fr.Element
	// Lists holds, per list of the schema, what each of its slots holds.
	Lists []ListAssignment
}

// ListAssignment says which predicate each slot of a list holds (nil or -1: the slot is off).
type ListAssignment struct {
	// Picks[j] is the exists predicate of pick slot j.
	Picks []*ListPred
	// Blocks[b] is the family block b checks.
	Blocks []BlockAssignment
	// Latest[g] is the latest predicate of latest slot g.
	Latest []*ListPred
}

// BlockAssignment is a family block: one code family of a none or latest predicate.
type BlockAssignment struct {
	Pred   *ListPred // nil: the block is off
	Family Interval
	Kind   int // schema.BlockNoneEvent, BlockNoneState or BlockLatest
	Latest int // the latest slot, for BlockLatest
}

// ErrDoesNotFit marks a policy too large for a circuit (from Smallest: for every circuit of its
// schema's ladder).
var ErrDoesNotFit = errors.New("too large")

// Smallest lays the policy out for the smallest circuit of the ladder that holds it. When none
// does, the error is the largest circuit's, naming the predicate that does not fit.
func (c *Compiled) Smallest() (*Assigned, error) {
	var last error
	for _, circuit := range c.Schema.Circuits {
		a, err := c.For(circuit)
		if err == nil {
			return a, nil
		}
		last = err
	}
	return nil, last
}

// For lays the policy out for circuit (of the policy's schema): each scalar predicate takes a
// scalar slot, each exists predicate an exists slot of its list, each none predicate one family
// block per code family, each latest predicate a latest slot and one family block per code
// family. A predicate that finds no free slot is refused, naming itself and the circuit.
func (c *Compiled) For(circuit *schema.Circuit) (*Assigned, error) {
	s := c.Schema
	if circuit.Schema != s.ID {
		return nil, fmt.Errorf("circuit %s proves schema %s, the policy is %s", circuit.ID, circuit.Schema, s.ID)
	}
	layout := circuit.PolicyLayout(s)
	vals := make([]*big.Int, len(layout.Fields))
	for i := range vals {
		vals[i] = new(big.Int)
	}
	set := func(name string, v uint64) { vals[layout.Index(name)] = new(big.Int).SetUint64(v) }
	a := &Assigned{Circuit: circuit, Lists: make([]ListAssignment, len(s.Lists))}
	for li, slots := range circuit.Lists {
		a.Lists[li] = ListAssignment{Picks: make([]*ListPred, slots.Picks), Blocks: make([]BlockAssignment, slots.Blocks), Latest: make([]*ListPred, slots.Latest)}
	}
	var setPool []fr.Element
	scalars := 0
	for _, p := range c.Preds {
		fail := func(format string, args ...any) error {
			return &PredicateError{Index: p.Index, Predicate: c.Policy.Predicates[p.Index].String(),
				Err: fmt.Errorf("%w: %w: "+format, append([]any{ErrInvalid, ErrDoesNotFit}, args...)...)}
		}
		if sp := p.Scalar; sp != nil {
			if scalars == circuit.Scalars {
				return nil, fail("the %s circuit holds %d attribute predicates", circuit.ID, circuit.Scalars)
			}
			k := scalars
			f := func(part string) string { return schema.ScalarField(k, part) }
			scalars++
			set(f("on"), 1)
			set(f("target"), uint64(sp.Attr))
			set(f("lo"), sp.Lo)
			set(f("hi"), sp.Hi)
			if sp.Negate {
				set(f("negate"), 1)
			}
			if len(sp.Set) > 0 {
				set(f("set"), 1)
				for _, v := range sp.Set {
					j, ok := slot(&setPool, v, circuit.SetValues)
					if !ok {
						return nil, fail("the %s circuit holds %d distinct values over all eq/ne/in/not_in predicates", circuit.ID, circuit.SetValues)
					}
					set(f(fmt.Sprintf("value/%d", j)), 1)
				}
			}
			continue
		}
		lp := p.List
		l := s.Lists[lp.List]
		slots, as := circuit.Lists[lp.List], &a.Lists[lp.List]
		switch lp.Match {
		case Exists:
			j := free(as.Picks)
			if j < 0 {
				return nil, fail("the %s circuit holds %d exists predicates on %s", circuit.ID, slots.Picks, l.Name)
			}
			if len(lp.Families) > slots.PickFamilies {
				return nil, fail("the %s circuit holds %d code families per exists predicate", circuit.ID, slots.PickFamilies)
			}
			as.Picks[j] = lp
			f := func(part string) string { return schema.PickField(l.Name, j, part) }
			set(f("on"), 1)
			for k, fam := range lp.Families {
				set(f(fmt.Sprintf("fam/%d/on", k)), 1)
				set(f(fmt.Sprintf("fam/%d/lo", k)), fam.Lo+1)
				set(f(fmt.Sprintf("fam/%d/hi", k)), fam.Hi+1)
			}
			setRangeAndWindow(l, lp, f, set)
			if l.Status != nil {
				for k := range l.Status.Values {
					if lp.Status&(1<<k) != 0 {
						set(f(fmt.Sprintf("status/%d", k)), 1)
					}
				}
			}
			if l.Verification != nil {
				for k := range l.Verification.Values {
					if lp.Verification&(1<<k) != 0 {
						set(f(fmt.Sprintf("verification/%d", k)), 1)
					}
				}
			}
		case None, Latest:
			kind, group := schema.BlockNoneEvent, 0
			switch {
			case lp.Match == Latest:
				kind = schema.BlockLatest
				if group = free(as.Latest); group < 0 {
					return nil, fail("the %s circuit holds %d latest predicates on %s", circuit.ID, slots.Latest, l.Name)
				}
				as.Latest[group] = lp
				f := func(part string) string { return schema.LatestField(l.Name, group, part) }
				set(f("on"), 1)
				setRangeAndWindow(l, lp, f, set)
			case lp.Window.Kind == StateWindow:
				kind = schema.BlockNoneState
			}
			for _, fam := range lp.Families {
				b := freeBlock(as.Blocks)
				if b < 0 {
					return nil, fail("the %s circuit holds %d code families over none and latest predicates on %s", circuit.ID, slots.Blocks, l.Name)
				}
				as.Blocks[b] = BlockAssignment{Pred: lp, Family: fam, Kind: kind, Latest: group}
				f := func(part string) string { return schema.BlockField(l.Name, b, part) }
				set(f("on"), 1)
				set(f("lo"), fam.Lo+1)
				set(f("hi"), fam.Hi+1)
				set(f("kind"), uint64(kind))
				if l.HasDate() {
					set(f("start"), lp.Window.Start)
				}
				if kind == schema.BlockLatest {
					set(f(fmt.Sprintf("latest/%d", group)), 1)
				}
			}
		}
	}
	for k, v := range setPool {
		vals[layout.Index(schema.SetValueField(k))] = v.BigInt(new(big.Int))
	}
	set(schema.FieldAsOf, c.AsOf)
	set(schema.FieldMaxAge, c.MaxAge)
	vals[layout.Index(schema.FieldScope)] = c.Scope.BigInt(new(big.Int))
	packed, err := layout.Pack(vals)
	if err != nil {
		return nil, fmt.Errorf("pack policy: %w", err)
	}
	h, err := fieldhash.HashBig(fieldhash.PolicyTag(circuit.ID), packed...)
	if err != nil {
		return nil, fmt.Errorf("hash policy: %w", err)
	}
	a.Values, a.Hash = vals, h
	return a, nil
}

// setRangeAndWindow writes a list predicate's value range and window into its slot's fields.
func setRangeAndWindow(l schema.List, lp *ListPred, f func(string) string, set func(string, uint64)) {
	if l.Value && lp.Range != nil {
		set(f("range"), 1)
		set(f("lo"), lp.Range.Lo)
		set(f("hi"), lp.Range.Hi)
	}
	if l.HasEnd() && lp.Window.Kind == StateWindow {
		set(f("state"), 1)
	}
	if l.HasDate() {
		set(f("start"), lp.Window.Start)
	}
}

// free returns the first unused slot, or -1.
func free(slots []*ListPred) int {
	for i, p := range slots {
		if p == nil {
			return i
		}
	}
	return -1
}

func freeBlock(blocks []BlockAssignment) int {
	for i, b := range blocks {
		if b.Pred == nil {
			return i
		}
	}
	return -1
}

// slot returns the index of v in pool, appending it when new; false when the pool already holds
// capacity values and v is not among them.
func slot[T comparable](pool *[]T, v T, capacity int) (int, bool) {
	for k, x := range *pool {
		if x == v {
			return k, true
		}
	}
	if len(*pool) == capacity {
		return 0, false
	}
	*pool = append(*pool, v)
	return len(*pool) - 1, true
}
