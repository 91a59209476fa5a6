package policy

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/schema"
)

// Compiled is a policy compiled for one as-of date: its predicates as typed values (what the
// native evaluator reads) and its layout for the smallest circuit of its schema's ladder that holds
// it (what the circuit receives: For lays it out for any other).
type Compiled struct {
	Schema *schema.Schema
	Policy *Policy
	// Preds are the predicates in the policy's order.
	Preds []Pred
	// MaxAge bounds as_of − issued_on in days (NoMaxAge: unlimited).
	MaxAge uint64
	AsOf   uint64
	Scope  fr.Element
	// Assigned is the layout for the smallest circuit that holds the policy.
	Assigned *Assigned
}

// interval is a closed range [lo, hi] of encoded values.
type interval = Interval

// compiler compiles one policy's predicates into typed values.
type compiler struct {
	s    *schema.Schema
	asOf time.Time
	day  uint64 // asOf encoded
}

// Compile validates the policy against its schema and compiles it for asOf (YYYY-MM-DD): age bounds
// become birth-date bounds as of that date, every predicate becomes one slot of the policy vector,
// and the policy hash is H(policy tag, vector, as_of, scope).
func (p *Policy) Compile(asOf string) (*Compiled, error) {
	s, err := p.SchemaOf()
	if err != nil {
		return nil, err
	}
	return p.CompileFor(s, asOf)
}

// CompileFor compiles the policy against schema s (a shipped schema, or a variant of one for
// measurement) for asOf, as Compile does.
func (p *Policy) CompileFor(s *schema.Schema, asOf string) (*Compiled, error) {
	if s.ID != p.Schema {
		return nil, invalid("schema: the policy is for %s, not %s", p.Schema, s.ID)
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
	c := &compiler{s: s, asOf: asOfTime, day: asOfDay}
	out := &Compiled{Schema: s, Policy: p, AsOf: asOfDay, Scope: fieldhash.String(p.Scope)}
	needsFresh := false
	for i, pred := range p.Predicates {
		cp, err := c.predicate(i, pred)
		if err != nil {
			return nil, &PredicateError{Index: i, Predicate: pred.String(), Err: err}
		}
		if cp.List != nil && (cp.List.Match == None || cp.List.Window.Kind != NoWindow) {
			needsFresh = true
		}
		out.Preds = append(out.Preds, cp)
	}
	switch {
	case p.MaxCredentialAgeDays != nil:
		if *p.MaxCredentialAgeDays < 0 || *p.MaxCredentialAgeDays >= NoMaxAge {
			return nil, invalid("max_credential_age_days: want 0 to %d", NoMaxAge-1)
		}
		out.MaxAge = uint64(*p.MaxCredentialAgeDays)
	case needsFresh:
		out.MaxAge = DefaultMaxAge
	default:
		out.MaxAge = NoMaxAge
	}
	a, err := out.Smallest()
	if err != nil {
		return nil, err
	}
	out.Assigned = a
	return out, nil
}

func (c *compiler) predicate(i int, p Predicate) (Pred, error) {
	switch {
	case p.List != "" && p.Attribute == "" && p.Op == "":
		lp, err := c.listPredicate(p)
		return Pred{Index: i, List: lp}, err
	case p.Attribute != "" && p.List == "" && p.Match == "" && len(p.Code) == 0 && p.WithinDays == nil &&
		p.PresentWithinDays == nil && len(p.Status) == 0 && len(p.Verification) == 0:
		sp, err := c.scalarPredicate(p)
		return Pred{Index: i, Scalar: sp}, err
	}
	return Pred{}, invalid("give either attribute and op, or list, match and code")
}

// scalarPredicate compiles `attribute op value`: an ordered comparison becomes "x in [lo, hi]" or
// its negation; eq/ne/in/not_in on a hashed or enum attribute become set membership.
func (c *compiler) scalarPredicate(p Predicate) (*ScalarPred, error) {
	name := p.Attribute
	if name == "age" {
		idx, _, ok := c.s.Attribute("birth_date")
		if !ok {
			return nil, invalid("age needs a birth_date attribute, which schema %s lacks", c.s.ID)
		}
		lo, hi, negate, err := c.ageBounds(p)
		if err != nil {
			return nil, err
		}
		return &ScalarPred{Attr: idx, Lo: lo, Hi: hi, Negate: negate}, nil
	}
	idx, attr, ok := c.s.Attribute(name)
	if !ok {
		return nil, invalid("schema %s has no attribute %q", c.s.ID, name)
	}
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
	interval := func(lo, hi uint64, negate bool) (*ScalarPred, error) {
		return &ScalarPred{Attr: idx, Lo: lo, Hi: hi, Negate: negate}, nil
	}
	switch p.Op {
	case "eq", "ne", "in", "not_in":
		var vals []string
		if p.Op == "eq" || p.Op == "ne" {
			var v string
			if err := json.Unmarshal(p.Value, &v); err != nil {
				return nil, invalid("value: want a string")
			}
			vals = []string{v}
		} else if err := json.Unmarshal(p.Value, &vals); err != nil || len(vals) == 0 || len(vals) > MaxSetValues {
			return nil, invalid("value: want an array of 1 to %d strings", MaxSetValues)
		}
		sp := &ScalarPred{Attr: idx, Negate: p.Op == "ne" || p.Op == "not_in"}
		for _, v := range vals {
			enc, err := credential.EncodeScalar(attr, v)
			if err != nil {
				return nil, invalid("value: %v", err)
			}
			var e fr.Element
			e.SetBigInt(enc)
			if !containsElement(sp.Set, e) {
				sp.Set = append(sp.Set, e)
			}
		}
		return sp, nil
	}
	if !attr.Type.Ordered() {
		return nil, invalid("op %s: %s is a hashed string, only eq, ne, in and not_in apply", p.Op, name)
	}
	switch p.Op {
	case "lt", "lte", "gt", "gte":
		v, err := one()
		if err != nil {
			return nil, err
		}
		switch p.Op {
		case "lt":
			if v <= least {
				return nil, invalid("lt %s can never hold", compact(p.Value))
			}
			return interval(0, v-1, false)
		case "lte":
			return interval(0, v, false)
		case "gt":
			if v >= most {
				return nil, invalid("gt %s can never hold", compact(p.Value))
			}
			return interval(v+1, max, false)
		default:
			return interval(v, max, false)
		}
	case "between", "not_between":
		var pair []string
		if err := json.Unmarshal(p.Value, &pair); err != nil || len(pair) != 2 {
			return nil, invalid("value: want [low, high]")
		}
		lo, err := credential.EncodeScalar(attr, pair[0])
		if err != nil {
			return nil, invalid("value[0]: %v", err)
		}
		hi, err := credential.EncodeScalar(attr, pair[1])
		if err != nil {
			return nil, invalid("value[1]: %v", err)
		}
		if lo.Cmp(hi) > 0 {
			return nil, invalid("value: low above high")
		}
		return interval(lo.Uint64(), hi.Uint64(), p.Op == "not_between")
	}
	return nil, invalid("unknown op %q (eq, ne, lt, lte, gt, gte, between, not_between, in, not_in)", p.Op)
}

func containsElement(set []fr.Element, e fr.Element) bool {
	for _, x := range set {
		if x.Equal(&e) {
			return true
		}
	}
	return false
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

// listPredicate compiles `list match code [value] [within_days | present_within_days] [status]
// [verification]`.
func (c *compiler) listPredicate(p Predicate) (*ListPred, error) {
	li, l, ok := c.s.List(p.List)
	if !ok {
		return nil, invalid("schema %s has no list %q", c.s.ID, p.List)
	}
	lp := &ListPred{List: li}
	switch p.Match {
	case "exists":
		lp.Match = Exists
	case "none":
		lp.Match = None
	case "latest":
		if !l.HasDate() {
			return nil, invalid("latest needs dated entries; %s entries have no date", l.Name)
		}
		lp.Match = Latest
	default:
		return nil, invalid("unknown match %q (exists, none, latest)", p.Match)
	}
	if len(p.Code) == 0 {
		return nil, invalid("code: want at least one code family")
	}
	var scale *encode.Canonical
	for _, fam := range p.Code {
		iv, err := familyInterval(l.Code, fam)
		if err != nil {
			return nil, invalid("code %q: %v", fam, err)
		}
		if !containsInterval(lp.Families, iv) {
			lp.Families = append(lp.Families, iv)
		}
		if l.Code == schema.LOINC {
			canon, ok := encode.CanonicalUnit(fam)
			if ok && scale != nil && len(p.Value) > 0 && (canon.Unit != scale.Unit || canon.Scale != scale.Scale) {
				return nil, invalid("code: a value range needs codes of one unit; %s is in %s, %s in %s", scale.LOINC, scale.Unit, fam, canon.Unit)
			}
			if ok {
				scale = &canon
			}
		}
	}
	if len(p.Value) > 0 {
		if !l.Value {
			return nil, invalid("value: %s entries carry no value", l.Name)
		}
		if scale == nil {
			return nil, invalid("value: no canonical unit is known for these codes")
		}
		lo, hi, err := valueRange(scale, p.Value)
		if err != nil {
			return nil, err
		}
		lp.Range = &Interval{lo, hi}
	}
	if lp.Match == None && lp.Range != nil {
		return nil, invalid("value: none counts every entry of the family in the window, whatever its value (a value range is for exists and latest)")
	}
	if lp.Match == Latest {
		for _, f := range lp.Families {
			if f.Lo != f.Hi {
				return nil, invalid("code: latest needs exact codes (a %s family holds several codes: use exists or none)", l.Code)
			}
		}
	}
	var err error
	if lp.Window, err = c.window(l, p); err != nil {
		return nil, err
	}
	if lp.Status, lp.Verification, err = statusMasks(l, lp.Match, p); err != nil {
		return nil, err
	}
	return lp, nil
}

// window compiles within_days (an event window) or present_within_days (a state window) into
// its start date, max(as_of − N, 0).
func (c *compiler) window(l schema.List, p Predicate) (Window, error) {
	var days *int
	w := Window{}
	switch {
	case p.WithinDays != nil && p.PresentWithinDays != nil:
		return w, invalid("give at most one of within_days and present_within_days")
	case p.WithinDays != nil:
		days, w.Kind = p.WithinDays, EventWindow
		if !l.HasDate() {
			return w, invalid("within_days: %s entries have no date", l.Name)
		}
	case p.PresentWithinDays != nil:
		days, w.Kind = p.PresentWithinDays, StateWindow
		if !l.HasEnd() {
			return w, invalid("present_within_days: %s entries are events, not periods (use within_days)", l.Name)
		}
	default:
		return w, nil
	}
	if *days < 0 || *days > encode.MaxDate {
		return w, invalid("%s: want 0 to %d days", map[WindowKind]string{EventWindow: "within_days", StateWindow: "present_within_days"}[w.Kind], encode.MaxDate)
	}
	if uint64(*days) < c.day {
		w.Start = c.day - uint64(*days)
	}
	return w, nil
}

// statusMasks compiles a list predicate's status and verification fields into masks. `exists`
// counts the schema's default statuses unless the predicate names others; `none` and `latest`
// count every entry, so they take neither field.
func statusMasks(l schema.List, m Match, p Predicate) (status, verification uint64, err error) {
	if m != Exists && (len(p.Status) > 0 || len(p.Verification) > 0) {
		return 0, 0, invalid("status and verification apply to exists; none and latest count every signed entry")
	}
	mask := func(e *schema.EntryEnum, named []string, what string) (uint64, error) {
		if e == nil {
			if len(named) > 0 {
				return 0, invalid("%s: %s entries have no %s", what, l.Name, what)
			}
			return 0, nil
		}
		if m != Exists {
			return 1<<len(e.Values) - 1, nil
		}
		if len(named) == 0 {
			named = e.Counted
		}
		v, err := e.Mask(named)
		if err != nil {
			return 0, invalid("%s: %v", what, err)
		}
		return v, nil
	}
	if status, err = mask(l.Status, p.Status, "status"); err != nil {
		return 0, 0, err
	}
	verification, err = mask(l.Verification, p.Verification, "verification")
	return status, verification, err
}

func containsInterval(ivs []Interval, iv Interval) bool {
	for _, x := range ivs {
		if x == iv {
			return true
		}
	}
	return false
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
	return Interval{lo, hi}, err
}
