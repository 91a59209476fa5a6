package fhir

import (
	"errors"
	"strings"
	"testing"
)

func TestCoverageFixtures(t *testing.T) {
	for _, tc := range []struct {
		name, asOf, start, end string
	}{
		// Overlapping yearly billable periods merge into one span around the as-of date.
		{louis, "2021-01-31", "2019-06-16", "2022-01-05"},
		{fabian, "2021-01-31", "2020-12-05", "2021-12-19"},
		{lupe, "2021-01-31", "2020-09-01", "2021-09-01"},
		// Not in force on the as-of date: the coverage that ended last.
		{clemente, "2021-01-31", "2018-09-17", "2019-09-17"},
		// In force on an earlier date: that span.
		{fabian, "2018-01-01", "2017-05-06", "2019-07-24"},
	} {
		t.Run(tc.name+"@"+tc.asOf, func(t *testing.T) {
			a, err := CoverageAttributes(fixture(t, tc.name), Options{AsOf: tc.asOf})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"payer": "private", "plan": "unknown", "member_id": "unknown", "status": "active",
				"insurance_type": "private", "period_start": tc.start, "period_end": tc.end}
			for k, v := range want {
				if got := scalar(t, a, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			var cats []string
			for _, e := range listOf(t, a, "service_categories") {
				cats = append(cats, e.Code)
			}
			if strings.Join(cats, ",") != "1,30" || truncated(t, a, "service_categories") {
				t.Errorf("service_categories %v (truncated %v), want 1,30", cats, truncated(t, a, "service_categories"))
			}
		})
	}
	t.Run("uninsured", func(t *testing.T) {
		_, err := CoverageAttributes(fixture(t, ned), Options{AsOf: "2021-01-31"})
		if !errors.Is(err, ErrNoCoverage) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want ErrNoCoverage", err)
		}
	})
}

// coverage is a standalone Coverage resource with the given extra members.
func coverage(id, extra string) string {
	return `{"resourceType": "Coverage", "id": "` + id + `", "beneficiary": {"reference": "Patient/p1"}` + extra + `}`
}

const acme = `, "status": "active", "payor": [{"reference": "Organization/acme"}],
  "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PPO"}], "text": "preferred provider"},
  "subscriberId": "M123456",
  "class": [{"type": {"coding": [{"system": "` + SystemCoverageClass + `", "code": "group"}]}, "value": "G1"},
            {"type": {"coding": [{"system": "` + SystemCoverageClass + `", "code": "plan"}]}, "value": "GOLD-PPO", "name": "Gold"}]`

const acmeOrg = `{"resourceType": "Organization", "id": "acme", "name": "ACME-HEALTH"}`

func TestCoverageStandalone(t *testing.T) {
	eob := func(ref string, cats string) string {
		return `{"resourceType": "ExplanationOfBenefit", "status": "active", "patient": {"reference": "urn:uuid:p1"},
		  "insurance": [{"focal": true, "coverage": {"reference": "` + ref + `"}}],
		  "item": [` + cats + `]}`
	}
	cat := func(sys, code string) string {
		return `{"sequence": 1, "category": {"coding": [{"system": "` + sys + `", "code": "` + code + `"}]}}`
	}
	for _, tc := range []struct {
		name      string
		res       []string
		asOf      string
		want      map[string]string
		cats      string
		truncated bool
	}{
		{
			name: "fields",
			res:  []string{acmeOrg, coverage("c1", acme+`, "period": {"start": "2026-01-01", "end": "2026-12-31"}`)},
			asOf: "2026-06-01",
			want: map[string]string{"payer": "ACME-HEALTH", "plan": "GOLD-PPO", "member_id": "M123456", "insurance_type": "PPO", "period_start": "2026-01-01", "period_end": "2026-12-31"},
			cats: "30",
		},
		{
			name: "open end, member from MB identifier, payer display, type text",
			res: []string{coverage("c1", `, "status": "active", "payor": [{"display": "Medicaid of X"}], "type": {"text": "medicaid"},
			  "identifier": [{"value": "other"}, {"type": {"coding": [{"system": "`+SystemV20203+`", "code": "MB"}]}, "value": "MB-7"}], "period": {"start": "2020-01-01"}`)},
			asOf: "2026-06-01",
			want: map[string]string{"payer": "Medicaid of X", "plan": "unknown", "member_id": "MB-7", "insurance_type": "medicaid", "period_start": "2020-01-01", "period_end": "2099-12-31"},
			cats: "30",
		},
		{
			name: "the one in force wins over a later one",
			res: []string{acmeOrg,
				coverage("old", acme+`, "period": {"start": "2025-01-01", "end": "2025-12-31"}`),
				coverage("new", strings.Replace(acme, "GOLD-PPO", "SILVER", 1)+`, "period": {"start": "2026-01-01", "end": "2026-12-31"}`)},
			asOf: "2025-06-01",
			want: map[string]string{"plan": "GOLD-PPO", "period_end": "2025-12-31"},
			cats: "30",
		},
		{
			name: "active preferred among those in force",
			res: []string{acmeOrg,
				coverage("a", strings.Replace(acme, `"active"`, `"cancelled"`, 1)+`, "period": {"start": "2026-02-01", "end": "2026-12-31"}`),
				coverage("b", acme+`, "period": {"start": "2026-01-01", "end": "2026-12-31"}`)},
			asOf: "2026-06-01",
			want: map[string]string{"status": "active", "period_start": "2026-01-01"},
			cats: "30",
		},
		{
			name: "self-pay is skipped",
			res: []string{acmeOrg,
				coverage("self", `, "status": "active", "payor": [{"reference": "urn:uuid:p1"}], "type": {"coding": [{"system": "`+SystemCoverageSelfPay+`", "code": "pay"}]}, "period": {"start": "2026-01-01"}`),
				coverage("c1", acme+`, "period": {"start": "2020-01-01", "end": "2020-12-31"}`)},
			asOf: "2026-06-01",
			want: map[string]string{"payer": "ACME-HEALTH", "period_end": "2020-12-31"},
			cats: "30",
		},
		{
			name: "EOB categories: X12, benefit categories and mapped CMS codes",
			res: []string{acmeOrg, coverage("c1", acme+`, "period": {"start": "2026-01-01", "end": "2026-12-31"}`),
				eob("Coverage/c1", cat(SystemX12ServiceType, "al")+","+cat(SystemBenefitCategory, "35")+","+cat(SystemCMSTypeOfService, "W"))},
			asOf: "2026-06-01",
			want: map[string]string{"payer": "ACME-HEALTH"},
			cats: "30,35,AL,PT",
		},
		{
			name: "unmapped CMS code marks the list truncated",
			res: []string{acmeOrg, coverage("c1", acme+`, "period": {"start": "2026-01-01", "end": "2026-12-31"}`),
				eob("Coverage/c1", cat(SystemCMSTypeOfService, "V"))},
			asOf:      "2026-06-01",
			want:      map[string]string{"payer": "ACME-HEALTH"},
			cats:      "30",
			truncated: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := CoverageAttributes(bundleOf(tc.res...), Options{AsOf: tc.asOf})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got := scalar(t, a, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			var cats []string
			for _, e := range listOf(t, a, "service_categories") {
				cats = append(cats, e.Code)
			}
			if strings.Join(cats, ",") != tc.cats || truncated(t, a, "service_categories") != tc.truncated {
				t.Errorf("service_categories %v truncated %v, want %s %v", cats, truncated(t, a, "service_categories"), tc.cats, tc.truncated)
			}
		})
	}
}

func TestCoverageMalformed(t *testing.T) {
	period := `, "period": {"start": "2026-01-01"}`
	for _, tc := range []struct {
		name, res, path, want string
	}{
		{"status missing", coverage("c", strings.Replace(acme, `"status": "active", `, ``, 1)+period), "Coverage[0].status", "required"},
		{"status bad", coverage("c", strings.Replace(acme, `"active"`, `"valid"`, 1)+period), "Coverage[0].status", "value set"},
		{"no period start", coverage("c", acme), "Coverage[0].period.start", "required"},
		{"end before start", coverage("c", acme+`, "period": {"start": "2026-01-01", "end": "2025-01-01"}`), "Coverage[0].period.end", "before"},
		{"payor missing", coverage("c", `, "status": "active"`+period), "Coverage[0].payor", "required"},
		{"payor wrong type", coverage("c", `, "status": "active", "payor": {"display": "x"}`+period), "Coverage[0].payor", "want an array"},
		{"beneficiary elsewhere", strings.Replace(coverage("c", acme+period), "Patient/p1", "Patient/p2", 1), "Coverage[0].beneficiary.reference", "bundle's Patient"},
		{"class without value", coverage("c", strings.Replace(acme, `, "value": "G1"`, ``, 1)+period), "Coverage[0].class[0].value", "required"},
		{"eob category unknown system", `{"resourceType": "ExplanationOfBenefit", "status": "active", "patient": {"reference": "Patient/p1"},
		  "insurance": [{"focal": true, "coverage": {"reference": "#c"}}], "billablePeriod": {"start": "2026-01-01"},
		  "contained": [` + coverage("c", `, "status": "active", "payor": [{"display": "x"}]`) + `],
		  "item": [{"sequence": 1, "category": {"coding": [{"system": "http://example.org/cat", "code": "1"}]}}]}`, "ExplanationOfBenefit[0].item[0].category.coding", "no X12"},
		{"eob contained coverage without dates", `{"resourceType": "ExplanationOfBenefit", "status": "active", "patient": {"reference": "Patient/p1"},
		  "insurance": [{"focal": true, "coverage": {"reference": "#c"}}],
		  "contained": [` + coverage("c", `, "status": "active", "payor": [{"display": "x"}]`) + `]}`, "ExplanationOfBenefit[0].billablePeriod.start", "required"},
		{"eob contained coverage missing", `{"resourceType": "ExplanationOfBenefit", "status": "active", "patient": {"reference": "Patient/p1"},
		  "insurance": [{"focal": true, "coverage": {"reference": "#nope"}}]}`, "ExplanationOfBenefit[0].insurance[0].coverage.reference", "no contained"},
		{"eob contained coverage bad status", `{"resourceType": "ExplanationOfBenefit", "status": "active", "patient": {"reference": "Patient/p1"},
		  "insurance": [{"focal": true, "coverage": {"reference": "#c"}}], "billablePeriod": {"start": "2026-01-01"},
		  "contained": [` + coverage("c", `, "status": 1, "payor": [{"display": "x"}]`) + `]}`, "ExplanationOfBenefit[0].contained[0].status", "want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CoverageAttributes(bundleOf(acmeOrg, tc.res), Options{AsOf: "2026-06-01"})
			wantFHIRError(t, err, tc.path, []string{tc.want}, "M123456", "GOLD")
		})
	}
	t.Run("bad as-of", func(t *testing.T) {
		_, err := CoverageAttributes(bundleOf(), Options{AsOf: "2026-13-01"})
		if !errors.Is(err, ErrOption) {
			t.Fatalf("got %v, want ErrOption", err)
		}
	})
}
