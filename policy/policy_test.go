package policy_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

func TestParse(t *testing.T) {
	good := testfixture.ClinicalPolicy
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"ClinicalExample", good, true},
		{"CoverageExample", testfixture.CoveragePolicy, true},
		{"TrailingWhitespace", good + "\n\t ", true},
		{"Issuers", `{"schema": "coverage", "scope": "s", "issuers": ["ab"], "predicates": []}`, true}, // shape only
		{"AtSizeLimit", good + strings.Repeat(" ", policy.MaxSize-len(good)), true},
		{"Empty", "", false},
		{"NotAnObject", `[]`, false},
		{"UnknownTopField", strings.Replace(good, `"scope"`, `"extra": 1, "scope"`, 1), false},
		{"UnknownPredicateField", strings.Replace(good, `"op": "between"`, `"op": "between", "negate": true`, 1), false},
		{"TrailingObject", good + `{}`, false},
		{"TrailingBracket", good + ` ]`, false},
		{"TrailingBrace", good + "\n}", false},
		{"TrailingGarbage", good + ` x`, false},
		{"TrailingNBSP", good + "\u00a0", false},
		{"TrailingString", good + ` "x"`, false},
		{"Truncated", good[:len(good)-3], false},
		{"WrongType", `{"schema": 1, "scope": "s", "predicates": []}`, false},
		{"WithinDaysString", `{"schema": "clinical", "scope": "s", "predicates": [{"list": "conditions", "match": "none", "code": ["I21"], "within_days": "180"}]}`, false},
		{"WithinDaysFraction", `{"schema": "clinical", "scope": "s", "predicates": [{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 1.5}]}`, false},
		{"Oversize", good + strings.Repeat(" ", policy.MaxSize-len(good)+1), false},
		{"OversizeScope", `{"schema": "clinical", "scope": "` + strings.Repeat("s", policy.MaxSize) + `", "predicates": []}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tc.data))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

// good predicates that compile on their schema, used to push a bad one to a given index.
const (
	goodClinical = `{"attribute": "sex", "op": "eq", "value": "male"}`
	goodCoverage = `{"attribute": "status", "op": "eq", "value": "active"}`
)

func repeat(pred string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = pred
	}
	return out
}

// TestCompilePredicateErrors checks that every predicate-level refusal is a *PredicateError
// naming the right index, placed after `before` good predicates.
func TestCompilePredicateErrors(t *testing.T) {
	seventeen := make([]string, 17)
	for i := range seventeen {
		seventeen[i] = fmt.Sprintf("%q", []string{"female", "male", "other", "unknown"}[i%4])
	}
	payers := make([]string, 17)
	for i := range payers {
		payers[i] = fmt.Sprintf("%q", fmt.Sprint("P", i))
	}
	cases := []struct {
		name   string
		schema string
		before int      // good predicates before the bad one
		preds  []string // the bad one last; may include earlier predicates that fill pools
	}{
		{"AttributeSchemaLacks", "clinical", 1, []string{`{"attribute": "payer", "op": "eq", "value": "ACME"}`}},
		{"AgeOnCoverage", "coverage", 2, []string{`{"attribute": "age", "op": "gte", "value": 18}`}},
		{"ListSchemaLacks", "clinical", 2, []string{`{"list": "service_categories", "match": "exists", "code": ["30"]}`}},
		{"ListOnCoverageLacks", "coverage", 0, []string{`{"list": "conditions", "match": "exists", "code": ["E11"]}`}},
		{"LtOnHashed", "coverage", 1, []string{`{"attribute": "payer", "op": "lt", "value": "ACME"}`}},
		{"LteOnHashed", "coverage", 1, []string{`{"attribute": "member_id", "op": "lte", "value": "M1"}`}},
		{"GtOnHashed", "coverage", 1, []string{`{"attribute": "plan", "op": "gt", "value": "GOLD"}`}},
		{"GteOnHashed", "coverage", 3, []string{`{"attribute": "insurance_type", "op": "gte", "value": "PPO"}`}},
		{"BetweenOnHashed", "coverage", 2, []string{`{"attribute": "payer", "op": "between", "value": ["A", "B"]}`}},
		{"NotBetweenOnHashed", "coverage", 0, []string{`{"attribute": "payer", "op": "not_between", "value": ["A", "B"]}`}},
		{"UnknownOp", "clinical", 1, []string{`{"attribute": "sex", "op": "like", "value": "m"}`}},
		{"EmptyOp", "clinical", 1, []string{`{"attribute": "sex", "value": "male"}`}},
		{"UnknownAgeOp", "clinical", 1, []string{`{"attribute": "age", "op": "in", "value": [18, 19]}`}},
		{"UnknownMatch", "clinical", 3, []string{`{"list": "conditions", "match": "all", "code": ["E11"]}`}},
		{"EmptyMatch", "clinical", 0, []string{`{"list": "conditions", "code": ["E11"]}`}},
		{"AttributeAndList", "clinical", 1, []string{`{"attribute": "sex", "op": "eq", "value": "male", "list": "conditions", "match": "exists", "code": ["E11"]}`}},
		{"AttributeWithCode", "clinical", 1, []string{`{"attribute": "sex", "op": "eq", "value": "male", "code": ["E11"]}`}},
		{"EmptyPredicate", "clinical", 1, []string{`{}`}},
		{"LtMinimumDate", "coverage", 2, []string{`{"attribute": "period_start", "op": "lt", "value": "1900-01-01"}`}},
		{"GtMaximumDate", "coverage", 2, []string{`{"attribute": "period_end", "op": "gt", "value": "2099-12-31"}`}},
		{"LtFirstEnum", "coverage", 1, []string{`{"attribute": "status", "op": "lt", "value": "active"}`}},
		{"GtLastEnum", "coverage", 1, []string{`{"attribute": "status", "op": "gt", "value": "entered-in-error"}`}},
		{"AgeLtZero", "clinical", 1, []string{`{"attribute": "age", "op": "lt", "value": 0}`}},
		{"AgeGt200", "clinical", 1, []string{`{"attribute": "age", "op": "gt", "value": 200}`}},
		{"AgeNegative", "clinical", 1, []string{`{"attribute": "age", "op": "gte", "value": -1}`}},
		{"AgeBeforeEncodableBirth", "clinical", 1, []string{`{"attribute": "age", "op": "gte", "value": 150}`}},
		{"BetweenLowAboveHigh", "coverage", 1, []string{`{"attribute": "period_start", "op": "between", "value": ["2026-12-31", "2026-01-01"]}`}},
		{"NotBetweenLowAboveHigh", "coverage", 1, []string{`{"attribute": "status", "op": "not_between", "value": ["draft", "active"]}`}},
		{"AgeBetweenLowAboveHigh", "clinical", 1, []string{`{"attribute": "age", "op": "between", "value": [75, 18]}`}},
		{"ListValueLowAboveHigh", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [11.0, 7.5]}`}},
		{"DateAsNumber", "coverage", 1, []string{`{"attribute": "period_start", "op": "lte", "value": 20260101}`}},
		{"BadDate", "coverage", 1, []string{`{"attribute": "period_start", "op": "lte", "value": "2026-02-30"}`}},
		{"DateOutOfRange", "coverage", 1, []string{`{"attribute": "period_start", "op": "lte", "value": "2100-01-01"}`}},
		{"EnumAsNumber", "clinical", 1, []string{`{"attribute": "sex", "op": "eq", "value": 1}`}},
		{"EnumUnknownValue", "clinical", 1, []string{`{"attribute": "sex", "op": "eq", "value": "m"}`}},
		{"EqWithArray", "coverage", 1, []string{`{"attribute": "payer", "op": "eq", "value": ["ACME"]}`}},
		{"InWithString", "coverage", 1, []string{`{"attribute": "payer", "op": "in", "value": "ACME"}`}},
		{"InWithNumbers", "coverage", 1, []string{`{"attribute": "payer", "op": "in", "value": [1, 2]}`}},
		{"InWithoutValue", "coverage", 1, []string{`{"attribute": "payer", "op": "in"}`}},
		{"BetweenThreeValues", "coverage", 1, []string{`{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-02-01", "2026-03-01"]}`}},
		{"BetweenOneValue", "coverage", 1, []string{`{"attribute": "period_start", "op": "between", "value": ["2026-01-01"]}`}},
		{"BetweenBadFirst", "coverage", 1, []string{`{"attribute": "period_start", "op": "between", "value": ["soon", "2026-01-01"]}`}},
		{"ListValueTooLarge", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [1, 1e12]}`}},
		{"BetweenBadSecond", "coverage", 1, []string{`{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "soon"]}`}},
		{"AgeAsString", "clinical", 1, []string{`{"attribute": "age", "op": "gte", "value": "18"}`}},
		{"AgeFraction", "clinical", 1, []string{`{"attribute": "age", "op": "gte", "value": 17.5}`}},
		{"AgeBetweenOneValue", "clinical", 1, []string{`{"attribute": "age", "op": "between", "value": [18]}`}},
		{"ListValueStrings", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": ["7.5", "11"]}`}},
		{"BothWindows", "clinical", 1, []string{`{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 10, "present_within_days": 10}`}},
		{"StateWindowOnEvents", "clinical", 1, []string{`{"list": "observations", "match": "none", "code": ["4548-4"], "present_within_days": 10}`}},
		{"StatusOnNone", "clinical", 1, []string{`{"list": "conditions", "match": "none", "code": ["I21"], "status": ["active"]}`}},
		{"VerificationOnLatest", "clinical", 1, []string{`{"list": "observations", "match": "latest", "code": ["4548-4"], "verification": ["confirmed"]}`}},
		{"UnknownStatus", "clinical", 1, []string{`{"list": "conditions", "match": "exists", "code": ["I21"], "status": ["cured"]}`}},
		{"VerificationOnMedications", "clinical", 1, []string{`{"list": "medications", "match": "exists", "code": ["311041"], "verification": ["confirmed"]}`}},
		{"StatusOnScalar", "clinical", 1, []string{`{"attribute": "sex", "op": "eq", "value": "male", "status": ["active"]}`}},
		{"ListValueEmptyAtScale", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [7.491, 7.499]}`}},
		{"ListValueHugeExponent", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [1, 1e999999999]}`}},
		{"ListValueOneNumber", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [7.5]}`}},
		{"ListValueNegative", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [-1, 7]}`}},
		{"InZeroValues", "coverage", 1, []string{`{"attribute": "payer", "op": "in", "value": []}`}},
		{"NotInZeroValues", "clinical", 1, []string{`{"attribute": "sex", "op": "not_in", "value": []}`}},
		{"In17ValuesOnCoverage", "coverage", 0, []string{`{"attribute": "payer", "op": "in", "value": [` + strings.Join(payers, ", ") + `]}`}},
		{"In17Values", "clinical", 1, []string{`{"attribute": "sex", "op": "in", "value": [` + strings.Join(seventeen, ", ") + `]}`}},
		{"FamiliesOverflowOnePredicate", "coverage", 1, []string{`{"list": "service_categories", "match": "exists", "code": ["1", "2", "3", "4", "5"]}`}},
		{"BlocksOverflowAcrossPredicates", "coverage", 1, []string{
			`{"list": "service_categories", "match": "none", "code": ["1", "2", "3"]}`,
			`{"list": "service_categories", "match": "none", "code": ["4", "5"]}`}},
		{"FamiliesOverflowConditions", "clinical", 0, []string{
			`{"list": "conditions", "match": "exists", "code": ["A00", "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08"]}`}},
		{"ExistsOverflowConditions", "clinical", 0, repeat(`{"list": "conditions", "match": "exists", "code": ["E11"]}`, 7)},
		{"LatestOverflowMedications", "clinical", 0, repeat(`{"list": "medications", "match": "latest", "code": ["860975"]}`, 2)},
		{"SetValuesOverflowAcrossPredicatesClinical", "clinical", 1, []string{`{"attribute": "sex", "op": "in", "value": ["female", "male", "other", "unknown"]}`,
			`{"attribute": "birth_date", "op": "not_in", "value": ["1970-01-01", "1970-01-02", "1970-01-03", "1970-01-04", "1970-01-05", "1970-01-06", "1970-01-07", "1970-01-08", "1970-01-09", "1970-01-10", "1970-01-11", "1970-01-12", "1970-01-13"]}`}},
		{"ValueOnNone", "clinical", 1, []string{`{"list": "observations", "match": "none", "code": ["39156-5"], "value": [40, 100]}`}},
		{"LatestOnICDFamily", "clinical", 1, []string{`{"list": "conditions", "match": "latest", "code": ["E11"]}`}},
		{"17ClinicalPredicates", "clinical", 16, []string{goodClinical}},
		{"9CoveragePredicates", "coverage", 8, []string{goodCoverage}},
		{"SetValuesOverflowAcrossPredicates", "coverage", 2, []string{
			`{"attribute": "payer", "op": "in", "value": ["A", "B", "C", "D", "E", "F", "G", "H"]}`,
			`{"attribute": "plan", "op": "not_in", "value": ["A", "I", "J", "K", "L", "M", "N", "O"]}`,
			`{"attribute": "member_id", "op": "ne", "value": "P"}`}},
		{"ValueOnConditions", "clinical", 1, []string{`{"list": "conditions", "match": "exists", "code": ["E11"], "value": [1, 2]}`}},
		{"ValueOnServiceCategories", "coverage", 1, []string{`{"list": "service_categories", "match": "exists", "code": ["30"], "value": [1, 2]}`}},
		{"WithinDaysDateless", "coverage", 1, []string{`{"list": "service_categories", "match": "exists", "code": ["30"], "within_days": 30}`}},
		{"WithinDaysNegative", "clinical", 1, []string{`{"list": "conditions", "match": "none", "code": ["I21"], "within_days": -1}`}},
		{"WithinDaysHuge", "clinical", 1, []string{`{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 131071}`}},
		{"LatestDateless", "coverage", 1, []string{`{"list": "service_categories", "match": "latest", "code": ["30"]}`}},
		{"MixedLOINCUnits", "clinical", 1, []string{`{"list": "observations", "match": "latest", "code": ["4548-4", "2339-0"], "value": [5, 10]}`}},
		{"MixedLOINCScales", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["2339-0", "2160-0"], "value": [1, 2]}`}},
		{"ValueForUnknownLOINC", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["1234-4"], "value": [1, 2]}`}},
		{"NoCode", "clinical", 1, []string{`{"list": "conditions", "match": "exists"}`}},
		{"EmptyCode", "clinical", 1, []string{`{"list": "conditions", "match": "exists", "code": []}`}},
		{"BadICD", "clinical", 1, []string{`{"list": "conditions", "match": "exists", "code": ["E1?"]}`}},
		{"BackwardICDBlock", "clinical", 1, []string{`{"list": "conditions", "match": "exists", "code": ["E13-E08"]}`}},
		{"BadLOINC", "clinical", 1, []string{`{"list": "observations", "match": "exists", "code": ["4548-5"]}`}},
		{"BadRxNorm", "clinical", 1, []string{`{"list": "medications", "match": "exists", "code": ["abc"]}`}},
		{"BadX12", "coverage", 1, []string{`{"list": "service_categories", "match": "exists", "code": ["ABC"]}`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			good := goodClinical
			if tc.schema == "coverage" {
				good = goodCoverage
			}
			preds := append(repeat(good, tc.before), tc.preds...)
			js := pol(tc.schema, preds...)
			p := parse(t, js)
			c, err := p.Compile(asOf)
			if err == nil {
				t.Fatalf("compiled %s", js)
			}
			if c != nil {
				t.Errorf("returned a compiled policy with the error")
			}
			var pe *policy.PredicateError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *PredicateError", err)
			}
			if want := len(preds) - 1; pe.Index != want {
				t.Fatalf("error names predicate %d, want %d: %v", pe.Index, want, err)
			}
			if pe.Predicate != p.Predicates[pe.Index].String() {
				t.Errorf("error quotes %q, predicate is %q", pe.Predicate, p.Predicates[pe.Index].String())
			}
			if !errors.Is(err, policy.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, fmt.Sprintf("predicate %d (", pe.Index)) {
				t.Errorf("message %q does not name the predicate", msg)
			}
			if err := p.Validate(); err == nil {
				t.Errorf("Validate accepted what Compile refuses")
			}
		})
	}
}

// TestCompileAccepts covers the edges of what must still compile.
func TestCompileAccepts(t *testing.T) {
	sixteen := make([]string, 16)
	for i := range sixteen {
		sixteen[i] = fmt.Sprintf("%q", fmt.Sprint("P", i))
	}
	for _, tc := range []struct {
		name  string
		js    string
		asOf  string
		extra func(t *testing.T, c *policy.Compiled)
	}{
		{"ClinicalExample", testfixture.ClinicalPolicy, asOf, nil},
		{"CoverageExample", testfixture.CoveragePolicy, asOf, nil},
		{"16ClinicalPredicates", pol("clinical", repeat(goodClinical, 16)...), asOf, nil},
		{"8CoveragePredicates", pol("coverage", repeat(goodCoverage, 8)...), asOf, nil},
		{"In16ValuesOnCoverage", pol("coverage", `{"attribute": "payer", "op": "in", "value": [`+strings.Join(sixteen, ", ")+`]}`), asOf, nil},
		{"InSixValuesOnCoverage", pol("coverage", `{"attribute": "payer", "op": "in", "value": ["A", "B", "C", "D", "E", "F"]}`), asOf, nil},
		{"SharedSetValues", pol("coverage",
			`{"attribute": "payer", "op": "in", "value": ["A", "B", "C"]}`,
			`{"attribute": "plan", "op": "not_in", "value": ["A", "B", "C"]}`,
			`{"attribute": "member_id", "op": "in", "value": ["D", "E", "F"]}`), asOf, nil},
		{"FourFamiliesSharedAcrossPredicates", pol("coverage",
			`{"list": "service_categories", "match": "exists", "code": ["1", "2"]}`,
			`{"list": "service_categories", "match": "none", "code": ["2", "3", "4", "1"]}`), asOf, nil},
		{"FamiliesPerList", pol("clinical",
			`{"list": "conditions", "match": "exists", "code": ["A00", "A01", "A02", "A03", "A04", "A05", "A06", "A07"]}`,
			`{"list": "medications", "match": "exists", "code": ["1", "2", "3", "4"]}`), asOf, nil},
		{"LtSecondDate", pol("coverage", `{"attribute": "period_start", "op": "lt", "value": "1900-01-02"}`), asOf, nil},
		{"GtPenultimateDate", pol("coverage", `{"attribute": "period_end", "op": "gt", "value": "2099-12-30"}`), asOf, nil},
		{"GtPenultimateEnum", pol("coverage", `{"attribute": "status", "op": "gt", "value": "draft"}`), asOf, nil},
		{"LtSecondEnum", pol("coverage", `{"attribute": "status", "op": "lt", "value": "cancelled"}`), asOf, nil},
		{"BetweenOneDay", pol("coverage", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-01-01"]}`), asOf, nil},
		{"AgeBetweenEqual", pol("clinical", `{"attribute": "age", "op": "between", "value": [40, 40]}`), asOf, nil},
		{"AgeEq0AndLte200", pol("clinical", `{"attribute": "age", "op": "eq", "value": 0}`, `{"attribute": "age", "op": "lte", "value": 200}`), asOf, nil},
		{"ValueRangeOneUnit", pol("clinical", `{"list": "observations", "match": "latest", "code": ["4548-4", "17856-6"], "value": [7, 9]}`), asOf, nil},
		{"MixedUnitsWithoutValue", pol("clinical", `{"list": "observations", "match": "exists", "code": ["4548-4", "2339-0"]}`), asOf, nil},
		{"WithinDaysZero", pol("clinical", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 0}`), asOf, nil},
		{"ICDBlockEnDash", pol("clinical", `{"list": "conditions", "match": "exists", "code": ["E08–E13"]}`), asOf, nil},
		{"Issuers", `{"schema": "coverage", "scope": "s", "issuers": ["` + issuerHex(t) + `"], "predicates": [` + goodCoverage + `]}`, asOf, nil},
		{"LongestScope", `{"schema": "coverage", "scope": "` + strings.Repeat("s", policy.MaxScopeLen) + `", "predicates": [` + goodCoverage + `]}`, asOf, nil},
		{"ExtremeAsOf", testfixture.ClinicalPolicy, "2099-12-31", nil},
		{"EarlyAsOf", pol("clinical", `{"attribute": "age", "op": "lte", "value": 10}`), "1900-01-01", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compile(t, tc.js, tc.asOf)
			a := c.Assigned
			layout := a.Circuit.PolicyLayout(c.Schema)
			if len(a.Values) != len(layout.Fields) {
				t.Fatalf("%d values for %d layout fields", len(a.Values), len(layout.Fields))
			}
			if _, err := layout.Pack(a.Values); err != nil {
				t.Fatalf("values do not fit their declared widths: %v", err)
			}
		})
	}
}

func issuerHex(t testing.TB) string {
	t.Helper()
	k, err := credential.GenerateIssuerKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicHex()
}

// TestCompilePolicyErrors covers refusals about the policy as a whole: none is a PredicateError.
func TestCompilePolicyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, js, asOf string
	}{
		{"NoPredicates", pol("clinical"), asOf},
		{"NullPredicates", `{"schema": "clinical", "scope": "s", "predicates": null}`, asOf},
		{"MissingPredicates", `{"schema": "clinical", "scope": "s"}`, asOf},
		{"EmptyScope", `{"schema": "clinical", "scope": "", "predicates": [` + goodClinical + `]}`, asOf},
		{"MissingScope", `{"schema": "clinical", "predicates": [` + goodClinical + `]}`, asOf},
		{"LongScope", `{"schema": "clinical", "scope": "` + strings.Repeat("s", policy.MaxScopeLen+1) + `", "predicates": [` + goodClinical + `]}`, asOf},
		{"UnknownSchema", `{"schema": "dental", "scope": "s", "predicates": [` + goodClinical + `]}`, asOf},
		{"MissingSchema", `{"scope": "s", "predicates": [` + goodClinical + `]}`, asOf},
		{"IssuerNotHex", `{"schema": "clinical", "scope": "s", "issuers": ["zz"], "predicates": [` + goodClinical + `]}`, asOf},
		{"IssuerEmpty", `{"schema": "clinical", "scope": "s", "issuers": [""], "predicates": [` + goodClinical + `]}`, asOf},
		{"IssuerShort", `{"schema": "clinical", "scope": "s", "issuers": ["abcd"], "predicates": [` + goodClinical + `]}`, asOf},
		{"SecondIssuerBad", `{"schema": "clinical", "scope": "s", "issuers": ["` + issuerHex(t) + `", "00"], "predicates": [` + goodClinical + `]}`, asOf},
		{"AsOfMalformed", testfixture.ClinicalPolicy, "2026-11-31"},
		{"AsOfEmpty", testfixture.ClinicalPolicy, ""},
		{"AsOfOutOfRange", testfixture.ClinicalPolicy, "2100-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(t, tc.js).Compile(tc.asOf)
			if err == nil {
				t.Fatalf("compiled: hash %s", c.Assigned.Hash.String())
			}
			var pe *policy.PredicateError
			if errors.As(err, &pe) {
				t.Fatalf("policy-level error reported as predicate %d: %v", pe.Index, err)
			}
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestCompileDeterministic(t *testing.T) {
	for _, js := range []string{testfixture.ClinicalPolicy, testfixture.CoveragePolicy} {
		a := compile(t, js, asOf)
		b := compile(t, js, asOf)
		p := parse(t, js)
		c1, err := p.Compile(asOf)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := p.Compile(asOf)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*policy.Compiled{b, c1, c2} {
			if !c.Assigned.Hash.Equal(&a.Assigned.Hash) || !c.Scope.Equal(&a.Scope) || c.AsOf != a.AsOf {
				t.Fatalf("hash, scope or as-of differ between compilations")
			}
			if c.Assigned.Circuit != a.Assigned.Circuit {
				t.Fatalf("circuit %s vs %s", c.Assigned.Circuit.ID, a.Assigned.Circuit.ID)
			}
			for i := range a.Assigned.Values {
				if a.Assigned.Values[i].Cmp(c.Assigned.Values[i]) != 0 {
					t.Fatalf("value %d (%s) differs: %v vs %v", i, a.Assigned.Circuit.PolicyLayout(a.Schema).Fields[i].Name, a.Assigned.Values[i], c.Assigned.Values[i])
				}
			}
		}
	}
}

// TestPolicyHashChanges: every change to the as-of date, the scope, any predicate or the order of
// predicates gives a different policy hash.
func TestPolicyHashChanges(t *testing.T) {
	base := []string{
		`{"attribute": "age", "op": "between", "value": [18, 75]}`,
		`{"attribute": "sex", "op": "in", "value": ["female", "male"]}`,
		`{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`,
		`{"list": "conditions", "match": "exists", "code": ["E11"]}`,
		`{"list": "conditions", "match": "none", "code": ["E10", "I21", "I63"], "within_days": 180}`,
	}
	with := func(i int, pred string) []string {
		out := append([]string(nil), base...)
		out[i] = pred
		return out
	}
	swap := func(i, j int) []string {
		out := append([]string(nil), base...)
		out[i], out[j] = out[j], out[i]
		return out
	}
	doc := func(scope string, preds []string) string {
		return fmt.Sprintf(`{"schema": "clinical", "scope": %q, "predicates": [%s]}`, scope, strings.Join(preds, ", "))
	}
	type variant struct {
		name, js, asOf string
	}
	variants := []variant{
		{"Base", doc("trial:A", base), asOf},
		{"AsOf", doc("trial:A", base), "2026-11-23"},
		{"Scope", doc("trial:B", base), asOf},
		{"ScopeCase", doc("Trial:A", base), asOf},
		{"AgeBound", doc("trial:A", with(0, `{"attribute": "age", "op": "between", "value": [18, 76]}`)), asOf},
		{"AgeNegated", doc("trial:A", with(0, `{"attribute": "age", "op": "not_between", "value": [18, 75]}`)), asOf},
		{"SexSet", doc("trial:A", with(1, `{"attribute": "sex", "op": "in", "value": ["female"]}`)), asOf},
		{"SexNegated", doc("trial:A", with(1, `{"attribute": "sex", "op": "not_in", "value": ["female", "male"]}`)), asOf},
		{"ValueRange", doc("trial:A", with(2, `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.1], "within_days": 180}`)), asOf},
		{"Match", doc("trial:A", with(2, `{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`)), asOf},
		{"Window", doc("trial:A", with(2, `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 181}`)), asOf},
		{"NoWindow", doc("trial:A", with(2, `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`)), asOf},
		{"Code", doc("trial:A", with(3, `{"list": "conditions", "match": "exists", "code": ["E12"]}`)), asOf},
		{"CodeFamilyWidth", doc("trial:A", with(3, `{"list": "conditions", "match": "exists", "code": ["E11.9"]}`)), asOf},
		{"NoneCodes", doc("trial:A", with(4, `{"list": "conditions", "match": "none", "code": ["E10", "I21"], "within_days": 180}`)), asOf},
		{"Dropped", doc("trial:A", base[:4]), asOf},
		{"Swap01", doc("trial:A", swap(0, 1)), asOf},
	}
	seen := map[string]string{}
	for _, v := range variants {
		h := compile(t, v.js, v.asOf).Assigned.Hash.String()
		if other, ok := seen[h]; ok {
			t.Errorf("%s and %s have the same policy hash", v.name, other)
		}
		seen[h] = v.name
	}
	// Predicates of different kinds take slots of their own kind: their order is not part of the
	// statement, and the hash stays. Issuers are checked natively, not in the circuit; the hash
	// commits to the compiled vector, as-of date and scope only.
	for _, v := range []variant{
		{"Swap34", doc("trial:A", swap(3, 4)), asOf},
		{"Swap24", doc("trial:A", swap(2, 4)), asOf},
	} {
		if h := compile(t, v.js, v.asOf).Assigned.Hash.String(); seen[h] != "Base" {
			t.Errorf("%s: the same statement in another order has another hash", v.name)
		}
	}
	withIssuers := fmt.Sprintf(`{"schema": "clinical", "scope": "trial:A", "issuers": [%q], "predicates": [%s]}`, issuerHex(t), strings.Join(base, ", "))
	if h := compile(t, withIssuers, asOf).Assigned.Hash.String(); seen[h] != "Base" {
		t.Errorf("an issuers list changed the policy hash")
	}
}

func TestAcceptsIssuer(t *testing.T) {
	a, b := issuerHex(t), issuerHex(t)
	for _, tc := range []struct {
		name    string
		issuers []string
		key     string
		want    bool
	}{
		{"NoListAcceptsAny", nil, a, true},
		{"Listed", []string{a}, a, true},
		{"ListedSecond", []string{b, a}, a, true},
		{"Unlisted", []string{b}, a, false},
		{"UpperCaseKey", []string{a}, strings.ToUpper(a), true},
		{"PrefixedKey", []string{a}, "0x" + a, true},
		{"PrefixedEntry", []string{"0X" + strings.ToUpper(a)}, a, true},
		{"EmptyKey", []string{a}, "", false},
		{"Prefix", []string{a}, a[:len(a)-2], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &policy.Policy{Schema: "coverage", Scope: "s", Issuers: tc.issuers}
			if got := p.AcceptsIssuer(tc.key); got != tc.want {
				t.Fatalf("AcceptsIssuer = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPredicateString(t *testing.T) {
	p := parse(t, testfixture.ClinicalPolicy)
	for i, want := range []string{
		"age between [18,75]",
		`sex in ["female","male"]`,
		"observations latest 4548-4 value [7.5,11.0] within 180 days",
		"conditions exists E11",
		"conditions none E10,I21,I63 within 180 days",
	} {
		if got := p.Predicates[i].String(); got != want {
			t.Errorf("predicate %d: %q, want %q", i, got, want)
		}
	}
}

// TestLadder: a policy is laid out for the smallest circuit of its schema's ladder that holds it
// (DESIGN.md, Capacity); one no circuit holds is refused naming the predicate that overflows the
// largest, and it wraps ErrDoesNotFit.
func TestLadder(t *testing.T) {
	exists := func(code string) string {
		return fmt.Sprintf(`{"list": "conditions", "match": "exists", "code": [%q]}`, code)
	}
	repeat := func(n int, f func(k int) string) []string {
		var out []string
		for k := range n {
			out = append(out, f(k))
		}
		return out
	}
	sixteen := append(repeat(6, func(k int) string { return exists(fmt.Sprintf("E1%d", k)) }),
		`{"attribute": "age", "op": "between", "value": [18, 75]}`,
		`{"attribute": "sex", "op": "in", "value": ["female", "male"]}`,
		`{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 180}`,
		`{"list": "conditions", "match": "none", "code": ["I63"], "present_within_days": 180}`,
		`{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`,
		`{"list": "observations", "match": "exists", "code": ["39156-5"], "value": [30, 60]}`,
		`{"list": "observations", "match": "none", "code": ["2160-0"], "within_days": 90}`,
		`{"list": "medications", "match": "exists", "code": ["860975"]}`,
		`{"list": "medications", "match": "none", "code": ["311041"], "present_within_days": 90}`,
		`{"list": "medications", "match": "latest", "code": ["860975"], "within_days": 365}`,
	)
	for _, tc := range []struct {
		name    string
		js      string
		circuit string
		refused int // the predicate refused, -1 for none
	}{
		{"CoverageExample", testfixture.CoveragePolicy, "coverage-v2-s", -1},
		{"TrialExample", testfixture.ClinicalPolicy, "clinical-v2-s", -1},
		{"TwoExists", pol("clinical", exists("E11"), exists("I10")), "clinical-v2-m", -1},
		{"MedicationLatest", pol("clinical", `{"list": "medications", "match": "latest", "code": ["860975"]}`), "clinical-v2-m", -1},
		{"FiveCodeFamilies", pol("clinical", `{"list": "conditions", "match": "exists", "code": ["E10", "E11", "E12", "E13", "I10"]}`), "clinical-v2-l", -1},
		{"NineCodeFamilies", pol("clinical", `{"list": "conditions", "match": "exists", "code": ["E10", "E11", "E12", "E13", "I10", "I11", "I12", "I13", "I15"]}`), "", 0},
		{"Sixteen", pol("clinical", sixteen...), "clinical-v2-l", -1},
		{"SevenExists", pol("clinical", repeat(7, func(k int) string { return exists(fmt.Sprintf("E1%d", k)) })...), "", 6},
		{"CoverageNineScalars", pol("coverage", repeat(9, func(k int) string {
			return fmt.Sprintf(`{"attribute": "period_start", "op": "gte", "value": "2026-01-%02d"}`, k+1)
		})...), "", 8},
		{"CoverageEight", pol("coverage", repeat(8, func(k int) string {
			return fmt.Sprintf(`{"attribute": "period_start", "op": "gte", "value": "2026-01-%02d"}`, k+1)
		})...), "coverage-v2-l", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parse(t, tc.js).Compile(asOf)
			if tc.refused >= 0 {
				var pe *policy.PredicateError
				if !errors.As(err, &pe) || pe.Index != tc.refused || !errors.Is(err, policy.ErrDoesNotFit) || !errors.Is(err, policy.ErrInvalid) {
					t.Fatalf("Compile = %v, want predicate %d refused as not fitting", err, tc.refused)
				}
				largest := parse(t, tc.js)
				s, _ := schema.Get(largest.Schema)
				if id := s.Circuits[len(s.Circuits)-1].ID; !strings.Contains(err.Error(), id) {
					t.Errorf("refusal %q does not name the largest circuit %s", err, id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Assigned.Circuit.ID != tc.circuit {
				t.Fatalf("laid out for %s, want %s", c.Assigned.Circuit.ID, tc.circuit)
			}
			// every smaller rung refuses it; every larger one holds it with a different hash
			below := true
			for _, circuit := range c.Schema.Circuits {
				a, err := c.For(circuit)
				switch {
				case circuit.ID == tc.circuit:
					below = false
					if err != nil || !a.Hash.Equal(&c.Assigned.Hash) {
						t.Errorf("%s: %v", circuit.ID, err)
					}
				case below:
					if !errors.Is(err, policy.ErrDoesNotFit) {
						t.Errorf("%s holds it: %v", circuit.ID, err)
					}
				default:
					if err != nil || a.Hash.Equal(&c.Assigned.Hash) {
						t.Errorf("%s: %v, or the same hash as %s", circuit.ID, err, tc.circuit)
					}
				}
			}
			if _, err := c.For(schema.Coverage().Circuits[0]); c.Schema.ID == "clinical" && err == nil {
				t.Error("a clinical policy laid out for a coverage circuit")
			}
		})
	}
}
