package policy_test

import (
	"errors"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// FuzzPolicy: Parse and Compile never panic; what compiles is deterministic, fits its layout, and
// evaluates without panicking on an all-zero credential vector of its schema.
func FuzzPolicy(f *testing.F) {
	for _, seed := range []string{
		testfixture.ClinicalPolicy,
		testfixture.CoveragePolicy,
		pol("clinical", `{"attribute": "age", "op": "not_between", "value": [0, 200]}`),
		pol("clinical", `{"list": "observations", "match": "latest", "code": ["4548-4", "17856-6"], "value": [0, 42949672.95], "within_days": 0}`),
		pol("clinical", `{"list": "conditions", "match": "none", "code": ["A00-Z99", "E11.65"], "within_days": 131070}`),
		pol("clinical", `{"list": "medications", "match": "exists", "code": ["4294967295"]}`),
		pol("coverage", `{"attribute": "status", "op": "gt", "value": "draft"}`, `{"attribute": "period_end", "op": "lt", "value": "1900-01-02"}`),
		pol("coverage", `{"attribute": "payer", "op": "not_in", "value": ["A", "B", "C", "D", "E", "F"]}`),
		pol("coverage", `{"list": "service_categories", "match": "none", "code": ["0-ZZ", "1", "a", "Z9"]}`),
		`{"schema": "coverage", "scope": "s", "issuers": ["00"], "predicates": []}`,
		`{"schema": "clinical"} ]`,
		`{}`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := policy.Parse(data)
		if err != nil {
			if !errors.Is(err, policy.ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		c, err := p.Compile("2026-11-22")
		if err != nil {
			var pe *policy.PredicateError
			if errors.As(err, &pe) && (pe.Index < 0 || pe.Index >= len(p.Predicates)) {
				t.Fatalf("error names predicate %d of %d", pe.Index, len(p.Predicates))
			}
			return
		}
		if len(p.Predicates) == 0 || len(p.Predicates) > c.Assigned.Circuit.Predicates() {
			t.Fatalf("compiled %d predicates for a circuit of %d", len(p.Predicates), c.Assigned.Circuit.Predicates())
		}
		if _, err := c.Assigned.Circuit.PolicyLayout(c.Schema).Pack(c.Assigned.Values); err != nil {
			t.Fatalf("compiled values do not fit the layout: %v", err)
		}
		// every larger rung holds it too, with its own hash
		for _, larger := range c.Schema.Circuits {
			a, err := c.For(larger)
			if errors.Is(err, policy.ErrDoesNotFit) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", larger.ID, err)
			}
			if _, err := larger.PolicyLayout(c.Schema).Pack(a.Values); err != nil {
				t.Fatalf("%s: compiled values do not fit the layout: %v", larger.ID, err)
			}
		}
		again, err := p.Compile("2026-11-22")
		if err != nil || !again.Assigned.Hash.Equal(&c.Assigned.Hash) {
			t.Fatalf("second compilation differs: %v", err)
		}
		empty := &credential.Attributes{Schema: c.Schema, Scalars: make([]string, len(c.Schema.Attributes)),
			Lists: make([][]credential.Entry, len(c.Schema.Lists)), Completeness: make([]credential.Completeness, len(c.Schema.Lists))}
		for i, a := range c.Schema.Attributes {
			switch a.Type {
			case schema.Date:
				empty.Scalars[i] = "2000-01-01"
			case schema.Enum:
				empty.Scalars[i] = a.Values[0]
			default:
				empty.Scalars[i] = "x"
			}
		}
		failing, err := c.Evaluate(empty)
		if err != nil {
			t.Fatalf("evaluate: %v", err)
		}
		if failing < -1 || failing >= len(p.Predicates) {
			t.Fatalf("evaluate reported predicate %d of %d", failing, len(p.Predicates))
		}
	})
}
