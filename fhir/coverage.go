package fhir

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/schema"
)

// openEnd is the period_end of a coverage whose period has no end (FHIR: ongoing).
const openEnd = "2099-12-31"

// GenericServiceType is X12 service type 30, "Health Benefit Plan Coverage": the generic
// eligibility category every insurance coverage answers for.
const GenericServiceType = "30"

// cmsTypeOfService maps CMS type-of-service codes (Blue Button line_cms_type_srvc_cd, the
// categories of Synthea's ExplanationOfBenefit items) to X12 service type codes (X12 005010
// EB03). Only codes whose meaning is the same on both sides are listed; any other CMS code
// leaves service_categories incomplete.
var cmsTypeOfService = map[string]string{
	"0": "10", // whole blood → Blood Charges
	"1": "1",  // medical care → Medical Care
	"2": "2",  // surgery → Surgical
	"3": "3",  // consultation → Consultation
	"4": "4",  // diagnostic radiology → Diagnostic X-Ray
	"5": "5",  // diagnostic laboratory → Diagnostic Lab
	"6": "6",  // therapeutic radiology → Radiation Therapy
	"7": "7",  // anesthesia → Anesthesia
	"8": "8",  // assistant at surgery → Surgical Assistance
	"9": "9",  // other medical items or services → Other Medical
	"A": "11", // used DME → Used Durable Medical Equipment
	"F": "13", // ambulatory surgical center → Ambulatory Service Center Facility
	"H": "45", // hospice → Hospice
	"L": "14", // ESRD supplies → Renal Supplies in the Home
	"P": "12", // lump-sum purchase of DME → Durable Medical Equipment Purchase
	"R": "18", // rental of DME → Durable Medical Equipment Rental
	"U": "AD", // occupational therapy → Occupational Therapy
	"W": "PT", // physical therapy → Physical Therapy
	"Y": "20", // second opinion on elective surgery → Second Surgical Opinion
	"Z": "21", // third opinion on elective surgery → Third Surgical Opinion
}

// selfPayNames are payer names and type texts that Synthea and others use for "not insured".
var selfPayNames = map[string]bool{"noinsurance": true, "selfpay": true, "uninsured": true, "none": true}

// coverageRecord is one Coverage as read, with the period it applies to.
type coverageRecord struct {
	payer, plan, memberID, insType, status string
	start, end                             string
	categories                             map[string]bool
	incomplete                             bool // a category could not be expressed in X12
	selfPay                                bool
}

func (c *coverageRecord) key() string {
	return strings.Join([]string{c.payer, c.plan, c.memberID, c.insType, c.status}, "\x00")
}

// CoverageAttributes builds the attributes of a `coverage` credential from a FHIR R4 Bundle
// holding one Patient and its coverage, as standalone Coverage resources or, as Synthea writes
// them, Coverages contained in ExplanationOfBenefit (insurance[].coverage "#id"), dated by the
// EOB's billablePeriod.
//
//   - status: Coverage.status (the same four codes as the schema's enum).
//   - payer: payor[0].display, else the name of the Organization it refers to, else its
//     reference, else its identifier.value.
//   - plan: value of the class whose type is coverage-class "plan" (else its name; "unknown" when
//     there is none).
//   - member_id: subscriberId, else the identifier typed v2-0203 "MB", else the first
//     identifier's value ("unknown" when none).
//   - insurance_type: type.coding[0].code, else type.text ("unknown" when no type).
//   - period_start, period_end: Coverage.period, else the EOB's billablePeriod; a missing end is
//     open (2099-12-31); a missing start is an error. The periods of identical coverages
//     (same payer, plan, member, type, status) that overlap or touch are merged.
//   - service_categories (X12 service type codes): "30" (Health Benefit Plan Coverage) for every
//     insurance coverage, plus the categories of the items (item[].category) and benefit
//     balances (benefitBalance[].category) of ExplanationOfBenefits whose focal insurance is that
//     coverage: X12 codes (systems https://x12.org/codes/service-type-codes and
//     http://terminology.hl7.org/CodeSystem/ex-benefitcategory) as they are, CMS type-of-service
//     codes through a table of same-meaning codes. An unmapped CMS code marks the list incomplete;
//     so does having more than 16 codes. The list says which services were billed to the
//     coverage: prove `exists`, never `none`, on it.
//
// Self-pay pseudo-coverages (type coverage-selfpay "pay", or payer or type "no_insurance",
// "self-pay", "uninsured") are not insurance and are skipped; entered-in-error ones too. Of the
// remaining, the credential describes the coverage whose (merged) period contains opts.AsOf,
// preferring status active, then the latest start; when none does, the one that ended last.
// A bundle with no insurance coverage gives an error wrapping ErrNoCoverage.
func CoverageAttributes(bundle []byte, opts Options) (*credential.Attributes, error) {
	asOf := opts.AsOf
	if asOf == "" {
		asOf = today()
	}
	if _, err := encode.Date(asOf); err != nil {
		return nil, optionErrorf("as-of date: want YYYY-MM-DD between 1900-01-01 and 2099-12-31")
	}
	b, err := readBundle(bundle)
	if err != nil {
		return nil, err
	}
	if _, err := b.onePatient(); err != nil {
		return nil, err
	}
	recs, err := b.coverages()
	if err != nil {
		return nil, err
	}
	best := chooseCoverage(mergeCoverages(recs), asOf)
	if best == nil {
		return nil, &Error{Path: "Bundle.entry", Reason: "no insurance coverage (no Coverage, or only self-pay / no_insurance ones)", Err: ErrNoCoverage}
	}
	cats := make([]string, 0, len(best.categories))
	for c := range best.categories {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	attrs := map[string]any{
		"payer": best.payer, "plan": best.plan, "member_id": best.memberID, "status": best.status,
		"period_start": best.start, "period_end": best.end, "insurance_type": best.insType,
		"service_categories": cats,
	}
	raw, err := json.Marshal(attrs)
	if err != nil {
		return nil, fmt.Errorf("fhir: encode attributes: %w", err)
	}
	s := schema.Coverage()
	a, err := credential.ParseAttributes(s, raw)
	if err != nil {
		return nil, fmt.Errorf("fhir: attributes built from the bundle do not parse: %w", err)
	}
	if best.incomplete {
		i, _, _ := s.List("service_categories")
		a.Completeness[i].Incomplete = true
	}
	return a, nil
}

// coverages reads every standalone Coverage and every Coverage contained in an
// ExplanationOfBenefit, attaching EOB categories to the coverage of the focal insurance.
func (b *bundle) coverages() ([]*coverageRecord, error) {
	byResource := map[*resource]*coverageRecord{}
	var out []*coverageRecord
	for _, r := range b.byType["Coverage"] {
		period, ok, err := r.optObject("period")
		if err != nil {
			return nil, err
		}
		if !ok || !period.has("start") {
			return nil, period.get("start").fail("required to sign the coverage period")
		}
		rec, err := b.readCoverage(r.node, period)
		if err != nil {
			return nil, err
		}
		byResource[r] = rec
		out = append(out, rec)
	}
	for _, eob := range b.byType["ExplanationOfBenefit"] {
		st, err := eob.statusCode("status", "active", "cancelled", "draft", "entered-in-error")
		if err != nil {
			return nil, err
		}
		if err := b.checkPatientRef(eob.node, "patient", true); err != nil {
			return nil, err
		}
		if st == "entered-in-error" {
			continue
		}
		ins, err := eob.requiredObjects("insurance")
		if err != nil {
			return nil, err
		}
		cats, incomplete, err := eobCategories(eob.node)
		if err != nil {
			return nil, err
		}
		for _, insn := range ins {
			focal, ok, err := insn.optBool("focal")
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, insn.get("focal").fail("required element missing")
			}
			cov, err := insn.object("coverage")
			if err != nil {
				return nil, err
			}
			ref, err := cov.str("reference")
			if err != nil {
				return nil, err
			}
			var rec *coverageRecord
			if id, isLocal := strings.CutPrefix(ref, "#"); isLocal {
				cn, ok := contained(eob.node, id)
				if !ok {
					return nil, cov.get("reference").fail("no contained resource with this id")
				}
				if typ, err := cn.str("resourceType"); err != nil {
					return nil, err
				} else if typ != "Coverage" {
					return nil, cov.get("reference").fail("does not refer to a Coverage")
				}
				period, ok, err := cn.optObject("period")
				if err != nil {
					return nil, err
				}
				if !ok || !period.has("start") {
					bp, ok, err := eob.optObject("billablePeriod")
					if err != nil {
						return nil, err
					}
					if !ok || !bp.has("start") {
						return nil, bp.get("start").fail("required to date the contained Coverage")
					}
					period = bp
				}
				if rec, err = b.readCoverage(cn, period); err != nil {
					return nil, err
				}
				out = append(out, rec)
			} else {
				t := b.resolve(ref)
				if t == nil || t.typ != "Coverage" {
					return nil, cov.get("reference").fail("does not resolve to a Coverage in the bundle")
				}
				rec = byResource[t]
			}
			if focal {
				for c := range cats {
					rec.categories[c] = true
				}
				rec.incomplete = rec.incomplete || incomplete
			}
		}
	}
	return out, nil
}

// readCoverage reads one Coverage resource; period is the Period that dates it.
func (b *bundle) readCoverage(c node, period node) (*coverageRecord, error) {
	rec := &coverageRecord{categories: map[string]bool{}}
	var err error
	if rec.status, err = c.statusCode("status", "active", "cancelled", "draft", "entered-in-error"); err != nil {
		return nil, err
	}
	if err := b.checkPatientRef(c, "beneficiary", true); err != nil {
		return nil, err
	}
	if rec.start, err = period.date("start"); err != nil {
		return nil, err
	}
	rec.end = openEnd
	if period.has("end") {
		if rec.end, err = period.date("end"); err != nil {
			return nil, err
		}
	}
	if rec.end < rec.start {
		return nil, period.get("end").fail("before the period's start")
	}
	if rec.payer, err = b.payer(c); err != nil {
		return nil, err
	}
	if rec.plan, err = coveragePlan(c); err != nil {
		return nil, err
	}
	if rec.memberID, err = memberID(c); err != nil {
		return nil, err
	}
	rec.insType = "unknown"
	if t, ok, err := c.optObject("type"); err != nil {
		return nil, err
	} else if ok {
		cs, err := t.codings()
		if err != nil {
			return nil, err
		}
		text, _, _ := t.optStr("text")
		switch {
		case len(cs) > 0:
			rec.insType = cs[0].code
		case text != "":
			rec.insType = text
		}
		rec.selfPay = len(in(cs, SystemCoverageSelfPay)) > 0 || isSelfPayName(text) || isSelfPayName(rec.insType)
	}
	rec.selfPay = rec.selfPay || isSelfPayName(rec.payer)
	if !rec.selfPay {
		rec.categories[GenericServiceType] = true
	}
	return rec, nil
}

func isSelfPayName(s string) bool {
	s = strings.ToLower(s)
	s = strings.NewReplacer("_", "", "-", "", " ", "").Replace(s)
	return selfPayNames[s]
}

// payer is payor[0]: display, else the referenced Organization's name, else the reference, else
// the identifier's value.
func (b *bundle) payer(c node) (string, error) {
	ps, err := c.requiredObjects("payor")
	if err != nil {
		return "", err
	}
	p := ps[0]
	if d, ok, err := p.optStr("display"); err != nil || ok {
		return d, err
	}
	if ref, ok, err := p.optStr("reference"); err != nil {
		return "", err
	} else if ok {
		if t := b.resolve(ref); t != nil && (t.typ == "Organization" || t.typ == "Patient" || t.typ == "RelatedPerson") {
			if name, ok, err := t.optStr("name"); err != nil {
				return "", err
			} else if ok {
				return name, nil
			}
		}
		return ref, nil
	}
	if id, ok, err := p.optObject("identifier"); err != nil {
		return "", err
	} else if ok {
		return id.str("value")
	}
	return "", p.fail("want display, reference or identifier to name the payer")
}

// coveragePlan is the value (else name) of the class typed coverage-class "plan".
func coveragePlan(c node) (string, error) {
	classes, err := c.objects("class")
	if err != nil {
		return "", err
	}
	for _, cl := range classes {
		t, err := cl.object("type")
		if err != nil {
			return "", err
		}
		cs, err := t.codings()
		if err != nil {
			return "", err
		}
		value, err := cl.str("value")
		if err != nil {
			return "", err
		}
		for _, cd := range in(cs, SystemCoverageClass) {
			if cd.code == "plan" {
				return value, nil
			}
		}
	}
	return "unknown", nil
}

// memberID is subscriberId, else the identifier typed MB, else the first identifier.
func memberID(c node) (string, error) {
	if s, ok, err := c.optStr("subscriberId"); err != nil || ok {
		return s, err
	}
	ids, err := c.objects("identifier")
	if err != nil {
		return "", err
	}
	first := ""
	for _, id := range ids {
		v, ok, err := id.optStr("value")
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		if first == "" {
			first = v
		}
		if t, ok, err := id.optObject("type"); err != nil {
			return "", err
		} else if ok {
			cs, err := t.codings()
			if err != nil {
				return "", err
			}
			for _, cd := range in(cs, SystemV20203) {
				if cd.code == "MB" {
					return v, nil
				}
			}
		}
	}
	if first == "" {
		return "unknown", nil
	}
	return first, nil
}

// eobCategories reads the X12 service types of an EOB's item and benefitBalance categories.
func eobCategories(eob node) (map[string]bool, bool, error) {
	cats := map[string]bool{}
	incomplete := false
	var concepts []node
	items, err := eob.objects("item")
	if err != nil {
		return nil, false, err
	}
	for _, it := range items {
		if c, ok, err := it.optObject("category"); err != nil {
			return nil, false, err
		} else if ok {
			concepts = append(concepts, c)
		}
	}
	bbs, err := eob.objects("benefitBalance")
	if err != nil {
		return nil, false, err
	}
	for _, bb := range bbs {
		c, err := bb.object("category")
		if err != nil {
			return nil, false, err
		}
		concepts = append(concepts, c)
	}
	for _, c := range concepts {
		cs, err := c.codings()
		if err != nil {
			return nil, false, err
		}
		x12 := append(in(cs, SystemX12ServiceType), in(cs, SystemBenefitCategory)...)
		cms := in(cs, SystemCMSTypeOfService)
		if len(x12) == 0 && len(cms) == 0 {
			return nil, false, c.get("coding").fail("no X12 service type (%s) or CMS type-of-service (%s) coding", SystemX12ServiceType, SystemCMSTypeOfService)
		}
		for _, cd := range x12 {
			norm, err := credential.NormaliseCode(schema.X12, cd.code)
			if err != nil {
				return nil, false, cd.n.get("code").failErr(err, "not a valid X12 service type code")
			}
			cats[norm] = true
		}
		if len(x12) > 0 {
			continue
		}
		for _, cd := range cms {
			if x, ok := cmsTypeOfService[strings.ToUpper(cd.code)]; ok {
				cats[x] = true
			} else {
				incomplete = true
			}
		}
	}
	return cats, incomplete, nil
}

// mergeCoverages merges the periods of identical coverages that overlap or touch.
func mergeCoverages(recs []*coverageRecord) []*coverageRecord {
	groups := map[string][]*coverageRecord{}
	var keys []string
	for _, r := range recs {
		k := r.key()
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []*coverageRecord
	for _, k := range keys {
		g := groups[k]
		sort.SliceStable(g, func(i, j int) bool { return g[i].start < g[j].start })
		cur := clone(g[0])
		for _, r := range g[1:] {
			if r.start <= dayAfter(cur.end) {
				if r.end > cur.end {
					cur.end = r.end
				}
				for c := range r.categories {
					cur.categories[c] = true
				}
				cur.incomplete = cur.incomplete || r.incomplete
				continue
			}
			out = append(out, cur)
			cur = clone(r)
		}
		out = append(out, cur)
	}
	return out
}

func clone(r *coverageRecord) *coverageRecord {
	c := *r
	c.categories = map[string]bool{}
	for k := range r.categories {
		c.categories[k] = true
	}
	return &c
}

func dayAfter(d string) string {
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return d
	}
	return t.AddDate(0, 0, 1).Format("2006-01-02")
}

// chooseCoverage picks the coverage a credential describes (see CoverageAttributes).
func chooseCoverage(recs []*coverageRecord, asOf string) *coverageRecord {
	var best *coverageRecord
	better := func(a, b *coverageRecord) bool { // a better than b
		aIn, bIn := a.start <= asOf && asOf <= a.end, b.start <= asOf && asOf <= b.end
		if aIn != bIn {
			return aIn
		}
		if !aIn && a.end != b.end {
			return a.end > b.end
		}
		if (a.status == "active") != (b.status == "active") {
			return a.status == "active"
		}
		return a.start > b.start
	}
	for _, r := range recs {
		if r.selfPay || r.status == "entered-in-error" {
			continue
		}
		if best == nil || better(r, best) {
			best = r
		}
	}
	return best
}
