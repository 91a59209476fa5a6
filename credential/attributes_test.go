package credential_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

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

func truncated(a *credential.Attributes, name string) bool {
	i, _, _ := a.Schema.List(name)
	return a.Truncated[i]
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
	// Codes in canonical spelling; dated lists newest first, ties in the given order.
	if got, want := codes(list(a, "conditions")), "I21.9@2020-01-01 E11.9@2015-03-01 Z99.89@2015-03-01 I10@2012-06-10"; got != want {
		t.Errorf("conditions = %s, want %s", got, want)
	}
	if got, want := codes(list(a, "observations")), "39156-5@2026-10-09 4548-4@2026-01-09"; got != want {
		t.Errorf("observations = %s, want %s", got, want)
	}
	if got, want := codes(list(a, "medications")), "1@2017-01-01 860975@2016-01-01"; got != want {
		t.Errorf("medications = %s, want %s", got, want)
	}
	obs := list(a, "observations")
	if *obs[0].Value != 30 || obs[0].Unit != "kg/m2" || *obs[1].Value != 7.5 || obs[1].Unit != "%" {
		t.Errorf("observations = %v %s, %v %s", *obs[0].Value, obs[0].Unit, *obs[1].Value, obs[1].Unit)
	}
	for _, l := range s.Lists {
		if truncated(a, l.Name) {
			t.Errorf("%s truncated", l.Name)
		}
	}

	// Coverage: enum case, X12 case; an undated list keeps its order.
	c := mustParse(t, schema.Coverage(), strings.Replace(strings.Replace(testfixture.CoverageAttrs, `"active"`, `"Active"`, 1), `"AL"`, `"al"`, 1))
	if c.Scalars[3] != "active" {
		t.Errorf("status = %q", c.Scalars[3])
	}
	sc := list(c, "service_categories")
	if len(sc) != 13 || sc[0].Code != "30" || sc[1].Code != "1" || sc[10].Code != "AL" || sc[12].Code != "UC" {
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
	if attrs.Sex != "female" || len(attrs.Conditions) != 2 || attrs.Conditions[0].Code != "I21.9" || attrs.Conditions[1].Code != "E11.9" {
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
			if got := valueOf(d, schema.EntryField("observations", 0, "value")); got.Uint64() != tt.fixed {
				t.Errorf("encoded value %v, want %d", got, tt.fixed)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	rnd := seeded(t)
	// dated builds n entries of list (one a year from 2000), given in random order.
	dated := func(n int, entry func(i int, date string) string) string {
		idx := rand.New(rand.NewChaCha8([32]byte{byte(n)})).Perm(n)
		var out []string
		for _, i := range idx {
			out = append(out, entry(i, fmt.Sprintf("%d-01-01", 2000+i)))
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	condition := func(i int, date string) string {
		return fmt.Sprintf(`{"code": "E11.%d", "onset": %q}`, i%10, date)
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
	tests := []struct {
		name, list string
		attrs      string
		kept       int
		truncated  bool
		schema     *schema.Schema
	}{
		{"conditions/20", "conditions", clinical("conditions", dated(20, condition)), 16, true, schema.Clinical()},
		{"conditions/17", "conditions", clinical("conditions", dated(17, condition)), 16, true, schema.Clinical()},
		{"conditions/16", "conditions", clinical("conditions", dated(16, condition)), 16, false, schema.Clinical()},
		{"observations/30", "observations", clinical("observations", dated(30, observation)), 16, true, schema.Clinical()},
		{"medications/9", "medications", clinical("medications", dated(9, medication)), 8, true, schema.Clinical()},
		{"medications/8", "medications", clinical("medications", dated(8, medication)), 8, false, schema.Clinical()},
		{"service_categories/17", "service_categories", strings.Replace(testfixture.CoverageAttrs, `"UC"]`, `"UC", "A1", "A2", "A3", "A4"]`, 1), 16, true, schema.Coverage()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.schema, tt.attrs)
			entries := list(a, tt.list)
			if len(entries) != tt.kept || truncated(a, tt.list) != tt.truncated {
				t.Fatalf("kept %d, truncated %v; want %d, %v", len(entries), truncated(a, tt.list), tt.kept, tt.truncated)
			}
			_, l, _ := tt.schema.List(tt.list)
			if l.HasDate() {
				// The newest entries, newest first: years 2000+n-1 down to 2000+n-kept.
				n := strings.Count(tt.attrs, `"code"`)
				for j, e := range entries {
					if want := fmt.Sprintf("%d-01-01", 2000+n-1-j); e.Date != want {
						t.Errorf("entry %d dated %s, want %s", j, e.Date, want)
					}
				}
			} else if entries[13].Code != "A1" || entries[15].Code != "A3" {
				t.Errorf("an undated list keeps its first entries in order; entries 13..15 = %v", entries[13:])
			}

			is := issue(t, rnd, tt.schema, tt.attrs)
			if got := strings.Join(is.cred.Truncated, ","); (got == tt.list) != tt.truncated || (got != "" && got != tt.list) {
				t.Errorf("credential truncated = %q", got)
			}
			data := marshal(t, is.cred)
			if strings.Contains(string(data), `"truncated"`) != tt.truncated {
				t.Errorf("CREDENTIAL.json truncated field present = %v, want %v", !tt.truncated, tt.truncated)
			}
			d, err := decodeVerify(data)
			if err != nil {
				t.Fatalf("truncated credential does not verify: %v", err)
			}
			if truncated(d.Attributes, tt.list) != tt.truncated {
				t.Errorf("decoded truncated = %v", !tt.truncated)
			}
			flag := valueOf(d, schema.TruncatedField(tt.list)).Int64()
			length := valueOf(d, schema.LengthField(tt.list)).Int64()
			if (flag == 1) != tt.truncated || length != int64(tt.kept) {
				t.Errorf("layout truncated = %d, length = %d", flag, length)
			}
			if tt.truncated {
				// Hiding the truncation breaks the signature.
				c := toMap(t, data)
				delete(c, "truncated")
				changed, _ := json.Marshal(c)
				if _, err := decodeVerify(changed); !errors.Is(err, credential.ErrBadSignature) {
					t.Errorf("credential with truncation hidden: %v, want ErrBadSignature", err)
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
		{"LOINCWithoutUnit", schema.Clinical(), cli(`, "observations": [{"code": "2951-2", "value": 140, "unit": "mmol/L", "date": "2026-10-09"}]`), "observations[0].code", ""},
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
