package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// Unsupported is an eligibility criterion PolicyFromFHIR cannot express as a policy predicate.
// Path names it ("Group[0].characteristic[3]"), Text is its description or code display as the
// verifier wrote it (never patient data), Reason says why.
type Unsupported struct {
	Path   string `json:"path"`
	Text   string `json:"text,omitempty"`
	Reason string `json:"reason"`
}

func (u Unsupported) String() string {
	if u.Text != "" {
		return fmt.Sprintf("%s (%s): %s", u.Path, u.Text, u.Reason)
	}
	return u.Path + ": " + u.Reason
}

// Codes that identify what a characteristic is about when its value does not say it.
var (
	ageCodes = map[string]bool{
		SystemLOINC + "|30525-0": true, SystemLOINC + "|21612-7": true, SystemLOINC + "|29553-5": true,
		SystemSNOMED + "|397669002": true, SystemSNOMED + "|424144002": true,
	}
	sexCodes = map[string]bool{
		SystemLOINC + "|46098-0": true, SystemLOINC + "|76689-9": true, SystemLOINC + "|21840-4": true,
		SystemSNOMED + "|263495000": true, SystemSNOMED + "|734000001": true,
	}
	nctPattern = regexp.MustCompile(`^NCT[0-9]{8}$`)
)

// daysPer converts UCUM time units to days (UCUM: mo = 30.4375 d, a = 365.25 d); results are
// rounded to whole days.
var daysPer = map[string]float64{"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "mo": 30.4375, "month": 30.4375, "months": 30.4375, "a": 365.25, "year": 365.25, "years": 365.25, "yr": 365.25}

// yearUnits are the units an age may be written in.
var yearUnits = map[string]bool{"a": true, "yr": true, "y": true, "year": true, "years": true}

// PolicyFromFHIR turns eligibility criteria into a clinical POLICY.json. Input: a Bundle (or a
// single resource) holding an R4 ResearchStudy whose enrollment refers to a Group, an R5
// ResearchStudy whose recruitment.eligibility refers to a Group or an EvidenceVariable, or one
// Group or EvidenceVariable on its own.
//
// Group characteristics (code, value[x], exclude; all of them must hold) and R5 EvidenceVariable
// characteristics (definitionByTypeAndValue, definitionCodeableConcept, definitionByCombination
// all-of and any-of; exclude; timeFromEvent as the window) map as follows:
//
//   - age (code LOINC 30525-0/21612-7/29553-5 or SNOMED CT 397669002/424144002) with a Range or a
//     Quantity (comparator) in years → `age` between/gte/lte/gt/lt/eq (excluded: the complement);
//   - sex (code LOINC 46098-0/76689-9/21840-4 or SNOMED CT 263495000/734000001, or a value from
//     http://hl7.org/fhir/administrative-gender) → `sex` in (excluded: not_in);
//   - a value coded in ICD-10-CM (each code is a family: "E11" matches E11.x), or in SNOMED CT
//     with a family in the shipped map → conditions exists (excluded: none);
//   - a value coded in RxNorm → medications exists (excluded: none);
//   - a LOINC code with a canonical unit and a Range or Quantity value → observations latest with
//     the value range converted to the canonical unit;
//   - valueBoolean on a condition, medication or LOINC code → exists (true) or none (false);
//   - any-of over code sets of one list → one predicate with all the families; an excluded any-of
//     → each part excluded; timeFromEvent ending at the event (e.g. Range −6 mo..0) → within_days
//     (units d, wk, mo = 30.4375 d, a = 365.25 d, rounded).
//
// Everything else (references to other definitions, expressions, at-least/at-most, counts,
// durations, absolute periods, excluded value ranges, coded observation results, units without a
// conversion, SNOMED CT concepts without a family) is returned as Unsupported and left out of the
// policy. Structural errors (wrong JSON types, missing required elements) are *Error wrapping
// ErrMalformed. The policy's scope is "trial:NCT…" from the ResearchStudy's ClinicalTrials.gov
// identifier, else "trial:" + its id, else "criteria:" + the Group's or EvidenceVariable's id,
// else "" (the caller must set one). The policy is validated against the clinical schema.
func PolicyFromFHIR(resources []byte) (*policy.Policy, []Unsupported, error) {
	b, err := readCriteria(resources)
	if err != nil {
		return nil, nil, err
	}
	c := &criteria{b: b}
	sources, scope, err := c.sources()
	if err != nil {
		return nil, nil, err
	}
	var preds []policy.Predicate
	for _, src := range sources {
		ps, err := c.source(src)
		if err != nil {
			return nil, nil, err
		}
		preds = append(preds, ps...)
	}
	if len(preds) == 0 {
		return nil, c.unsupported, &Error{Path: sources[0].path, Reason: "no criterion could be expressed as a policy predicate", Err: policy.ErrInvalid}
	}
	p := &policy.Policy{Schema: "clinical", Scope: scope, Predicates: preds}
	check := *p
	if check.Scope == "" {
		check.Scope = "unset"
	}
	if err := check.Validate(); err != nil {
		return nil, c.unsupported, err
	}
	return p, c.unsupported, nil
}

// readCriteria reads a Bundle, or wraps a single resource as a one-entry bundle.
func readCriteria(data []byte) (*bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, &Error{Path: "input", Reason: fmt.Sprintf("larger than %d bytes", MaxBundleSize)}
	}
	v, err := parseJSON(data, "input")
	if err != nil {
		return nil, err
	}
	root := node{v: v, path: "input", ok: true}
	if err := root.isObject(); err != nil {
		return nil, err
	}
	typ, err := root.str("resourceType")
	if err != nil {
		return nil, err
	}
	if typ == "Bundle" {
		return readBundle(data)
	}
	if !isResourceName(typ) {
		return nil, root.get("resourceType").fail("not a FHIR resource type name")
	}
	id, _, err := root.optStr("id")
	if err != nil {
		return nil, err
	}
	r := &resource{typ: typ, node: node{v: v, ok: true, id: id, path: typ + "[0]"}}
	b := &bundle{byType: map[string][]*resource{typ: {r}}, byURL: map[string]*resource{}}
	if id != "" {
		b.byURL[typ+"/"+id] = r
	}
	return b, nil
}

type criteria struct {
	b           *bundle
	unsupported []Unsupported
}

// sources finds the Groups and EvidenceVariables that hold the criteria, and the scope.
func (c *criteria) sources() ([]node, string, error) {
	studies := c.b.byType["ResearchStudy"]
	if len(studies) > 1 {
		return nil, "", &Error{Path: "Bundle.entry", Reason: "more than one ResearchStudy; give one study's criteria"}
	}
	if len(studies) == 1 {
		st := studies[0]
		scope, err := studyScope(st.node)
		if err != nil {
			return nil, "", err
		}
		refs, err := st.objects("enrollment") // R4
		if err != nil {
			return nil, "", err
		}
		if rec, ok, err := st.optObject("recruitment"); err != nil { // R5
			return nil, "", err
		} else if ok {
			if el, ok, err := rec.optObject("eligibility"); err != nil {
				return nil, "", err
			} else if ok {
				refs = append(refs, el)
			}
		}
		var out []node
		for _, ref := range refs {
			s, err := ref.str("reference")
			if err != nil {
				return nil, "", err
			}
			var target node
			if id, local := strings.CutPrefix(s, "#"); local {
				t, ok := contained(st.node, id)
				if !ok {
					return nil, "", ref.get("reference").fail("no contained resource with this id")
				}
				target = t
			} else if t := c.b.resolve(s); t != nil {
				target = t.node
			} else {
				return nil, "", ref.get("reference").fail("does not resolve to a resource in the input")
			}
			typ, err := target.str("resourceType")
			if err != nil {
				return nil, "", err
			}
			if typ != "Group" && typ != "EvidenceVariable" {
				return nil, "", ref.get("reference").fail("does not refer to a Group or EvidenceVariable")
			}
			out = append(out, target)
		}
		if len(out) > 0 {
			return out, scope, nil
		}
		srcs, _, err := c.standalone()
		return srcs, scope, err
	}
	return c.standalone()
}

// standalone is the one Group or EvidenceVariable of an input without a ResearchStudy.
func (c *criteria) standalone() ([]node, string, error) {
	var out []*resource
	out = append(out, c.b.byType["Group"]...)
	out = append(out, c.b.byType["EvidenceVariable"]...)
	switch {
	case len(out) == 0:
		return nil, "", &Error{Path: "input", Reason: "no ResearchStudy, Group or EvidenceVariable"}
	case len(out) > 1:
		return nil, "", &Error{Path: "input", Reason: "more than one Group or EvidenceVariable and no ResearchStudy to choose among them"}
	}
	scope := ""
	if out[0].id != "" {
		scope = "criteria:" + out[0].typ + "/" + out[0].id
	}
	return []node{out[0].node}, scope, nil
}

// studyScope is "trial:NCT…" from a ClinicalTrials.gov identifier, else "trial:" + id.
func studyScope(st node) (string, error) {
	ids, err := st.objects("identifier")
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		sys, _, err := id.optStr("system")
		if err != nil {
			return "", err
		}
		v, _, err := id.optStr("value")
		if err != nil {
			return "", err
		}
		if nctPattern.MatchString(v) || (strings.Contains(sys, "clinicaltrials.gov") && v != "") {
			return "trial:" + v, nil
		}
	}
	if st.id != "" {
		return "trial:" + st.id, nil
	}
	return "", nil
}

// source converts a Group or an EvidenceVariable.
func (c *criteria) source(n node) ([]policy.Predicate, error) {
	typ, err := n.str("resourceType")
	if err != nil {
		return nil, err
	}
	chars, err := n.objects("characteristic")
	if err != nil {
		return nil, err
	}
	if len(chars) == 0 {
		return nil, n.get("characteristic").fail("no characteristic to express")
	}
	conv := c.groupCharacteristic
	if typ == "EvidenceVariable" {
		if _, err := n.str("status"); err != nil {
			return nil, err
		}
		conv = c.evCharacteristic
	} else if _, err := n.str("type"); err != nil {
		return nil, err
	}
	combine := "all-of"
	if typ == "Group" && n.has("combinationMethod") { // R5 Group
		if combine, err = n.statusCode("combinationMethod", "all-of", "any-of", "at-least", "at-most", "except-subset"); err != nil {
			return nil, err
		}
	}
	switch combine {
	case "all-of":
		var out []policy.Predicate
		for _, ch := range chars {
			ps, err := conv(ch, false)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
		return out, nil
	case "any-of":
		return c.anyOf(n.get("characteristic"), chars, conv, false)
	}
	c.skip(n.get("combinationMethod"), "", "only all-of and any-of combinations can be expressed")
	return nil, nil
}

// skip records an unsupported criterion.
func (c *criteria) skip(n node, text, reason string) {
	if r := []rune(text); len(r) > 80 {
		text = string(r[:77]) + "..."
	}
	c.unsupported = append(c.unsupported, Unsupported{Path: n.path, Text: text, Reason: reason})
}

// converter turns one characteristic into predicates (nil when it recorded an Unsupported);
// negate asks for its exclusion.
type converter func(ch node, negate bool) ([]policy.Predicate, error)

// groupCharacteristic converts a Group.characteristic (code, value[x], exclude).
func (c *criteria) groupCharacteristic(ch node, negate bool) ([]policy.Predicate, error) {
	code, err := ch.object("code")
	if err != nil {
		return nil, err
	}
	exclude, ok, err := ch.optBool("exclude")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ch.get("exclude").fail("required element missing")
	}
	text := describe(ch, code)
	for _, el := range []string{"period", "offset", "instant", "duration", "determinedByReference", "determinedByExpression"} {
		if ch.has(el) {
			c.skip(ch, text, el+" cannot be expressed (policies use within_days relative to the as-of date)")
			return nil, nil
		}
	}
	return c.typeAndValue(ch, code, ch, exclude != negate, nil, text)
}

// evCharacteristic converts an R5 EvidenceVariable.characteristic.
func (c *criteria) evCharacteristic(ch node, negate bool) ([]policy.Predicate, error) {
	exclude, _, err := ch.optBool("exclude")
	if err != nil {
		return nil, err
	}
	exclude = exclude != negate
	text, _, err := ch.optStr("description")
	if err != nil {
		return nil, err
	}
	for _, el := range []string{"instancesQuantity", "instancesRange", "durationQuantity", "durationRange", "timeFromStart", "participantEffectiveDateTime", "participantEffectivePeriod", "participantEffectiveDuration", "participantEffectiveTiming"} {
		if ch.has(el) {
			c.skip(ch, text, el+" (counts, durations, absolute times) cannot be expressed")
			return nil, nil
		}
	}
	within, reason, err := timeFromEvent(ch)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		c.skip(ch, text, reason)
		return nil, nil
	}
	if tv, ok, err := ch.optObject("definitionByTypeAndValue"); err != nil {
		return nil, err
	} else if ok {
		typ, err := tv.object("type")
		if err != nil {
			return nil, err
		}
		if text == "" {
			text = describe(tv, typ)
		}
		for _, el := range []string{"offset", "device"} {
			if tv.has(el) {
				c.skip(ch, text, "definitionByTypeAndValue."+el+" cannot be expressed")
				return nil, nil
			}
		}
		return c.typeAndValue(ch, typ, tv, exclude, within, text)
	}
	if cc, ok, err := ch.optObject("definitionCodeableConcept"); err != nil {
		return nil, err
	} else if ok {
		if text == "" {
			text = describe(ch, cc)
		}
		return c.codeOnly(ch, cc, exclude, within, text)
	}
	if comb, ok, err := ch.optObject("definitionByCombination"); err != nil {
		return nil, err
	} else if ok {
		if within != nil {
			c.skip(ch, text, "timeFromEvent on a combination cannot be expressed")
			return nil, nil
		}
		how, err := comb.statusCode("code", "all-of", "any-of", "at-least", "at-most", "statistical", "net-effect", "dataset")
		if err != nil {
			return nil, err
		}
		subs, err := comb.requiredObjects("characteristic")
		if err != nil {
			return nil, err
		}
		switch {
		case how == "all-of" && (!exclude || len(subs) == 1):
			var out []policy.Predicate
			for _, sub := range subs {
				ps, err := c.evCharacteristic(sub, exclude)
				if err != nil {
					return nil, err
				}
				out = append(out, ps...)
			}
			return out, nil
		case how == "all-of":
			c.skip(ch, text, "an excluded all-of (not all of these) cannot be expressed")
			return nil, nil
		case how == "any-of":
			return c.anyOf(ch, subs, c.evCharacteristic, exclude)
		}
		c.skip(ch, text, "definitionByCombination "+how+" cannot be expressed (only all-of and any-of)")
		return nil, nil
	}
	for _, el := range []string{"definitionReference", "definitionCanonical", "definitionExpression", "definitionId", "definitionDataRequirement", "definitionTriggerDefinition"} {
		if ch.has(el) {
			c.skip(ch, text, el+" cannot be expressed (only definitionByTypeAndValue, definitionCodeableConcept and definitionByCombination)")
			return nil, nil
		}
	}
	return nil, ch.get("definition[x]").fail("required element missing")
}

// anyOf converts a disjunction. Excluded, it is the conjunction of the excluded parts. Otherwise
// every part must be one exists predicate on the same list without a value range and with the
// same window: they merge into one predicate over all their code families.
func (c *criteria) anyOf(at node, subs []node, conv converter, exclude bool) ([]policy.Predicate, error) {
	if exclude {
		var out []policy.Predicate
		for _, sub := range subs {
			ps, err := conv(sub, true)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
		return out, nil
	}
	saved := len(c.unsupported)
	var merged *policy.Predicate
	ok := true
	for _, sub := range subs {
		ps, err := conv(sub, false)
		if err != nil {
			return nil, err
		}
		if len(ps) != 1 || ps[0].List == "" || ps[0].Match != "exists" || len(ps[0].Value) > 0 {
			ok = false
			continue
		}
		p := ps[0]
		switch {
		case merged == nil:
			merged = &p
		case merged.List != p.List || !sameWithin(merged.WithinDays, p.WithinDays):
			ok = false
		default:
			for _, code := range p.Code {
				if !contains(merged.Code, code) {
					merged.Code = append(merged.Code, code)
				}
			}
		}
	}
	if !ok || merged == nil || len(c.unsupported) > saved {
		c.unsupported = c.unsupported[:saved]
		text := ""
		if at.has("description") {
			text, _, _ = at.optStr("description")
		}
		c.skip(at, text, "any-of can only be expressed over code sets of one list (conditions, medications or observations) with the same window")
		return nil, nil
	}
	return []policy.Predicate{*merged}, nil
}

func sameWithin(a, b *int) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// describe is a characteristic's description, else its code's text or first display.
func describe(ch, code node) string {
	if d, ok, _ := ch.optStr("description"); ok {
		return d
	}
	if t, ok, _ := code.optStr("text"); ok {
		return t
	}
	if cs, err := code.codings(); err == nil {
		for _, cd := range cs {
			if cd.display != "" {
				return cd.display
			}
		}
		if len(cs) > 0 {
			return cs[0].system + "|" + cs[0].code
		}
	}
	return ""
}

// timeFromEvent reads an R5 characteristic's window: one timeFromEvent whose Range ends at the
// event (high absent or 0) or whose Quantity gives the window's length. reason is set when it
// cannot be expressed.
func timeFromEvent(ch node) (*int, string, error) {
	tfes, err := ch.objects("timeFromEvent")
	if err != nil || tfes == nil {
		return nil, "", err
	}
	if len(tfes) > 1 {
		return nil, "more than one timeFromEvent cannot be expressed", nil
	}
	t := tfes[0]
	var length float64
	var unitNode node
	if q, ok, err := t.optObject("quantity"); err != nil {
		return nil, "", err
	} else if ok {
		v, err := q.number("value")
		if err != nil {
			return nil, "", err
		}
		length, unitNode = math.Abs(v), q
	} else if r, ok, err := t.optObject("range"); err != nil {
		return nil, "", err
	} else if ok {
		if hi, ok, err := r.optObject("high"); err != nil {
			return nil, "", err
		} else if ok {
			v, err := hi.number("value")
			if err != nil {
				return nil, "", err
			}
			if v != 0 {
				return nil, "a timeFromEvent range that does not end at the event cannot be expressed", nil
			}
		}
		lo, err := r.object("low")
		if err != nil {
			return nil, "", err
		}
		v, err := lo.number("value")
		if err != nil {
			return nil, "", err
		}
		length, unitNode = math.Abs(v), lo
	} else {
		return nil, "timeFromEvent without quantity or range cannot be expressed", nil
	}
	unit := quantityUnit(unitNode)
	f, ok := daysPer[unit]
	if !ok {
		return nil, "timeFromEvent unit is not a time unit (d, wk, mo, a)", nil
	}
	days := int(math.Round(length * f))
	if days > encode.MaxDate {
		return nil, "timeFromEvent window too long", nil
	}
	return &days, "", nil
}

// quantityUnit is a Quantity's UCUM code (system UCUM), else its unit ("" when neither).
func quantityUnit(q node) string {
	sys, _, _ := q.optStr("system")
	if code, ok, _ := q.optStr("code"); ok && sys == SystemUCUM {
		return code
	}
	unit, _, _ := q.optStr("unit")
	return unit
}

// conceptKey lists a concept's codings as "system|code".
func conceptKeys(cs []coding) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.system + "|" + c.code
	}
	return out
}

func anyIn(keys []string, set map[string]bool) bool {
	for _, k := range keys {
		if set[k] {
			return true
		}
	}
	return false
}

// typeAndValue converts a characteristic given as a type (a CodeableConcept) and a value[x] held
// by holder.
func (c *criteria) typeAndValue(ch, typ, holder node, exclude bool, within *int, text string) ([]policy.Predicate, error) {
	tcs, err := typ.codings()
	if err != nil {
		return nil, err
	}
	keys := conceptKeys(tcs)
	var vcs []coding
	hasCC := false
	if vc, ok, err := holder.optObject("valueCodeableConcept"); err != nil {
		return nil, err
	} else if ok {
		if vcs, err = vc.codings(); err != nil {
			return nil, err
		}
		hasCC = true
	}
	scalarWindow := func() bool {
		if within != nil {
			c.skip(ch, text, "a window (timeFromEvent) on age or sex cannot be expressed")
			return false
		}
		return true
	}
	switch {
	case anyIn(keys, ageCodes):
		if !scalarWindow() {
			return nil, nil
		}
		return c.age(ch, holder, exclude, text)
	case anyIn(keys, sexCodes) || len(in(vcs, SystemGender)) > 0:
		if !scalarWindow() {
			return nil, nil
		}
		if !hasCC || len(in(vcs, SystemGender)) == 0 {
			c.skip(ch, text, "sex needs a valueCodeableConcept from "+SystemGender)
			return nil, nil
		}
		var vals []string
		for _, cd := range in(vcs, SystemGender) {
			if !contains([]string{"male", "female", "other", "unknown"}, cd.code) {
				return nil, cd.n.get("code").fail("not an administrative-gender code")
			}
			vals = append(vals, cd.code)
		}
		op := "in"
		if exclude {
			op = "not_in"
		}
		v, _ := json.Marshal(vals)
		return []policy.Predicate{{Attribute: "sex", Op: op, Value: v}}, nil
	case hasCC:
		if len(in(tcs, SystemLOINC)) > 0 && len(in(vcs, SystemICD10CM))+len(in(vcs, SystemRxNorm)) == 0 {
			c.skip(ch, text, "a coded observation result cannot be proved (observations carry numbers)")
			return nil, nil
		}
		return c.codeOnly(ch, holder.get("valueCodeableConcept"), exclude, within, text)
	case holder.has("valueQuantity") || holder.has("valueRange"):
		if exclude {
			c.skip(ch, text, "an excluded value range cannot be expressed")
			return nil, nil
		}
		return c.observationRange(ch, tcs, holder, within, text)
	case holder.has("valueBoolean"):
		v, _, err := holder.optBool("valueBoolean")
		if err != nil {
			return nil, err
		}
		return c.codeOnly(ch, typ, exclude == v, within, text)
	}
	for _, t := range []string{"valueReference", "valueId", "valueCanonical", "valueUri", "valueExpression"} {
		if holder.has(t) {
			c.skip(ch, text, t+" cannot be expressed")
			return nil, nil
		}
	}
	return nil, holder.get("value[x]").fail("required element missing")
}

// codeOnly converts "has a record coded cc" (conditions, medications or observations exists; none
// when exclude).
func (c *criteria) codeOnly(ch, cc node, exclude bool, within *int, text string) ([]policy.Predicate, error) {
	cs, err := cc.codings()
	if err != nil {
		return nil, err
	}
	list := ""
	var fams []string
	add := func(l, fam string) {
		if list == "" {
			list = l
		}
		if l == list && !contains(fams, fam) {
			fams = append(fams, fam)
		}
	}
	for _, cd := range in(cs, SystemICD10CM) {
		if _, _, err := encode.ICD10Family(cd.code); err != nil {
			return nil, cd.n.get("code").failErr(err, "not a valid ICD-10-CM code or family")
		}
		add("conditions", strings.ToUpper(cd.code))
	}
	if list == "" {
		for _, cd := range in(cs, SystemSNOMED) {
			m, ok := SNOMEDToICD10CM(cd.code)
			if !ok || m.Family == "" {
				c.skip(ch, text, "SNOMED CT concept "+cd.code+" has no ICD-10-CM family in the shipped map")
				return nil, nil
			}
			add("conditions", m.Family)
		}
	}
	if list == "" {
		for _, cd := range in(cs, SystemRxNorm) {
			norm, err := credential.NormaliseCode(schema.RxNorm, cd.code)
			if err != nil {
				return nil, cd.n.get("code").failErr(err, "not a valid RxNorm concept id")
			}
			add("medications", norm)
		}
	}
	if list == "" {
		for _, cd := range in(cs, SystemLOINC) {
			if _, err := encode.LOINC(cd.code); err != nil {
				return nil, cd.n.get("code").failErr(err, "not a valid LOINC code")
			}
			add("observations", cd.code)
		}
	}
	if list == "" {
		c.skip(ch, text, "no code zkhealth can prove (ICD-10-CM, SNOMED CT in the shipped map, RxNorm or LOINC)")
		return nil, nil
	}
	match := "exists"
	if exclude {
		match = "none"
	}
	return []policy.Predicate{{List: list, Match: match, Code: fams, WithinDays: within}}, nil
}

// observationRange converts a LOINC code with a Quantity or Range value into "latest value in
// range", converted to the code's canonical unit.
func (c *criteria) observationRange(ch node, tcs []coding, holder node, within *int, text string) ([]policy.Predicate, error) {
	code := ""
	for _, cd := range in(tcs, SystemLOINC) {
		if _, ok := encode.CanonicalUnit(cd.code); ok {
			code = cd.code
			break
		}
	}
	if code == "" {
		c.skip(ch, text, "a value range needs a LOINC code with a known canonical unit")
		return nil, nil
	}
	top := uint64(math.MaxUint32)
	lo, hi := uint64(0), top
	// bound reads one bound rounded as round says: inward, so the range never admits a value the
	// criterion excludes (DESIGN.md: value bounds never widen).
	bound := func(q node, round encode.Rounding) (uint64, string, error) {
		v, err := q.number("value")
		if err != nil {
			return 0, "", err
		}
		unit := quantityUnit(q)
		if unit == "" {
			canon, _ := encode.CanonicalUnit(code)
			unit = canon.Unit
		}
		f, err := encode.QuantityBound(code, v, unit, round)
		switch {
		case errors.Is(err, encode.ErrUnknownUnit):
			return 0, "the unit has no known conversion to the canonical unit of " + code, nil
		case err != nil:
			return 0, "the bound is not representable", nil
		}
		return f, "", nil
	}
	l, h, reason, present, err := valueBounds(holder, bound)
	if err != nil {
		return nil, err
	}
	if !present {
		_, err := holder.object("valueQuantity") // the error names the missing value
		return nil, err
	}
	if reason != "" {
		c.skip(ch, text, reason)
		return nil, nil
	}
	if l != nil {
		lo = *l
	}
	if h != nil {
		hi = *h
	}
	if lo > hi || lo > top {
		c.skip(ch, text, "the value range is empty")
		return nil, nil
	}
	flo, _ := encode.Float(code, lo)
	fhi, _ := encode.Float(code, hi)
	v, _ := json.Marshal([]float64{flo, fhi})
	return []policy.Predicate{{List: "observations", Match: "latest", Code: []string{code}, Value: v, WithinDays: within}}, nil
}

// age converts an age characteristic (Range or Quantity in whole years).
func (c *criteria) age(ch, holder node, exclude bool, text string) ([]policy.Predicate, error) {
	years := func(q node, _ encode.Rounding) (int, string, error) {
		v, err := q.number("value")
		if err != nil {
			return 0, "", err
		}
		if !yearUnits[quantityUnit(q)] {
			return 0, "an age must be in years (UCUM a)", nil
		}
		if v != math.Trunc(v) || v < 0 || v > 200 {
			return 0, "an age must be a whole number of years from 0 to 200", nil
		}
		return int(v), "", nil
	}
	lo, hi, reason, present, err := valueBounds(holder, years)
	if err != nil {
		return nil, err
	}
	if !present {
		c.skip(ch, text, "an age needs a valueRange or valueQuantity in years")
		return nil, nil
	}
	if reason != "" {
		c.skip(ch, text, reason)
		return nil, nil
	}
	var op string
	var val any
	switch {
	case lo != nil && hi != nil:
		op, val = "between", []int{*lo, *hi}
		if exclude {
			op = "not_between"
		}
	case lo != nil && !exclude:
		op, val = "gte", *lo
	case lo != nil:
		op, val = "lt", *lo
	case hi != nil && !exclude:
		op, val = "lte", *hi
	case hi != nil:
		op, val = "gt", *hi
	default:
		c.skip(ch, text, "an age range needs a low or a high bound")
		return nil, nil
	}
	v, _ := json.Marshal(val)
	return []policy.Predicate{{Attribute: "age", Op: op, Value: v}}, nil
}

// valueBounds reads a characteristic's value as closed bounds: a valueRange (low, high; either may
// be absent, an open bound is nil) or a valueQuantity with an optional comparator. read converts one
// Quantity, rounding a value between two representable ones as it is told: a low bound up and a high
// bound down (integer reads ignore it); a non-empty reason says why it cannot (the criterion is then
// reported unsupported). present is false when the holder has neither value.
func valueBounds[T ~int | ~uint64](holder node, read func(node, encode.Rounding) (T, string, error)) (lo, hi *T, reason string, present bool, err error) {
	if r, ok, err := holder.optObject("valueRange"); err != nil {
		return nil, nil, "", false, err
	} else if ok {
		for _, side := range []string{"low", "high"} {
			q, ok, err := r.optObject(side)
			if err != nil {
				return nil, nil, "", true, err
			}
			if !ok {
				continue
			}
			round := encode.RoundUp
			if side == "high" {
				round = encode.RoundDown
			}
			v, reason, err := read(q, round)
			if err != nil || reason != "" {
				return nil, nil, reason, true, err
			}
			if side == "low" {
				lo = &v
			} else {
				hi = &v
			}
		}
		return lo, hi, "", true, nil
	}
	q, ok, err := holder.optObject("valueQuantity")
	if err != nil || !ok {
		return nil, nil, "", false, err
	}
	cmp := ""
	if q.has("comparator") {
		if cmp, err = q.statusCode("comparator", "<", "<=", ">=", ">"); err != nil {
			return nil, nil, "", true, err
		}
	}
	// up and down are the value rounded up and down to the encoding's precision (equal when it is
	// representable); a strict comparison steps past the value itself.
	up, reason, err := read(q, encode.RoundUp)
	if err != nil || reason != "" {
		return nil, nil, reason, true, err
	}
	down, reason, err := read(q, encode.RoundDown)
	if err != nil || reason != "" {
		return nil, nil, reason, true, err
	}
	switch cmp {
	case "":
		lo, hi = &up, &down
	case ">=":
		lo = &up
	case ">":
		w := down + 1
		lo = &w
	case "<=":
		hi = &down
	case "<":
		if up == 0 {
			return nil, nil, "< 0 can never hold", true, nil
		}
		w := up - 1
		hi = &w
	}
	return lo, hi, "", true, nil
}
