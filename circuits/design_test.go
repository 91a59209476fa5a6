package circuits_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/constraint/solver"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/credential"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/keys"
	"github.com/zkhealth/zkhealth/internal/merkle"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/schema"
)

// This file holds the constraint-system tests of DESIGN.md's Policy semantics and soundness rules
// that TestPredicateSoundness and TestListOpenings leave open (DESIGN-TESTS.md maps every rule to
// its tests). Every case is an honestly issued credential; no native pre-check runs before the
// constraint system, and where a case is about predicates the native evaluator must agree.

// designCase is one statement: a clinical credential (ClinicalAttrs with attrs replaced), a list
// of predicates, and whether the circuit must accept the honest witness.
type designCase struct {
	name   string
	attrs  map[string]any
	preds  string // predicates of a clinical policy, or a whole policy when it starts with {
	issued string // "" is 2026-11-01, 21 days before the as-of date
	holds  bool
}

func (dc designCase) policy() string {
	if strings.HasPrefix(dc.preds, "{\"schema\"") {
		return dc.preds
	}
	return clinicalPolicy(dc.preds)
}

// runDesignCases builds each case's honest witness and checks the constraint system accepts it
// exactly when the case holds. With the default issue date the native evaluator must agree (it
// evaluates predicates only; freshness cases set issued and are decided by the circuit alone).
func runDesignCases(t *testing.T, cases []designCase) {
	t.Helper()
	testfixture.Quiet()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: schema.Clinical(), attrs: withAttrs(t, testfixture.ClinicalAttrs, tc.attrs), policy: tc.policy(), issued: tc.issued}.build(t)
			if tc.issued == "" {
				failing, err := b.compiled.Evaluate(b.decoded.Attributes)
				if err != nil {
					t.Fatal(err)
				}
				if (failing < 0) != tc.holds {
					t.Fatalf("native evaluation: failing predicate %d, want holds=%v", failing, tc.holds)
				}
			}
			err := b.solve(t)
			if tc.holds && err != nil {
				t.Fatalf("honest witness rejected (%s): %v", b.circuit().ID, err)
			}
			if !tc.holds && err == nil {
				t.Fatalf("violating witness accepted by the constraint system (%s)", b.circuit().ID)
			}
		})
	}
}

// As of 2026-11-22: the first day of a 180-day window is 2026-05-26, of a 90-day one 2026-08-24.
const (
	day180       = "2026-05-26"
	dayBefore180 = "2026-05-25"
	day90        = "2026-08-24"
	dayBefore90  = "2026-08-23"
)

func condition(code, onset string, extra map[string]any) map[string]any {
	e := map[string]any{"code": code, "onset": onset}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

func medication(code, start string, extra map[string]any) map[string]any {
	e := map[string]any{"code": code, "start": start}
	for k, v := range extra {
		e[k] = v
	}
	return e
}

func conds(entries ...map[string]any) map[string]any {
	return map[string]any{"conditions": entries}
}

func meds(entries ...map[string]any) map[string]any {
	return map[string]any{"medications": entries}
}

// TestEventWindow: DESIGN.md, Policy, "within_days (an event): the entry's date — an
// observation's date, a condition's onset, a medication's start — lies in the window
// [as_of − N, as_of]", both ends included, for each list.
func TestEventWindow(t *testing.T) {
	noMI := `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`
	noInsulin := `{"list":"medications","match":"none","code":["311041"],"within_days":90}`
	hba1c180 := `{"list":"observations","match":"exists","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`
	resolved := map[string]any{"abatement": "2026-06-10", "clinical_status": "resolved"}
	runDesignCases(t, []designCase{
		{"condition onset on the window's first day counts", conds(condition("I21.4", day180, resolved)), noMI, "", false},
		{"condition onset the day before the window does not", conds(condition("I21.4", dayBefore180, resolved)), noMI, "", true},
		{"condition onset on issued_on counts", conds(condition("I21.4", "2026-11-01", nil)), noMI, "", false},
		{"medication started in the window counts, stopped or not", meds(medication("311041", "2026-10-01", map[string]any{"end": "2026-10-10", "status": "stopped"})), noInsulin, "", false},
		{"medication started on the window's first day counts", meds(medication("311041", day90, nil)), noInsulin, "", false},
		{"ongoing medication started before the window does not", meds(medication("311041", "2024-01-01", nil)), noInsulin, "", true},
		{"medication started the day before the window does not", meds(medication("311041", dayBefore90, nil)), noInsulin, "", true},
		{"observation on the window's first day is in it", map[string]any{"observations": hba1c(obs{8.0, day180})}, hba1c180, "", true},
		{"observation the day before the window is not", map[string]any{"observations": hba1c(obs{8.0, dayBefore180})}, hba1c180, "", false},
	})
}

// TestStateWindow: "present_within_days (a state): a period entry (condition, medication) started
// on or before as_of and had not ended before as_of − N (ongoing entries are present)".
func TestStateWindow(t *testing.T) {
	noMI := `{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`
	noInsulin := `{"list":"medications","match":"none","code":["311041"],"present_within_days":90}`
	onInsulin := `{"list":"medications","match":"exists","code":["311041"],"present_within_days":90}`
	ended := func(d string) map[string]any { return map[string]any{"abatement": d, "clinical_status": "resolved"} }
	stopped := func(d string) map[string]any { return map[string]any{"end": d, "status": "stopped"} }
	runDesignCases(t, []designCase{
		{"condition that ended on the window's first day is present", conds(condition("I21.4", "2019-01-01", ended(day180))), noMI, "", false},
		{"condition that ended the day before the window is not", conds(condition("I21.4", "2019-01-01", ended(dayBefore180))), noMI, "", true},
		{"condition that began and ended inside the window is present", conds(condition("I21.4", "2026-10-01", ended("2026-10-05"))), noMI, "", false},
		{"medication that ended on the window's first day is present", meds(medication("311041", "2020-01-01", stopped(day90))), noInsulin, "", false},
		{"medication that ended the day before the window is not", meds(medication("311041", "2020-01-01", stopped(dayBefore90))), noInsulin, "", true},
		{"ongoing medication started years ago satisfies exists over a state window", meds(medication("311041", "2020-01-01", nil)), onInsulin, "", true},
		{"active medication that ended before the window does not", meds(medication("311041", "2020-01-01", map[string]any{"end": dayBefore90})), onInsulin, "", false},
	})
}

// TestExistsStatuses: "exists counts, by default, conditions whose verification status is
// confirmed and whose clinical status is active, recurrence or relapse, and medications that are
// active; a predicate may name other statuses (status, verification)" — naming them replaces the
// default set.
func TestExistsStatuses(t *testing.T) {
	e11 := `{"list":"conditions","match":"exists","code":["E11"]}`
	e11With := func(field, values string) string {
		return `{"list":"conditions","match":"exists","code":["E11"],"` + field + `":` + values + `}`
	}
	insulin := `{"list":"medications","match":"exists","code":["311041"]}`
	status := func(s string) map[string]any { return map[string]any{"clinical_status": s} }
	verified := func(v string) map[string]any { return map[string]any{"verification_status": v} }
	runDesignCases(t, []designCase{
		{"confirmed active counts", conds(condition("E11.9", "2015-03-01", nil)), e11, "", true},
		{"recurrence counts", conds(condition("E11.9", "2015-03-01", status("recurrence"))), e11, "", true},
		{"relapse counts", conds(condition("E11.9", "2015-03-01", status("relapse"))), e11, "", true},
		{"inactive does not", conds(condition("E11.9", "2015-03-01", status("inactive"))), e11, "", false},
		{"remission does not", conds(condition("E11.9", "2015-03-01", status("remission"))), e11, "", false},
		{"provisional does not", conds(condition("E11.9", "2015-03-01", verified("provisional"))), e11, "", false},
		{"unconfirmed does not", conds(condition("E11.9", "2015-03-01", verified("unconfirmed"))), e11, "", false},
		{"status remission named counts a remission", conds(condition("E11.9", "2015-03-01", status("remission"))), e11With("status", `["remission"]`), "", true},
		{"status remission named no longer counts an active one", conds(condition("E11.9", "2015-03-01", nil)), e11With("status", `["remission"]`), "", false},
		{"verification provisional named counts a provisional one", conds(condition("E11.9", "2015-03-01", verified("provisional"))), e11With("verification", `["provisional"]`), "", true},
		{"verification provisional named no longer counts a confirmed one", conds(condition("E11.9", "2015-03-01", nil)), e11With("verification", `["provisional"]`), "", false},
		{"active medication counts", meds(medication("311041", "2020-01-01", nil)), insulin, "", true},
		{"on-hold medication does not", meds(medication("311041", "2020-01-01", map[string]any{"status": "on-hold"})), insulin, "", false},
		{"completed medication does not", meds(medication("311041", "2020-01-01", map[string]any{"end": "2020-06-01", "status": "completed"})), insulin, "", false},
		{"status completed named counts a completed one", meds(medication("311041", "2020-01-01", map[string]any{"end": "2020-06-01", "status": "completed"})),
			`{"list":"medications","match":"exists","code":["311041"],"status":["completed"]}`, "", true},
	})
}

// TestNoneCountsEverySignedEntry: "none counts every signed entry of the family, whatever its
// status (an unconfirmed or resolved MI in the window excludes): conservative."
func TestNoneCountsEverySignedEntry(t *testing.T) {
	noMI := `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`
	noInsulin := `{"list":"medications","match":"none","code":["311041"],"within_days":90}`
	runDesignCases(t, []designCase{
		{"no MI in the window", conds(condition("E11.9", "2015-03-01", nil)), noMI, "", true},
		{"a differential MI in the window excludes", conds(condition("I21.4", "2026-10-01", map[string]any{"verification_status": "differential"})), noMI, "", false},
		{"a provisional MI in remission excludes", conds(condition("I21.4", "2026-10-01", map[string]any{"verification_status": "provisional", "clinical_status": "remission"})), noMI, "", false},
		{"an inactive MI in the window excludes", conds(condition("I21.4", "2026-10-01", map[string]any{"clinical_status": "inactive"})), noMI, "", false},
		{"a not-taken medication in the window excludes", meds(medication("311041", "2026-10-01", map[string]any{"status": "not-taken"})), noInsulin, "", false},
		{"a cancelled medication in the window excludes", meds(medication("311041", "2026-10-01", map[string]any{"status": "cancelled"})), noInsulin, "", false},
		{"other codes in the window do not", meds(medication("860975", "2026-10-01", nil)), noInsulin, "", true},
	})
}

// TestCompletenessGates: "none needs the list not incomplete and its window to start on or after
// complete_since"; "latest needs the list not incomplete"; "exists is always sound" — an
// incomplete list proves what it holds and nothing it does not.
func TestCompletenessGates(t *testing.T) {
	noMI := `{"list":"conditions","match":"none","code":["I21"],"within_days":180}`
	with := func(set map[string]any, completeness map[string]any) map[string]any {
		out := map[string]any{"completeness": completeness}
		for k, v := range set {
			out[k] = v
		}
		return out
	}
	runDesignCases(t, []designCase{
		{"none: window starting on complete_since", with(nil, since("conditions", day180)), noMI, "", true},
		{"none: window starting the day before complete_since", with(nil, since("conditions", "2026-05-27")), noMI, "", false},
		// README, "What a credential tells a trial sponsor": complete since 2026-07-01
		{"README example: no MI in 180 days, complete since 2026-07-01", with(nil, since("conditions", "2026-07-01")), noMI, "", false},
		{"README example: no MI in 144 days (from 2026-07-01), complete since 2026-07-01", with(nil, since("conditions", "2026-07-01")),
			`{"list":"conditions","match":"none","code":["I21"],"within_days":144}`, "", true},
		{"none: a state window is gated the same way", with(nil, since("conditions", "2026-05-27")), `{"list":"conditions","match":"none","code":["I21"],"present_within_days":180}`, "", false},
		{"exists over an incomplete list still needs the entry", with(conds(condition("E11.9", "2015-03-01", nil)), incomplete("conditions")), `{"list":"conditions","match":"exists","code":["I21"]}`, "", false},
		{"latest over a complete list while another list is incomplete", with(nil, incomplete("conditions")),
			`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, "", true},
		{"latest over a list incomplete and complete since", with(nil, map[string]any{"observations": map[string]any{"complete_since": "2026-01-01", "incomplete": true}}),
			`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`, "", false},
	})
}

// TestFreshnessDefaults: "as_of − issued_on ≤ max_credential_age_days. When the policy omits it
// and has a none or a windowed predicate, it is 30 days; otherwise unlimited." TestFreshness
// covers none; these cover event and state windows on exists, a latest without a window and an
// explicit limit, at the boundary (as of 2026-11-22, 2026-10-23 is 30 days old).
func TestFreshnessDefaults(t *testing.T) {
	recentE11 := conds(condition("E11.9", "2026-01-01", nil))
	old := map[string]any{"observations": hba1c(obs{8.0, "2025-10-01"})}
	for k, v := range recentE11 {
		old[k] = v
	}
	event := `{"list":"conditions","match":"exists","code":["E11"],"within_days":365}`
	state := `{"list":"conditions","match":"exists","code":["E11"],"present_within_days":90}`
	latest := `{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0]}`
	explicit := `{"schema":"clinical","scope":"trial:test","max_credential_age_days":10,"predicates":[{"list":"conditions","match":"exists","code":["E11"]}]}`
	runDesignCases(t, []designCase{
		{"event-windowed exists, 30 days old", old, event, "2026-10-23", true},
		{"event-windowed exists, 31 days old", old, event, "2026-10-22", false},
		{"state-windowed exists, 30 days old", old, state, "2026-10-23", true},
		{"state-windowed exists, 31 days old", old, state, "2026-10-22", false},
		{"latest without a window, a year old: unlimited", map[string]any{"observations": hba1c(obs{8.0, "2025-10-01"}), "conditions": conditions()}, latest, "2025-11-01", true},
		{"explicit limit, 10 days old", old, explicit, "2026-11-12", true},
		{"explicit limit, 11 days old", old, explicit, "2026-11-11", false},
	})
}

// TestPredicatesAreANDed: "predicates, all ANDed". CLI.md's trial policy holds on its record; a
// record that violates any one of its five predicates, and only that one, is refused by the
// circuit.
func TestPredicatesAreANDed(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	for _, tc := range []struct {
		name      string
		attrs     map[string]any
		violating int // -1: holds
	}{
		{"all hold", nil, -1},
		{"age", map[string]any{"birth_date": "2010-01-01"}, 0},
		{"sex", map[string]any{"sex": "other"}, 1},
		{"latest HbA1c", map[string]any{"observations": hba1c(obs{12.0, "2026-10-09"})}, 2},
		{"type 2 diabetes", map[string]any{"conditions": conditions("I10", "2012-06-10")}, 3},
		{"no MI in 180 days", map[string]any{"conditions": conditions("E11.9", "2015-03-01", "I21.9", "2026-10-01")}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: s, attrs: withAttrs(t, testfixture.ClinicalAttrs, tc.attrs), policy: testfixture.ClinicalPolicy}.build(t)
			failing, err := b.compiled.Evaluate(b.decoded.Attributes)
			if err != nil {
				t.Fatal(err)
			}
			if failing != tc.violating {
				t.Fatalf("native evaluation: failing predicate %d, want %d", failing, tc.violating)
			}
			err = b.solve(t)
			if tc.violating < 0 && err != nil {
				t.Fatalf("honest witness rejected: %v", err)
			}
			if tc.violating >= 0 && err == nil {
				t.Fatalf("predicate %d violated, witness accepted", tc.violating)
			}
		})
	}
}

// TestSetOfSixteen: "in, not_in (a set of up to 16 values)": on the largest coverage circuit a
// set of 16 payers is decided by every one of its values, the last included.
func TestSetOfSixteen(t *testing.T) {
	testfixture.Quiet()
	s := schema.Coverage()
	set := func(last string) string {
		var vs []string
		for i := range 15 {
			vs = append(vs, strconv.Quote(fmt.Sprint("PAYER-", i)))
		}
		return strings.Join(append(vs, strconv.Quote(last)), ",")
	}
	for _, tc := range []struct {
		name, pred string
		holds      bool
	}{
		{"in: the 16th value matches", `{"attribute":"payer","op":"in","value":[` + set("ACME-HEALTH") + `]}`, true},
		{"in: none of 16 matches", `{"attribute":"payer","op":"in","value":[` + set("OTHER") + `]}`, false},
		{"not_in: the 16th value matches", `{"attribute":"payer","op":"not_in","value":[` + set("ACME-HEALTH") + `]}`, false},
		{"not_in: none of 16 matches", `{"attribute":"payer","op":"not_in","value":[` + set("OTHER") + `]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: s, attrs: testfixture.CoverageAttrs, policy: coveragePolicy(tc.pred)}.build(t)
			if id := b.circuit().ID; id != "coverage-v2-l" {
				t.Fatalf("a 16-value set laid out for %s", id)
			}
			if err := b.solve(t); tc.holds != (err == nil) {
				t.Fatalf("err = %v, want holds = %v", err, tc.holds)
			}
		})
	}
}

// TestBindingRefusesAnotherStatement: the prover may compile whatever policy it likes into its
// witness, but the circuit hashes it with as_of and scope into the public request binding
// (statement 4), so a witness for another max age, as-of date or scope fails under the verifier's
// binding: a stale credential cannot widen its freshness limit or move the as-of date into its
// freshness window. (The revocation root joins the binding with issue 10.)
func TestBindingRefusesAnotherStatement(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	attrs := withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c()})
	const preds = `[{"list":"conditions","match":"none","code":["I21"],"within_days":180}]`
	verifierPolicy := `{"schema":"clinical","scope":"trial:test","predicates":` + preds + `}`
	verifier := testfixture.Policy(t, verifierPolicy)
	for _, tc := range []struct {
		name, policy, asOf string
	}{
		{"max age widened", `{"schema":"clinical","scope":"trial:test","max_credential_age_days":400,"predicates":` + preds + `}`, testfixture.AsOf},
		{"as-of date moved back", verifierPolicy, "2026-02-01"},
		{"another scope", `{"schema":"clinical","scope":"trial:other","max_credential_age_days":400,"predicates":` + preds + `}`, testfixture.AsOf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// a January credential: stale for the verifier's 30 days
			b := scenario{s: s, attrs: attrs, policy: tc.policy, asOf: tc.asOf, issued: "2026-01-15"}.build(t)
			if err := b.solve(t); err != nil {
				t.Fatalf("the prover's own statement does not solve: %v", err)
			}
			want, err := verifier.Compile(testfixture.AsOf)
			if err != nil {
				t.Fatal(err)
			}
			if want.Assigned.Circuit != b.circuit() || want.Assigned.Hash.Equal(&b.witness.PolicyHash) {
				t.Fatalf("the substitution does not change the binding on one circuit")
			}
			b.witness.PolicyHash = want.Assigned.Hash
			b.witness.Nullifier = b.issued.Holder.Nullifier(want.Scope)
			if b.solve(t) == nil {
				t.Fatal("a witness of another statement accepted under the verifier's binding")
			}
		})
	}
}

// TestNullifierBindsScope: statement 5, nullifier = H(TAG_NULLIFIER, holder secret, scope): the
// holder's nullifier of another scope, or another holder's for this scope, is refused.
func TestNullifierBindsScope(t *testing.T) {
	testfixture.Quiet()
	s := schema.Clinical()
	trial := clinicalPolicy(`{"list":"conditions","match":"exists","code":["E11"]}`)
	other := testfixture.Policy(t, `{"schema":"clinical","scope":"trial:other","predicates":[{"list":"conditions","match":"exists","code":["E11"]}]}`)
	oc, err := other.Compile(testfixture.AsOf)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := credential.GenerateHolderKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(b *built)
		holds bool
	}{
		{"the holder's nullifier for this scope", func(*built) {}, true},
		{"the holder's nullifier for another scope", func(b *built) { b.witness.Nullifier = b.issued.Holder.Nullifier(oc.Scope) }, false},
		{"another holder's nullifier for this scope", func(b *built) { b.witness.Nullifier = stranger.Nullifier(b.compiled.Scope) }, false},
		{"the holder commitment as nullifier", func(b *built) { b.witness.Nullifier = b.issued.Holder.Commitment() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: s, attrs: testfixture.ClinicalAttrs, policy: trial}.build(t)
			tc.edit(b)
			if err := b.solve(t); tc.holds != (err == nil) {
				t.Fatalf("err = %v, want holds = %v", err, tc.holds)
			}
		})
	}
}

// TestComparatorLies: "compare by the difference method" — the one hint of the circuit
// (GreaterOrEqualHint) is constrained both ways at every call. A comparator that always says yes,
// always no, or always the opposite never lets a violating statement through; a lie about one
// comparison (any input pair of the honest run, sampled evenly) breaks even a satisfied one.
func TestComparatorLies(t *testing.T) {
	testfixture.Quiet()
	cli, cov := schema.Clinical(), schema.Coverage()
	id := solver.GetHintID(circuits.GreaterOrEqualHint)
	honest := func(in []*big.Int) int64 {
		if in[0].Cmp(in[1]) >= 0 {
			return 1
		}
		return 0
	}
	lie := func(answer func(in []*big.Int) int64) solver.Option {
		return solver.OverrideHint(id, func(_ *big.Int, in, out []*big.Int) error {
			out[0].SetInt64(answer(in))
			return nil
		})
	}
	for _, tc := range []struct {
		name          string
		s             *schema.Schema
		attrs, policy string
		issued        string
		holds         bool
	}{
		{"trial policy holds", cli, testfixture.ClinicalAttrs, testfixture.ClinicalPolicy, "", true},
		{"coverage policy holds", cov, testfixture.CoverageAttrs, testfixture.CoveragePolicy, "", true},
		{"age 17", cli, withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"birth_date": "2008-11-23"}), testfixture.ClinicalPolicy, "", false},
		{"HbA1c 7.49", cli, withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{7.49, "2026-10-09"})}), testfixture.ClinicalPolicy, "", false},
		{"MI in the window", cli, withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"conditions": conditions("E11.9", "2015-03-01", "I21.9", "2026-10-01")}), testfixture.ClinicalPolicy, "", false},
		{"31 days old", cli, withAttrs(t, testfixture.ClinicalAttrs, map[string]any{"observations": hba1c(obs{8.0, "2026-10-09"})}), testfixture.ClinicalPolicy, "2026-10-22", false},
		{"coverage ended", cov, withAttrs(t, testfixture.CoverageAttrs, map[string]any{"period_end": "2026-11-21"}), testfixture.CoveragePolicy, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: tc.s, attrs: tc.attrs, policy: tc.policy, issued: tc.issued}.build(t)
			var mu sync.Mutex
			pairs := map[[2]string]bool{}
			record := solver.OverrideHint(id, func(_ *big.Int, in, out []*big.Int) error {
				mu.Lock()
				pairs[[2]string{in[0].String(), in[1].String()}] = true
				mu.Unlock()
				out[0].SetInt64(honest(in))
				return nil
			})
			if err := b.solve(t, record); tc.holds != (err == nil) {
				t.Fatalf("honest hints: err = %v, want holds = %v", err, tc.holds)
			}
			if len(pairs) == 0 {
				t.Fatal("the comparator hint was never called")
			}
			lies := map[string]solver.Option{
				"always the opposite": lie(func(in []*big.Int) int64 { return 1 - honest(in) }),
			}
			if !tc.holds {
				lies["always yes"] = lie(func([]*big.Int) int64 { return 1 })
				lies["always no"] = lie(func([]*big.Int) int64 { return 0 })
			}
			for name, opt := range lies {
				if b.solve(t, opt) == nil {
					t.Errorf("comparator %s: witness accepted", name)
				}
			}
			sorted := make([][2]string, 0, len(pairs))
			for p := range pairs {
				sorted = append(sorted, p)
			}
			sort.Slice(sorted, func(i, j int) bool { return sorted[i][0]+"/"+sorted[i][1] < sorted[j][0]+"/"+sorted[j][1] })
			const samples = 12
			step := max(1, len(sorted)/samples)
			for i := 0; i < len(sorted); i += step {
				p := sorted[i]
				one := lie(func(in []*big.Int) int64 {
					if in[0].String() == p[0] && in[1].String() == p[1] {
						return 1 - honest(in)
					}
					return honest(in)
				})
				if b.solve(t, one) == nil {
					t.Errorf("a lie about %s ≥ %s accepted", p[0], p[1])
				}
			}
			t.Logf("%d distinct comparisons, %d single lies tried", len(pairs), (len(sorted)+step-1)/step)
		})
	}
}

// forbiddenImports are packages whose comparators assume range-checked operands without checking
// them ("Never BoundedComparator on unchecked values"): the circuit compares with its own
// difference-method comparator only.
var forbiddenImports = []string{"github.com/consensys/gnark/std/math/cmp"}

// forbiddenImport returns the first forbidden import of a Go source file, or "".
func forbiddenImport(name string, src []byte) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		return "", err
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		for _, bad := range forbiddenImports {
			if path == bad {
				return path, nil
			}
		}
	}
	return "", nil
}

// TestNoBoundedComparator: no non-test Go file of the module imports gnark's std/math/cmp (its
// BoundedComparator is sound only on operands already range-checked to its bound). The checker
// itself is tested on a file that does.
func TestNoBoundedComparator(t *testing.T) {
	bad := []byte("package x\n\nimport \"github.com/consensys/gnark/std/math/cmp\"\n\nvar _ = cmp.NewBoundedComparator\n")
	if got, err := forbiddenImport("bad.go", bad); err != nil || got == "" {
		t.Fatalf("checker missed a forbidden import: %q, %v", got, err)
	}
	if got, err := forbiddenImport("good.go", []byte("package x\n\nimport \"math/big\"\n\nvar _ big.Int\n")); err != nil || got != "" {
		t.Fatalf("checker flagged a clean file: %q, %v", got, err)
	}
	n := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != ".." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		got, err := forbiddenImport(path, src)
		if err != nil {
			return err
		}
		if got != "" {
			t.Errorf("%s imports %s", path, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d Go files seen: is the walk rooted at the module?", n)
	}
}

// TestEveryHashUseHasItsOwnTag: "Distinct leading tags for every hash use (holder, nullifier,
// policy, credential, list leaf, list node, revocation)". The tags of every use the module has —
// per schema, per circuit of each ladder and per list — are pairwise distinct as field elements
// (the sponge hashes, fieldhash) and as node tags (the compression hashes of the list trees).
// Revocation gets its tag with issue 10.
func TestEveryHashUseHasItsOwnTag(t *testing.T) {
	sponge := map[string]fr.Element{
		"holder":    fieldhash.TagHolder.Element(),
		"nullifier": fieldhash.TagNullifier.Element(),
		"string":    fieldhash.TagString.Element(),
	}
	compression := map[string]*big.Int{}
	for _, s := range schema.All() {
		sponge["credential/"+s.ID] = fieldhash.CredentialTag(s.ID).Element()
		for _, c := range s.Circuits {
			sponge["policy/"+c.ID] = fieldhash.PolicyTag(c.ID).Element()
		}
		for _, l := range s.Lists {
			compression["leaf/"+s.ID+"/"+l.Name] = credential.LeafTag(s, l)
			compression["node/"+s.ID+"/"+l.Name] = credential.NodeTag(s, l)
		}
	}
	seen := map[string]string{}
	for name, e := range sponge {
		k := "f:" + e.String()
		if other, dup := seen[k]; dup {
			t.Errorf("hash uses %s and %s share a tag", name, other)
		}
		seen[k] = name
	}
	for name, v := range compression {
		if v.Sign() == 0 || v.BitLen() > merkle.TagBits {
			t.Errorf("%s: tag %v is zero or wider than %d bits", name, v, merkle.TagBits)
		}
		k := "m:" + v.String()
		if other, dup := seen[k]; dup {
			t.Errorf("hash uses %s and %s share a tag", name, other)
		}
		seen[k] = name
	}
	if want := 3 + 2*len(schema.All()); len(sponge) < want || len(compression) == 0 {
		t.Fatalf("%d sponge tags, %d node tags: uses are missing", len(sponge), len(compression))
	}
}

// TestLargestCircuits: "Capacity: at least 16 predicates for clinical and 8 for coverage". A
// policy that fills the largest circuit of each ladder holds on a record that meets it, and one
// violated predicate (whichever) is refused.
func TestLargestCircuits(t *testing.T) {
	testfixture.Quiet()
	clinical16 := clinicalPolicy(strings.Join([]string{
		`{"attribute":"age","op":"between","value":[18,75]}`,
		`{"attribute":"sex","op":"in","value":["female","male"]}`,
		`{"list":"conditions","match":"exists","code":["E11"]}`,
		`{"list":"conditions","match":"exists","code":["I10"]}`,
		`{"list":"conditions","match":"exists","code":["E78"]}`,
		`{"list":"conditions","match":"exists","code":["J45"]}`,
		`{"list":"conditions","match":"exists","code":["K21"]}`,
		`{"list":"conditions","match":"exists","code":["M54"]}`,
		`{"list":"conditions","match":"none","code":["I21"],"within_days":180}`,
		`{"list":"conditions","match":"none","code":["I63"],"present_within_days":180}`,
		`{"list":"observations","match":"latest","code":["4548-4"],"value":[7.5,11.0],"within_days":180}`,
		`{"list":"observations","match":"exists","code":["39156-5"],"value":[25,35]}`,
		`{"list":"observations","match":"none","code":["2160-0"],"within_days":90}`,
		`{"list":"medications","match":"exists","code":["860975"]}`,
		`{"list":"medications","match":"none","code":["311041"],"present_within_days":90}`,
		`{"list":"medications","match":"latest","code":["860975"],"within_days":365}`,
	}, ","))
	record := map[string]any{
		"conditions": conditions("E11.9", "2015-03-01", "I10", "2012-06-10", "E78.5", "2014-01-01",
			"J45.909", "2010-01-01", "K21.9", "2018-01-01", "M54.50", "2019-01-01"),
		"medications": meds(medication("860975", "2026-01-01", nil))["medications"],
	}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range record {
			out[key] = val
		}
		out[k] = v
		return out
	}
	coverage8 := coveragePolicy(strings.Join([]string{
		`{"attribute":"status","op":"eq","value":"active"}`,
		`{"attribute":"payer","op":"eq","value":"ACME-HEALTH"}`,
		`{"attribute":"plan","op":"in","value":["GOLD-PPO","SILVER-HMO"]}`,
		`{"attribute":"member_id","op":"ne","value":"M000000"}`,
		`{"attribute":"period_start","op":"lte","value":"2026-11-22"}`,
		`{"attribute":"period_end","op":"gte","value":"2026-11-22"}`,
		`{"attribute":"insurance_type","op":"eq","value":"PPO"}`,
		`{"list":"service_categories","match":"exists","code":["30"]}`,
	}, ","))
	for _, tc := range []struct {
		name    string
		s       *schema.Schema
		base    string
		attrs   map[string]any
		policy  string
		circuit string
		failing int
	}{
		{"16 clinical predicates hold", schema.Clinical(), testfixture.ClinicalAttrs, record, clinical16, "clinical-v2-l", -1},
		{"16 clinical predicates, an ongoing old stroke", schema.Clinical(), testfixture.ClinicalAttrs,
			with("conditions", append(record["conditions"].([]map[string]any), condition("I63.9", "2016-01-01", nil))), clinical16, "clinical-v2-l", 9},
		{"16 clinical predicates, the medication started too long ago", schema.Clinical(), testfixture.ClinicalAttrs,
			with("medications", meds(medication("860975", "2016-01-01", nil))["medications"]), clinical16, "clinical-v2-l", 15},
		{"8 coverage predicates hold", schema.Coverage(), testfixture.CoverageAttrs, nil, coverage8, "coverage-v2-l", -1},
		{"8 coverage predicates, service 30 not covered", schema.Coverage(), testfixture.CoverageAttrs,
			map[string]any{"service_categories": []string{"1", "33"}}, coverage8, "coverage-v2-l", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := scenario{s: tc.s, attrs: withAttrs(t, tc.base, tc.attrs), policy: tc.policy}.build(t)
			if id := b.circuit().ID; id != tc.circuit {
				t.Fatalf("laid out for %s, want %s", id, tc.circuit)
			}
			failing, err := b.compiled.Evaluate(b.decoded.Attributes)
			if err != nil {
				t.Fatal(err)
			}
			if failing != tc.failing {
				t.Fatalf("native evaluation: failing predicate %d, want %d", failing, tc.failing)
			}
			err = b.solve(t)
			if tc.failing < 0 && err != nil {
				t.Fatalf("honest witness rejected: %v", err)
			}
			if tc.failing >= 0 && err == nil {
				t.Fatalf("predicate %d violated, witness accepted", tc.failing)
			}
		})
	}
}

// TestCostGrowsWithDepth: "The cost of a proof grows at most with the logarithm of a list's
// capacity, not with its length." The smallest clinical circuit, compiled with every list at tree
// depth 2, 3 and 4 (capacities 34, 214 and 1,294 entries), costs the same number of constraints
// more for each level: a cost linear in capacity would grow six times more from depth 3 to 4 than
// from 2 to 3.
func TestCostGrowsWithDepth(t *testing.T) {
	testfixture.Quiet()
	counts := map[int]int{}
	for _, depth := range []int{2, 3, 4} {
		s := schema.Clinical()
		for i := range s.Lists {
			s.Lists[i].Depth = depth
			s.Lists[i].Capacity = s.Lists[i].Leaves() - 2
		}
		first := s.Circuits[0]
		c := &schema.Circuit{ID: fmt.Sprintf("clinical-depth%d", depth), Schema: first.Schema,
			Scalars: first.Scalars, SetValues: first.SetValues, Lists: first.Lists}
		s.Circuits = []*schema.Circuit{c}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		ccs, err := keys.Compile(s, c, keys.Groth16)
		if err != nil {
			t.Fatal(err)
		}
		counts[depth] = ccs.GetNbConstraints()
	}
	first, second := counts[3]-counts[2], counts[4]-counts[3]
	t.Logf("constraints at depth 2, 3, 4: %d, %d, %d (+%d, +%d per level)", counts[2], counts[3], counts[4], first, second)
	if first <= 0 || second <= 0 {
		t.Fatalf("a deeper tree costs no more: %v", counts)
	}
	if ratio := float64(second) / float64(first); ratio > 1.25 || ratio < 0.8 {
		t.Fatalf("per-level cost %d then %d (×%.2f): not logarithmic in capacity", first, second, ratio)
	}
}
