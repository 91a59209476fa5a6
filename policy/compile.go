package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

// Compiled is a policy compiled for one as-of date: the schema's policy-layout values (what the
// circuit receives as private input) and the policy hash (its public input).
type Compiled struct {
	Schema *schema.Schema
	Policy *Policy
	// Values are in the order of Schema.PolicyLayout().Fields.
	Values []*big.Int
	AsOf   uint64
	Scope  fr.Element
	Hash   fr.Element
}

// interval is a closed range [lo, hi] of encoded values.
type interval struct{ lo, hi uint64 }

// compiler accumulates the pools shared by all predicates while compiling one policy.
type compiler struct {
	s        *schema.Schema
	layout   *schema.Layout
	vals     []*big.Int
	asOf     time.Time
	families [][]interval // per list
	ranges   [][]interval // per list
	setPool  []fr.Element
}

// Compile validates the policy against its schema and compiles it for asOf (YYYY-MM-DD): age bounds
// become birth-date bounds as of that date, every predicate becomes one slot of the policy vector,
// and the policy hash is H(policy tag, vector, as_of, scope).
func (p *Policy) Compile(asOf string) (*Compiled, error) {
	s, err := p.SchemaOf()
	if err != nil {
		return nil, err
	}
	asOfDay, err := encode.Date(asOf)
	if err != nil {
		return nil, invalid("as_of: %v", err)
	}
	asOfTime, _ := time.Parse("2006-01-02", asOf)
	if p.Scope == "" || len(p.Scope) > MaxScopeLen {
		return nil, invalid("scope: want 1 to %d characters", MaxScopeLen)
	}
	if err := p.validIssuers(); err != nil {
		return nil, err
	}
	if len(p.Predicates) == 0 {
		return nil, invalid("predicates: a policy needs at least one predicate")
	}
	if len(p.Predicates) > s.Predicates {
		return nil, invalid("predicates: %d predicates, the %s circuit holds %d", len(p.Predicates), s.Circuit, s.Predicates)
	}
	layout := s.PolicyLayout()
	c := &compiler{s: s, layout: layout, vals: make([]*big.Int, len(layout.Fields)), asOf: asOfTime, families: make([][]interval, len(s.Lists)), ranges: make([][]interval, len(s.Lists))}
	for i := range c.vals {
		c.vals[i] = new(big.Int)
	}
	for i, pred := range p.Predicates {
		if err := c.predicate(i, pred); err != nil {
			return nil, &PredicateError{Index: i, Predicate: pred.String(), Err: err}
		}
	}
	for li, l := range s.Lists {
		for k, iv := range c.families[li] {
			c.set(schema.FamilyField(l.Name, k, "lo"), iv.lo)
			c.set(schema.FamilyField(l.Name, k, "hi"), iv.hi)
		}
		for k, iv := range c.ranges[li] {
			c.set(schema.RangeField(l.Name, k, "lo"), iv.lo)
			c.set(schema.RangeField(l.Name, k, "hi"), iv.hi)
		}
	}
	for k, v := range c.setPool {
		c.vals[layout.Index(schema.SetValueField(k))] = v.BigInt(new(big.Int))
	}
	scope := fieldhash.String(p.Scope)
	c.set(schema.FieldAsOf, asOfDay)
	c.vals[layout.Index(schema.FieldScope)] = scope.BigInt(new(big.Int))
	packed, err := layout.Pack(c.vals)
	if err != nil {
		return nil, fmt.Errorf("pack policy: %w", err)
	}
	h, err := fieldhash.HashBig(fieldhash.PolicyTag(s.ID), packed...)
	if err != nil {
		return nil, fmt.Errorf("hash policy: %w", err)
	}
	return &Compiled{Schema: s, Policy: p, Values: c.vals, AsOf: asOfDay, Scope: scope, Hash: h}, nil
}

func (c *compiler) set(name string, v uint64) {
	c.vals[c.layout.Index(name)] = new(big.Int).SetUint64(v)
}

func (c *compiler) predicate(i int, p Predicate) error {
	c.set(schema.PredField(i, "on"), 1)
	c.set(schema.PredField(i, "within"), schema.NoWindow)
	switch {
	case p.List != "" && p.Attribute == "" && p.Op == "":
		return c.listPredicate(i, p)
	case p.Attribute != "" && p.List == "" && p.Match == "" && len(p.Code) == 0 && p.WithinDays == nil:
		return c.scalarPredicate(i, p)
	}
	return invalid("give either attribute and op, or list, match and code")
}

// scalarPredicate compiles `attribute op value`: an ordered comparison becomes "x in [lo, hi]" or
// its negation; eq/ne/in/not_in on a hashed or enum attribute become set membership.
func (c *compiler) scalarPredicate(i int, p Predicate) error {
	name := p.Attribute
	if name == "age" {
		if _, _, ok := c.s.Attribute("birth_date"); !ok {
			return invalid("age needs a birth_date attribute, which schema %s lacks", c.s.ID)
		}
		lo, hi, negate, err := c.ageBounds(p)
		if err != nil {
			return err
		}
		return c.interval(i, "birth_date", lo, hi, negate)
	}
	idx, attr, ok := c.s.Attribute(name)
	if !ok {
		return invalid("schema %s has no attribute %q", c.s.ID, name)
	}
	c.set(schema.PredField(i, "target"), uint64(idx))
	max := uint64(1)<<attr.Type.Bits() - 1
	// least and most are the smallest and largest values the type encodes: lt least and gt most can
	// never hold.
	least, most := uint64(0), max
	switch attr.Type {
	case schema.Date:
		most = encode.MaxDate
	case schema.Enum:
		least, most = 1, uint64(len(attr.Values))
	}
	one := func() (uint64, error) {
		var v string
		if err := json.Unmarshal(p.Value, &v); err != nil {
			return 0, invalid("value: want a string")
		}
		enc, err := credential.EncodeScalar(attr, v)
		if err != nil {
			return 0, invalid("value: %v", err)
		}
		return enc.Uint64(), nil
	}
	switch p.Op {
	case "eq", "ne", "in", "not_in":
		var vals []string
		if p.Op == "eq" || p.Op == "ne" {
			var v string
			if err := json.Unmarshal(p.Value, &v); err != nil {
				return invalid("value: want a string")
			}
			vals = []string{v}
		} else if err := json.Unmarshal(p.Value, &vals); err != nil || len(vals) == 0 || len(vals) > MaxSetValues {
			return invalid("value: want an array of 1 to %d strings", MaxSetValues)
		}
		c.set(schema.PredField(i, "set"), 1)
		if p.Op == "ne" || p.Op == "not_in" {
			c.set(schema.PredField(i, "negate"), 1)
		}
		for _, v := range vals {
			enc, err := credential.EncodeScalar(attr, v)
			if err != nil {
				return invalid("value: %v", err)
			}
			k, err := c.setValue(enc)
			if err != nil {
				return err
			}
			c.set(schema.PredField(i, fmt.Sprintf("value/%d", k)), 1)
		}
		return nil
	}
	if !attr.Type.Ordered() {
		return invalid("op %s: %s is a hashed string, only eq, ne, in and not_in apply", p.Op, name)
	}
	switch p.Op {
	case "lt", "lte", "gt", "gte":
		v, err := one()
		if err != nil {
			return err
		}
		switch p.Op {
		case "lt":
			if v <= least {
				return invalid("lt %s can never hold", compact(p.Value))
			}
			return c.interval(i, name, 0, v-1, false)
		case "lte":
			return c.interval(i, name, 0, v, false)
		case "gt":
			if v >= most {
				return invalid("gt %s can never hold", compact(p.Value))
			}
			return c.interval(i, name, v+1, max, false)
		default:
			return c.interval(i, name, v, max, false)
		}
	case "between", "not_between":
		var pair []string
		if err := json.Unmarshal(p.Value, &pair); err != nil || len(pair) != 2 {
			return invalid("value: want [low, high]")
		}
		lo, err := credential.EncodeScalar(attr, pair[0])
		if err != nil {
			return invalid("value[0]: %v", err)
		}
		hi, err := credential.EncodeScalar(attr, pair[1])
		if err != nil {
			return invalid("value[1]: %v", err)
		}
		if lo.Cmp(hi) > 0 {
			return invalid("value: low above high")
		}
		return c.interval(i, name, lo.Uint64(), hi.Uint64(), p.Op == "not_between")
	}
	return invalid("unknown op %q (eq, ne, lt, lte, gt, gte, between, not_between, in, not_in)", p.Op)
}

// interval sets slot i to "attribute in [lo, hi]" (negated when negate).
func (c *compiler) interval(i int, attrName string, lo, hi uint64, negate bool) error {
	idx, _, _ := c.s.Attribute(attrName)
	c.set(schema.PredField(i, "target"), uint64(idx))
	c.set(schema.PredField(i, "lo"), lo)
	c.set(schema.PredField(i, "hi"), hi)
	if negate {
		c.set(schema.PredField(i, "negate"), 1)
	}
	return nil
}

// ageBounds turns an age predicate into birth-date bounds as of the compiler's as-of date. Age is
// whole years: age ≥ a ⇔ birth ≤ asOf − a years; age ≤ b ⇔ birth > asOf − (b+1) years.
func (c *compiler) ageBounds(p Predicate) (lo, hi uint64, negate bool, err error) {
	var nums []int
	var single int
	switch p.Op {
	case "between", "not_between":
		if err := json.Unmarshal(p.Value, &nums); err != nil || len(nums) != 2 {
			return 0, 0, false, invalid("value: want [low, high] in whole years")
		}
	case "gte", "gt", "lte", "lt", "eq":
		if err := json.Unmarshal(p.Value, &single); err != nil {
			return 0, 0, false, invalid("value: want a whole number of years")
		}
	default:
		return 0, 0, false, invalid("op %s does not apply to age (between, not_between, gte, gt, lte, lt, eq)", p.Op)
	}
	minAge, maxAge := 0, 200
	switch p.Op {
	case "between", "not_between":
		minAge, maxAge = nums[0], nums[1]
	case "gte":
		minAge = single
	case "gt":
		minAge = single + 1
	case "lte":
		maxAge = single
	case "lt":
		maxAge = single - 1
	case "eq":
		minAge, maxAge = single, single
	}
	if minAge < 0 || maxAge > 200 || minAge > maxAge {
		return 0, 0, false, invalid("age range [%d, %d] is empty or outside 0..200", minAge, maxAge)
	}
	youngest := yearsBefore(c.asOf, minAge)                  // born on or before
	oldest := yearsBefore(c.asOf, maxAge+1).AddDate(0, 0, 1) // born on or after
	hiDay, err := encode.DateOf(youngest)
	if err != nil {
		return 0, 0, false, invalid("age %d as of %s is before 1900", minAge, c.asOf.Format("2006-01-02"))
	}
	loDay, err := encode.DateOf(oldest)
	if err != nil {
		loDay = 0 // older than 1900-01-01 is below every encodable birth date
	}
	return loDay, hiDay, p.Op == "not_between", nil
}

// yearsBefore returns the latest birth date whose n-th birthday is on or before t. It is t moved n
// years back, except that a 29 February t in a year n years before that has none gives 28 February
// (time.AddDate would give 1 March, whose n-th birthday is still a day away).
func yearsBefore(t time.Time, n int) time.Time {
	d := t.AddDate(-n, 0, 0)
	if d.Day() != t.Day() {
		d = d.AddDate(0, 0, -d.Day())
	}
	return d
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

// setValue returns the pool slot of v, adding it when new.
func (c *compiler) setValue(v *big.Int) (int, error) {
	var e fr.Element
	e.SetBigInt(v)
	return slot(&c.setPool, e, c.s.SetValues, c.s.Circuit, "values in eq/ne/in/not_in predicates")
}

// family returns the pool slot of a code family of list li, adding it when new.
func (c *compiler) family(li int, iv interval) (int, error) {
	l := c.s.Lists[li]
	return slot(&c.families[li], iv, l.Families, c.s.Circuit, "code families on "+l.Name)
}

// valueRange returns the pool slot of a value range of list li, adding it when new.
func (c *compiler) valueRange(li int, iv interval) (int, error) {
	l := c.s.Lists[li]
	return slot(&c.ranges[li], iv, l.ValueRanges, c.s.Circuit, "value ranges on "+l.Name)
}

// listPredicate compiles `list match code [value] [within_days]`.
func (c *compiler) listPredicate(i int, p Predicate) error {
	li, l, ok := c.s.List(p.List)
	if !ok {
		return invalid("schema %s has no list %q", c.s.ID, p.List)
	}
	c.set(schema.PredField(i, "list"), 1)
	c.set(schema.PredField(i, "target"), uint64(li))
	switch p.Match {
	case "exists":
		c.set(schema.PredField(i, "match"), schema.MatchExists)
	case "none":
		c.set(schema.PredField(i, "match"), schema.MatchNone)
	case "latest":
		if !l.HasDate() {
			return invalid("latest needs dated entries; %s entries have no date", l.Name)
		}
		c.set(schema.PredField(i, "match"), schema.MatchLatest)
	default:
		return invalid("unknown match %q (exists, none, latest)", p.Match)
	}
	if len(p.Code) == 0 {
		return invalid("code: want at least one code family")
	}
	var scale *encode.Canonical
	for _, fam := range p.Code {
		iv, err := familyInterval(l.Code, fam)
		if err != nil {
			return invalid("code %q: %v", fam, err)
		}
		k, err := c.family(li, iv)
		if err != nil {
			return err
		}
		c.set(schema.PredField(i, fmt.Sprintf("family/%d", k)), 1)
		if l.Code == schema.LOINC {
			canon, ok := encode.CanonicalUnit(fam)
			if ok && scale != nil && len(p.Value) > 0 && (canon.Unit != scale.Unit || canon.Scale != scale.Scale) {
				return invalid("code: a value range needs codes of one unit; %s is in %s, %s in %s", scale.LOINC, scale.Unit, fam, canon.Unit)
			}
			if ok {
				scale = &canon
			}
		}
	}
	if len(p.Value) > 0 {
		if !l.Value {
			return invalid("value: %s entries carry no value", l.Name)
		}
		if scale == nil {
			return invalid("value: no canonical unit is known for these codes")
		}
		lo, hi, err := valueRange(scale, p.Value)
		if err != nil {
			return err
		}
		k, err := c.valueRange(li, interval{lo, hi})
		if err != nil {
			return err
		}
		c.set(schema.PredField(i, fmt.Sprintf("range/%d", k)), 1)
	}
	if p.WithinDays != nil {
		if !l.HasDate() {
			return invalid("within_days: %s entries have no date", l.Name)
		}
		if *p.WithinDays < 0 || *p.WithinDays >= schema.NoWindow {
			return invalid("within_days: want 0 to %d", schema.NoWindow-1)
		}
		c.set(schema.PredField(i, "within"), uint64(*p.WithinDays))
	}
	return nil
}

// valueRange reads a list predicate's value range [low, high], written in the canonical unit of the
// codes, as fixed point. The bounds are read as the decimals written (no binary floating point) and
// rounded inward: low up, high down, so a bound with more decimals than the code's scale never
// widens the range. A range that holds no value at that precision is refused.
func valueRange(scale *encode.Canonical, raw json.RawMessage) (lo, hi uint64, err error) {
	var rng []json.RawMessage
	if err := json.Unmarshal(raw, &rng); err != nil || len(rng) != 2 {
		return 0, 0, invalid("value: want [low, high] in %s", scale.Unit)
	}
	for i, r := range rng {
		if t := bytes.TrimSpace(r); len(t) == 0 || !(t[0] == '-' || t[0] >= '0' && t[0] <= '9') {
			return 0, 0, invalid("value[%d]: want a number in %s", i, scale.Unit)
		}
	}
	if lo, err = encode.FixedDecimal(scale.LOINC, string(bytes.TrimSpace(rng[0])), encode.RoundUp); err != nil {
		return 0, 0, invalid("value[0]: %v", err)
	}
	if hi, err = encode.FixedDecimal(scale.LOINC, string(bytes.TrimSpace(rng[1])), encode.RoundDown); err != nil {
		return 0, 0, invalid("value[1]: %v", err)
	}
	if lo > hi {
		return 0, 0, invalid("value: the range holds no value at the precision of %s (%d decimals in %s)", scale.LOINC, scale.Scale, scale.Unit)
	}
	return lo, hi, nil
}

// familyInterval encodes one code family of a code system as a closed interval.
func familyInterval(cs schema.CodeSystem, fam string) (interval, error) {
	var lo, hi uint64
	var err error
	switch cs {
	case schema.ICD10CM:
		lo, hi, err = encode.ICD10Family(fam)
	case schema.X12:
		lo, hi, err = encode.X12Family(fam)
	default:
		lo, err = credential.EncodeCode(cs, fam)
		hi = lo
	}
	return interval{lo, hi}, err
}
