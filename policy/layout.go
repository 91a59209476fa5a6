package policy

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/schema"
)

// layoutValues writes a compiled policy into the schema's policy layout: one slot per predicate,
// the pools of code families and value ranges per list and of set values, the as-of date, the max
// credential age and the scope. A policy over a pool's capacity is refused naming the predicate.
func layoutValues(s *schema.Schema, c *Compiled) ([]*big.Int, error) {
	if len(c.Preds) > s.Predicates {
		return nil, invalid("predicates: %d predicates, the %s circuit holds %d", len(c.Preds), s.Circuit, s.Predicates)
	}
	l := s.PolicyLayout()
	vals := make([]*big.Int, len(l.Fields))
	for i := range vals {
		vals[i] = new(big.Int)
	}
	set := func(name string, v uint64) { vals[l.Index(name)] = new(big.Int).SetUint64(v) }
	families := make([][]Interval, len(s.Lists))
	ranges := make([][]Interval, len(s.Lists))
	var setPool []fr.Element
	for _, p := range c.Preds {
		i := p.Index
		field := func(part string) string { return schema.PredField(i, part) }
		set(field("on"), 1)
		wrap := func(err error) error {
			return &PredicateError{Index: i, Predicate: c.Policy.Predicates[i].String(), Err: err}
		}
		if sp := p.Scalar; sp != nil {
			set(field("target"), uint64(sp.Attr))
			set(field("lo"), sp.Lo)
			set(field("hi"), sp.Hi)
			if sp.Negate {
				set(field("negate"), 1)
			}
			if len(sp.Set) > 0 {
				set(field("set"), 1)
				for _, v := range sp.Set {
					k, err := slot(&setPool, v, s.SetValues, s.Circuit, "values in eq/ne/in/not_in predicates")
					if err != nil {
						return nil, wrap(err)
					}
					set(field(fmt.Sprintf("value/%d", k)), 1)
				}
			}
			continue
		}
		lp := p.List
		decl := s.Lists[lp.List]
		set(field("list"), 1)
		set(field("target"), uint64(lp.List))
		set(field("match"), uint64(lp.Match))
		set(field("win_start"), lp.Window.Start)
		if lp.Window.Kind == StateWindow {
			set(field("win_state"), 1)
		}
		for k := range s.MaxStatuses() {
			if lp.Status&(1<<k) != 0 {
				set(field(fmt.Sprintf("status/%d", k)), 1)
			}
		}
		for k := range s.MaxVerifications() {
			if lp.Verification&(1<<k) != 0 {
				set(field(fmt.Sprintf("verification/%d", k)), 1)
			}
		}
		for _, f := range lp.Families {
			k, err := slot(&families[lp.List], f, decl.Families, s.Circuit, "code families on "+decl.Name)
			if err != nil {
				return nil, wrap(err)
			}
			set(field(fmt.Sprintf("family/%d", k)), 1)
		}
		if lp.Range != nil {
			k, err := slot(&ranges[lp.List], *lp.Range, decl.ValueRanges, s.Circuit, "value ranges on "+decl.Name)
			if err != nil {
				return nil, wrap(err)
			}
			set(field(fmt.Sprintf("range/%d", k)), 1)
		}
	}
	for li, decl := range s.Lists {
		for k, iv := range families[li] {
			set(schema.FamilyField(decl.Name, k, "lo"), iv.Lo)
			set(schema.FamilyField(decl.Name, k, "hi"), iv.Hi)
		}
		for k, iv := range ranges[li] {
			set(schema.RangeField(decl.Name, k, "lo"), iv.Lo)
			set(schema.RangeField(decl.Name, k, "hi"), iv.Hi)
		}
	}
	for k, v := range setPool {
		vals[l.Index(schema.SetValueField(k))] = v.BigInt(new(big.Int))
	}
	set(schema.FieldAsOf, c.AsOf)
	set(schema.FieldMaxAge, c.MaxAge)
	vals[l.Index(schema.FieldScope)] = c.Scope.BigInt(new(big.Int))
	return vals, nil
}

// slot returns the index of v in pool, appending it when new. The pools (set values, code
// families, value ranges) are shared by all predicates; what overflows names itself in what.
func slot[T comparable](pool *[]T, v T, capacity int, circuit, what string) (int, error) {
	for k, x := range *pool {
		if x == v {
			return k, nil
		}
	}
	if len(*pool) == capacity {
		return 0, invalid("the policy uses more than %d distinct %s, the %s circuit holds %d", capacity, what, circuit, capacity)
	}
	*pool = append(*pool, v)
	return len(*pool) - 1, nil
}
