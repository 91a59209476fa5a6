package policy

import (
	"fmt"
	"math/big"

	"github.com/zkhealth/zkhealth/schema"
)

// Evaluate decides natively, with exactly the circuit's semantics, whether a credential (its
// credential-layout values) satisfies every predicate. It returns the index of the first predicate
// that fails, or -1 when all hold. It is the prover's pre-check, so a patient learns which
// criterion they miss without paying for a proof; soundness never rests on it: the circuit
// enforces the same rules.
//
// Semantics: an entry is visible when it lies within the list's length and (for dated lists) is
// dated on or before as_of; it matches a predicate's families when its code lies in one of them;
// it satisfies the predicate when it also has its value in the predicate's value range (if it
// names one) and date + within ≥ as_of.
// exists: some visible entry satisfies; none: no visible entry satisfies and the list is not
// truncated; latest: the matching entry with the greatest (date, lowest index) satisfies.
func (c *Compiled) Evaluate(cred []*big.Int) (int, error) {
	s := c.Schema
	cl := s.CredentialLayout()
	if len(cred) != len(cl.Fields) {
		return 0, fmt.Errorf("credential has %d values, schema %s has %d", len(cred), s.ID, len(cl.Fields))
	}
	pl := s.PolicyLayout()
	pv := func(name string) uint64 { return c.Values[pl.Index(name)].Uint64() }
	cv := func(name string) *big.Int { return cred[cl.Index(name)] }
	for i := range s.Predicates {
		if pv(schema.PredField(i, "on")) == 0 {
			continue
		}
		ok := false
		if pv(schema.PredField(i, "list")) == 1 {
			ok = c.evalList(i, pv, cv)
		} else {
			ok = c.evalScalar(i, pv, cv)
		}
		if !ok {
			return i, nil
		}
	}
	return -1, nil
}

func (c *Compiled) evalScalar(i int, pv func(string) uint64, cv func(string) *big.Int) bool {
	s, pl := c.Schema, c.Schema.PolicyLayout()
	attr := s.Attributes[pv(schema.PredField(i, "target"))]
	x := cv(schema.AttrField(attr.Name))
	in := false
	if pv(schema.PredField(i, "set")) == 1 {
		for k := range s.SetValues {
			if pv(schema.PredField(i, fmt.Sprintf("value/%d", k))) == 1 && x.Cmp(c.Values[pl.Index(schema.SetValueField(k))]) == 0 {
				in = true
			}
		}
	} else {
		lo, hi := new(big.Int).SetUint64(pv(schema.PredField(i, "lo"))), new(big.Int).SetUint64(pv(schema.PredField(i, "hi")))
		in = x.Cmp(lo) >= 0 && x.Cmp(hi) <= 0
	}
	return in != (pv(schema.PredField(i, "negate")) == 1)
}

func (c *Compiled) evalList(i int, pv func(string) uint64, cv func(string) *big.Int) bool {
	s := c.Schema
	l := s.Lists[pv(schema.PredField(i, "target"))]
	length := cv(schema.LengthField(l.Name)).Uint64()
	within := pv(schema.PredField(i, "within"))
	// the value range, if the predicate names one
	lo, hi := uint64(0), uint64(1)<<schema.ScalarCmpBits-1
	for k := range l.ValueRanges {
		if pv(schema.PredField(i, fmt.Sprintf("range/%d", k))) == 1 {
			lo, hi = pv(schema.RangeField(l.Name, k, "lo")), pv(schema.RangeField(l.Name, k, "hi"))
		}
	}
	entry := func(j int, part string) uint64 { return cv(schema.EntryField(l.Name, j, part)).Uint64() }
	matches := func(j int) bool {
		if uint64(j) >= length || (l.HasDate() && entry(j, "date") > c.AsOf) {
			return false
		}
		code := entry(j, "code")
		for k := range l.Families {
			if pv(schema.PredField(i, fmt.Sprintf("family/%d", k))) == 1 &&
				code >= pv(schema.FamilyField(l.Name, k, "lo")) && code <= pv(schema.FamilyField(l.Name, k, "hi")) {
				return true
			}
		}
		return false
	}
	satisfies := func(j int) bool {
		var value, date uint64
		if l.Value {
			value = entry(j, "value")
		}
		if l.HasDate() {
			date = entry(j, "date")
		}
		return matches(j) && value >= lo && value <= hi && date+within >= c.AsOf
	}
	switch pv(schema.PredField(i, "match")) {
	case schema.MatchExists:
		for j := range l.Capacity {
			if satisfies(j) {
				return true
			}
		}
		return false
	case schema.MatchNone:
		if cv(schema.TruncatedField(l.Name)).Sign() != 0 {
			return false
		}
		for j := range l.Capacity {
			if satisfies(j) {
				return false
			}
		}
		return true
	case schema.MatchLatest:
		best, bestKey := -1, uint64(0)
		for j := range l.Capacity {
			if !matches(j) {
				continue
			}
			key := latestKey(entry(j, "date"), j)
			if best < 0 || key > bestKey {
				best, bestKey = j, key
			}
		}
		return best >= 0 && satisfies(best)
	}
	return false
}

// latestKey orders entries for `latest`: by date, then by lower index (the issuer's order).
func latestKey(date uint64, j int) uint64 {
	return date<<schema.IndexBits + uint64(schema.MaxListCapacity-1-j)
}
