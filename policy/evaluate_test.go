package policy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

func TestEvaluateExamples(t *testing.T) {
	for _, tc := range []struct {
		name          string
		s             *schema.Schema
		attrs, policy string
		want          int
	}{
		{"Coverage", schema.Coverage(), testfixture.CoverageAttrs, testfixture.CoveragePolicy, -1},
		{"Clinical", schema.Clinical(), testfixture.ClinicalAttrs, testfixture.ClinicalPolicy, -1},
		{"ClinicalV2ResolvedMI", schema.Clinical(), testfixture.ClinicalAttrsV2, testfixture.ClinicalPolicy, 4},
		{"FirstFails", schema.Clinical(), testfixture.ClinicalAttrs, pol("clinical",
			`{"attribute": "sex", "op": "eq", "value": "female"}`,
			`{"list": "conditions", "match": "exists", "code": ["E10"]}`), 0},
		{"ThirdFails", schema.Clinical(), testfixture.ClinicalAttrs, pol("clinical",
			`{"attribute": "sex", "op": "eq", "value": "male"}`,
			`{"list": "conditions", "match": "exists", "code": ["E11"]}`,
			`{"list": "conditions", "match": "exists", "code": ["E10"]}`,
			`{"attribute": "sex", "op": "eq", "value": "female"}`), 2},
		{"CoverageLastFails", schema.Coverage(), testfixture.CoverageAttrs, pol("coverage",
			`{"attribute": "status", "op": "eq", "value": "active"}`,
			`{"list": "service_categories", "match": "exists", "code": ["31"]}`), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := compile(t, tc.policy, asOf).Evaluate(values(t, tc.s, tc.attrs))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Evaluate = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestEvaluateScalar is the semantics table of every scalar operator on coverage attributes.
func TestEvaluateScalar(t *testing.T) {
	type over = map[string]any
	start := func(d string) over { return over{"period_start": d} }
	end := func(d string) over { return over{"period_end": d} }
	status := func(s string) over { return over{"status": s} }
	payer := func(s string) over { return over{"payer": s} }
	for _, tc := range []struct {
		name string
		pred string
		over over
		want bool
	}{
		// dates
		{"EqSame", `{"attribute": "period_start", "op": "eq", "value": "2026-01-01"}`, start("2026-01-01"), true},
		{"EqNextDay", `{"attribute": "period_start", "op": "eq", "value": "2026-01-01"}`, start("2026-01-02"), false},
		{"NeSame", `{"attribute": "period_start", "op": "ne", "value": "2026-01-01"}`, start("2026-01-01"), false},
		{"NeOther", `{"attribute": "period_start", "op": "ne", "value": "2026-01-01"}`, start("2025-12-31"), true},
		{"LtDayBefore", `{"attribute": "period_start", "op": "lt", "value": "2026-01-01"}`, start("2025-12-31"), true},
		{"LtEqual", `{"attribute": "period_start", "op": "lt", "value": "2026-01-01"}`, start("2026-01-01"), false},
		{"LteEqual", `{"attribute": "period_start", "op": "lte", "value": "2026-01-01"}`, start("2026-01-01"), true},
		{"LteDayAfter", `{"attribute": "period_start", "op": "lte", "value": "2026-01-01"}`, start("2026-01-02"), false},
		{"GtDayAfter", `{"attribute": "period_end", "op": "gt", "value": "2026-12-31"}`, end("2027-01-01"), true},
		{"GtEqual", `{"attribute": "period_end", "op": "gt", "value": "2026-12-31"}`, end("2026-12-31"), false},
		{"GteEqual", `{"attribute": "period_end", "op": "gte", "value": "2026-12-31"}`, end("2026-12-31"), true},
		{"GteDayBefore", `{"attribute": "period_end", "op": "gte", "value": "2026-12-31"}`, end("2026-12-30"), false},
		{"BetweenLowEnd", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-01-01"), true},
		{"BetweenHighEnd", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-06-30"), true},
		{"BetweenInside", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-03-15"), true},
		{"BetweenBelow", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-06-30"]}`, start("2025-12-31"), false},
		{"BetweenAbove", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-07-01"), false},
		{"BetweenSingleDay", `{"attribute": "period_start", "op": "between", "value": ["2026-01-01", "2026-01-01"]}`, start("2026-01-01"), true},
		{"NotBetweenLowEnd", `{"attribute": "period_start", "op": "not_between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-01-01"), false},
		{"NotBetweenHighEnd", `{"attribute": "period_start", "op": "not_between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-06-30"), false},
		{"NotBetweenBelow", `{"attribute": "period_start", "op": "not_between", "value": ["2026-01-01", "2026-06-30"]}`, start("2025-12-31"), true},
		{"NotBetweenAbove", `{"attribute": "period_start", "op": "not_between", "value": ["2026-01-01", "2026-06-30"]}`, start("2026-07-01"), true},
		{"InDates", `{"attribute": "period_start", "op": "in", "value": ["2025-01-01", "2026-01-01"]}`, start("2026-01-01"), true},
		{"NotInDates", `{"attribute": "period_start", "op": "not_in", "value": ["2025-01-01", "2026-01-01"]}`, start("2026-01-01"), false},
		// the ends of the date range
		{"FirstDateLte", `{"attribute": "period_start", "op": "lte", "value": "1900-01-01"}`, start("1900-01-01"), true},
		{"FirstDateGte", `{"attribute": "period_start", "op": "gte", "value": "1900-01-01"}`, start("1900-01-01"), true},
		{"FirstDateGt", `{"attribute": "period_start", "op": "gt", "value": "1900-01-01"}`, start("1900-01-01"), false},
		{"FirstDateEq", `{"attribute": "period_start", "op": "eq", "value": "1900-01-01"}`, start("1900-01-01"), true},
		{"FirstDateBetween", `{"attribute": "period_start", "op": "between", "value": ["1900-01-01", "1900-01-01"]}`, start("1900-01-01"), true},
		{"SecondDateLtFails", `{"attribute": "period_start", "op": "lt", "value": "1900-01-02"}`, start("1900-01-02"), false},
		{"FirstDateLtSecond", `{"attribute": "period_start", "op": "lt", "value": "1900-01-02"}`, start("1900-01-01"), true},
		{"LastDateGte", `{"attribute": "period_end", "op": "gte", "value": "2099-12-31"}`, end("2099-12-31"), true},
		{"LastDateLte", `{"attribute": "period_end", "op": "lte", "value": "2099-12-31"}`, end("2099-12-31"), true},
		{"LastDateLt", `{"attribute": "period_end", "op": "lt", "value": "2099-12-31"}`, end("2099-12-31"), false},
		{"LastDateGtPenultimate", `{"attribute": "period_end", "op": "gt", "value": "2099-12-30"}`, end("2099-12-31"), true},
		{"LastDateNotBetween", `{"attribute": "period_end", "op": "not_between", "value": ["1900-01-01", "2099-12-30"]}`, end("2099-12-31"), true},
		// enums
		{"EnumEq", `{"attribute": "status", "op": "eq", "value": "active"}`, status("active"), true},
		{"EnumEqCaseInsensitive", `{"attribute": "status", "op": "eq", "value": "ACTIVE"}`, status("active"), true},
		{"EnumEqOther", `{"attribute": "status", "op": "eq", "value": "active"}`, status("cancelled"), false},
		{"EnumNe", `{"attribute": "status", "op": "ne", "value": "cancelled"}`, status("active"), true},
		{"EnumNeSame", `{"attribute": "status", "op": "ne", "value": "active"}`, status("active"), false},
		{"EnumIn", `{"attribute": "status", "op": "in", "value": ["draft", "active"]}`, status("active"), true},
		{"EnumInMissing", `{"attribute": "status", "op": "in", "value": ["draft", "cancelled"]}`, status("active"), false},
		{"EnumNotIn", `{"attribute": "status", "op": "not_in", "value": ["draft", "cancelled"]}`, status("active"), true},
		{"EnumNotInPresent", `{"attribute": "status", "op": "not_in", "value": ["draft", "active"]}`, status("active"), false},
		{"EnumLt", `{"attribute": "status", "op": "lt", "value": "cancelled"}`, status("active"), true},
		{"EnumLtEqual", `{"attribute": "status", "op": "lt", "value": "cancelled"}`, status("cancelled"), false},
		{"EnumLte", `{"attribute": "status", "op": "lte", "value": "cancelled"}`, status("cancelled"), true},
		{"EnumGt", `{"attribute": "status", "op": "gt", "value": "draft"}`, status("entered-in-error"), true},
		{"EnumGtEqual", `{"attribute": "status", "op": "gt", "value": "draft"}`, status("draft"), false},
		{"EnumGte", `{"attribute": "status", "op": "gte", "value": "draft"}`, status("draft"), true},
		{"EnumBetween", `{"attribute": "status", "op": "between", "value": ["cancelled", "draft"]}`, status("draft"), true},
		{"EnumBetweenBelow", `{"attribute": "status", "op": "between", "value": ["cancelled", "draft"]}`, status("active"), false},
		{"EnumNotBetween", `{"attribute": "status", "op": "not_between", "value": ["cancelled", "draft"]}`, status("entered-in-error"), true},
		// hashed strings: equality only, exact (case-sensitive)
		{"HashedEq", `{"attribute": "payer", "op": "eq", "value": "ACME-HEALTH"}`, payer("ACME-HEALTH"), true},
		{"HashedEqCase", `{"attribute": "payer", "op": "eq", "value": "acme-health"}`, payer("ACME-HEALTH"), false},
		{"HashedNe", `{"attribute": "payer", "op": "ne", "value": "OTHER"}`, payer("ACME-HEALTH"), true},
		{"HashedNeSame", `{"attribute": "payer", "op": "ne", "value": "ACME-HEALTH"}`, payer("ACME-HEALTH"), false},
		{"HashedIn", `{"attribute": "payer", "op": "in", "value": ["X", "ACME-HEALTH", "Y"]}`, payer("ACME-HEALTH"), true},
		{"HashedInMissing", `{"attribute": "payer", "op": "in", "value": ["X", "Y"]}`, payer("ACME-HEALTH"), false},
		{"HashedNotIn", `{"attribute": "payer", "op": "not_in", "value": ["X", "Y"]}`, payer("ACME-HEALTH"), true},
		{"HashedNotInPresent", `{"attribute": "payer", "op": "not_in", "value": ["X", "ACME-HEALTH"]}`, payer("ACME-HEALTH"), false},
		{"HashedOtherAttribute", `{"attribute": "plan", "op": "eq", "value": "ACME-HEALTH"}`, payer("ACME-HEALTH"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := values(t, schema.Coverage(), coverageAttrs(t, tc.over))
			if got := holds(t, pol("coverage", tc.pred), asOf, vals); got != tc.want {
				t.Fatalf("%s on %v: holds = %v, want %v", tc.pred, tc.over, got, tc.want)
			}
		})
	}
}

// TestEvaluateSharedSetValues: predicates that share set-value slots keep their own sets.
func TestEvaluateSharedSetValues(t *testing.T) {
	p := pol("coverage",
		`{"attribute": "payer", "op": "in", "value": ["A", "ACME-HEALTH"]}`,
		`{"attribute": "plan", "op": "not_in", "value": ["ACME-HEALTH", "A"]}`,
		`{"attribute": "member_id", "op": "eq", "value": "A"}`)
	for _, tc := range []struct {
		over map[string]any
		want int
	}{
		{map[string]any{"payer": "ACME-HEALTH", "plan": "GOLD", "member_id": "A"}, -1},
		{map[string]any{"payer": "B", "plan": "GOLD", "member_id": "A"}, 0},
		{map[string]any{"payer": "A", "plan": "A", "member_id": "A"}, 1},
		{map[string]any{"payer": "A", "plan": "GOLD", "member_id": "ACME-HEALTH"}, 2},
	} {
		got, err := compile(t, p, asOf).Evaluate(values(t, schema.Coverage(), coverageAttrs(t, tc.over)))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%v: Evaluate = %d, want %d", tc.over, got, tc.want)
		}
	}
}

// TestEvaluateValueRanges: predicates on one list with different value ranges each keep their own.
func TestEvaluateValueRanges(t *testing.T) {
	p := pol("clinical",
		`{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`,
		`{"list": "observations", "match": "exists", "code": ["39156-5"], "value": [25, 35]}`,
		`{"list": "observations", "match": "latest", "code": ["39156-5"], "value": [25, 40]}`,
		`{"list": "observations", "match": "exists", "code": ["4548-4"]}`)
	for _, tc := range []struct {
		observations string
		want         int
	}{
		{hba1c(8, daysBefore(5)) + ", " + obs("39156-5", 30, "kg/m2", daysBefore(5)), -1},
		{hba1c(12, daysBefore(5)) + ", " + obs("39156-5", 30, "kg/m2", daysBefore(5)), 0},
		{hba1c(8, daysBefore(5)) + ", " + obs("39156-5", 36, "kg/m2", daysBefore(5)), 1},
		{hba1c(8, daysBefore(5)) + ", " + obs("39156-5", 30, "kg/m2", daysBefore(50)) + ", " + obs("39156-5", 41, "kg/m2", daysBefore(5)), 2},
	} {
		got, err := compile(t, p, asOf).Evaluate(values(t, schema.Clinical(), clinicalAttrs("1976-01-16", "", tc.observations, "")))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: Evaluate = %d, want %d", tc.observations, got, tc.want)
		}
	}
}

// TestAge checks the age sugar at its boundaries: age is in whole years, a birthday counts from the
// day itself, and a 29 February birthday falls on 1 March in common years.
func TestAge(t *testing.T) {
	for _, tc := range []struct {
		name, birth, op, value, asOf string
		want                         bool
	}{
		{"Gte18On18thBirthday", "2008-11-22", "gte", "18", asOf, true},
		{"Gte18DayBefore18thBirthday", "2008-11-23", "gte", "18", asOf, false},
		{"Gte18Older", "1976-01-16", "gte", "18", asOf, true},
		{"Gt17On18thBirthday", "2008-11-22", "gt", "17", asOf, true},
		{"Gt17At17", "2008-11-23", "gt", "17", asOf, false},
		{"Lte75At75", "1950-11-23", "lte", "75", asOf, true},
		{"Lte75On76thBirthday", "1950-11-22", "lte", "75", asOf, false},
		{"Lt76At75", "1950-11-23", "lt", "76", asOf, true},
		{"Lt76On76thBirthday", "1950-11-22", "lt", "76", asOf, false},
		{"Between18And75Low", "2008-11-22", "between", "[18, 75]", asOf, true},
		{"Between18And75High", "1950-11-23", "between", "[18, 75]", asOf, true},
		{"Between18And75TooYoung", "2008-11-23", "between", "[18, 75]", asOf, false},
		{"Between18And75TooOld", "1950-11-22", "between", "[18, 75]", asOf, false},
		{"NotBetween18And75TooYoung", "2008-11-23", "not_between", "[18, 75]", asOf, true},
		{"NotBetween18And75TooOld", "1950-11-22", "not_between", "[18, 75]", asOf, true},
		{"NotBetween18And75Inside", "1976-01-16", "not_between", "[18, 75]", asOf, false},
		{"Eq40First", "1986-11-22", "eq", "40", asOf, true},
		{"Eq40Last", "1985-11-23", "eq", "40", asOf, true},
		{"Eq40Turns41", "1985-11-22", "eq", "40", asOf, false},
		{"Eq40StillThirtyNine", "1986-11-23", "eq", "40", asOf, false},
		{"Eq0BornToday", "2026-11-22", "eq", "0", asOf, true},
		{"Gte0BornAfterAsOf", "2026-11-23", "gte", "0", asOf, false},
		{"Lte200BornIn1900", "1900-01-01", "lte", "200", asOf, true},
		{"Gte126BornIn1900", "1900-01-01", "gte", "126", asOf, true},
		// 29 February birthdays: in a common year the birthday is 1 March.
		{"Leapling17On28Feb", "2008-02-29", "gte", "18", "2026-02-28", false},
		{"Leapling18On1Mar", "2008-02-29", "gte", "18", "2026-03-01", true},
		{"LeaplingLte17On28Feb", "2008-02-29", "lte", "17", "2026-02-28", true},
		{"LeaplingLte17On1Mar", "2008-02-29", "lte", "17", "2026-03-01", false},
		{"Leapling16On29Feb", "2008-02-29", "gte", "16", "2024-02-29", true},
		{"Leapling15On28FebLeapYear", "2008-02-29", "gte", "16", "2024-02-28", false},
		{"LeaplingLte15On29Feb", "2008-02-29", "lte", "15", "2024-02-29", false},
		// as-of 29 February and a birth year without one: nobody gains a day.
		{"AsOf29FebBorn1Mar", "2010-03-01", "gte", "18", "2028-02-29", false},
		{"AsOf29FebBorn28Feb", "2010-02-28", "gte", "18", "2028-02-29", true},
		{"AsOf29FebBorn1MarLte17", "2010-03-01", "lte", "17", "2028-02-29", true},
		{"AsOf29FebBorn28FebLte17", "2010-02-28", "lte", "17", "2028-02-29", false},
		{"AsOf29FebLeapling", "2008-02-29", "eq", "20", "2028-02-29", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if age := ageOf(t, tc.birth, tc.asOf); agreesWithAge(t, age, tc.op, tc.value) != tc.want {
				t.Fatalf("table entry inconsistent: age %d %s %s is not %v", age, tc.op, tc.value, tc.want)
			}
			vals := values(t, schema.Clinical(), clinicalAttrs(tc.birth, "", "", ""))
			pred := fmt.Sprintf(`{"attribute": "age", "op": %q, "value": %s}`, tc.op, tc.value)
			if got := holds(t, pol("clinical", pred), tc.asOf, vals); got != tc.want {
				t.Fatalf("born %s, as of %s: age %s %s holds = %v, want %v", tc.birth, tc.asOf, tc.op, tc.value, got, tc.want)
			}
		})
	}
}

// ageOf is age in whole years the way people count it: the birthday anniversary (1 March for a 29
// February birthday in a common year) has passed or is today. Independent of the code under test.
func ageOf(t *testing.T, birth, asOf string) int {
	t.Helper()
	b, err1 := time.Parse("2006-01-02", birth)
	a, err2 := time.Parse("2006-01-02", asOf)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a.Before(b) {
		return -1
	}
	age := a.Year() - b.Year()
	bm, bd := b.Month(), b.Day()
	if bm == time.February && bd == 29 && !isLeap(a.Year()) {
		bm, bd = time.March, 1
	}
	if a.Month() < bm || (a.Month() == bm && a.Day() < bd) {
		age--
	}
	return age
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func agreesWithAge(t *testing.T, age int, op, value string) bool {
	t.Helper()
	var lo, hi int
	if _, err := fmt.Sscanf(value, "[%d, %d]", &lo, &hi); err != nil {
		if _, err := fmt.Sscanf(value, "%d", &lo); err != nil {
			t.Fatal(err)
		}
	}
	switch op {
	case "gte":
		return age >= lo
	case "gt":
		return age > lo
	case "lte":
		return age >= 0 && age <= lo
	case "lt":
		return age >= 0 && age < lo
	case "eq":
		return age == lo
	case "between":
		return age >= lo && age <= hi
	case "not_between":
		return age >= 0 && (age < lo || age > hi)
	}
	t.Fatalf("op %s", op)
	return false
}

// TestAgeAroundMonthEnds sweeps as-of dates over four years (one 29 February): every day from
// 20 February to 10 March and the first and last day of every month, with birth dates around each
// 18th and 19th anniversary, comparing "age between [18, 18]" with ageOf.
func TestAgeAroundMonthEnds(t *testing.T) {
	s := schema.Clinical()
	birthIdx, _, _ := s.Attribute("birth_date")
	vals := values(t, s, clinicalAttrs("2000-01-01", "", "", ""))
	p := parse(t, pol("clinical", `{"attribute": "age", "op": "between", "value": [18, 18]}`))
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for a := start; a.Before(start.AddDate(4, 0, 0)); a = a.AddDate(0, 0, 1) {
		spring := (a.Month() == time.February && a.Day() >= 20) || (a.Month() == time.March && a.Day() <= 10)
		if !spring && a.Day() != 1 && a.AddDate(0, 0, 1).Day() != 1 {
			continue
		}
		asOfS := a.Format("2006-01-02")
		c, err := p.Compile(asOfS)
		if err != nil {
			t.Fatal(err)
		}
		for _, years := range []int{18, 19} {
			for off := -2; off <= 2; off++ {
				bs := time.Date(a.Year()-years, a.Month(), a.Day()+off, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
				vals.Scalars[birthIdx] = bs
				got, err := c.Evaluate(vals)
				if err != nil {
					t.Fatal(err)
				}
				if age := ageOf(t, bs, asOfS); (got == -1) != (age == 18) {
					t.Fatalf("born %s, as of %s: age 18 holds = %v, but the age is %d", bs, asOfS, got == -1, age)
				}
			}
		}
	}
}

// daysBefore returns the date n days before asOf.
func daysBefore(n int) string {
	d, _ := time.Parse("2006-01-02", asOf)
	return d.AddDate(0, 0, -n).Format("2006-01-02")
}

// TestEvaluateLists is the semantics table of list predicates on clinical credentials as of
// 2026-11-22.
func TestEvaluateLists(t *testing.T) {
	const birth = "1976-01-16"
	_, condList, _ := schema.Clinical().List("conditions")
	full := condList.Capacity
	many := func(n int, code string) string {
		out := make([]string, n)
		for i := range out {
			out[i] = cond(code, daysBefore(1000+i))
		}
		return strings.Join(out, ", ")
	}
	for _, tc := range []struct {
		name                 string
		pred                 string
		conds, observ, medic string
		want                 bool
	}{
		// ICD-10 families
		{"E11CoversE11", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E11", "2015-03-01"), "", "", true},
		{"E11CoversE11.9", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E11.9", "2015-03-01"), "", "", true},
		{"E11CoversE11.65", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E11.65", "2015-03-01"), "", "", true},
		{"E11NotE10", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E10.9", "2015-03-01"), "", "", false},
		{"E11NotE12", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E12", "2015-03-01"), "", "", false},
		{"E11.6NotE11.9", `{"list": "conditions", "match": "exists", "code": ["E11.6"]}`, cond("E11.9", "2015-03-01"), "", "", false},
		{"E11.6CoversE11.65", `{"list": "conditions", "match": "exists", "code": ["E11.6"]}`, cond("E11.65", "2015-03-01"), "", "", true},
		{"BlockCoversE08", `{"list": "conditions", "match": "exists", "code": ["E08-E13"]}`, cond("E08.00", "2015-03-01"), "", "", true},
		{"BlockCoversE11.9", `{"list": "conditions", "match": "exists", "code": ["E08-E13"]}`, cond("E11.9", "2015-03-01"), "", "", true},
		{"BlockCoversE13.9", `{"list": "conditions", "match": "exists", "code": ["E08-E13"]}`, cond("E13.9", "2015-03-01"), "", "", true},
		{"BlockNotE07", `{"list": "conditions", "match": "exists", "code": ["E08-E13"]}`, cond("E07.9", "2015-03-01"), "", "", false},
		{"BlockNotE14", `{"list": "conditions", "match": "exists", "code": ["E08-E13"]}`, cond("E14", "2015-03-01"), "", "", false},
		{"BlockNotE16", `{"list": "conditions", "match": "exists", "code": ["E08-E13"]}`, cond("E16.2", "2015-03-01"), "", "", false},
		{"AnyOfFamilies", `{"list": "conditions", "match": "exists", "code": ["I21", "E11"]}`, cond("I10", "2012-06-10") + ", " + cond("E11.9", "2015-03-01"), "", "", true},
		{"ExistsEmptyList", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, "", "", "", false},
		// exists: date window and as-of
		{"ExistsWithinWindow", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 180}`, cond("E11.9", daysBefore(180)), "", "", true},
		{"ExistsOutsideWindow", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 180}`, cond("E11.9", daysBefore(181)), "", "", false},
		{"ExistsWithinZeroDays", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 0}`, cond("E11.9", asOf), "", "", true},
		{"ExistsWithinZeroDaysYesterday", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 0}`, cond("E11.9", daysBefore(1)), "", "", false},
		{"ExistsAfterAsOfInvisible", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E11.9", daysBefore(-1)), "", "", false},
		{"ExistsOnAsOf", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, cond("E11.9", asOf), "", "", true},
		{"ExistsSecondEntry", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 180}`, cond("E11.9", daysBefore(400)) + ", " + cond("E11.65", daysBefore(10)), "", "", true},
		// none
		{"NoneEmptyList", `{"list": "conditions", "match": "none", "code": ["I21"]}`, "", "", "", true},
		{"NoneOther", `{"list": "conditions", "match": "none", "code": ["I21", "I63"]}`, cond("E11.9", "2015-03-01"), "", "", true},
		{"NonePresent", `{"list": "conditions", "match": "none", "code": ["I21", "I63"]}`, cond("E11.9", "2015-03-01") + ", " + cond("I63.9", "2020-01-01"), "", "", false},
		{"NoneOutsideWindowDoesNotCount", `{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 180}`, cond("I21.9", daysBefore(181)), "", "", true},
		{"NoneInsideWindow", `{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 180}`, cond("I21.9", daysBefore(180)), "", "", false},
		{"NoneOnAsOf", `{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 180}`, cond("I21.9", asOf), "", "", false},
		{"NoneAfterAsOfInvisible", `{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 180}`, cond("I21.9", daysBefore(-1)), "", "", true},
		{"NoneFullList", `{"list": "conditions", "match": "none", "code": ["I21"]}`, many(full, "E11.9"), "", "", true},
		{"NoneTruncatedList", `{"list": "conditions", "match": "none", "code": ["I21"]}`, many(full+1, "E11.9"), "", "", false},
		{"ExistsTruncatedList", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, many(full+1, "E11.9"), "", "", true},
		{"NoneTruncatedOtherList", `{"list": "medications", "match": "none", "code": ["860975"]}`, many(full+1, "E11.9"), "", "", true},
		// latest
		{"LatestSingleInRange", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "", hba1c(8, daysBefore(10)), "", true},
		{"LatestLowEnd", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "", hba1c(7.5, daysBefore(10)), "", true},
		{"LatestHighEnd", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "", hba1c(11.0, daysBefore(10)), "", true},
		{"LatestBelow", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "", hba1c(7.49, daysBefore(10)), "", false},
		{"LatestAbove", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "", hba1c(11.01, daysBefore(10)), "", false},
		{"LatestConvertedUnit", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "", obs("4548-4", 64, "mmol/mol", daysBefore(10)), "", true},
		{"LatestNoneMatching", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "", obs("39156-5", 30, "kg/m2", daysBefore(10)), "", false},
		{"LatestNewerOutOfRangeDecides", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "",
			hba1c(8, daysBefore(100)) + ", " + hba1c(12, daysBefore(10)), "", false},
		{"ExistsOlderInRangeHelps", `{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "",
			hba1c(8, daysBefore(100)) + ", " + hba1c(12, daysBefore(10)), "", true},
		{"LatestNewerInRangeDecides", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "",
			hba1c(12, daysBefore(10)) + ", " + hba1c(8, daysBefore(5)), "", true},
		{"LatestOtherCodeNewer", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "",
			hba1c(8, daysBefore(100)) + ", " + obs("39156-5", 30, "kg/m2", daysBefore(1)), "", true},
		{"LatestOutsideWindow", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "",
			hba1c(8, daysBefore(181)), "", false},
		{"LatestAfterAsOfInvisible", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0], "within_days": 180}`, "",
			hba1c(8, daysBefore(10)) + ", " + hba1c(12, daysBefore(-3)), "", true},
		// same-day entries: the one the issuer lists last is the latest (and only it)
		{"LatestTieLastListedOutOfRange", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "",
			hba1c(8, daysBefore(10)) + ", " + hba1c(12, daysBefore(10)), "", false},
		{"LatestTieLastListedInRange", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": [7.5, 11.0]}`, "",
			hba1c(12, daysBefore(10)) + ", " + hba1c(8, daysBefore(10)), "", true},
		{"LatestAcrossFamilies", `{"list": "observations", "match": "latest", "code": ["4548-4", "17856-6"], "value": [7.5, 11.0]}`, "",
			hba1c(8, daysBefore(100)) + ", " + obs("17856-6", 12, "%", daysBefore(10)), "", false},
		{"LatestWithoutValue", `{"list": "observations", "match": "latest", "code": ["4548-4"], "within_days": 30}`, "",
			hba1c(12, daysBefore(10)), "", true},
		{"LatestMedication", `{"list": "medications", "match": "latest", "code": ["860975"], "within_days": 365}`, "", "", med("860975", daysBefore(300)), true},
		// values and windows on other lists
		{"ObservationValueExists", `{"list": "observations", "match": "exists", "code": ["39156-5"], "value": [25, 35]}`, "", obs("39156-5", 30, "kg/m2", "2026-10-09"), "", true},
		{"MedicationExists", `{"list": "medications", "match": "exists", "code": ["860975"]}`, "", "", med("860975", "2016-01-01"), true},
		{"MedicationOtherID", `{"list": "medications", "match": "exists", "code": ["860976"]}`, "", "", med("860975", "2016-01-01"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := values(t, schema.Clinical(), clinicalAttrs(birth, tc.conds, tc.observ, tc.medic))
			if got := holds(t, pol("clinical", tc.pred), asOf, vals); got != tc.want {
				t.Fatalf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEvaluateServiceCategories(t *testing.T) {
	vals := values(t, schema.Coverage(), testfixture.CoverageAttrs) // 30 1 33 35 47 48 50 86 88 98 AL MH UC
	for _, tc := range []struct {
		name, pred string
		want       bool
	}{
		{"Exists30", `{"list": "service_categories", "match": "exists", "code": ["30"]}`, true},
		{"ExistsLowerCase", `{"list": "service_categories", "match": "exists", "code": ["al"]}`, true},
		{"Exists31", `{"list": "service_categories", "match": "exists", "code": ["31"]}`, false},
		{"Exists3IsNotAPrefix", `{"list": "service_categories", "match": "exists", "code": ["3"]}`, false},
		{"ExistsRange", `{"list": "service_categories", "match": "exists", "code": ["31-34"]}`, true},
		{"ExistsRangeMissing", `{"list": "service_categories", "match": "exists", "code": ["36-46"]}`, false},
		{"NoneAL", `{"list": "service_categories", "match": "none", "code": ["AL"]}`, false},
		{"NoneZZ", `{"list": "service_categories", "match": "none", "code": ["ZZ"]}`, true},
		{"NoneWholeRange", `{"list": "service_categories", "match": "none", "code": ["0-ZZ"]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := holds(t, pol("coverage", tc.pred), asOf, vals); got != tc.want {
				t.Fatalf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestValueBoundsNeverWiden: a bound with more decimals than the code's scale is rounded inward
// (low up, high down) by the compiler, so the range as compiled never admits a value the range as
// written excludes.
func TestValueBoundsNeverWiden(t *testing.T) {
	latest := func(rng string) string {
		return pol("clinical", `{"list": "observations", "match": "latest", "code": ["4548-4"], "value": `+rng+`}`)
	}
	for _, tc := range []struct {
		rng   string
		value float64
		want  bool
	}{
		{"[7.494, 11.0]", 7.49, false},
		{"[7.494, 11.0]", 7.50, true},
		{"[7.5, 11.005]", 11.01, false},
		{"[7.5, 11.005]", 11.00, true},
		{"[7.5, 11.0]", 7.5, true},
		{"[7.5, 11.0]", 11.0, true},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.rng, tc.value), func(t *testing.T) {
			attrs := fmt.Sprintf(`{"birth_date": "1976-01-16", "sex": "male", "observations": [{"code": "4548-4", "value": %v, "unit": "%%", "date": "2026-10-09"}]}`, tc.value)
			if got := holds(t, latest(tc.rng), asOf, values(t, schema.Clinical(), attrs)); got != tc.want {
				t.Fatalf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestEvaluateWindowsAndStatuses is DESIGN.md's Policy semantics: the two windows, the statuses
// exists counts by default and on request, none counting every signed entry.
func TestEvaluateWindowsAndStatuses(t *testing.T) {
	const birth = "1976-01-16"
	mi := func(onset, extra string) string { return condWith("I21.4", onset, extra) }
	resolvedMI := mi(daysBefore(60), `"abatement": "`+daysBefore(45)+`", "clinical_status": "resolved"`)
	noMIEvent := `{"list": "conditions", "match": "none", "code": ["I21"], "within_days": 180}`
	noMIState := `{"list": "conditions", "match": "none", "code": ["I21"], "present_within_days": 180}`
	insulin := `{"list": "medications", "match": "none", "code": ["311041"], "present_within_days": 90}`
	for _, tc := range []struct {
		name, pred, conds, meds string
		want                    bool
	}{
		// event window: an MI that began in the window excludes, resolved or not; one that began before does not
		{"EventResolvedMIInWindow", noMIEvent, resolvedMI, "", false},
		{"EventOldMI", noMIEvent, mi("2019-01-01", `"clinical_status": "active"`), "", true},
		{"EventUnconfirmedCounts", noMIEvent, mi(daysBefore(10), `"verification_status": "unconfirmed"`), "", false},
		// state window: an MI that began before the window but is ongoing is present
		{"StateOngoingOldMI", noMIState, mi("2019-01-01", `"clinical_status": "active"`), "", false},
		{"StateEndedBeforeWindow", noMIState, mi("2019-01-01", `"abatement": "2019-02-01", "clinical_status": "resolved"`), "", true},
		{"StateEndedInWindow", noMIState, mi("2019-01-01", `"abatement": "`+daysBefore(100)+`", "clinical_status": "resolved"`), "", false},
		{"StateUnknownEndCountsForNone", noMIState, mi("2019-01-01", `"abatement": "unknown", "clinical_status": "resolved"`), "", false},
		// an ongoing medication started long ago defeats none over a state window
		{"InsulinOngoing", insulin, "", med("311041", "2024-01-01"), false},
		{"InsulinStoppedLongAgo", insulin, "", medWith("311041", "2023-01-01", `"end": "2023-06-01", "status": "stopped"`), true},
		{"InsulinStoppedRecently", insulin, "", medWith("311041", "2023-01-01", `"end": "`+daysBefore(30)+`", "status": "stopped"`), false},
		// exists counts confirmed active conditions by default
		{"ExistsDifferentialNotCounted", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, condWith("E11.9", "2015-03-01", `"verification_status": "differential"`), "", false},
		{"ExistsDifferentialOnRequest", `{"list": "conditions", "match": "exists", "code": ["E11"], "verification": ["confirmed", "differential"]}`, condWith("E11.9", "2015-03-01", `"verification_status": "differential"`), "", true},
		{"ExistsResolvedNotCounted", `{"list": "conditions", "match": "exists", "code": ["I21"]}`, resolvedMI, "", false},
		{"ExistsResolvedOnRequest", `{"list": "conditions", "match": "exists", "code": ["I21"], "status": ["resolved"]}`, resolvedMI, "", true},
		{"ExistsRecurrenceCounted", `{"list": "conditions", "match": "exists", "code": ["E11"]}`, condWith("E11.9", "2015-03-01", `"clinical_status": "recurrence"`), "", true},
		{"ExistsStoppedMedicationNotCounted", `{"list": "medications", "match": "exists", "code": ["311041"]}`, "", medWith("311041", "2023-01-01", `"end": "2023-06-01", "status": "stopped"`), false},
		{"ExistsStoppedMedicationOnRequest", `{"list": "medications", "match": "exists", "code": ["311041"], "status": ["stopped"]}`, "", medWith("311041", "2023-01-01", `"end": "2023-06-01", "status": "stopped"`), true},
		// exists over a state window: an entry that ended on an unknown date is present only if it began in the window
		{"ExistsStateUnknownEndOld", `{"list": "medications", "match": "exists", "code": ["311041"], "present_within_days": 90, "status": ["stopped"]}`, "", medWith("311041", "2023-01-01", `"end": "unknown", "status": "stopped"`), false},
		{"ExistsStateUnknownEndRecent", `{"list": "medications", "match": "exists", "code": ["311041"], "present_within_days": 90, "status": ["stopped"]}`, "", medWith("311041", daysBefore(20), `"end": "unknown", "status": "stopped"`), true},
		{"ExistsStateOngoing", `{"list": "medications", "match": "exists", "code": ["311041"], "present_within_days": 90}`, "", med("311041", "2020-01-01"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := values(t, schema.Clinical(), clinicalAttrs(birth, tc.conds, "", tc.meds))
			if got := holds(t, pol("clinical", tc.pred), asOf, vals); got != tc.want {
				t.Fatalf("holds = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCompileFreshness: max_credential_age_days is 30 by default for a policy with a none or a
// windowed predicate, unlimited otherwise, and what the policy says when it says it; it is part
// of the policy hash.
func TestCompileFreshness(t *testing.T) {
	withAge := func(age string, preds ...string) string {
		return `{"schema": "clinical", "scope": "test:scope", "max_credential_age_days": ` + age + `, "predicates": [` + strings.Join(preds, ", ") + `]}`
	}
	exists := `{"list": "conditions", "match": "exists", "code": ["E11"]}`
	for _, tc := range []struct {
		name, policy string
		want         uint64
	}{
		{"Unlimited", pol("clinical", exists), policy.NoMaxAge},
		{"None", pol("clinical", `{"list": "conditions", "match": "none", "code": ["I21"]}`), policy.DefaultMaxAge},
		{"Windowed", pol("clinical", `{"list": "conditions", "match": "exists", "code": ["E11"], "within_days": 365}`), policy.DefaultMaxAge},
		{"StateWindowed", pol("clinical", `{"list": "medications", "match": "exists", "code": ["311041"], "present_within_days": 90}`), policy.DefaultMaxAge},
		{"Explicit", withAge("7", exists), 7},
		{"ExplicitOverridesDefault", withAge("365", `{"list": "conditions", "match": "none", "code": ["I21"]}`), 365},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := compile(t, tc.policy, asOf).MaxAge; got != tc.want {
				t.Fatalf("MaxAge = %d, want %d", got, tc.want)
			}
		})
	}
	a, b := compile(t, withAge("7", exists), asOf), compile(t, withAge("8", exists), asOf)
	if a.Assigned.Hash.Equal(&b.Assigned.Hash) {
		t.Fatal("max_credential_age_days is not part of the policy hash")
	}
}
