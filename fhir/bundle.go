package fhir

import (
	"fmt"
	"strings"
	"time"

	"github.com/zkhealth/zkhealth/internal/encode"
)

// MaxBundleSize bounds a FHIR document read by this package (a Synthea patient history is about
// 0.5 MiB; a long real one a few MiB).
const MaxBundleSize = 32 << 20

// Code systems this package reads or writes.
const (
	SystemICD10CM          = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemSNOMED           = "http://snomed.info/sct"
	SystemLOINC            = "http://loinc.org"
	SystemRxNorm           = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemUCUM             = "http://unitsofmeasure.org"
	SystemX12ServiceType   = "https://x12.org/codes/service-type-codes"
	SystemBenefitCategory  = "http://terminology.hl7.org/CodeSystem/ex-benefitcategory"
	SystemCMSTypeOfService = "https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd"
	SystemConditionClin    = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	SystemConditionVer     = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	SystemCoverageClass    = "http://terminology.hl7.org/CodeSystem/coverage-class"
	SystemCoverageSelfPay  = "http://terminology.hl7.org/CodeSystem/coverage-selfpay"
	SystemGender           = "http://hl7.org/fhir/administrative-gender"
	SystemV20203           = "http://terminology.hl7.org/CodeSystem/v2-0203"
)

// resource is one resource of a bundle (or one contained resource).
type resource struct {
	typ     string
	fullURL string
	node
}

// bundle is a parsed FHIR Bundle: its resources by type, in document order, and the one Patient.
type bundle struct {
	byType  map[string][]*resource
	byURL   map[string]*resource // fullUrl and Type/id
	patient *resource
}

// readBundle parses a Bundle strictly (see parseJSON) and indexes its entries' resources. Each
// resource's path is its type and index among the bundle's resources of that type
// ("Observation[12]"). Entries without a resource (e.g. a transaction's DELETE) are skipped.
func readBundle(data []byte) (*bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, &Error{Path: "Bundle", Reason: fmt.Sprintf("larger than %d bytes", MaxBundleSize)}
	}
	v, err := parseJSON(data, "Bundle")
	if err != nil {
		return nil, err
	}
	root := node{v: v, path: "Bundle", ok: true}
	if err := root.isObject(); err != nil {
		return nil, err
	}
	rt, err := root.str("resourceType")
	if err != nil {
		return nil, err
	}
	if rt != "Bundle" {
		return nil, root.get("resourceType").fail("want a Bundle")
	}
	if _, err := root.str("type"); err != nil {
		return nil, err
	}
	entries, err := root.objects("entry")
	if err != nil {
		return nil, err
	}
	b := &bundle{byType: map[string][]*resource{}, byURL: map[string]*resource{}}
	for _, e := range entries {
		fullURL, _, err := e.optStr("fullUrl")
		if err != nil {
			return nil, err
		}
		rn, ok, err := e.optObject("resource")
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		typ, err := rn.str("resourceType")
		if err != nil {
			return nil, err
		}
		id, _, err := rn.optStr("id")
		if err != nil {
			return nil, err
		}
		if !isResourceName(typ) {
			return nil, rn.get("resourceType").fail("not a FHIR resource type name")
		}
		idx := len(b.byType[typ])
		r := &resource{typ: typ, fullURL: fullURL, node: node{v: rn.v, ok: true, id: id, path: fmt.Sprintf("%s[%d]", typ, idx)}}
		b.byType[typ] = append(b.byType[typ], r)
		if fullURL != "" {
			b.byURL[fullURL] = r
		}
		if id != "" {
			b.byURL[typ+"/"+id] = r
		}
	}
	return b, nil
}

// isResourceName reports whether s looks like a FHIR resource type (an upper-case ASCII letter
// then letters), so that paths built from it stay readable.
func isResourceName(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// onePatient finds the bundle's one Patient.
func (b *bundle) onePatient() (*resource, error) {
	ps := b.byType["Patient"]
	switch {
	case len(ps) == 0:
		return nil, &Error{Path: "Bundle.entry", Reason: "no Patient resource (a credential is about one patient)"}
	case len(ps) > 1:
		return nil, &Error{Path: "Bundle.entry", Reason: "more than one Patient resource (a credential is about one patient)"}
	}
	b.patient = ps[0]
	return ps[0], nil
}

// resolve finds the resource a literal reference names: a fullUrl, "Type/id" (optionally with a
// version suffix) or an absolute URL ending in "/Type/id".
func (b *bundle) resolve(ref string) *resource {
	if r, ok := b.byURL[ref]; ok {
		return r
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) >= 2 {
		if r, ok := b.byURL[parts[len(parts)-2]+"/"+parts[len(parts)-1]]; ok {
			return r
		}
	}
	return nil
}

// checkPatientRef checks that the Reference member name of n refers to the bundle's Patient, so
// that a record never mixes in another person's data. required says whether the member must be
// present.
func (b *bundle) checkPatientRef(n node, name string, required bool) error {
	ref, ok, err := n.optObject(name)
	if err != nil {
		return err
	}
	if !ok {
		if required {
			return ref.fail("required element missing")
		}
		return nil
	}
	s, err := ref.str("reference")
	if err != nil {
		return err
	}
	if b.resolve(s) != b.patient {
		return ref.get("reference").fail("does not refer to the bundle's Patient")
	}
	return nil
}

// date reads the FHIR date or dateTime member name as a full calendar date "YYYY-MM-DD": a
// dateTime with a time is taken in UTC. Partial dates ("2015", "2015-03") are refused: a
// credential's dates are days, and rounding a partial date either way would bend "within N days".
func (n node) date(name string) (string, error) {
	c := n.get(name)
	if !c.ok {
		return "", c.fail("required element missing")
	}
	return c.asDate()
}

func (n node) asDate() (string, error) {
	s, err := n.asString()
	if err != nil {
		return "", err
	}
	var day string
	switch {
	case len(s) == 4 || len(s) == 7:
		return "", n.fail("partial date; a full date (YYYY-MM-DD) is needed")
	case len(s) == 10:
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return "", n.fail("not a FHIR date (want YYYY-MM-DD)")
		}
		day = s
	default:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !strings.Contains(s, "T") {
			return "", n.fail("not a FHIR dateTime (want YYYY-MM-DDThh:mm:ss+zz:zz)")
		}
		day = t.UTC().Format("2006-01-02")
	}
	if _, err := encode.Date(day); err != nil {
		return "", n.failErr(err, "date outside 1900-01-01..2099-12-31")
	}
	return day, nil
}

// coding is one Coding of a CodeableConcept.
type coding struct {
	system, code, display string
	n                     node
}

// codings returns the Codings of the CodeableConcept c (which must be an object). A coding
// without a system cannot be classified and is refused.
func (c node) codings() ([]coding, error) {
	if err := c.isObject(); err != nil {
		return nil, err
	}
	arr, err := c.objects("coding")
	if err != nil {
		return nil, err
	}
	if _, _, err := c.optStr("text"); err != nil {
		return nil, err
	}
	out := make([]coding, 0, len(arr))
	for _, cn := range arr {
		sys, _, err := cn.optStr("system")
		if err != nil {
			return nil, err
		}
		code, _, err := cn.optStr("code")
		if err != nil {
			return nil, err
		}
		display, _, err := cn.optStr("display")
		if err != nil {
			return nil, err
		}
		if sys == "" {
			return nil, cn.get("system").fail("required: a coding without a system cannot be classified")
		}
		if code == "" {
			return nil, cn.get("code").fail("required element missing")
		}
		out = append(out, coding{system: sys, code: code, display: display, n: cn})
	}
	return out, nil
}

// in returns the codings of system sys.
func in(cs []coding, sys string) []coding {
	var out []coding
	for _, c := range cs {
		if c.system == sys {
			out = append(out, c)
		}
	}
	return out
}

// statusCode reads a required code member name and checks it is one of allowed.
func (n node) statusCode(name string, allowed ...string) (string, error) {
	s, err := n.str(name)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", n.get(name).fail("not a code of its value set (%s)", strings.Join(allowed, ", "))
}
