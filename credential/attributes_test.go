package credential_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/encode"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

func mustParse(t *testing.T, s *schema.Schema, attrs string) *credential.Attributes {
	t.Helper()
	a, err := credential.ParseAttributes(s, []byte(attrs))
	if err != nil {
		t.Fatalf("ParseAttributes: %v", err)
	}
	return a
}

// list returns the entries of the named list.
func list(a *credential.Attributes, name string) []credential.Entry {
	i, _, _ := a.Schema.List(name)
	return a.Lists[i]
}

func completeness(a *credential.Attributes, name string) credential.Completeness {
	i, _, _ := a.Schema.List(name)
	return a.Completeness[i]
}

func codes(entries []credential.Entry) string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Code+"@"+e.Date)
	}
	return strings.Join(out, " ")
}

func TestNormalisation(t *testing.T) {
	s := schema.Clinical()
	a := mustParse(t, s, `{"birth_date": "1976-01-16", "sex": "MALE",
		"conditions": [{"code": "e11.9", "onset": "2015-03-01"}, {"code": "i10", "onset": "2012-06-10"},
		               {"code": "I219", "onset": "2020-01-01"}, {"code": "Z99.89", "onset": "2015-03-01"}],
		"observations": [{"code": "4548-4", "value": 7.5, "unit": " % ", "date": "2026-01-09"},
		                 {"code": "39156-5", "value": 30, "unit": "kg/m^2", "date": "2026-10-09"}],
		"medications": [{"code": "860975", "start": "2016-01-01"}, {"code": "1", "start": "2017-01-01"}]}`)
	if a.Scalars[1] != "male" {
		t.Errorf("sex = %q, want male", a.Scalars[1])
	}
	// Codes in canonical spelling; lists in signing order: by code (as encoded), then date.
	if got, want := codes(list(a, "conditions")), "E11.9@2015-03-01 I10@2012-06-10 I21.9@2020-01-01 Z99.89@2015-03-01"; got != want {
		t.Errorf("conditions = %s, want %s", got, want)
	}
	// LOINC codes encode as their digits: 4548-4 is 45484, 39156-5 is 391565
	if got, want := codes(list(a, "observations")), "4548-4@2026-01-09 39156-5@2026-10-09"; got != want {
		t.Errorf("observations = %s, want %s", got, want)
	}
	if got, want := codes(list(a, "medications")), "1@2017-01-01 860975@2016-01-01"; got != want {
		t.Errorf("medications = %s, want %s", got, want)
	}
	obs := list(a, "observations")
	if *obs[1].Value != 30 || obs[1].Unit != "kg/m2" || *obs[0].Value != 7.5 || obs[0].Unit != "%" {
		t.Errorf("observations = %v %s, %v %s", *obs[0].Value, obs[0].Unit, *obs[1].Value, obs[1].Unit)
	}
	for _, l := range s.Lists {
		if c := completeness(a, l.Name); !c.Complete() {
			t.Errorf("%s: %+v, want complete", l.Name, c)
		}
	}

	// Coverage: enum case, X12 case; an undated list in code order.
	c := mustParse(t, schema.Coverage(), strings.Replace(strings.Replace(testfixture.CoverageAttrs, `"active"`, `"Active"`, 1), `"AL"`, `"al"`, 1))
	if c.Scalars[3] != "active" {
		t.Errorf("status = %q", c.Scalars[3])
	}
	sc := list(c, "service_categories")
	if len(sc) != 13 || sc[0].Code != "1" || sc[1].Code != "30" || sc[10].Code != "AL" || sc[12].Code != "UC" {
		t.Errorf("service_categories = %v", sc)
	}

	// The normal form re-parses to itself.
	for _, x := range []*credential.Attributes{a, c} {
		js, err := x.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again := mustParse(t, x.Schema, string(js))
		js2, _ := again.MarshalJSON()
		if string(js) != string(js2) {
			t.Errorf("normal form not stable:\n%s\n%s", js, js2)
		}
	}
}

// TestNormalisedCredential checks the issued CREDENTIAL.json carries the normalised attributes.
func TestNormalisedCredential(t *testing.T) {
	is := issue(t, seeded(t), schema.Clinical(), `{"birth_date": "1976-01-16", "sex": "Female",
		"conditions": [{"code": "e11.9", "onset": "2015-03-01"}, {"code": "I21.9", "onset": "2026-01-01"}],
		"observations": [{"code": "4548-4", "value": 53, "unit": "mmol/mol", "date": "2026-10-09"}]}`)
	var attrs struct {
		Sex        string `json:"sex"`
		Conditions []struct {
			Code, Onset string
		} `json:"conditions"`
		Observations []struct {
			Code  string
			Value float64
			Unit  string
		} `json:"observations"`
		Medications []any `json:"medications"`
	}
	if err := json.Unmarshal(is.cred.Attributes, &attrs); err != nil {
		t.Fatal(err)
	}
	if attrs.Sex != "female" || len(attrs.Conditions) != 2 || attrs.Conditions[0].Code != "E11.9" || attrs.Conditions[1].Code != "I21.9" {
		t.Errorf("attributes = %+v", attrs)
	}
	if o := attrs.Observations[0]; o.Unit != "%" || o.Value != 7 {
		t.Errorf("HbA1c 53 mmol/mol written as %v %s, want 7 %%", o.Value, o.Unit)
	}
	if attrs.Medications == nil || len(attrs.Medications) != 0 {
		t.Errorf("an absent list is written as %v, want []", attrs.Medications)
	}
	if _, err := decodeVerify(marshal(t, is.cred)); err != nil {
		t.Errorf("normalised credential does not verify: %v", err)
	}
}

func TestUnitConversion(t *testing.T) {
	tests := []struct {
		loinc, unit string
		value       float64
		want        float64 // in the canonical unit
		fixed       uint64
	}{
		{"4548-4", "mmol/mol", 53, 7.0, 700},      // IFCC → NGSP: 53 × 0.09148 + 2.152 = 7.0004
		{"4548-4", "%", 7.0, 7.0, 700},            // canonical
		{"2345-7", "mmol/L", 5.5, 99.1, 991},      // glucose 5.5 × 18.0156 = 99.0858
		{"29463-7", "lb", 100, 45.36, 4536},       // 100 lb = 45.359237 kg
		{"2160-0", "µmol/L", 88.42, 1.0, 100},     // creatinine
		{"62238-1", "mL/min", 90, 90, 900},        // eGFR display unit
		{"8480-6", "mmHg", 120, 120, 120},         // alias of mm[Hg]
		{"718-7", "g/L", 135, 13.5, 135},          // haemoglobin
		{"39156-5", "kg/m²", 30.004, 30.0, 3000},  // rounds to the scale
		{"39156-5", "kg/m2", 30.005, 30.01, 3001}, // half away from zero
	}
	for _, tt := range tests {
		t.Run(tt.loinc+"/"+tt.unit, func(t *testing.T) {
			attrs := fmt.Sprintf(`{"birth_date": "1976-01-16", "sex": "male",
				"observations": [{"code": %q, "value": %v, "unit": %q, "date": "2026-10-09"}]}`, tt.loinc, tt.value, tt.unit)
			a := mustParse(t, schema.Clinical(), attrs)
			e := list(a, "observations")[0]
			canon, _ := encode.CanonicalUnit(tt.loinc)
			if math.Abs(*e.Value-tt.want) > 1e-9 || e.Unit != canon.Unit {
				t.Errorf("stored %v %s, want %v %s", *e.Value, e.Unit, tt.want, canon.Unit)
			}
			is := issue(t, seeded(t), schema.Clinical(), attrs)
			d, err := decodeVerify(marshal(t, is.cred))
			if err != nil {
				t.Fatal(err)
			}
			li, l, _ := d.Schema.List("observations")
			leaves, err := d.Attributes.ListLeaves(li)
			if err != nil {
				t.Fatal(err)
			}
			// leaf 0 is the low sentinel; the one entry sits at 1
			if got := leaves[1][l.LeafLayout().Index(schema.LeafValue)]; got.Uint64() != tt.fixed {
				t.Errorf("encoded value %v, want %d", got, tt.fixed)
			}
		})
	}
}

// TestCapacity: a list longer than its capacity keeps the entries present most recently and signs
// what it left out (complete_since, or incomplete when no date can describe it).
func TestCapacity(t *testing.T) {
	rnd := seeded(t)
	day := func(k int) string {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k).Format(time.DateOnly)
	}
	// dated builds n entries of list (one a day from 2000-01-01), given in random order.
	dated := func(n int, entry func(i int, date string) string) string {
		idx := rand.New(rand.NewChaCha8([32]byte{byte(n), byte(n >> 8)})).Perm(n)
		var out []string
		for _, i := range idx {
			out = append(out, entry(i, day(i)))
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	condition := func(i int, date string) string {
		return fmt.Sprintf(`{"code": "E11.%d", "onset": %q}`, i%10, date)
	}
	endedCondition := func(i int, date string) string {
		return fmt.Sprintf(`{"code": "J01.%d", "onset": %q, "abatement": %q, "clinical_status": "resolved"}`, i%10, date, date)
	}
	observation := func(i int, date string) string {
		return fmt.Sprintf(`{"code": "4548-4", "value": %d, "unit": "%%", "date": %q}`, 5+i%5, date)
	}
	medication := func(i int, date string) string {
		return fmt.Sprintf(`{"code": "%d", "start": %q}`, 1000+i, date)
	}
	clinical := func(list, entries string) string {
		return fmt.Sprintf(`{"birth_date": "1976-01-16", "sex": "male", %q: %s}`, list, entries)
	}
	capacity := func(s *schema.Schema, list string) int {
		_, l, _ := s.List(list)
		return l.Capacity
	}
	conds, obs, meds := capacity(schema.Clinical(), "conditions"), capacity(schema.Clinical(), "observations"), capacity(schema.Clinical(), "medications")
	cats := capacity(schema.Coverage(), "service_categories")
	var serviceCodes []string // two-character X12 codes A0…Z9, given in this order
	for c := 'A'; c <= 'Z'; c++ {
		for d := '0'; d <= '9'; d++ {
			serviceCodes = append(serviceCodes, fmt.Sprintf("%q", string([]rune{c, d})))
		}
	}
	services := func(n int) string {
		return strings.Replace(testfixture.CoverageAttrs, `"UC"]`, `"UC", `+strings.Join(serviceCodes[:n-13], ", ")+`]`, 1)
	}
	tests := []struct {
		name, list string
		attrs      string
		n, kept    int
		want       credential.Completeness
		schema     *schema.Schema
	}{
		// conditions a day apart from 2000-01-01, ongoing: the oldest cannot be left out by date
		// (they are still present), so the list says it is incomplete
		{"conditions/over", "conditions", clinical("conditions", dated(conds+4, condition)), conds + 4, conds, credential.Completeness{Incomplete: true}, schema.Clinical()},
		{"conditions/full", "conditions", clinical("conditions", dated(conds, condition)), conds, conds, credential.Completeness{}, schema.Clinical()},
		// ended conditions leave out the four that ended longest ago: complete since the day after
		// the last of them ended
		{"conditions/ended/over", "conditions", clinical("conditions", dated(conds+4, endedCondition)), conds + 4, conds, credential.Completeness{CompleteSince: day(4)}, schema.Clinical()},
		{"observations/over", "observations", clinical("observations", dated(obs+14, observation)), obs + 14, obs, credential.Completeness{CompleteSince: day(14)}, schema.Clinical()},
		{"observations/full", "observations", clinical("observations", dated(obs, observation)), obs, obs, credential.Completeness{}, schema.Clinical()},
		{"medications/over", "medications", clinical("medications", dated(meds+1, medication)), meds + 1, meds, credential.Completeness{Incomplete: true}, schema.Clinical()},
		{"medications/full", "medications", clinical("medications", dated(meds, medication)), meds, meds, credential.Completeness{}, schema.Clinical()},
		{"service_categories/over", "service_categories", services(cats + 4), cats + 4, cats, credential.Completeness{Incomplete: true}, schema.Coverage()},
		{"service_categories/full", "service_categories", services(cats), cats, cats, credential.Completeness{}, schema.Coverage()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.schema, tt.attrs)
			entries := list(a, tt.list)
			if len(entries) != tt.kept || completeness(a, tt.list) != tt.want {
				t.Fatalf("kept %d, %+v; want %d, %+v", len(entries), completeness(a, tt.list), tt.kept, tt.want)
			}
			_, l, _ := tt.schema.List(tt.list)
			if l.HasDate() && tt.want.CompleteSince != "" {
				// the newest entries: days n-kept … n-1
				got := map[string]bool{}
				for _, e := range entries {
					got[e.Date] = true
				}
				for k := tt.n - tt.kept; k < tt.n; k++ {
					if !got[day(k)] {
						t.Errorf("the entry of %s was left out", day(k))
					}
				}
			} else if !l.HasDate() && tt.n > tt.kept {
				// an undated list keeps its first entries as given
				kept := map[string]bool{}
				for _, e := range entries {
					kept[e.Code] = true
				}
				for _, c := range serviceCodes[tt.kept-13 : tt.n-13] {
					if kept[strings.Trim(c, `"`)] {
						t.Errorf("kept %s, given after the first %d", c, tt.kept)
					}
				}
			}
			for i := 1; i < len(entries); i++ { // signing order: by code, then date
				ci, _ := credential.EncodeCode(l.Code, entries[i-1].Code)
				cj, _ := credential.EncodeCode(l.Code, entries[i].Code)
				if ci > cj || (ci == cj && entries[i-1].Date > entries[i].Date) {
					t.Fatalf("entries %d, %d out of signing order: %v %v %d %d", i-1, i, entries[i-1], entries[i], ci, cj)
				}
			}

			is := issue(t, rnd, tt.schema, tt.attrs)
			if got := is.cred.Completeness[tt.list]; !reflect.DeepEqual(got, tt.want.Wire()) {
				t.Errorf("credential completeness = %+v, want %+v", got, tt.want.Wire())
			}
			data := marshal(t, is.cred)
			d, err := decodeVerify(data)
			if err != nil {
				t.Fatalf("credential does not verify: %v", err)
			}
			if completeness(d.Attributes, tt.list) != tt.want {
				t.Errorf("decoded completeness = %+v", completeness(d.Attributes, tt.list))
			}
			flag := valueOf(d, schema.IncompleteField(tt.list)).Int64()
			length := valueOf(d, schema.LengthField(tt.list)).Int64()
			if (flag == 1) != tt.want.Incomplete || length != int64(tt.kept) {
				t.Errorf("layout incomplete = %d, length = %d", flag, length)
			}
			if !tt.want.Complete() {
				// Hiding what was left out breaks the signature.
				c := toMap(t, data)
				c["completeness"].(map[string]any)[tt.list] = map[string]any{"complete_since": nil, "incomplete": false}
				changed, _ := json.Marshal(c)
				if _, err := decodeVerify(changed); !errors.Is(err, credential.ErrBadSignature) {
					t.Errorf("credential with its completeness hidden: %v, want ErrBadSignature", err)
				}
			}
		})
	}
}

// TestRefusals checks ParseAttributes refuses malformed attributes with a FieldError naming the
// field and wrapping ErrMalformed. Where secret is set, the message must not echo it: free strings
// and enum values never are (reasons that come from package encode quote their input, see
// FieldError).
func TestRefusals(t *testing.T) {
	cli := func(extra string) string {
		return `{"birth_date": "1976-01-16", "sex": "male"` + extra + `}`
	}
	cov := func(old, new string) string {
		if !strings.Contains(testfixture.CoverageAttrs, old) {
			panic(old)
		}
		return strings.Replace(testfixture.CoverageAttrs, old, new, 1)
	}
	tests := []struct {
		name   string
		schema *schema.Schema
		attrs  string
		field  string
		secret string // a health value the message must not contain ("" for none)
	}{
		{"UnknownAttribute", schema.Clinical(), cli(`, "height": "180"`), "height", ""},
		{"ListOfOtherSchema", schema.Clinical(), cli(`, "service_categories": ["30"]`), "service_categories", ""},
		{"MissingScalar", schema.Clinical(), `{"birth_date": "1976-01-16"}`, "sex", ""},
		{"MissingHashed", schema.Coverage(), cov(`"plan": "GOLD-PPO", `, ``), "plan", ""},
		{"ScalarNumber", schema.Clinical(), `{"birth_date": "1976-01-16", "sex": 1}`, "sex", ""},
		{"ScalarNull", schema.Clinical(), `{"birth_date": null, "sex": "male"}`, "birth_date", ""},
		{"ScalarArray", schema.Coverage(), cov(`"ACME-HEALTH"`, `["ACME-HEALTH"]`), "payer", ""},
		{"ListString", schema.Clinical(), cli(`, "conditions": "E11.9"`), "conditions", ""},
		{"ListOfNumbers", schema.Coverage(), cov(`"30", "1"`, `30, "1"`), "service_categories", ""},
		{"ListOfObjects", schema.Coverage(), cov(`"30", "1"`, `{"code": "30"}, "1"`), "service_categories", ""},
		{"EntryString", schema.Clinical(), cli(`, "conditions": ["E11.9"]`), "conditions[0]", ""},
		{"ValueString", schema.Clinical(), cli(`, "observations": [{"code": "4548-4", "value": "7.5", "unit": "%", "date": "2026-10-09"}]`), "observations[0].value", ""},
		{"EntryUnknownField", schema.Clinical(), cli(`, "conditions": [{"code": "E11.9", "onset": "2015-03-01", "note": "x"}]`), "conditions[0].note", ""},
		{"BadDate", schema.Clinical(), `{"birth_date": "1976-13-16", "sex": "male"}`, "birth_date", ""},
		{"DateBefore1900", schema.Clinical(), `{"birth_date": "1899-12-31", "sex": "male"}`, "birth_date", ""},
		{"DateShape", schema.Coverage(), cov(`"2026-01-01"`, `"2026-1-1"`), "period_start", ""},
		{"BadOnset", schema.Clinical(), cli(`, "conditions": [{"code": "E11.9", "onset": "2015/03/01"}]`), "conditions[0].onset", ""},
		{"MissingOnset", schema.Clinical(), cli(`, "conditions": [{"code": "E11.9"}]`), "conditions[0].onset", ""},
		{"BadSecondEntry", schema.Clinical(), cli(`, "medications": [{"code": "1", "start": "2016-01-01"}, {"code": "2", "start": "2016-02-30"}]`), "medications[1].start", ""},
		{"BadICD", schema.Clinical(), cli(`, "conditions": [{"code": "E1", "onset": "2015-03-01"}]`), "conditions[0].code", ""},
		{"BadICDDot", schema.Clinical(), cli(`, "conditions": [{"code": "F32..9", "onset": "2015-03-01"}]`), "conditions[0].code", ""},
		{"BadLOINCCheckDigit", schema.Clinical(), cli(`, "observations": [{"code": "4548-5", "value": 7.5, "unit": "%", "date": "2026-10-09"}]`), "observations[0].code", ""},
		{"LOINCWithoutUnit", schema.Clinical(), cli(`, "observations": [{"code": "38265-5", "value": 1, "unit": "{T-score}", "date": "2026-10-09"}]`), "observations[0].code", ""},
		{"BadRxNorm", schema.Clinical(), cli(`, "medications": [{"code": "abc", "start": "2016-01-01"}]`), "medications[0].code", ""},
		{"RxNormZero", schema.Clinical(), cli(`, "medications": [{"code": "0", "start": "2016-01-01"}]`), "medications[0].code", ""},
		{"BadX12", schema.Coverage(), cov(`"33"`, `"!!"`), "service_categories[2].code", ""},
		{"X12TooLong", schema.Coverage(), cov(`"33"`, `"333"`), "service_categories[2].code", ""},
		{"UnitNoConversion", schema.Clinical(), cli(`, "observations": [{"code": "4548-4", "value": 7.5, "unit": "mg/dL", "date": "2026-10-09"}]`), "observations[0].unit", "7.5"},
		{"UnitMissing", schema.Clinical(), cli(`, "observations": [{"code": "39156-5", "value": 31.7, "date": "2026-10-09"}]`), "observations[0].unit", "31.7"},
		{"ValueMissing", schema.Clinical(), cli(`, "observations": [{"code": "4548-4", "unit": "%", "date": "2026-10-09"}]`), "observations[0].value", ""},
		{"ValueNegative", schema.Clinical(), cli(`, "observations": [{"code": "4548-4", "value": -7.25, "unit": "%", "date": "2026-10-09"}]`), "observations[0].value", ""},
		{"ValueTooLarge", schema.Clinical(), cli(`, "observations": [{"code": "4548-4", "value": 123456789, "unit": "%", "date": "2026-10-09"}]`), "observations[0].value", ""},
		{"ValueOnConditions", schema.Clinical(), cli(`, "conditions": [{"code": "E11.9", "onset": "2015-03-01", "value": 1}]`), "conditions[0].value", ""},
		{"UnitOnMedications", schema.Clinical(), cli(`, "medications": [{"code": "1", "start": "2016-01-01", "unit": "mg"}]`), "medications[0].unit", ""},
		{"WrongDateFieldConditions", schema.Clinical(), cli(`, "conditions": [{"code": "E11.9", "date": "2015-03-01"}]`), "conditions[0].date", ""},
		{"WrongDateFieldMedications", schema.Clinical(), cli(`, "medications": [{"code": "1", "onset": "2016-01-01"}]`), "medications[0].onset", ""},
		{"WrongDateFieldObservations", schema.Clinical(), cli(`, "observations": [{"code": "4548-4", "value": 7.5, "unit": "%", "start": "2026-10-09"}]`), "observations[0].start", ""},
		{"BadEnum", schema.Clinical(), `{"birth_date": "1976-01-16", "sex": "robot"}`, "sex", "robot"},
		{"EmptyHashed", schema.Coverage(), cov(`"M123456"`, `""`), "member_id", ""},
		{"BlankHashed", schema.Coverage(), cov(`"M123456"`, `"  "`), "member_id", ""},
		{"HashedWrongType", schema.Coverage(), cov(`"M123456"`, `123456`), "member_id", "123456"},
		{"EnumOtherValue", schema.Coverage(), cov(`"active"`, `"ACME-HEALTH-active"`), "status", "ACME"},
		{"NotObject", schema.Clinical(), `[]`, "attributes", ""},
		{"Null", schema.Clinical(), `null`, "birth_date", ""},
		{"Empty", schema.Clinical(), ``, "attributes", ""},
		{"Trailing", schema.Clinical(), cli(``) + ` {}`, "attributes", ""},
		{"NotJSON", schema.Clinical(), `birth_date=1976-01-16`, "attributes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := credential.ParseAttributes(tt.schema, []byte(tt.attrs))
			if err == nil {
				t.Fatalf("ParseAttributes accepted %s: %+v", tt.attrs, a)
			}
			var fe *credential.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a FieldError", err, err)
			}
			if fe.Field != tt.field {
				t.Errorf("error names field %q, want %q (%v)", fe.Field, tt.field, err)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("message %q does not start with the field", err)
			}
			if !errors.Is(err, credential.ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("message %q echoes the health value %q", err, tt.secret)
			}
		})
	}
}

// TestRefusalsInIssue checks Issue and Decode surface the same field errors.
func TestRefusalsInIssue(t *testing.T) {
	rnd := seeded(t)
	ik := mustIssuerKey(t, rnd)
	bad := `{"birth_date": "1976-01-16", "sex": "male", "conditions": [{"code": "E1", "onset": "2015-03-01"}]}`
	var fe *credential.FieldError
	if _, err := credential.Issue(ik, schema.Clinical(), ik.Public().A.X, []byte(bad), issuedOn, expiresOn, rnd); !errors.As(err, &fe) || fe.Field != "conditions[0].code" {
		t.Errorf("Issue = %v, want a FieldError on conditions[0].code", err)
	}
	is := issue(t, rnd, schema.Clinical(), testfixture.ClinicalAttrs)
	c := toMap(t, marshal(t, is.cred))
	c["attributes"] = json.RawMessage(bad)
	data, _ := json.Marshal(c)
	if _, err := decodeVerify(data); !errors.As(err, &fe) || fe.Field != "conditions[0].code" {
		t.Errorf("Decode = %v, want a FieldError on conditions[0].code", err)
	}
}

// TestFaithfulEntries reads version-2 entries (CLI.md): conditions with abatement, clinical and
// verification status; medications with end and status. Absent fields take their documented
// defaults (ongoing, active, confirmed), so a version-1 ATTRS.json is still read.
func TestFaithfulEntries(t *testing.T) {
	s := schema.Clinical()
	a := mustParse(t, s, `{"birth_date": "1976-01-16", "sex": "male",
		"conditions": [{"code": "E11.9", "onset": "2015-03-01"},
		               {"code": "I21.4", "onset": "2026-09-20", "abatement": "2026-10-05", "clinical_status": "Resolved", "verification_status": "confirmed"},
		               {"code": "E10.9", "onset": "2026-01-02", "verification_status": "differential"},
		               {"code": "J01.90", "onset": "2012-05-30", "abatement": "unknown", "clinical_status": "resolved"}],
		"medications": [{"code": "860975", "start": "2016-01-01"},
		                {"code": "311041", "start": "2020-01-01", "end": "2021-06-30", "status": "completed"}]}`)
	want := map[string][3]string{ // code → end, clinical status, verification
		"E11.9":  {"", "active", "confirmed"},
		"I21.4":  {"2026-10-05", "resolved", "confirmed"},
		"E10.9":  {"", "active", "differential"},
		"J01.90": {credential.EndUnknown, "resolved", "confirmed"},
	}
	for _, e := range list(a, "conditions") {
		if got := [3]string{e.End, e.Status, e.Verification}; got != want[e.Code] {
			t.Errorf("condition %s: %v, want %v", e.Code, got, want[e.Code])
		}
	}
	meds := map[string][2]string{"860975": {"", "active"}, "311041": {"2021-06-30", "completed"}}
	for _, e := range list(a, "medications") {
		if got := [2]string{e.End, e.Status}; got != meds[e.Code] {
			t.Errorf("medication %s: %v, want %v", e.Code, got, meds[e.Code])
		}
	}
	// the normal form names every status, so a credential shows what was signed
	out, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"clinical_status":"active"`, `"verification_status":"differential"`, `"abatement":"2026-10-05"`, `"abatement":"unknown"`, `"status":"completed"`, `"end":"2021-06-30"`} {
		if !strings.Contains(string(out), frag) {
			t.Errorf("normal form lacks %s: %s", frag, out)
		}
	}
	if strings.Contains(string(out), `"end":""`) || strings.Contains(string(out), `"abatement":""`) {
		t.Errorf("an ongoing entry's end is written: %s", out)
	}
}

// TestFaithfulEntryRefusals: refuted and entered-in-error entries are never signed; an end before
// the start, an unknown status and a field of another list are refused, each naming the field.
func TestFaithfulEntryRefusals(t *testing.T) {
	for _, tc := range []struct{ name, entry, list, field string }{
		{"refuted", `{"code": "E11.9", "onset": "2015-03-01", "verification_status": "refuted"}`, "conditions", "conditions[0].verification_status"},
		{"condition entered in error", `{"code": "E11.9", "onset": "2015-03-01", "verification_status": "entered-in-error"}`, "conditions", "conditions[0].verification_status"},
		{"medication entered in error", `{"code": "860975", "start": "2016-01-01", "status": "entered-in-error"}`, "medications", "medications[0].status"},
		{"abatement before onset", `{"code": "I21.4", "onset": "2026-09-20", "abatement": "2026-09-19"}`, "conditions", "conditions[0].abatement"},
		{"bad abatement", `{"code": "I21.4", "onset": "2026-09-20", "abatement": "soon"}`, "conditions", "conditions[0].abatement"},
		{"unknown clinical status", `{"code": "I21.4", "onset": "2026-09-20", "clinical_status": "cured"}`, "conditions", "conditions[0].clinical_status"},
		{"end on a condition", `{"code": "I21.4", "onset": "2026-09-20", "end": "2026-10-01"}`, "conditions", "conditions[0].end"},
		{"status on an observation", `{"code": "4548-4", "value": 7.5, "unit": "%", "date": "2026-10-09", "status": "final"}`, "observations", "observations[0].status"},
		{"abatement on a medication", `{"code": "860975", "start": "2016-01-01", "abatement": "2017-01-01"}`, "medications", "medications[0].abatement"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs := `{"birth_date": "1976-01-16", "sex": "male", "` + tc.list + `": [` + tc.entry + `]}`
			_, err := credential.ParseAttributes(schema.Clinical(), []byte(attrs))
			var fe *credential.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, credential.ErrMalformed) {
				t.Fatalf("error %v, want a malformed-input error naming %s", err, tc.field)
			}
		})
	}
}

// TestSnapshotRule: a credential is the record as it stood on issued_on, so Issue refuses an entry
// dated after it, or an end after it, naming the field.
func TestSnapshotRule(t *testing.T) {
	rnd := seeded(t)
	ik := mustIssuerKey(t, rnd)
	hk, err := credential.GenerateHolderKey(rnd)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, attrs, field string }{
		{"observation after", `{"birth_date": "1976-01-16", "sex": "male", "observations": [{"code": "4548-4", "value": 7.5, "unit": "%", "date": "2026-11-02"}]}`, "observations[0].date"},
		{"abatement after", `{"birth_date": "1976-01-16", "sex": "male", "conditions": [{"code": "I21.4", "onset": "2026-09-20", "abatement": "2026-11-05", "clinical_status": "resolved"}]}`, "conditions[0].abatement"},
		{"on issued_on is fine", `{"birth_date": "1976-01-16", "sex": "male", "medications": [{"code": "860975", "start": "2026-11-01"}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := credential.Issue(ik, schema.Clinical(), hk.Commitment(), []byte(tc.attrs), "2026-11-01", "2027-11-01", rnd)
			var fe *credential.FieldError
			switch {
			case tc.field == "" && err != nil:
				t.Fatal(err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field):
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}
