package circuits_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/zkhealth/zkhealth/circuits"
	"github.com/zkhealth/zkhealth/internal/fieldhash"
	"github.com/zkhealth/zkhealth/internal/testfixture"
	"github.com/zkhealth/zkhealth/policy"
	"github.com/zkhealth/zkhealth/schema"
)

// TestNativeAgreesWithCircuit is the differential test of issue 9: on random clinical records and
// random policies, the native evaluator (policy.Compiled.Evaluate, plus the freshness and validity
// rules) and the constraint system agree. A policy that holds natively has a witness the circuit
// accepts; one that fails natively gets an honest witness the circuit refuses.
func TestNativeAgreesWithCircuit(t *testing.T) {
	testfixture.Quiet()
	n := 40 // ZKHEALTH_DIFFERENTIAL_CASES=N runs more
	if v, err := strconv.Atoi(os.Getenv("ZKHEALTH_DIFFERENTIAL_CASES")); err == nil && v > 0 {
		n = v
	} else if testing.Short() {
		n = 8
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 9))
	s := schema.Clinical()
	asOf, _ := time.Parse(time.DateOnly, testfixture.AsOf)
	held, failed := 0, 0
	for i := range n {
		issued := asOf.AddDate(0, 0, -rnd.IntN(36))
		attrs := randomRecord(rnd, issued)
		name := fmt.Sprintf("case %d", i)
		is, err := testfixture.NewIssued(s, attrs, issued.Format(time.DateOnly), asOf.AddDate(1, 0, 0).Format(time.DateOnly))
		if err != nil {
			t.Fatalf("%s: issue %s: %v", name, attrs, err)
		}
		d, err := is.Credential.Decode()
		if err != nil {
			t.Fatal(err)
		}
		// half the cases look for a policy that holds on the record (random policies mostly fail)
		want := rnd.IntN(2) == 0
		age := uint64(asOf.Sub(issued).Hours() / 24)
		var (
			pol     string
			c       *policy.Compiled
			failing int
			holds   bool
		)
		for try := 0; try < 50; try++ {
			pol = randomPolicy(rnd)
			if c, err = testfixture.Policy(t, pol).Compile(testfixture.AsOf); errors.Is(err, policy.ErrDoesNotFit) {
				continue
			} else if err != nil {
				t.Fatalf("%s: compile %s: %v", name, pol, err)
			}
			if failing, err = c.Evaluate(d.Attributes); err != nil {
				t.Fatal(err)
			}
			if holds = failing < 0 && age <= c.MaxAge; holds == want {
				break
			}
		}
		if c == nil { // the last candidate did not fit the ladder
			continue
		}
		lists, err := circuits.BuildOpenings(d.Attributes, c.Assigned)
		if err != nil {
			if holds {
				t.Fatalf("%s: no openings for a policy that holds: %v\nattrs %s\npolicy %s", name, err, attrs, pol)
			}
			failed++
			continue
		}
		secret := is.Holder.Element()
		var ch fr.Element
		ch.SetUint64(uint64(i))
		w := &circuits.Witness{
			Public:     circuits.Public{PolicyHash: c.Assigned.Hash, Issuer: d.Issuer, Challenge: ch, Nullifier: fieldhash.Nullifier(secret, c.Scope)},
			Credential: d.Values, Signature: d.Signature, HolderSecret: secret, Policy: c.Assigned.Values, Lists: lists,
		}
		err = solve(t, s, c.Assigned.Circuit, w)
		switch {
		case holds && err != nil:
			t.Errorf("%s: holds natively (age %d of %d), the circuit refuses: %v\nattrs %s\npolicy %s", name, age, c.MaxAge, err, attrs, pol)
		case !holds && err == nil:
			t.Errorf("%s: fails natively (predicate %d, age %d of %d), the circuit accepts\nattrs %s\npolicy %s", name, failing, age, c.MaxAge, attrs, pol)
		}
		if holds {
			held++
		} else {
			failed++
		}
	}
	t.Logf("%d held, %d failed", held, failed)
	if !testing.Short() && (held < n/8 || failed < n/8) {
		t.Errorf("the generator is lopsided: %d held, %d failed", held, failed)
	}
}

// randomRecord is a small clinical ATTRS.json whose entries are drawn from a few codes so that
// predicates hit them: onsets, abatements, statuses, same-day observations, ongoing and stopped
// medications, sometimes a completeness note; every entry dated on or before issued.
func randomRecord(rnd *rand.Rand, issued time.Time) string {
	day := func(maxBack int) string { return issued.AddDate(0, 0, -rnd.IntN(maxBack+1)).Format(time.DateOnly) }
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	rec := map[string]any{
		"birth_date": time.Date(1940+rnd.IntN(70), time.Month(1+rnd.IntN(12)), 1+rnd.IntN(28), 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
		"sex":        pick("female", "male", "other"),
	}
	var conds []map[string]any
	for range rnd.IntN(7) {
		onset := day(900)
		e := map[string]any{"code": pick("E11.9", "E10.9", "I21.4", "I63.9", "I10", "E11.65"), "onset": onset,
			"clinical_status":     pick("active", "recurrence", "resolved", "inactive", "remission"),
			"verification_status": pick("confirmed", "confirmed", "unconfirmed", "differential", "provisional")}
		switch rnd.IntN(3) {
		case 0:
			o, _ := time.Parse(time.DateOnly, onset)
			if end := o.AddDate(0, 0, rnd.IntN(400)); !end.After(issued) {
				e["abatement"] = end.Format(time.DateOnly)
			}
		case 1:
			e["abatement"] = "unknown"
		}
		conds = append(conds, e)
	}
	var obs []map[string]any
	for range rnd.IntN(8) {
		code, unit := "4548-4", "%"
		if rnd.IntN(3) == 0 {
			code = "17856-6"
		}
		if rnd.IntN(4) == 0 {
			code, unit = "39156-5", "kg/m2"
		}
		date := day(400)
		if len(obs) > 0 && rnd.IntN(4) == 0 {
			date = obs[len(obs)-1]["date"].(string) // a same-day pair
		}
		obs = append(obs, map[string]any{"code": code, "value": float64(50+rnd.IntN(900)) / 100 * map[string]float64{"%": 1, "kg/m2": 4}[unit], "unit": unit, "date": date})
	}
	var meds []map[string]any
	for range rnd.IntN(4) {
		start := day(1500)
		e := map[string]any{"code": pick("860975", "311041", "1373463"), "start": start, "status": pick("active", "active", "stopped", "completed", "on-hold")}
		if rnd.IntN(2) == 0 {
			st, _ := time.Parse(time.DateOnly, start)
			if end := st.AddDate(0, 0, rnd.IntN(700)); !end.After(issued) {
				e["end"] = end.Format(time.DateOnly)
			}
		}
		meds = append(meds, e)
	}
	rec["conditions"], rec["observations"], rec["medications"] = conds, obs, meds
	switch rnd.IntN(8) {
	case 0:
		rec["completeness"] = map[string]any{pick("conditions", "observations", "medications"): map[string]any{"incomplete": true}}
	case 1:
		rec["completeness"] = map[string]any{pick("conditions", "observations", "medications"): map[string]any{"complete_since": day(300)}}
	}
	out, _ := json.Marshal(rec)
	return string(out)
}

// randomPolicy is a clinical POLICY.json of one to four predicates drawn from the kinds a trial
// writes, with random bounds and windows; it always fits the ladder.
func randomPolicy(rnd *rand.Rand) string {
	window := func(state bool) string {
		switch rnd.IntN(3) {
		case 0:
			return ""
		case 1:
			if state {
				return fmt.Sprintf(`, "present_within_days": %d`, 30+rnd.IntN(400))
			}
		}
		return fmt.Sprintf(`, "within_days": %d`, 30+rnd.IntN(400))
	}
	lo := float64(50+rnd.IntN(500)) / 100
	kinds := []func() string{
		func() string {
			return fmt.Sprintf(`{"attribute": "age", "op": "between", "value": [%d, %d]}`, 18+rnd.IntN(30), 50+rnd.IntN(40))
		},
		func() string { return `{"attribute": "sex", "op": "in", "value": ["female", "male"]}` },
		func() string {
			return `{"list": "conditions", "match": "exists", "code": ["E11"]` + window(rnd.IntN(2) == 0) + `}`
		},
		func() string {
			return `{"list": "conditions", "match": "exists", "code": ["E11"], "verification": ["confirmed", "differential"], "status": ["active", "resolved"]}`
		},
		func() string {
			return `{"list": "conditions", "match": "none", "code": ["E10", "I21", "I63"]` + window(rnd.IntN(2) == 0) + `}`
		},
		func() string {
			return fmt.Sprintf(`{"list": "observations", "match": "latest", "code": ["4548-4", "17856-6"], "value": [%.2f, %.2f]%s}`, lo, lo+float64(rnd.IntN(500))/100, window(false))
		},
		func() string {
			return fmt.Sprintf(`{"list": "observations", "match": "exists", "code": ["4548-4"], "value": [%.2f, %.2f]%s}`, lo, lo+float64(rnd.IntN(400))/100, window(false))
		},
		func() string {
			return `{"list": "medications", "match": "none", "code": ["860975"]` + window(true) + `}`
		},
		func() string {
			return `{"list": "medications", "match": "exists", "code": ["311041", "1373463"]` + window(true) + `}`
		},
	}
	var preds []string
	for range 1 + rnd.IntN(3) {
		preds = append(preds, kinds[rnd.IntN(len(kinds))]())
	}
	age := ""
	if rnd.IntN(3) == 0 {
		age = fmt.Sprintf(`, "max_credential_age_days": %d`, 20+rnd.IntN(40))
	}
	return `{"schema": "clinical", "scope": "trial:random"` + age + `, "predicates": [` + strings.Join(preds, ", ") + `]}`
}
