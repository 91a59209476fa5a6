package policy_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

const asOf = "2026-11-22"

// pol writes a POLICY.json of the schema with the given predicates (each a JSON object).
func pol(schemaID string, preds ...string) string {
	return fmt.Sprintf(`{"schema": %q, "scope": "test:scope", "predicates": [%s]}`, schemaID, strings.Join(preds, ", "))
}

func parse(t testing.TB, js string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(js))
	if err != nil {
		t.Fatalf("parse %s: %v", js, err)
	}
	return p
}

func compile(t testing.TB, js, asOf string) *policy.Compiled {
	t.Helper()
	c, err := parse(t, js).Compile(asOf)
	if err != nil {
		t.Fatalf("compile %s: %v", js, err)
	}
	return c
}

// values parses ATTRS.json of schema s as a credential's attributes.
func values(t testing.TB, s *schema.Schema, attrs string) *credential.Attributes {
	t.Helper()
	a, err := credential.ParseAttributes(s, []byte(attrs))
	if err != nil {
		t.Fatalf("attributes %s: %v", attrs, err)
	}
	return a
}

// holds compiles policyJSON for asOf and evaluates it on the credential's attributes.
func holds(t testing.TB, policyJSON, asOf string, vals *credential.Attributes) bool {
	t.Helper()
	c := compile(t, policyJSON, asOf)
	failing, err := c.Evaluate(vals)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if failing >= len(c.Policy.Predicates) {
		t.Fatalf("evaluate reported predicate %d of %d", failing, len(c.Policy.Predicates))
	}
	return failing == -1
}

// coverageAttrs is CLI.md's coverage ATTRS.json with some attributes replaced.
func coverageAttrs(t testing.TB, over map[string]any) string {
	t.Helper()
	m := map[string]any{
		"payer": "ACME-HEALTH", "plan": "GOLD-PPO", "member_id": "M123456", "status": "active",
		"period_start": "2026-01-01", "period_end": "2026-12-31", "insurance_type": "PPO",
		"service_categories": []string{"30", "1", "33", "35", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC"},
	}
	for k, v := range over {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// clinicalAttrs writes a clinical ATTRS.json; conditions, observations and medications are the
// JSON arrays' contents (may be empty).
func clinicalAttrs(birth, conditions, observations, medications string) string {
	return fmt.Sprintf(`{"birth_date": %q, "sex": "female", "conditions": [%s], "observations": [%s], "medications": [%s]}`,
		birth, conditions, observations, medications)
}

func cond(code, onset string) string { return fmt.Sprintf(`{"code": %q, "onset": %q}`, code, onset) }

func obs(code string, value float64, unit, date string) string {
	return fmt.Sprintf(`{"code": %q, "value": %v, "unit": %q, "date": %q}`, code, value, unit, date)
}

func hba1c(value float64, date string) string { return obs("4548-4", value, "%", date) }

func med(code, start string) string { return fmt.Sprintf(`{"code": %q, "start": %q}`, code, start) }

// condWith is a condition with extra fields (abatement, statuses) as JSON fragments.
func condWith(code, onset, extra string) string {
	return fmt.Sprintf(`{"code": %q, "onset": %q, %s}`, code, onset, extra)
}

// medWith is a medication with extra fields (end, status) as JSON fragments.
func medWith(code, start, extra string) string {
	return fmt.Sprintf(`{"code": %q, "start": %q, %s}`, code, start, extra)
}
